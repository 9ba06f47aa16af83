"""The OpenAPI description of the public JSON API, served at /api/openapi.json: the site's frame plus what each
installed app describes in its own `openapi_spec` module."""

from django.conf import settings
from django.http import JsonResponse

from common.openapi import SECURITY, SECURITY_SCHEMES, framed

SPEC = {
    "openapi": "3.1.0",
    "info": {
        "title": "Land and property information system — public API",
        "version": "1",
        "description": "Parcels, search and map layers of the municipality. Coordinates are WGS84 longitude/latitude; "
                       "numbers may be typed with Persian or Arabic digits. Errors are JSON with a message. "
                       "Every path answers 405 (JSON) to a method it does not list. The HTTP server refuses, "
                       "before the application, a request line over 4094 bytes (414) and a header over 8190 bytes "
                       "(431), both as a short HTML page: send long values in a POST body.",
    },
    "paths": {},
    "security": SECURITY,
    "components": {"securitySchemes": SECURITY_SCHEMES, "schemas": {
        "Error": {"type": "object", "required": ["error", "message"],
                  "properties": {"error": {"type": "string"}, "message": {"type": "string"}}},
    }},
}


def full_spec() -> dict:
    """SPEC plus what each installed app describes in its own `openapi_spec` module (PATHS and SCHEMAS dicts), so
    an app documents its endpoints next to them."""
    import copy
    import importlib
    import importlib.util

    from django.apps import apps

    spec = copy.deepcopy(SPEC)
    for config in apps.get_app_configs():
        name = f"{config.name}.openapi_spec"
        if config.name.startswith("django") or importlib.util.find_spec(config.name) is None:
            continue
        try:
            found = importlib.util.find_spec(name)
        except ModuleNotFoundError:
            found = None
        if found is None:
            continue
        module = importlib.import_module(name)
        spec["paths"].update(getattr(module, "PATHS", {}))
        spec["components"]["schemas"].update(getattr(module, "SCHEMAS", {}))
    # 405, the HTTP server's 414 and 431 on every operation; wrong credentials' 401 and 429 on the API paths
    spec["paths"] = framed(spec["paths"], settings.API_PATH_PREFIXES)
    return spec


def openapi(request):
    return JsonResponse(full_spec(), json_dumps_params={"ensure_ascii": False})
