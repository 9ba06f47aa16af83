"""OpenAPI description of citizens' sign-in (merged into /api/openapi.json by portal.openapi.full_spec).

Both are POSTs of the site: they need the CSRF token like its forms (the `csrftoken` cookie, set by any page such as
/accounts/signin/, sent back in the `X-CSRFToken` header)."""

from common.openapi import ERROR, _errors


def _error(status: int, description: str) -> dict:
    return {str(status): {"description": description, "content": {"application/json": {"schema": ERROR}}}}


def _body(schema_name: str) -> dict:
    return {"required": True, "content": {
        "application/json": {"schema": {"$ref": f"#/components/schemas/{schema_name}"}},
        "application/x-www-form-urlencoded": {"schema": {"$ref": f"#/components/schemas/{schema_name}"}}}}


_CSRF = [{"name": "X-CSRFToken", "in": "header", "required": True,
          "schema": {"type": "string", "pattern": "^[A-Za-z0-9]{32}([A-Za-z0-9]{32})?$"},
          "description": "the value of the csrftoken cookie"}]

PATHS = {
    "/api/accounts/signin/code": {"post": {
        "summary": "Send a one-time sign-in code by SMS to a mobile number",
        "description": "The same answer whether or not the number has an account (a new number becomes one on its "
                       "first verified code). Numbers may be typed with Persian or Arabic digits, +98 or 0098. "
                       "429 `rate_limited`: too many codes for the number or from the address; 429 `locked_out`: "
                       "too many wrong codes, the number cools down (Retry-After says how long).",
        "parameters": _CSRF,
        "requestBody": _body("SigninCodeRequest"),
        "responses": {"200": {"description": "A code was sent", "content": {"application/json": {"schema": {
            "$ref": "#/components/schemas/SigninCodeSent"}}}},
            **_errors(400), **_error(403, "Missing CSRF token (`csrf_failed`)"),
            **_error(429, "Rate limited or locked out")},
    }},
    "/api/accounts/signin/verify": {"post": {
        "summary": "Check the code and sign in (a session cookie)",
        "description": "400 `code_rejected`: wrong, expired or already used code (a code works once); the "
                       "SIGNIN_MAX_TRIES-th wrong code locks the number (429 `locked_out`), even against the right "
                       "code, for SIGNIN_COOLDOWN_SECONDS.",
        "parameters": _CSRF,
        "requestBody": _body("SigninVerifyRequest"),
        "responses": {"200": {"description": "Signed in", "content": {"application/json": {"schema": {
            "$ref": "#/components/schemas/SignedIn"}}}},
            **_errors(400), **_error(403, "Missing CSRF token, or a staff number"),
            **_error(429, "Locked out")},
    }},
}

SCHEMAS = {
    "SigninCodeRequest": {"type": "object", "required": ["phone"], "properties": {
        "phone": {"type": "string", "maxLength": 32,
                  "description": "mobile number, e.g. 09121234567, ۰۹۱۲۱۲۳۴۵۶۷ or +98 912 123 4567"}}},
    "SigninCodeSent": {"type": "object", "required": ["sent", "digits", "expires_in"], "properties": {
        "sent": {"type": "boolean"}, "digits": {"type": "integer"},
        "expires_in": {"type": "integer", "description": "seconds"}}},
    "SigninVerifyRequest": {"type": "object", "required": ["phone", "code"], "properties": {
        "phone": {"type": "string"}, "code": {"type": "string", "description": "the digits of the SMS"}}},
    "SignedIn": {"type": "object", "required": ["signed_in", "new_account", "national_id_needed", "next"],
                 "properties": {"signed_in": {"type": "boolean"}, "new_account": {"type": "boolean"},
                                "national_id_needed": {"type": "boolean"},
                                "next": {"type": "string", "description": "the page to open next"},
                                "language": {"type": "string", "enum": ["fa", "en"]}}},
}
