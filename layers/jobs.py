"""Layer exports as long jobs (jobs/): the same export (layers/exports.py) written by a worker into the job's result
directory, with its progress by layer weighted by each layer's feature count (ogr2ogr reports no progress of its
own when it reads an SQL statement). Registered from LayersConfig.ready()."""

from django.db import connection
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from common.i18n import is_persian
from jobs.registry import JobError, JobKind, Outcome, register
from jobs.runner import result_dir
from layers.access import layer_for
from layers.exports import FORMATS, ExportNoRoom, ExportRequest, check_request, export, layer_sql
from layers.registry import LAYERS

KIND = "layers.export"
FINISHING = 0.1  # the share of the bar left for styles, the QGIS project and zipping


def to_params(req: ExportRequest) -> dict:
    """A checked request as the job's JSON parameters."""
    return {"layers": [layer.name for layer in req.layers], "format": req.format, "srid": req.srid,
            "district": req.district, "bbox": list(req.bbox) if req.bbox else None, "filters": dict(req.filters)}


def from_params(params: dict) -> ExportRequest:
    unknown = [name for name in params["layers"] if name not in LAYERS]
    if unknown:
        raise JobError(_("Layer '%(name)s' is no longer published.") % {"name": unknown[0]})
    bbox = params.get("bbox")
    return check_request(ExportRequest([LAYERS[name] for name in params["layers"]], params["format"],
                                       params.get("srid"), params.get("district"),
                                       tuple(bbox) if bbox else None, params.get("filters") or {}))


def count_features(req: ExportRequest) -> list[int]:
    """How many features each layer of the export has, in one statement."""
    counts = ", ".join(f"(SELECT count(*) FROM ({layer_sql(layer, req)}) s)" for layer in req.layers)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT ARRAY[{counts}]::bigint[]")
        return [int(n) for n in cursor.fetchone()[0]]


def run_export(job, progress) -> Outcome:
    req = from_params(job.params)
    progress(0, 1, _("Counting features…"))
    counts = count_features(req)
    total = sum(counts) or 1
    before = [sum(counts[:i]) for i in range(len(counts) + 1)]

    def on_layer(i, layer):
        share = before[i] / total * (1 - FINISHING)
        if layer is None:
            progress(share, 1, _("Finishing the file…"))
        else:
            progress(share, 1, ngettext("Writing %(layer)s (%(count)s feature)", "Writing %(layer)s (%(count)s features)",
                                        counts[i]) % {"layer": layer.title if is_persian() else layer.title_en, "count": f"{counts[i]:,}"})

    name = req.filename()
    try:
        out = export(req, result_dir(job) / name, on_layer=on_layer)
    except ExportNoRoom as exc:  # the one server-side failure people can act on: said as it is
        raise JobError(exc.message) from exc
    content_type = "application/zip" if name.endswith(".zip") else FORMATS[req.format].content_type
    return Outcome(out, name, content_type, ngettext("%(count)s feature exported", "%(count)s features exported",
                                                     sum(counts)) % {"count": f"{sum(counts):,}"})


def result_access(request, job) -> None:
    """Before an export's file is handed out: the person downloading it must still be allowed every layer in it
    (staff who may see others' jobs do not thereby see personal data), and a layer with personal data records the
    download as an access of its own."""
    for name in job.params.get("layers", []):
        layer_for(request, name, action="download")


def register_kind() -> None:
    register(JobKind(KIND, "خروجی لایه‌ها", "Layer export", run=run_export, on_result=result_access))
