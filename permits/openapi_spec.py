"""OpenAPI of the permits app: each part describes its endpoints in its own module (PATHS, SCHEMAS), merged here for
portal/openapi.py."""

import importlib

PARTS = ("permits.openapi_citizen", "permits.openapi_staff", "permits.openapi_documents")

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
