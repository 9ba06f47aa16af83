"""The layers' JSON and file endpoints for the map and for planners: GeoJSON in a box, vector tiles, the registry,
data versions, exports. Errors are raised and rendered by common.edge (JSON under /api/ and /tiles/)."""

from django.http import HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from common import params
from common.edge import json_response
from common.errors import BadParameter, ServerError
from common.i18n import is_persian
from layers import geojson, tiles, versions
from layers.access import layer_for
from layers.registry import LAYERS

class ExportError(ServerError):
    code = "export_failed"


class ExportNoRoomError(ServerError):
    status = 507  # Insufficient Storage
    code = "insufficient_storage"


@require_GET
def layer_geojson(request, layer):
    spec = layer_for(request, layer)
    bbox = params.bbox(request.GET, required=True)
    limit = params.integer(request.GET, "limit", default=spec.max_features, min=1, max=spec.max_features)
    text, truncated = geojson.features_in_bbox(spec, bbox, limit)
    response = HttpResponse(text, content_type="application/geo+json")
    response["X-Features-Truncated"] = "true" if truncated else "false"
    return response


@require_GET
def city_info(request):
    return json_response(geojson.city_extent())


@require_GET
def tile(request, layer, z, x, y):
    """A vector tile of a layer (layers/tiles.answer). Public layers' tiles are usually answered before Django by
    layers/tile_app.py; this view answers the rest: protected layers, signed-in QGIS users, errors."""
    spec = layer_for(request, layer)
    check_tile(z, x, y)
    version = params.text(request.GET, "v", max_length=20)  # a data version: a bigint
    answer = tiles.answer(spec, z, x, y, version, request.headers.get("If-None-Match"))
    response = HttpResponse(answer.body, status=answer.status)
    for name, value in answer.headers:
        response[name] = value
    return response


def check_tile(z: int, x: int, y: int) -> None:
    if not tiles.tile_in_range(z, x, y):
        raise BadParameter(_("Tile %(z)s/%(x)s/%(y)s does not exist: zoom 0-%(max)s, x and y 0-2^zoom-1")
                           % {"z": z, "x": x, "y": y, "max": tiles.MAX_ZOOM})


@require_GET
def layer_versions(request):
    """Current data version of every layer, for building cacheable tile URLs."""
    return json_response(tiles.layer_versions(spec for spec in LAYERS.values() if spec.is_public))


@require_GET
def tile_versions(request):
    """What the map needs to build the current versioned URL of every tile of the public layers
    (layers/versions.tile_state). Never cached: it is what tells that a tile changed."""
    response = json_response(versions.tile_state(spec for spec in LAYERS.values() if spec.is_public))
    response["Cache-Control"] = "no-cache"
    return response


@require_GET
def layer_list(request):
    """The registry as the portal and clients see it: the layers this user may see, their titles, fields and
    legend (colours and labels), and where to get them."""
    from layers import qml
    from layers.access import request_user
    from layers.registry import layers_for

    english = not is_persian()
    return json_response({"layers": [
        {"name": layer.name, "title": layer.title, "title_en": layer.title_en, "public": layer.is_public,
         "in_portal": layer.in_portal, "geometry": layer.style.geometry,
         "fields": [{"name": f.name, "type": f.type, "title": f.title, "title_en": f.title_en,
                     "filterable": f.filterable} for f in layer.fields],
         "legend": qml.legend(layer, english),
         "ogc_items": f"/ogc/collections/{layer.name}/items",
         "tilejson": f"/tiles/{layer.name}.json" if layer.is_public else None}
        for layer in layers_for(request_user(request))
    ]})


EXPORT_PARAMS = {"layers", "format", "srid", "district", "bbox"}


class ExportTooLarge(BadParameter):
    code = "export_too_large"


def export_request(request, given):
    """The checked ExportRequest of a request's parameters (`given`: request.GET, or a start endpoint's body); the
    layers' access is checked for the request's user (401/403/404)."""
    from layers.exports import ExportRequest, check_request

    names = [n for n in params.text(given, "layers", max_length=1000).split(",") if n]
    if not names:
        raise BadParameter(_("layers is required, e.g. layers=parcels,streets"))
    layers = [layer_for(request, n) for n in names]
    filters = {k: v for k, v in given.items() if k not in EXPORT_PARAMS}  # checked by check_request
    return check_request(ExportRequest(
        layers, params.text(given, "format", default="gpkg"), params.text(given, "srid") or None,
        params.text(given, "district") or None, params.text(given, "bbox") or None, filters))


@require_GET
def export_download(request):
    """One export as a download, for scripts: checked first (4xx, nothing written), made by ogr2ogr into a temporary
    file that is unlinked as soon as it is open, then streamed from disk (a whole city never sits in memory).
    Selections of more than EXPORT_SYNC_MAX_FEATURES are refused: they are made as jobs (export_job)."""
    import os
    import tempfile
    from pathlib import Path

    from django.conf import settings
    from django.http import FileResponse

    from layers.exports import FORMATS, ExportFailed, ExportNoRoom, export
    from layers.jobs import count_features

    req = export_request(request, request.GET)
    features = sum(count_features(req))
    if features > settings.EXPORT_SYNC_MAX_FEATURES:
        raise ExportTooLarge(
            _("This export has %(count)s features, more than the %(max)s a direct download may have: start it as a "
              "job with POST /api/layers/export/jobs (same parameters) and download the file when it is done.")
            % {"count": features, "max": settings.EXPORT_SYNC_MAX_FEATURES})
    work = Path(tempfile.mkdtemp(prefix="export-"))
    out = work / req.filename()
    try:
        export(req, out)
        handle = open(out, "rb")
    except ExportNoRoom as exc:
        raise ExportNoRoomError(exc.message) from exc
    except ExportFailed as exc:
        # ogr2ogr's own words go to the log (the middleware logs the error with its cause), not to the user
        message = _("The export failed on the server. It has been recorded; please try again later.")
        raise ExportError(message) from exc
    finally:
        out.unlink(missing_ok=True)  # an open handle keeps the data readable until the response is sent
        os.rmdir(work)
    content_type = FORMATS[req.format].content_type if not req.filename().endswith(".zip") else "application/zip"
    return FileResponse(handle, as_attachment=True, filename=req.filename(), content_type=content_type)


@require_POST
def export_job(request):
    """An export of any size as a job (the portal's download dialog): the same parameters as export_download, as a
    JSON object or a form; 202 with the job's id and where to poll it (/api/jobs/<id>)."""
    from jobs import service
    from jobs.views import accepted, owned, request_data
    from layers.jobs import KIND, to_params

    req = export_request(request, request_data(request))
    job = service.start(KIND, to_params(req), request.user, owned=owned(request))
    return accepted(request, job)
