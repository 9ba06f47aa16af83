"""Building blocks every app's `openapi_spec` module uses to describe its endpoints (the site layer merges them
into /api/openapi.json, `portal/openapi.py`). The description is checked against the running code by Schemathesis
(tests/test_schemathesis.py): every status an operation answers, its content type and the limits its parameters
really have must be written here, or the test fails."""

from common.params import BBOX_MAX_LENGTH, DATE_MAX_LENGTH

ERROR = {"$ref": "#/components/schemas/Error"}

# What each error status means on this API (common/errors.py and the edge, common/edge.py, answer them as JSON
# {"error": code, "message": text}); an operation's own description may say more.
ERROR_TEXT = {
    400: "Bad parameter (`bad_parameter`, or a request Django cannot read)",
    401: "Sign-in needed or wrong credentials (`unauthorized`); an API token or HTTP basic works",
    403: "Not allowed for this user (`forbidden`), or a POST without its CSRF token (`csrf_failed`)",
    404: "Not found (`not_found`)",
    405: "Method not allowed (`method_not_allowed`; the Allow header lists the methods)",
    429: "Too many requests (`rate_limited`, `locked_out`); Retry-After says when to try again",
    503: "Not available yet (`overlays_not_computed`, ...): try again later",
}

# The limits common/params.py applies (longer values are refused with a 400 before they are parsed), stated in the
# schemas so that clients and Schemathesis know them.
# Digits as people type them: ASCII, Persian (U+06F0-06F9) or Arabic-Indic (U+0660-0669).
_DIGIT = "[0-9\u06f0-\u06f9\u0660-\u0669]"
DATE = {"type": "string", "maxLength": DATE_MAX_LENGTH,
        "pattern": f"^\\s*{_DIGIT}{{4}}[-/]{_DIGIT}{{1,2}}[-/]{_DIGIT}{{1,2}}\\s*$",
        "description": "Jalali YYYY/MM/DD (year below 1700) or ISO YYYY-MM-DD, any of these digits"}
BBOX = {"type": "string", "maxLength": BBOX_MAX_LENGTH, "pattern": "^[^,]+,[^,]+,[^,]+,[^,]+$",
        "description": "minlon,minlat,maxlon,maxlat (WGS84): four numbers, min below max, within ±180/±90"}
# The HTTP server (gunicorn, its default limit_request_line and limit_request_field_size) refuses a request line longer
# than 4094 bytes and a header longer than 8190 bytes before the application sees them, with a short HTML page; long
# texts belong in a POST body.
URI_TOO_LONG = {"description": "The request line (method, path and query string) is longer than the HTTP server "
                               "accepts (4094 bytes); answered by the server itself as a short HTML page",
                "content": {"text/html": {"schema": {"type": "string"}}}}
HEADERS_TOO_LARGE = {"description": "A request header is longer than the HTTP server accepts (8190 bytes); answered "
                                    "by the server itself as a short HTML page",
                     "content": {"text/html": {"schema": {"type": "string"}}}}


def error(status: int, description: str | None = None) -> dict:
    """One documented error status with the JSON error body."""
    return {str(status): {"description": description or ERROR_TEXT[status],
                          "content": {"application/json": {"schema": ERROR}}}}


def _errors(*codes):
    out = {}
    for code in codes:
        out.update(error(code))
    return out


METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
# What every operation may answer whatever its app: the edge's 405 for another method (common/edge.py), and the HTTP
# server's own 414 and 431 for an over-long request line or header.
FRAME_RESPONSES = {**_errors(405), "414": URI_TOO_LONG, "431": HEADERS_TOO_LARGE}


# What every operation on an API path (settings.API_PATH_PREFIXES) may answer when the request carries an Authorization
# header (accounts/apiauth.py): wrong credentials, or too many wrong ones from this address or for this user name.
CREDENTIAL_RESPONSES = {
    **error(401, "Wrong credentials in the Authorization header (`unauthorized`): an unknown, revoked or expired API "
                 "token, or a wrong user name or password"),
    **error(429, "Too many failed sign-ins from this address or for this user name (`locked_out`): Retry-After says "
                 "when to try again; an API token still works"),
}
# How an API client says who it is (accounts/apiauth.py); anonymous requests are welcome where the data is public.
SECURITY_SCHEMES = {
    "apiToken": {"type": "http", "scheme": "bearer",
                 "description": "A personal API token (staff make one in the admin; it is shown once). QGIS: a Basic "
                                "authentication configuration with the token as its password."},
    "basic": {"type": "http", "scheme": "basic", "description": "A staff user name and password."},
}
SECURITY = [{}, {"apiToken": []}, {"basic": []}]


def framed(paths: dict, api_prefixes=("/api/", "/ogc/", "/tiles/")) -> dict:
    """A copy of `paths` in which every operation also documents FRAME_RESPONSES, and every operation on an API path
    (one of `api_prefixes`) CREDENTIAL_RESPONSES (its own say wins)."""
    import copy

    paths = copy.deepcopy(paths)
    for path, operations in paths.items():
        extra = {**FRAME_RESPONSES, **(CREDENTIAL_RESPONSES if path.startswith(tuple(api_prefixes)) else {})}
        for method, operation in operations.items():
            if method in METHODS:
                responses = operation.setdefault("responses", {})
                for status, response in extra.items():
                    responses.setdefault(status, response)
    return paths


def _param(name, description, schema, where="query", required=True):
    return {"name": name, "in": where, "required": required, "description": description, "schema": schema}
