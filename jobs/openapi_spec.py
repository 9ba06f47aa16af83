"""OpenAPI of the long jobs: a job's status, result and cancel (jobs/), and the endpoints that start jobs, which live
in their own apps (layers: exports; dues: the assessment of a year) but answer alike (merged into /api/openapi.json by
portal.openapi.full_spec)."""

from common.openapi import _param

ERROR = {"$ref": "#/components/schemas/Error"}


def _errors(*codes):
    text = {400: "Bad parameter", 401: "Sign-in needed (an API token or HTTP basic works)",
            403: "Not allowed for this user, or a session's POST without its CSRF token (`csrf_failed`)",
            404: "Not found (also: a job that is not yours)", 405: "Method not allowed",
            429: "Too many unfinished jobs of this user (JOBS_MAX_ACTIVE)"}
    return {str(c): {"description": text[c], "content": {"application/json": {"schema": ERROR}}} for c in codes}


JOB_ID = _param("job_id", "the job's id (a UUID)", {"type": "string", "format": "uuid"}, "path")
STARTED = {"202": {"description": "Queued; poll status_url (also in Location) until it is done",
                   "content": {"application/json": {"schema": {"$ref": "#/components/schemas/JobStarted"}}}}}
STATUS = {"description": "The job's status", "content": {"application/json": {"schema": {
    "$ref": "#/components/schemas/JobStatus"}}}}
FORMATS = ["gpkg", "shp", "geojson", "csv", "fgb"]
# What a job's result can be (layers/exports.py FORMATS, dues' CSV summary; application/octet-stream when a job kind
# names no type).
RESULT_CONTENT = {t: {} for t in ("application/geopackage+sqlite3", "application/zip", "application/geo+json",
                                  "text/csv", "application/flatgeobuf", "application/octet-stream")}

PATHS = {
    "/api/jobs/{job_id}": {"get": {
        "summary": "A job's status and progress (its owner, or staff with jobs.view_job; others get 404)",
        "parameters": [JOB_ID], "responses": {"200": STATUS, **_errors(404)},
    }},
    "/api/jobs/{job_id}/result": {"get": {
        "summary": "The file a finished job made, as an attachment (404 before it is done or after it was deleted)",
        "parameters": [JOB_ID],
        "responses": {"200": {"description": "The file, as the job made it: an export in its format (a zip for "
                                             "shapefiles and several layers), the assessment's summary as CSV",
                              "content": RESULT_CONTENT},
                      **_errors(404)},
    }},
    "/api/jobs/{job_id}/cancel": {"post": {
        "summary": "Ask a job to stop (its owner, or staff with jobs.change_job): a waiting job never runs, a running "
                   "one stops at its next progress report",
        "parameters": [JOB_ID], "responses": {"200": STATUS, **_errors(403, 404, 405)},
    }},
    "/api/layers/export/jobs": {"post": {
        "summary": "Export layers as a job (any size): the parameters of GET /api/layers/export, as a JSON object or "
                   "a form; checked before the job is queued",
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["layers"], "additionalProperties": {"type": "string"},
            "description": "Other members are filters FIELD=VALUE on filterable fields of every layer",
            "properties": {
                "layers": {"type": "string", "description": "comma-separated layer names"},
                "format": {"enum": FORMATS}, "srid": {"type": "string", "description": "EPSG code"},
                "district": {"type": "string"}, "bbox": {"type": "string", "description": "minlon,minlat,maxlon,maxlat"},
            }}}}},
        "responses": {**STARTED, **_errors(400, 401, 403, 404, 405, 429)},
    }},
    "/api/dues/assessments/jobs": {"post": {
        "summary": "Assess every parcel for a Jalali year with its approved tariff book, as a job (finance and admin "
                   "staff); the result is the summary by district as CSV",
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["year"], "properties": {
                "year": {"type": "integer", "minimum": 1300, "maximum": 1500, "description": "Jalali year"}}}}}},
        "responses": {**STARTED, **_errors(400, 401, 403, 405, 429)},
    }},
}

SCHEMAS = {
    "JobStarted": {"type": "object", "required": ["id", "status", "status_url"], "properties": {
        "id": {"type": "string", "format": "uuid"}, "status": {"enum": ["queued"]},
        "status_url": {"type": "string"}}},
    "JobStatus": {"type": "object", "required": ["id", "kind", "status", "progress", "message", "result_url", "error"],
                  "properties": {
                      "id": {"type": "string", "format": "uuid"}, "kind": {"type": "string"},
                      "title": {"type": "string"},
                      "status": {"enum": ["queued", "running", "done", "failed", "cancelled"]},
                      "status_label": {"type": "string"},
                      "progress": {"type": "number", "minimum": 0, "maximum": 1},
                      "message": {"type": "string"}, "result_url": {"type": ["string", "null"]},
                      "result_name": {"type": ["string", "null"]}, "error": {"type": ["string", "null"]},
                      "created_at": {"type": "string", "format": "date-time"},
                      "finished_at": {"type": ["string", "null"], "format": "date-time"}}},
}
