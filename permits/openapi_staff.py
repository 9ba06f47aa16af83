"""OpenAPI of the permit office's side (permits/staff_views.py): the inbox's JSON and GeoJSON, a case's state, and the
actions (act, assign, comment, site visit). Merged by permits/openapi_spec.py into /api/openapi.json.

Who: signed-in staff with permits.view_case (the inbox lists the cases held by the desks they sit at; every desk's
with permits.act_at_any_desk); acting needs a seat at the desk that holds the case. A session's POST needs the CSRF
token (the csrftoken cookie sent back in the X-CSRFToken header). Every change names the case's `revision` it was
decided on: another member of staff who acted meanwhile makes it 409 and nothing is written."""

from common.openapi import ERROR, _param

_TEXT = {
    400: "Bad parameter (`bad_parameter`): a malformed value, a missing reason or step field, a missing document",
    401: "Not signed in (`signin_needed`), or wrong credentials (`unauthorized`)",
    403: "Not allowed (`forbidden`): not permit-office staff, not at the desk that holds the case, a two-factor code "
         "still needed; or a session's POST without its CSRF token (`csrf_failed`)",
    404: "No permit case has this id (`not_found`)",
    409: "Conflict (`conflict`): the case changed since `revision` (a colleague acted), or the action is not "
         "possible at its step; nothing was written: reload and decide again",
    413: "A photo is larger than its limit (`file_refused`)",
}


def _errors(*codes, **own):
    return {str(code): {"description": own.get(f"e{code}", _TEXT[code]),
                        "content": {"application/json": {"schema": ERROR}}} for code in codes}


CASE_ID = _param("case_id", "the case's public id (a UUID)", {"type": "string", "format": "uuid"}, "path")
_CSRF = [{"name": "X-CSRFToken", "in": "header", "required": False,
          "schema": {"type": "string", "pattern": "^[A-Za-z0-9]{32}([A-Za-z0-9]{32})?$"},
          "description": "the value of the csrftoken cookie (needed with a session, not with an API token)"}]
STATUSES = ["open", "returned", "awaiting_payment", "issued", "refused", "withdrawn"]
SLA = {"type": "string", "enum": ["on_time", "due_soon", "overdue", "no_due", "finished"],
       "description": "An open case past its step's due time is overdue, within 24 hours of it due_soon, else "
                      "on_time (no_due: a step without days); finished, refused and withdrawn ones are finished"}
ACTIONS = ["approve", "return", "reject", "site_visit"]
_FILTERS = [
    _param("desk", "a desk's code", {"type": "string", "maxLength": 40}, required=False),
    _param("case_type", "a case type's code", {"type": "string", "maxLength": 40}, required=False),
    _param("step", "a step's code", {"type": "string", "maxLength": 40}, required=False),
    _param("status", "`open` (default: in progress, returned, awaiting payment), `all`, or one status",
           {"type": "string", "enum": ["open", "all", *STATUSES]}, required=False),
    _param("overdue", "only open cases past their step's due time",
           {"type": "string", "enum": ["", "0", "1", "true", "false"]}, required=False),
    _param("assigned", "`me`: assigned to the user; `none`: to nobody", {"type": "string",
                                                                         "enum": ["", "me", "none"]},
           required=False),
    _param("q", "a tracking code (Persian digits, spaces and dashes accepted)", {"type": "string", "maxLength": 24},
           required=False),
]
_AFTER = _param("after", "the cursor of the next page (a page's `next`)", {"type": "string", "maxLength": 60},
                required=False)
_NAMED = {"type": "object", "properties": {"code": {"type": "string"}, "name": {"type": "string"}}}
_STATE = {"$ref": "#/components/schemas/PermitStaffCaseState"}


def _json_body(ref):
    return {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


PATHS = {
    "/api/permits/staff/inbox": {"get": {
        "summary": "The permit office's inbox: the cases held by the user's desks, most pressing first (by the "
                   "step's due time), 50 a page (keyset: `next` is the cursor of the following page)",
        "description": "No personal data (no applicant, no mobile). `count` and `overdue` are under the same "
                       "filters, capped at 1,000 (`count_capped`).",
        "parameters": [*_FILTERS, _AFTER],
        "responses": {"200": {"description": "A page of the inbox", "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/PermitStaffInbox"}}}}, **_errors(400, 401, 403)},
    }},
    "/api/permits/staff/inbox/map": {"get": {
        "summary": "The inbox's cases (same filters, the first 2,000 by due time) as GeoJSON points on their parcels",
        "parameters": _FILTERS,
        "responses": {"200": {"description": "A GeoJSON FeatureCollection (WGS84)", "content": {"application/json": {
            "schema": {"type": "object", "required": ["type", "features"], "properties": {
                "type": {"type": "string", "enum": ["FeatureCollection"]},
                "features": {"type": "array", "items": {"type": "object"}}}}}}},
            **_errors(400, 401, 403)},
    }},
    "/api/permits/staff/cases/{case_id}": {"get": {
        "summary": "A case as its staff page's actions see it: step, status, revision, the actions the user may take",
        "parameters": [CASE_ID],
        "responses": {"200": {"description": "The case's state", "content": {"application/json": {"schema": _STATE}}},
                      **_errors(401, 403, 404)},
    }},
    "/api/permits/staff/cases/{case_id}/act": {"post": {
        "summary": "Act at the case's step (staff at the desk that holds it): approve (with the step's fields), "
                   "return for correction or reject (with the reason in `note`), ask for a site visit",
        "description": "Approving moves the case to the next step (a payment step issues the fee bill; the last "
                       "step issues the permit); returning sends it to the applicant; rejecting ends it. The "
                       "applicant is told (notices).",
        "parameters": [CASE_ID, *_CSRF],
        "requestBody": _json_body("PermitStaffAction"),
        "responses": {"200": {"description": "Done: the case's state now",
                              "content": {"application/json": {"schema": _STATE}}},
                      **_errors(400, 401, 403, 404, 409)},
    }},
    "/api/permits/staff/cases/{case_id}/assign": {"post": {
        "summary": "Give the case to a member of its desk's staff (or to nobody: `assignee` null)",
        "parameters": [CASE_ID, *_CSRF],
        "requestBody": _json_body("PermitStaffAssign"),
        "responses": {"200": {"description": "Assigned: the case's state now",
                              "content": {"application/json": {"schema": _STATE}}},
                      **_errors(400, 401, 403, 404, 409, e400="Bad parameter (`bad_parameter`): no `revision`, an "
                                                              "assignee who does not sit at the case's desk")},
    }},
    "/api/permits/staff/cases/{case_id}/comments": {"post": {
        "summary": "A comment on the case: internal (staff only, the default) or for the applicant",
        "parameters": [CASE_ID, *_CSRF],
        "requestBody": _json_body("PermitStaffComment"),
        "responses": {"201": {"description": "Added", "content": {"application/json": {"schema": {
            "type": "object", "required": ["id", "at", "internal", "note"], "properties": {
                "id": {"type": "integer"}, "at": {"type": "string", "format": "date-time"},
                "internal": {"type": "boolean"}, "note": {"type": "string"}}}}}},
            **_errors(400, 401, 403, 404)},
    }},
    "/api/permits/staff/cases/{case_id}/visits": {"post": {
        "summary": "Record a site visit (multipart): findings, where (WGS84, from the phone or the map), whether the "
                   "building matches its permit, photos (kept as documents of kind site_photo)",
        "parameters": [CASE_ID, *_CSRF],
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["findings"], "properties": {
                "findings": {"type": "string", "maxLength": 4000},
                "lon": {"type": "number", "minimum": -180, "maximum": 180},
                "lat": {"type": "number", "minimum": -90, "maximum": 90},
                "matches_permit": {"type": "string", "enum": ["", "true", "false"]},
                "photos": {"type": "array", "maxItems": 10, "items": {"type": "string", "format": "binary"},
                           "description": "JPEG or PNG, re-encoded without their metadata"}}}}}},
        "responses": {"201": {"description": "Recorded", "content": {"application/json": {"schema": {
            "type": "object", "required": ["id", "at", "photos"], "properties": {
                "id": {"type": "integer"}, "at": {"type": "string", "format": "date-time"},
                "photos": {"type": "array", "items": {"type": "string"}},
                "matches_permit": {"type": ["boolean", "null"]}}}}}},
            **_errors(400, 401, 403, 404, 413, e400="Bad parameter (`bad_parameter`, `file_refused`): no findings, "
                                                    "a position far from the parcel, a file that is not a photo")},
    }},
}

_ITEM = {"type": "object", "required": ["id", "tracking_code", "url", "case_type", "step", "status", "sla"],
         "properties": {
             "id": {"type": "string", "format": "uuid"}, "tracking_code": {"type": ["string", "null"]},
             "url": {"type": "string", "description": "the case's staff page"},
             "case_type": _NAMED, "work": {"type": "string"}, "step": _NAMED,
             "desk": {"oneOf": [_NAMED, {"type": "null"}]},
             "status": {"type": "string", "enum": STATUSES}, "status_label": {"type": "string"}, "sla": SLA,
             "due_at": {"type": ["string", "null"], "format": "date-time"},
             "days_left": {"type": ["integer", "null"]},
             "submitted_at": {"type": ["string", "null"], "format": "date-time"},
             "assignee": {"type": ["string", "null"]}, "renewal_code": {"type": "string"},
             "lon": {"type": ["number", "null"]}, "lat": {"type": ["number", "null"]},
             "revision": {"type": "integer"}}}

SCHEMAS = {
    "PermitStaffInbox": {"type": "object", "required": ["count", "count_capped", "overdue", "page_size", "next",
                                                        "results"],
                         "properties": {"count": {"type": "integer"}, "count_capped": {"type": "boolean"},
                                        "overdue": {"type": "integer"}, "page_size": {"type": "integer"},
                                        "next": {"type": ["string", "null"]},
                                        "results": {"type": "array", "items": _ITEM}}},
    "PermitStaffCaseState": {"type": "object", "required": ["id", "status", "step", "revision", "actions"],
                             "properties": {
                                 "id": {"type": "string", "format": "uuid"},
                                 "tracking_code": {"type": ["string", "null"]},
                                 "status": {"type": "string", "enum": STATUSES}, "status_label": {"type": "string"},
                                 "step": {"type": "string"}, "step_name": {"type": "string"},
                                 "desk": {"type": ["string", "null"]}, "revision": {"type": "integer"}, "sla": SLA,
                                 "due_at": {"type": ["string", "null"], "format": "date-time"},
                                 "assignee": {"type": ["string", "null"]},
                                 "actions": {"type": "array", "items": {"type": "string", "enum": ACTIONS},
                                             "description": "what the user may do at the step now"},
                                 "may_act": {"type": "boolean"}, "status_note": {"type": "string"}}},
    "PermitStaffAction": {"type": "object", "required": ["action", "revision"], "properties": {
        "action": {"type": "string", "enum": ACTIONS},
        "revision": {"type": "integer", "minimum": 0, "description": "the case's revision the decision was made on"},
        "note": {"type": "string", "maxLength": 2000, "description": "the reason (required to return or reject)"},
        "fields": {"type": "object", "additionalProperties": {"type": ["string", "number"]},
                   "description": "approving: the step's fields (e.g. frontage_m, setback_m)"}}},
    "PermitStaffAssign": {"type": "object", "required": ["revision"], "properties": {
        "assignee": {"type": ["integer", "null"], "description": "a user id at the case's desk; null: nobody"},
        "revision": {"type": "integer", "minimum": 0}}},
    "PermitStaffComment": {"type": "object", "required": ["note"], "properties": {
        "note": {"type": "string", "minLength": 1, "maxLength": 4000},
        "internal": {"type": "boolean", "description": "staff only (default true)"}}},
}
