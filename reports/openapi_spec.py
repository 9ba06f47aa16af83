"""OpenAPI of the reports app: each part describes its endpoints in its own module (PATHS, SCHEMAS), merged here for
portal/openapi.py. (Open311 has its own description: it is a standard of its own, GeoReport v2.)"""

import importlib

PARTS = ("reports.openapi_citizen", "reports.openapi_staff", "reports.openapi_public", "reports.openapi_photos")

PATHS: dict = {}
SCHEMAS: dict = {}
for _name in PARTS:
    try:
        _module = importlib.import_module(_name)
    except ModuleNotFoundError as exc:
        if exc.name != _name:
            raise
        continue
    PATHS.update(getattr(_module, "PATHS", {}))
    SCHEMAS.update(getattr(_module, "SCHEMAS", {}))
