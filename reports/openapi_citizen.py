"""OpenAPI of the citizen's side of reports (reports/citizen_views.py), merged by reports/openapi_spec.py.

POSTs are POSTs of the site: they need the CSRF token (the `csrftoken` cookie, set by any page such as /reports/new/,
sent back in `X-CSRFToken`), and a citizen signed in with their mobile number (/api/accounts/signin/code and
/verify); anyone else, staff included, gets 401 `signin_needed`."""

from django.conf import settings

from common.openapi import _param, error

_CSRF = {"name": "X-CSRFToken", "in": "header", "required": True,
         "schema": {"type": "string", "pattern": "^[A-Za-z0-9]{32}([A-Za-z0-9]{32})?$"},
         "description": "the value of the csrftoken cookie"}
CODE = _param("code", "The tracking code: ten digits, the last a check digit (Luhn); Persian or Arabic-Indic digits, "
                      "spaces and dashes are accepted", {"type": "string", "minLength": 1, "maxLength": 24,
                                                         "pattern": "^[0-9\u06f0-\u06f9\u0660-\u0669 -]{1,24}$"},
              "path")
NULLABLE_STRING = {"type": ["string", "null"]}
NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}

_401 = error(401, "Not signed in as a citizen (`signin_needed`): sign in with a mobile number first (staff accounts "
                  "cannot report)")
_403_CSRF = error(403, "A POST without its CSRF token (`csrf_failed`)")
_400_CODE = "Not a tracking code (a wrong check digit: `bad_parameter`), or a bad field"
_404 = error(404, "No report has this tracking code (`not_found`)")
_409 = error(409, "Out of order (`status_conflict`): e.g. rating a report that is not resolved or already rated, "
                  "reopening one that is not resolved or after the reopen window, a voice on a report no longer open")
_429 = error(429, "Too many reports from this number or address (`rate_limited`; REPORTS_RATE_PER_NUMBER and "
                  "REPORTS_RATE_PER_ADDRESS); Retry-After says when to try again")


def _json(schema_ref: str, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {
        "$ref": f"#/components/schemas/{schema_ref}"}}}}


def _body(schema: dict) -> dict:
    return {"required": True, "content": {"application/json": {"schema": schema},
                                          "application/x-www-form-urlencoded": {"schema": schema}}}


PATHS = {
    "/api/reports/categories": {"get": {
        "summary": "The categories taking reports (the Open311 service codes), in order",
        "responses": {"200": _json("CitizenCategories", "Active categories")},
    }},
    "/api/reports/nearby": {"get": {
        "summary": "Open reports of a category near a point (what a reporter may join instead of reporting again)",
        "description": "Reports of the category, open, within REPORTS_DUPLICATE_METRES of the point and reported in "
                       "the last REPORTS_DUPLICATE_DAYS days, nearest first (at most 5), as the public sees them "
                       "(without their timeline), with `distance` in metres to the place shown to the public.",
        "parameters": [
            _param("category", "category code", {"type": "string", "minLength": 1, "maxLength": 40}),
            _param("lon", "longitude (WGS84)", {"type": "number", "minimum": -180, "maximum": 180}),
            _param("lat", "latitude (WGS84)", {"type": "number", "minimum": -90, "maximum": 90}),
        ],
        "responses": {"200": _json("CitizenNearby", "Open reports nearby (maybe none)"),
                      **error(400, "A missing or bad parameter, or an unknown category (`bad_parameter`)")},
    }},
    "/api/reports": {"post": {
        "summary": "Report a problem (a signed-in citizen), with up to REPORTS_PHOTOS_MAX photos",
        "description": "The report and its photos are recorded in one transaction: a photo that is not an image "
                       "(or too large), or a photo token not this session's to use, and nothing is kept. Photos "
                       "come as files (`photos`) or, uploaded beforehand, as `photo_tokens` (POST "
                       "/api/reports/photos: what the report form does). `lon`/`lat` may be left out when a photo "
                       "carries its place (EXIF GPS): the first such photo's is used. A place outside the city is "
                       "refused (400). The reporter gets an SMS with the tracking code (`reports.received`).",
        "parameters": [_CSRF],
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["category", "description"], "properties": {
                "category": {"type": "string", "maxLength": 40},
                "description": {"type": "string", "maxLength": 2000},
                "lon": {"type": "number", "minimum": -180, "maximum": 180},
                "lat": {"type": "number", "minimum": -90, "maximum": 90},
                "address": {"type": "string", "maxLength": 300},
                "parcel_id": {"type": "integer", "minimum": 1,
                              "description": "for categories about a parcel (needs_parcel): a parcel within 30 m "
                                             "of the place (else 400); left out, the parcel at the point"},
                "photos": {"type": "array", "maxItems": settings.REPORTS_PHOTOS_MAX,
                           "items": {"type": "string", "format": "binary"},
                           "description": "JPEG, PNG, WebP or HEIC; every metadata field is removed"},
                "photo_tokens": {"type": "array", "maxItems": settings.REPORTS_PHOTOS_MAX,
                                 "items": {"type": "string", "format": "uuid"},
                                 "description": "photos uploaded beforehand (POST /api/reports/photos), counted "
                                                "with `photos` against REPORTS_PHOTOS_MAX"}}}}}},
        "responses": {"201": _json("CitizenTracking", "Recorded: the report as its reporter sees it, with its "
                                                     "tracking code and page"),
                      **error(400, "A missing or bad field, an unknown category, a place outside the city or none, "
                                   "too many photos, a file that is not an image, a photo token that is not this "
                                   "session's to use (unknown, used or expired) (`bad_parameter`)"),
                      **_401, **_403_CSRF,
                      **error(413, "A photo larger than REPORTS_PHOTO_MAX_BYTES (`photo_too_large`)"), **_429},
    }},
    "/api/reports/photos": {"post": {
        "summary": "Upload one photo for a report still being written (a signed-in citizen): its token",
        "description": "The report form uploads each photo as soon as it is picked; the submission then names it "
                       "in `photo_tokens` instead of sending its bytes. The photo is checked as one sent with the "
                       "report (JPEG, PNG, WebP or HEIC by its content; size; header; shape) and kept as it came, "
                       "served to nobody. `location`: the place its EXIF carries (WGS84), null when none, offered "
                       "by the form. A token is used once, only by the citizen and the session that uploaded it, "
                       "until `expires_at` (REPORTS_STAGED_PHOTO_HOURS); uploads never attached are then deleted.",
        "parameters": [_CSRF],
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["photo"], "properties": {
                "photo": {"type": "string", "format": "binary", "description": "JPEG, PNG, WebP or HEIC"}}}}}},
        "responses": {"201": _json("CitizenStagedPhoto", "Kept: the token for the submission"),
                      **error(400, "No photo, more than one, or a file that is not an image we take "
                                   "(`bad_parameter`)"),
                      **_401, **_403_CSRF,
                      **error(413, "A photo larger than REPORTS_PHOTO_MAX_BYTES (`photo_too_large`)"),
                      **error(429, "Too many photos from this number or address (`rate_limited`; "
                                   "REPORTS_PHOTO_RATE_PER_NUMBER and REPORTS_PHOTO_RATE_PER_ADDRESS); Retry-After "
                                   "says when to try again")},
    }},
    "/api/reports/mine": {"get": {
        "summary": "The signed-in citizen's reports and the ones they added their voice to, newest first",
        "responses": {"200": _json("CitizenMine", "Reports (at most 200)"), **_401},
    }},
    "/api/reports/{code}": {"get": {
        "summary": "A report as the public sees it (anyone with its tracking code), its timeline and approved photos",
        "description": "A follower (its reporter, or someone who added their voice) also gets their own photos "
                       "waiting for moderation in `pending_photos`; `you` says what the asking person may do.",
        "parameters": [CODE],
        "responses": {"200": _json("CitizenTracking", "The report"), **error(400, _400_CODE), **_404},
    }},
    "/api/reports/{code}/voice": {"post": {
        "summary": "Add my voice: I see the same problem (a signed-in citizen); I follow the report from now on",
        "description": "`added` is false when the citizen follows it already (a voice counts once).",
        "parameters": [CODE, _CSRF],
        "responses": {"200": _json("CitizenVoice", "The voices now"), **error(400, _400_CODE), **_401, **_403_CSRF,
                      **_404, **_409, **_429},
    }},
    "/api/reports/{code}/rate": {"post": {
        "summary": "Rate the fix, 1 to 5 (the reporter only); the report is closed",
        "parameters": [CODE, _CSRF],
        "requestBody": _body({"type": "object", "required": ["rating"], "properties": {
            "rating": {"type": "integer", "minimum": 1, "maximum": 5},
            "comment": {"type": "string", "maxLength": 500}}}),
        "responses": {"200": _json("CitizenTracking", "Rated (and closed)"), **error(400, _400_CODE), **_401,
                      **error(403, "Not the report's reporter (`forbidden`), or a POST without its CSRF token "
                                   "(`csrf_failed`)"), **_404, **_409},
    }},
    "/api/reports/{code}/reopen": {"post": {
        "summary": "Reopen a resolved report within REPORTS_REOPEN_DAYS days (the reporter only): it is not fixed",
        "parameters": [CODE, _CSRF],
        "requestBody": _body({"type": "object", "required": ["note"], "properties": {
            "note": {"type": "string", "minLength": 1, "maxLength": 2000, "description": "what is still wrong"}}}),
        "responses": {"200": _json("CitizenTracking", "Open again"), **error(400, _400_CODE), **_401,
                      **error(403, "Not the report's reporter (`forbidden`), or a POST without its CSRF token "
                                   "(`csrf_failed`)"), **_404, **_409},
    }},
}

_PHOTO = {"type": "object", "required": ["url", "thumbnail", "kind"], "properties": {
    "url": {"type": "string"}, "thumbnail": {"type": "string"}, "kind": {"enum": ["report", "resolution"]},
    "width": {"type": "integer"}, "height": {"type": "integer"}}}

_REPORT_PROPERTIES = {
    "tracking_code": {"type": "string", "pattern": "^[0-9]{10}$"},
    "category": {"type": "object", "required": ["code", "name", "name_en", "colour"], "properties": {
        "code": {"type": "string"}, "name": {"type": "string"}, "name_en": {"type": "string"},
        "colour": {"type": "string"}}},
    "status": {"enum": ["submitted", "accepted", "assigned", "in_progress", "resolved", "rejected", "merged",
                        "closed"]},
    "status_label": {"type": "string"},
    "open": {"type": "boolean"},
    "description": {**NULLABLE_STRING, "description": "null for reports about homes"},
    "lon": {"type": "number"}, "lat": {"type": "number"},
    "place_is_approximate": {"type": "boolean", "description": "a report about a home: shown at its block"},
    "district": NULLABLE_STRING,
    "created_at": {"type": "string", "format": "date-time"}, "updated_at": {"type": "string", "format": "date-time"},
    "resolved_at": NULLABLE_TIME, "closed_at": NULLABLE_TIME, "due_at": NULLABLE_TIME,
    "voices": {"type": "integer", "minimum": 0},
    "status_note": NULLABLE_STRING,
    "merged_into": NULLABLE_STRING,
    "rating": {"type": ["integer", "null"], "minimum": 1, "maximum": 5},
    "photos": {"type": "array", "items": _PHOTO},
}
_REPORT_REQUIRED = ["tracking_code", "category", "status", "status_label", "open", "lon", "lat", "created_at",
                    "voices", "photos"]

SCHEMAS = {
    "CitizenCategories": {"type": "object", "required": ["categories"], "properties": {"categories": {
        "type": "array", "items": {"type": "object", "required": ["code", "name", "name_en", "group", "needs_parcel",
                                                                   "private_place", "colour", "sla_days"],
                                   "properties": {"code": {"type": "string"}, "name": {"type": "string"},
                                                  "name_en": {"type": "string"}, "group": {"type": "string"},
                                                  "needs_parcel": {"type": "boolean"},
                                                  "private_place": {"type": "boolean"},
                                                  "colour": {"type": "string"},
                                                  "sla_days": {"type": "integer", "minimum": 1}}}}}},
    "CitizenReport": {"type": "object", "required": _REPORT_REQUIRED, "properties": _REPORT_PROPERTIES},
    "CitizenNearby": {"type": "object", "required": ["category", "metres", "days", "results"], "properties": {
        "category": {"type": "string"}, "metres": {"type": "integer"}, "days": {"type": "integer"},
        "results": {"type": "array", "items": {"allOf": [{"$ref": "#/components/schemas/CitizenReport"}, {
            "type": "object", "required": ["distance", "url"], "properties": {
                "distance": {"type": "integer", "minimum": 0, "description": "metres"},
                "url": {"type": "string"}}}]}}}},
    "CitizenTracking": {"allOf": [{"$ref": "#/components/schemas/CitizenReport"}, {
        "type": "object", "required": ["timeline", "pending_photos", "you", "url"], "properties": {
            "timeline": {"type": "array", "items": {"type": "object", "required": ["at", "kind"], "properties": {
                "at": {"type": "string", "format": "date-time"}, "kind": {"enum": ["status", "reopen", "merge",
                                                                                    "rating"]},
                "status": NULLABLE_STRING, "status_label": NULLABLE_STRING, "note": NULLABLE_STRING}}},
            "pending_photos": {"type": "array", "description": "the asking follower's own photos waiting for "
                                                              "moderation, and photos still being processed "
                                                              "(their URLs answer 503 `photo_processing` until "
                                                              "then) or found unreadable (`broken`: never shown)",
                               "items": {
                "type": "object", "required": ["url", "thumbnail", "kind", "moderation", "state"], "properties": {
                    "url": {"type": "string"}, "thumbnail": {"type": "string"}, "kind": {"type": "string"},
                    "moderation": {"enum": ["pending", "approved", "rejected"]},
                    "state": {"enum": ["processing", "ready", "broken"]}}}},
            "you": {"type": "object", "required": ["signed_in", "follower", "reporter", "may_voice", "may_rate",
                                                   "may_reopen"],
                    "properties": {k: {"type": "boolean"} for k in ("signed_in", "follower", "reporter", "may_voice",
                                                                    "may_rate", "may_reopen")}},
            "url": {"type": "string", "description": "the report's tracking page"}}}]},
    "CitizenStagedPhoto": {"type": "object", "required": ["token", "width", "height", "location", "expires_at"],
                           "properties": {
        "token": {"type": "string", "format": "uuid", "description": "for the submission's `photo_tokens`"},
        "width": {"type": "integer"}, "height": {"type": "integer"},
        "location": {"type": ["object", "null"], "required": ["lon", "lat"], "properties": {
            "lon": {"type": "number"}, "lat": {"type": "number"}}},
        "expires_at": {"type": "string", "format": "date-time"}}},
    "CitizenVoice": {"type": "object", "required": ["tracking_code", "added", "voices", "url"], "properties": {
        "tracking_code": {"type": "string"}, "added": {"type": "boolean"}, "voices": {"type": "integer"},
        "url": {"type": "string"}}},
    "CitizenMine": {"type": "object", "required": ["reports"], "properties": {"reports": {"type": "array", "items": {
        "allOf": [{"$ref": "#/components/schemas/CitizenReport"}, {
            "type": "object", "required": ["role", "url"], "properties": {
                "role": {"enum": ["reporter", "follower"]}, "url": {"type": "string"}}}]}}}},
}
