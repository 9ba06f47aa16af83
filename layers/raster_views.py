"""TileJSON for the vector tiles (so QGIS adds a layer as a vector-tile layer from one URL), and raster layers:
the list, staff upload of a GeoTIFF, XYZ PNG tiles."""

import tempfile
from pathlib import Path

from django.http import HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from common import params
from common.edge import json_response
from common.errors import BadParameter, Forbidden, NotFound
from common.i18n import is_persian
from layers import rasters, tiles
from layers.access import Unauthorized, layer_for, request_user
from layers.geojson import city_extent
from layers.models import Raster
from layers.views import check_tile


def _bounds_and_centre():
    bbox = city_extent()["bbox"] or [-180, -85, 180, 85]
    return bbox, [(bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2, 15]


@require_GET
def vector_tilejson(request, layer):
    """TileJSON 3.0 of one layer's vector tiles; the URL carries the data version, so tiles are cached forever."""
    spec = layer_for(request, layer)
    if not spec.is_public:
        raise Forbidden(_("Only public layers are published as tiles."))
    version = tiles.layer_version(spec)
    bounds, centre = _bounds_and_centre()
    url = request.build_absolute_uri(f"/tiles/{spec.name}/") + "{z}/{x}/{y}.pbf" + f"?v={version}"
    english = not is_persian()
    return json_response({
        "tilejson": "3.0.0", "name": spec.title_en if english else spec.title, "scheme": "xyz",
        "tiles": [url], "minzoom": spec.tile_min_zoom, "maxzoom": 18, "bounds": bounds, "center": centre,
        "vector_layers": [{"id": spec.name, "description": spec.title_en, "minzoom": spec.tile_min_zoom,
                           "maxzoom": 18, "fields": {f.name: {"integer": "Number", "real": "Number",
                                                                "boolean": "Boolean"}.get(f.type, "String")
                                                     for f in spec.fields}}],
    })


def raster_doc(request, raster: Raster) -> dict:
    return {"slug": raster.slug, "title": raster.title, "title_en": raster.title_en, "kind": raster.kind,
            "srid": raster.srid, "is_demo": raster.is_demo,
            "tiles": request.build_absolute_uri(f"/tiles/raster/{raster.slug}/") + "{z}/{x}/{y}.png"}


@require_http_methods(["GET", "POST"])
def raster_list(request):
    """GET: the raster layers. POST (staff with layers.add_raster): multipart `file` (a GeoTIFF in any CRS), `slug`,
    `title`, `title_en`, `kind`, `nodata` (the value of missing pixels, for a file that declares none) -> kept as a
    Cloud-Optimized GeoTIFF; the answer's `warnings` name a DEM that seems to hide missing data as heights."""
    if request.method == "GET":
        return json_response({"rasters": [raster_doc(request, r) for r in Raster.objects.order_by("slug")]})
    user = request_user(request)
    if not (user and user.is_authenticated):
        raise Unauthorized(_("Sign in to upload a raster."))
    if not (user.is_staff and user.has_perm("layers.add_raster")):
        raise Forbidden(_("Uploading rasters needs the permission layers.add_raster."))
    upload = request.FILES.get("file")
    if upload is None:
        raise BadParameter(_("file is required (multipart/form-data, a GeoTIFF)"))
    slug = params.text(request.POST, "slug", max_length=50)
    nodata = params.number(request.POST, "nodata", min=-1e38, max=1e38)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "upload.tif"
        with open(path, "wb") as fh:
            for chunk in upload.chunks():
                fh.write(chunk)
        raster, warning = rasters.load_file(path, slug, params.text(request.POST, "title") or slug,
                                            params.text(request.POST, "title_en"),
                                            params.text(request.POST, "kind", default=Raster.Kind.ORTHOPHOTO),
                                            nodata=nodata, option="nodata=%s")
    return json_response({**raster_doc(request, raster), "warnings": [warning] if warning else []}, status=201)


@require_GET
def raster_tile(request, slug, z, x, y):
    raster = Raster.objects.filter(slug=slug).first()
    if raster is None:
        raise NotFound(_("Unknown raster '%(slug)s'") % {"slug": slug})
    check_tile(z, x, y)
    png = rasters.render_tile(raster, z, x, y)
    if png is None:
        return HttpResponse(status=204)
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "public, max-age=3600"
    return response
