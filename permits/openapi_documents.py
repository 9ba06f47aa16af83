"""OpenAPI of the permits' documents part (merged by permits/openapi_spec.py): uploading a case's document and the
public verification of an issued permit or certificate.

The document files themselves (/permits/documents/<id>/), the archive (/permits/archive/) and the verification page
(/permits/verify/<code>/) are pages of the site, not API."""

from common.openapi import _param, error

_CSRF = {"name": "X-CSRFToken", "in": "header", "required": False,
         "schema": {"type": "string", "pattern": "^[A-Za-z0-9]{32}([A-Za-z0-9]{32})?$"},
         "description": "the value of the csrftoken cookie (a session's POST; an API token needs none)"}
CASE_ID = _param("case_id", "the case's public id (a UUID)", {"type": "string", "format": "uuid"}, "path")
KIND = _param("kind", "the document's kind, given here too: its size limit is checked before the body is read",
              {"type": "string", "minLength": 1, "maxLength": 40}, required=False)
CODE = _param("code", "the verification code printed on the document (12 digits; Persian or Arabic-Indic digits "
                      "are accepted)", {"type": "string", "minLength": 1, "maxLength": 40}, "path")

PATHS = {
    "/api/permits/cases/{case_id}/documents": {"post": {
        "summary": "Add a document to a case (its applicant while it is a draft, returned or open; staff acting on it)",
        "description": "The file is judged by its content (libmagic), never its name: it must be one of the types of "
                       "the case's document kind (PDF, JPEG, PNG, DWG, DXF), within its size limit, a PDF without "
                       "JavaScript, automatic or launch actions or embedded files, an image Pillow decodes (stored "
                       "re-encoded without EXIF), and clean when a virus scanner is configured. A kind already on the "
                       "case makes a new version; nothing is overwritten. A refusal names the rule (`file_refused`).",
        "parameters": [CASE_ID, KIND, _CSRF],
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["kind", "file"], "properties": {
                "kind": {"type": "string", "minLength": 1, "maxLength": 40,
                         "description": "the document kind's code in the case's workflow (e.g. deed, drawings), or "
                                        "site_photo (staff)"},
                "file": {"type": "string", "format": "binary"}}}}}},
        "responses": {
            "201": {"description": "Kept", "content": {"application/json": {"schema": {
                "$ref": "#/components/schemas/PermitDocument"}}}},
            **error(400, "A file refused by a rule (`file_refused`: its type by content, a PDF with active content, "
                         "an unreadable or bomb image, an unreadable DXF or DWG, malware found), an unknown kind or "
                         "a missing field (`bad_parameter`)"),
            **error(401, "Sign in first (`signin_needed`)"),
            **error(403, "Not the applicant of a case still taking documents nor staff acting on it, a staff sign-in "
                         "without its second factor (`forbidden`), or a session's POST without its CSRF token "
                         "(`csrf_failed`)"),
            **error(404, "No such case, or not one this user may see (`not_found`)"),
            **error(413, "Larger than the kind's size limit (`file_refused`), told from Content-Length before the "
                         "body is read, or while reading"),
            **error(503, "The virus scanner cannot scan the file now (`scan_unavailable`); Retry-After says when to "
                         "try again"),
        },
    }},
    "/api/permits/verify/{code}": {"get": {
        "summary": "Verify an issued permit or certificate by the code printed on it (public)",
        "description": "What was issued, when, for which parcel (its renewal code; never owners or applicants), its "
                       "number, how long it is valid, and whether it is valid, expired, revoked (with the reason) or "
                       "superseded by a later one; the SHA-256 of its PDF. Lookups are counted per address "
                       "(PERMITS_VERIFY_RATE).",
        "parameters": [CODE],
        "responses": {
            "200": {"description": "The issued document", "content": {"application/json": {"schema": {
                "$ref": "#/components/schemas/PermitVerification"}}}},
            **error(404, "No permit or certificate has this code (`not_found`)"),
            **error(429, "Too many lookups from this address (`rate_limited`); Retry-After says when to try again"),
        },
    }},
}

_NULLABLE_TEXT = {"type": ["string", "null"]}
SCHEMAS = {
    "PermitDocument": {"type": "object", "required": ["id", "kind", "name", "version", "size", "sha256",
                                                      "content_type", "url"], "properties": {
        "id": {"type": "integer"}, "kind": {"type": "string"}, "name": {"type": "string"},
        "version": {"type": "integer", "minimum": 1}, "size": {"type": "integer", "minimum": 1},
        "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "content_type": {"enum": ["application/pdf", "image/jpeg", "image/png", "image/vnd.dwg", "image/vnd.dxf"]},
        "url": {"type": "string", "description": "where the document is served (its applicant and staff only)"}}},
    "PermitVerification": {"type": "object", "required": ["verification_code", "number", "kind", "issued_at",
                                                          "valid_until", "status", "parcel", "sha256"], "properties": {
        "verification_code": {"type": "string"}, "number": {"type": "string"},
        "kind": {"enum": ["permit", "completion_certificate", "certificate", "inquiry", "decision"]},
        "case_type": {"type": "string"}, "case_type_name": {"type": "string"}, "case_type_name_en": {"type": "string"},
        "issued_at": {"type": "string", "format": "date-time"},
        "valid_until": {"type": ["string", "null"], "format": "date"},
        "status": {"enum": ["valid", "expired", "revoked", "superseded"]},
        "revoked_at": {"type": ["string", "null"], "format": "date-time"},
        "revoked_reason": {"type": "string"},
        "superseded_by": _NULLABLE_TEXT,
        "parcel": {"type": "object", "required": ["renewal_code"], "properties": {
            "renewal_code": _NULLABLE_TEXT}, "additionalProperties": False},
        "sha256": {"type": ["string", "null"], "pattern": "^[0-9a-f]{64}$",
                   "description": "of the issued PDF (null until it is made, moments after issuing)"}}},
}
