"""The documents' API in the OpenAPI description (merged by portal/openapi.py). The verification page
(/verify/<code>/) and the stored PDF (/documents/<code>.pdf) are pages of the site, not API."""

from common.openapi import _param, error

CODE = _param("code", "the verification code printed on the document (12 digits, the last a Luhn check; Persian or "
                      "Arabic-Indic digits are accepted)", {"type": "string", "minLength": 1, "maxLength": 40}, "path")

PATHS = {
    "/api/documents/verify/{code}": {"get": {
        "summary": "Verify any document the municipality issued by the code printed on it (public)",
        "description": "A parcel certificate, a permit, a bill or a receipt: what was issued, when, for which parcel "
                       "(its renewal code, kept even if the parcel was removed since; never owners or applicants), "
                       "its number, how long it is valid, and whether it is valid, expired, revoked (with the reason) "
                       "or superseded by a later one; the SHA-256 of its signed PDF and who signed it. Lookups are "
                       "counted per address (DOCUMENTS_VERIFY_RATE).",
        "parameters": [CODE],
        "responses": {
            "200": {"description": "The issued document", "content": {"application/json": {"schema": {
                "$ref": "#/components/schemas/DocumentVerification"}}}},
            **error(404, "No document has this code, or a digit is wrong (`not_found`)"),
            **error(429, "Too many lookups from this address (`rate_limited`); Retry-After says when to try again"),
        },
    }},
    "/api/documents/parcels/{parcel_id}/certificate": {"get": {
        "summary": "The parcel sheet's certificate section: where to ask for the parcel's certificate (public)",
        "description": "The certificate (a signed PDF of the parcel's public facts: identifiers, areas, the map, "
                       "zone and rules, what may be built, hazards, dues status; never owners) is asked for with a "
                       "POST of a form with the CSRF token to `request_url` (a page of the site, not API), which "
                       "issues it (or reuses the same day's certificate of the same content) and redirects to its "
                       "page. Asking is counted per address (DOCUMENTS_CERTIFICATE_RATE).",
        "parameters": [_param("parcel_id", "parcel id", {"type": "integer"}, "path")],
        "responses": {
            "200": {"description": "The section", "content": {"application/json": {"schema": {
                "type": "object", "required": ["parcel_id", "request_url"], "properties": {
                    "parcel_id": {"type": "integer"},
                    "request_url": {"type": "string", "description": "POST a form here (CSRF token)"}}}}}},
            **error(404, "No parcel has this id (`not_found`)"),
        },
    }},
}

_TEXT_OR_NULL = {"type": ["string", "null"]}
SCHEMAS = {
    "DocumentVerification": {"type": "object", "required": [
        "verification_code", "number", "kind", "kind_name", "status", "issued_at", "valid_until", "parcel", "sha256",
        "ready"], "properties": {
        "verification_code": {"type": "string", "pattern": "^[0-9]{12}$"},
        "number": {"type": "string"}, "kind": {"type": "string"}, "kind_name": {"type": "string"},
        "status": {"enum": ["valid", "expired", "revoked", "superseded"]},
        "issued_at": {"type": "string", "format": "date-time"},
        "valid_until": {"type": ["string", "null"], "format": "date"},
        "revoked_at": {"type": ["string", "null"], "format": "date-time"},
        "revoked_reason": {"type": "string"},
        "superseded_by": _TEXT_OR_NULL, "superseded_by_code": _TEXT_OR_NULL,
        "parcel": {"type": "object", "required": ["renewal_code", "exists"], "properties": {
            "renewal_code": {"type": "string"}, "exists": {"type": "boolean"}}},
        "subject": {"type": "object", "description": "public facts the issuing app chose: a title and "
                                                     "[label, value] pairs"},
        "ready": {"type": "boolean", "description": "false while the PDF is being printed"},
        "sha256": {"type": ["string", "null"], "pattern": "^[0-9a-f]{64}$"},
        "signed_by": _TEXT_OR_NULL, "demo_signature": {"type": "boolean"},
        "pdf": {"type": ["string", "null"], "description": "where the PDF is downloaded (kinds with no personal "
                                                           "data only)"},
        "extra": {"type": ["object", "null"]},
    }},
}
