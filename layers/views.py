from django.core.cache import caches
from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from gis_portal.errors import BadParameter, NotFound, json_errors
from layers import geojson, tiles
from layers.registry import LAYERS

MAX_CACHED_TILE = 1_000_000  # bytes; the cache holds TILE_CACHE_ENTRIES tiles per process


def parse_bbox(raw: str | None) -> tuple[float, float, float, float]:
    """bbox=minlon,minlat,maxlon,maxlat in WGS84, as OGC APIs take it."""
    if not raw:
        raise BadParameter("bbox is required: bbox=minlon,minlat,maxlon,maxlat (WGS84)")
    try:
        values = tuple(float(v) for v in raw.split(","))
    except ValueError:
        raise BadParameter(f"bbox {raw!r} must be four numbers: minlon,minlat,maxlon,maxlat") from None
    if len(values) != 4:
        raise BadParameter(f"bbox {raw!r} must be four numbers: minlon,minlat,maxlon,maxlat")
    minx, miny, maxx, maxy = values
    if not (-180 <= minx < maxx <= 180 and -90 <= miny < maxy <= 90):
        raise BadParameter(f"bbox {raw!r} is not a valid longitude/latitude box (min < max, within ±180/±90)")
    return values


def parse_limit(raw: str | None, maximum: int) -> int:
    if raw in (None, ""):
        return maximum
    try:
        limit = int(raw)
    except ValueError:
        raise BadParameter(f"limit {raw!r} must be a whole number") from None
    if not 1 <= limit <= maximum:
        raise BadParameter(f"limit must be between 1 and {maximum}")
    return limit


@require_GET
@json_errors
def layer_geojson(request, layer):
    if layer not in LAYERS:
        raise NotFound(f"Unknown layer {layer!r}; layers: {', '.join(LAYERS)}")
    spec = LAYERS[layer]
    bbox = parse_bbox(request.GET.get("bbox"))
    limit = parse_limit(request.GET.get("limit"), spec.max_features)
    text, truncated = geojson.features_in_bbox(spec, bbox, limit)
    response = HttpResponse(text, content_type="application/geo+json")
    response["X-Features-Truncated"] = "true" if truncated else "false"
    return response


@require_GET
def city_info(request):
    return JsonResponse(geojson.city_extent())


@require_GET
@json_errors
def tile(request, layer, z, x, y):
    """A vector tile of a layer. With ?v=<a version of the layer> the response may be cached forever (the map asks
    for such URLs); otherwise it is revalidated with its ETag, which changes when the data changes.

    Tiles made are kept in the "tiles" cache under (layer, data version, z/x/y): a write bumps the version, so a
    cached tile is never served for data that changed since. A versioned URL whose tile is cached is answered
    without touching the database; otherwise the tile and the version come from one statement."""
    if layer not in LAYERS:
        raise NotFound(f"Unknown layer {layer!r}; layers: {', '.join(LAYERS)}")
    if not tiles.tile_in_range(z, x, y):
        raise BadParameter(f"Tile {z}/{x}/{y} does not exist: zoom 0-{tiles.MAX_ZOOM}, x and y 0-2^zoom-1")
    spec = LAYERS[layer]
    cache = caches["tiles"]
    requested = request.GET.get("v", "")
    if_none_match = request.headers.get("If-None-Match")
    if z < spec.tile_min_zoom:
        version, data = tiles.layer_version(spec), None
    elif requested.isdigit() and not if_none_match and \
            (hit := cache.get(tiles.cache_key(spec, int(requested), z, x, y))) is not None:
        version, data = int(requested), hit
    else:
        version = tiles.layer_version(spec) if if_none_match else None
        if version is not None and if_none_match == tiles.etag(spec, version, z, x, y):
            data = None  # 304: the client has it
        elif version is not None and (hit := cache.get(tiles.cache_key(spec, version, z, x, y))) is not None:
            data = hit
        else:
            version, data = tiles.render_tile_with_version(spec, z, x, y)
            if len(data) <= MAX_CACHED_TILE:
                cache.set(tiles.cache_key(spec, version, z, x, y), data)
    tag = tiles.etag(spec, version, z, x, y)
    if z < spec.tile_min_zoom:
        response = HttpResponse(status=204)
    elif data is None:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(data, content_type="application/vnd.mapbox-vector-tile")
    response["ETag"] = tag
    response["X-Layer-Version"] = str(version)
    if requested == str(version):
        response["Cache-Control"] = "public, max-age=31536000, immutable"
    else:
        response["Cache-Control"] = "public, max-age=0, must-revalidate"
    return response


@require_GET
def layer_versions(request):
    """Current data version of every layer, for building cacheable tile URLs."""
    return JsonResponse(tiles.layer_versions(LAYERS.values()))
