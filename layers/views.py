from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from common.errors import BadParameter, json_errors
from layers import geojson, tiles
from layers.access import layer_for
from layers.exports import check_bbox
from layers.ogc import parse_int
from layers.registry import LAYERS


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
    """A vector tile of a layer (layers/tiles.answer). Public layers' tiles are usually answered before Django by
    layers/tile_app.py; this view answers the rest: protected layers, signed-in QGIS users, errors."""
    spec = layer_for(request, layer)
    if not tiles.tile_in_range(z, x, y):
        raise BadParameter(f"Tile {z}/{x}/{y} does not exist: zoom 0-{tiles.MAX_ZOOM}, x and y 0-2^zoom-1")
    answer = tiles.answer(spec, z, x, y, request.GET.get("v", ""), request.headers.get("If-None-Match"))
    response = HttpResponse(answer.body, status=answer.status)
    for name, value in answer.headers:
        response[name] = value
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
