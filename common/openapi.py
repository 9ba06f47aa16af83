"""Building blocks every app's `openapi_spec` module uses to describe its endpoints (the site layer merges them
into /api/openapi.json, `portal/openapi.py`)."""

ERROR = {"$ref": "#/components/schemas/Error"}


def _errors(*codes):
    text = {400: "Bad parameter", 404: "Not found", 405: "Method not allowed"}
    return {str(c): {"description": text[c], "content": {"application/json": {"schema": ERROR}}} for c in codes}


def _param(name, description, schema, where="query", required=True):
    return {"name": name, "in": where, "required": required, "description": description, "schema": schema}
