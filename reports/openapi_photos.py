"""OpenAPI of the reports' photos: their moderation (merged by reports/openapi_spec.py into /api/openapi.json).

The photo files themselves (/reports/photos/<uuid>.jpg and -thumb.jpg) are pages of the site, not API: an approved
photo to anyone, the others only to its report's followers and staff (404 to everyone else)."""

from common.openapi import _errors, _param, error

PHOTO_ID = _param("public_id", "the photo's public id (a UUID)", {"type": "string", "format": "uuid"}, "path")

_DECISION = {"type": "object", "required": ["approve"], "properties": {
    "approve": {"type": "boolean", "description": "true: the photo becomes public with its report; false: it never "
                                                  "is (its reporter and staff still see it)"}}}
_FORM = {"type": "object", "required": ["approve"], "properties": {"approve": {"enum": ["true", "false"]}}}

PATHS = {
    "/api/reports/photos/{public_id}/moderation": {"post": {
        "summary": "Approve or reject a report's photo (moderators: reports.moderate_photo)",
        "description": "The last decision counts (a photo may be approved after a rejection, and the reverse); who "
                       "decided and when are recorded. A session's POST needs the CSRF token (the csrftoken cookie "
                       "sent back in X-CSRFToken); an API token needs none. The staff page "
                       "/reports/staff/moderation/ is the same queue for people.",
        "parameters": [PHOTO_ID],
        "requestBody": {"required": True, "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/PhotoModerationRequest"}},
            "application/x-www-form-urlencoded": {"schema": _FORM}}},
        "responses": {
            "200": {"description": "Decided", "content": {"application/json": {"schema": {
                "$ref": "#/components/schemas/PhotoModeration"}}}},
            **error(400, "`approve` missing or not a boolean (`bad_parameter`), or a body over 1 KB"),
            **error(401, "Sign in as staff first (`signin_needed`), or wrong credentials (`unauthorized`)"),
            **error(403, "Not a photo moderator, the staff second factor is needed, or a session's POST without its "
                         "CSRF token (`csrf_failed`)"),
            **_errors(404),
        },
    }},
}

SCHEMAS = {
    "PhotoModerationRequest": _DECISION,
    "PhotoModeration": {"type": "object", "required": ["photo", "moderation", "moderated_at"], "properties": {
        "photo": {"type": "string", "format": "uuid"},
        "moderation": {"enum": ["approved", "rejected"]},
        "moderated_at": {"type": "string", "format": "date-time"}}},
}
