"""OpenAPI of the staff side of reports (reports/staff_views.py): the inbox's JSON and the workflow's actions. Merged
by reports/openapi_spec.py into /api/openapi.json.

Who: signed-in staff with reports.handle_report (the reports of the departments they are on: Department.staff) or
reports.handle_all_reports (every report); a session's POST needs the CSRF token (the csrftoken cookie sent back in
the X-CSRFToken header), an API token or HTTP basic does not."""

from common.openapi import BBOX, ERROR, _param

_TEXT = {
    400: "Bad parameter (`bad_parameter`): a malformed value, a tracking code whose check digit fails",
    401: "Not signed in (`signin_needed`), or wrong credentials (`unauthorized`)",
    403: "Not allowed (`forbidden`): not staff who handle reports, a report of another department, a two-factor "
         "code still needed (STAFF_OTP_REQUIRED); or a session's POST without its CSRF token (`csrf_failed`)",
    404: "No report has this tracking code (`not_found`)",
    409: "Out of order (`status_conflict`): the workflow does not allow this move from the report's status "
         "(the message says which may follow); nothing was changed",
    413: "The photo is larger than the limit (`photo_too_large`)",
}


def _errors(*codes, **own):
    out = {}
    for code in codes:
        out[str(code)] = {"description": own.get(f"e{code}", _TEXT[code]),
                          "content": {"application/json": {"schema": ERROR}}}
    return out


CODE = _param("code", "the report's tracking code (ten digits, the last one a check digit); Persian or Arabic-Indic "
                      "digits, spaces and dashes are accepted",
              {"type": "string", "minLength": 1, "maxLength": 24,
               "pattern": "^[0-9\u06f0-\u06f9\u0660-\u0669 -]{1,24}$"},
              "path")
_CSRF = [{"name": "X-CSRFToken", "in": "header", "required": False,
          "schema": {"type": "string", "pattern": "^[A-Za-z0-9]{32}([A-Za-z0-9]{32})?$"},
          "description": "the value of the csrftoken cookie (needed with a session, not with an API token)"}]
STATUSES = ["submitted", "accepted", "assigned", "in_progress", "resolved", "rejected", "merged", "closed"]
SLA = {"type": "string", "enum": ["on_time", "due_soon", "overdue", "finished"],
       "description": "An open report past its due time is overdue, within 24 hours of it due_soon, else on_time; "
                      "resolved, rejected, merged and closed ones are finished"}

PATHS = {
    "/api/reports/staff/inbox": {"get": {
        "summary": "The staff inbox: the reports the user handles, most pressing first (by due time), a page of 50, "
                   "with counts per status",
        "description": "Filters combine. The reporter's number is masked (0917****233): the full number is only on "
                       "the report's staff page, which records the viewing. `counts` are per status under the other "
                       "filters; `overdue` counts the open reports past due under them.",
        "parameters": [
            _param("department", "a department's code", {"type": "string", "maxLength": 40}, required=False),
            _param("status", "`open` (default: submitted, accepted, assigned or in progress), `all`, or one status",
                   {"type": "string", "enum": ["open", "all", *STATUSES]}, required=False),
            _param("category", "a category's code", {"type": "string", "maxLength": 40}, required=False),
            _param("district", "a district's id", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
                   required=False),
            _param("overdue", "only open reports past their due time", {"type": "string",
                                                                         "enum": ["", "0", "1", "true", "false"]},
                   required=False),
            _param("bbox", "only reports in this box", BBOX, required=False),
            _param("page", "page number (50 a page)", {"type": "integer", "minimum": 1, "maximum": 100000},
                   required=False),
        ],
        "responses": {"200": {"description": "A page of the inbox",
                              "content": {"application/json": {"schema": {"$ref": "#/components/schemas/StaffInbox"}}}},
                      **_errors(400, 401, 403)},
    }},
    "/api/reports/{code}/status": {"post": {
        "summary": "Move a report through the workflow (staff of its department, or with handle_all_reports)",
        "description": "accepted; assigned (with `crew` and/or `assignee`; an assigned report may be reassigned); "
                       "in_progress; resolved (`note`: what was done); rejected (`note` required: the reason, which "
                       "the reporter reads); merged (`into`: the tracking code of the open report it duplicates; "
                       "its followers move there and keep hearing about it); closed (a resolved one). The report's "
                       "followers are told (notices: reports.status_changed, reports.merged).",
        "parameters": [CODE, *_CSRF],
        "requestBody": {"required": True, "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/StaffStatusChange"}},
            "application/x-www-form-urlencoded": {"schema": {"$ref": "#/components/schemas/StaffStatusChange"}}}},
        "responses": {"200": {"description": "Changed: the report's state now", "content": {
                                  "application/json": {"schema": {"$ref": "#/components/schemas/StaffReportState"}}}},
                      **_errors(400, 401, 403, 409,
                                e400="Bad parameter (`bad_parameter`): no or unknown `status`, a rejection without "
                                     "its reason, a merge without `into` or into itself, an `assignee` who does not "
                                     "handle the report, a malformed tracking code"),
                      **_errors(404, e404="No report has this tracking code (or the one named by `into`)")},
    }},
    "/api/reports/{code}/resolution-photo": {"post": {
        "summary": "Add a photo of the fix (multipart, field `photo`); taken by the report's staff, it is approved "
                   "at once (public with the report)",
        "parameters": [CODE, *_CSRF],
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["photo"],
            "properties": {"photo": {"type": "string", "format": "binary",
                                     "description": "JPEG, PNG, WebP or HEIC; re-encoded without its metadata"}}}}}},
        "responses": {"201": {"description": "Taken and approved: checked from its header and kept; a job re-encodes "
                                             "it without metadata within seconds (`state`: processing)",
                              "content": {"application/json": {"schema": {"$ref": "#/components/schemas/StaffPhoto"}}}},
                      **_errors(400, 401, 403, 404, 413,
                                e400="No `photo`, or a file that is not an image (`bad_parameter` or the photo's own "
                                     "code), a malformed tracking code"),
                      **_errors(409, e409="The report is rejected, merged or closed (`status_conflict`)")},
    }},
}

_ITEM = {"type": "object", "required": ["tracking_code", "url", "category", "department", "status", "sla", "due_at",
                                        "lon", "lat", "reporter_phone"],
         "properties": {
             "tracking_code": {"type": "string"}, "url": {"type": "string", "description": "the staff page"},
             "category": {"type": "object", "properties": {"code": {"type": "string"}, "name": {"type": "string"},
                                                           "colour": {"type": "string"}}},
             "department": {"type": "object", "properties": {"code": {"type": "string"},
                                                             "name": {"type": "string"}}},
             "status": {"type": "string", "enum": STATUSES}, "status_label": {"type": "string"}, "sla": SLA,
             "created_at": {"type": "string", "format": "date-time"},
             "due_at": {"type": "string", "format": "date-time"},
             "lon": {"type": "number"}, "lat": {"type": "number"},
             "district": {"type": ["string", "null"]}, "address": {"type": "string"},
             "description": {"type": "string", "description": "its first 200 characters"},
             "voices": {"type": "integer"}, "crew": {"type": "string"},
             "assignee": {"type": ["string", "null"], "description": "the staff member's user name"},
             "reporter_phone": {"type": "string", "description": "masked: 0917****233 (empty when none)"}}}

SCHEMAS = {
    "StaffInbox": {"type": "object", "required": ["count", "page", "pages", "page_size", "counts", "overdue",
                                                  "results"],
                   "properties": {
                       "count": {"type": "integer"}, "page": {"type": "integer"}, "pages": {"type": "integer"},
                       "page_size": {"type": "integer"},
                       "counts": {"type": "object", "additionalProperties": {"type": "integer"},
                                  "description": "reports per status (every status named) under the other filters"},
                       "overdue": {"type": "integer"},
                       "results": {"type": "array", "items": _ITEM}}},
    "StaffStatusChange": {"type": "object", "required": ["status"], "properties": {
        "status": {"type": "string", "enum": STATUSES},
        "note": {"type": "string", "maxLength": 2000, "description": "the staff's word to the reporter; required "
                                                                     "when rejecting"},
        "crew": {"type": "string", "maxLength": 120},
        "assignee": {"type": ["integer", "string"], "description": "the id of a staff member who handles the "
                                                                   "report's department"},
        "into": {"type": "string", "maxLength": 40, "description": "merging: the tracking code of the report this "
                                                                   "one duplicates"}}},
    "StaffReportState": {"type": "object", "required": ["tracking_code", "status", "allowed"], "properties": {
        "tracking_code": {"type": "string"}, "status": {"type": "string", "enum": STATUSES},
        "status_label": {"type": "string"}, "sla": SLA, "crew": {"type": "string"},
        "assignee": {"type": ["string", "null"]}, "status_note": {"type": "string"},
        "merged_into": {"type": ["string", "null"]},
        "allowed": {"type": "array", "items": {"type": "string", "enum": STATUSES},
                    "description": "the statuses staff may move it to next"}}},
    "StaffPhoto": {"type": "object", "required": ["url", "thumbnail", "kind", "moderation", "state"], "properties": {
        "url": {"type": "string"}, "thumbnail": {"type": "string"}, "kind": {"type": "string", "enum": ["resolution"]},
        "moderation": {"type": "string", "enum": ["pending", "approved", "rejected"]},
        "state": {"type": "string", "enum": ["processing", "ready", "broken"],
                  "description": "processing: checked and kept; a job makes its clean JPEG within seconds, and its "
                                 "URLs answer 503 `photo_processing` until then"}}},
}
