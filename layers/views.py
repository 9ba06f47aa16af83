from django.core.cache import caches
from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from gis_portal.errors import BadParameter, json_errors
from layers import geojson, tiles
from layers.access import layer_for
from layers.exports import check_bbox
from layers.ogc import parse_int
from layers.registry import LAYERS

MAX_CACHED_TILE = 1_000_000  # bytes; the cache holds TILE_CACHE_ENTRIES tiles per process


def parse_bbox(raw: str | None) -> tuple[float, float, float, float]:
    """bbox=minlon,minlat,maxlon,maxlat in WGS84, as OGC APIs take it (checked as exports check it)."""
    if not raw:
        raise BadParameter("bbox is required: bbox=minlon,minlat,maxlon,maxlat (WGS84)")
    return check_bbox(raw)


@require_GET
@json_errors
def layer_geojson(request, layer):
    spec = layer_for(request, layer)
    bbox = parse_bbox(request.GET.get("bbox"))
    limit = parse_int(request, "limit", spec.max_features, 1, spec.max_features)
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
    spec = layer_for(request, layer)
    if not tiles.tile_in_range(z, x, y):
        raise BadParameter(f"Tile {z}/{x}/{y} does not exist: zoom 0-{tiles.MAX_ZOOM}, x and y 0-2^zoom-1")
    cache = caches["tiles"]
    requested = request.GET.get("v", "")
    if_none_match = request.headers.get("If-None-Match")
    if z < spec.tile_min_zoom:
        version, data = tiles.layer_version(spec), None
    elif spec.versioned and requested.isdigit() and not if_none_match and \
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
            if spec.versioned and len(data) <= MAX_CACHED_TILE:  # a view has no data version: never cached
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
    return JsonResponse(tiles.layer_versions(spec for spec in LAYERS.values() if spec.is_public))


@require_GET
@json_errors
def layer_list(request):
    """The registry as the portal and clients see it: the layers this user may see, their titles, fields and
    legend (colours and labels), and where to get them."""
    from layers import qml
    from layers.access import request_user
    from layers.registry import layers_for

    english = getattr(request, "LANGUAGE_CODE", "fa") != "fa"
    return JsonResponse({"layers": [
        {"name": layer.name, "title": layer.title, "title_en": layer.title_en, "public": layer.is_public,
         "in_portal": layer.in_portal, "geometry": layer.style.geometry,
         "fields": [{"name": f.name, "type": f.type, "title": f.title, "title_en": f.title_en,
                     "filterable": f.filterable} for f in layer.fields],
         "legend": qml.legend(layer, english),
         "ogc_items": f"/ogc/collections/{layer.name}/items",
         "tilejson": f"/tiles/{layer.name}.json" if layer.is_public else None}
        for layer in layers_for(request_user(request))
    ]}, json_dumps_params={"ensure_ascii": False})


EXPORT_PARAMS = {"layers", "format", "srid", "district", "bbox"}


@require_GET
@json_errors
def export_download(request):
    """One export as a download: checked first (4xx, nothing written), made by ogr2ogr into a temporary file that
    is unlinked as soon as it is open, then streamed from disk (a whole city never sits in memory)."""
    import os
    import tempfile
    from pathlib import Path

    from django.http import FileResponse

    from layers.access import layer_for
    from layers.exports import FORMATS, ExportFailed, ExportRequest, check_request, export

    names = [n for n in request.GET.get("layers", "").split(",") if n]
    if not names:
        raise BadParameter("layers is required, e.g. layers=parcels,streets")
    layers = [layer_for(request, n) for n in names]
    filters = {k: v for k, v in request.GET.items() if k not in EXPORT_PARAMS}
    req = check_request(ExportRequest(layers, request.GET.get("format", "gpkg"), request.GET.get("srid") or None,
                                      request.GET.get("district") or None, request.GET.get("bbox") or None,
                                      filters))
    work = Path(tempfile.mkdtemp(prefix="export-"))
    out = work / req.filename()
    try:
        export(req, out)
        handle = open(out, "rb")
    except ExportFailed as exc:
        return JsonResponse({"error": "export_failed", "message": str(exc)}, status=500)
    finally:
        out.unlink(missing_ok=True)  # an open handle keeps the data readable until the response is sent
        os.rmdir(work)
    content_type = FORMATS[req.format].content_type if not req.filename().endswith(".zip") else "application/zip"
    return FileResponse(handle, as_attachment=True, filename=req.filename(), content_type=content_type)
