"""TileJSON for the vector tiles (so QGIS adds a layer as a vector-tile layer from one URL), and raster layers:
the list, staff upload of a GeoTIFF, XYZ PNG tiles."""

import tempfile
from pathlib import Path

from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_GET, require_http_methods

from common.errors import BadParameter, NotFound, json_errors
from layers import rasters, tiles
from layers.access import Forbidden, Unauthorized, layer_for, request_user
from layers.geojson import city_extent
from layers.models import Raster


def _bounds_and_centre():
    bbox = city_extent()["bbox"] or [-180, -85, 180, 85]
    return bbox, [(bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2, 15]


@require_GET
@json_errors
def vector_tilejson(request, layer):
    """TileJSON 3.0 of one layer's vector tiles; the URL carries the data version, so tiles are cached forever."""
    spec = layer_for(request, layer)
    if not spec.is_public:
        raise Forbidden("Only public layers are published as tiles")
    version = tiles.layer_version(spec)
    bounds, centre = _bounds_and_centre()
    url = request.build_absolute_uri(f"/tiles/{spec.name}/") + "{z}/{x}/{y}.pbf" + f"?v={version}"
    english = getattr(request, "LANGUAGE_CODE", "fa") != "fa"
    return JsonResponse({
        "tilejson": "3.0.0", "name": spec.title_en if english else spec.title, "scheme": "xyz",
        "tiles": [url], "minzoom": spec.tile_min_zoom, "maxzoom": 18, "bounds": bounds, "center": centre,
        "vector_layers": [{"id": spec.name, "description": spec.title_en, "minzoom": spec.tile_min_zoom,
                           "maxzoom": 18, "fields": {f.name: {"integer": "Number", "real": "Number",
                                                                "boolean": "Boolean"}.get(f.type, "String")
                                                     for f in spec.fields}}],
    }, json_dumps_params={"ensure_ascii": False})


def raster_doc(request, raster: Raster) -> dict:
    return {"slug": raster.slug, "title": raster.title, "title_en": raster.title_en, "kind": raster.kind,
            "srid": raster.srid, "is_demo": raster.is_demo,
            "tiles": request.build_absolute_uri(f"/tiles/raster/{raster.slug}/") + "{z}/{x}/{y}.png"}


@require_http_methods(["GET", "POST"])
@json_errors
def raster_list(request):
    """GET: the raster layers. POST (staff with layers.add_raster): multipart `file` (a GeoTIFF in any CRS), `slug`,
    `title`, `title_en`, `kind` -> kept as a Cloud-Optimized GeoTIFF."""
    if request.method == "GET":
        return JsonResponse({"rasters": [raster_doc(request, r) for r in Raster.objects.order_by("slug")]},
                            json_dumps_params={"ensure_ascii": False})
    user = request_user(request)
    if not (user and user.is_authenticated):
        raise Unauthorized("Sign in to upload a raster")
    if not (user.is_staff and user.has_perm("layers.add_raster")):
        raise Forbidden("Uploading rasters needs the permission layers.add_raster")
    upload = request.FILES.get("file")
    if upload is None:
        raise BadParameter("file is required (multipart/form-data, a GeoTIFF)")
    slug = request.POST.get("slug", "")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "upload.tif"
        with open(path, "wb") as fh:
            for chunk in upload.chunks():
                fh.write(chunk)
        raster = rasters.ingest(path, slug, request.POST.get("title") or slug, request.POST.get("title_en", ""),
                                request.POST.get("kind", Raster.Kind.ORTHOPHOTO))
    return JsonResponse(raster_doc(request, raster), status=201, json_dumps_params={"ensure_ascii": False})


@require_GET
@json_errors
def raster_tile(request, slug, z, x, y):
    raster = Raster.objects.filter(slug=slug).first()
    if raster is None:
        raise NotFound(f"Unknown raster {slug!r}")
    if not tiles.tile_in_range(z, x, y):
        raise BadParameter(f"Tile {z}/{x}/{y} does not exist: zoom 0-{tiles.MAX_ZOOM}, x and y 0-2^zoom-1")
    png = rasters.render_tile(raster, z, x, y)
    if png is None:
        return HttpResponse(status=204)
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "public, max-age=3600"
    return response
