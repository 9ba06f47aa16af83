"""The OpenAPI description matches the routes: every documented path resolves, every API route is documented."""

import re

from django.urls import get_resolver

from portal.openapi import full_spec


def _api_routes():
    out = set()

    def walk(patterns, prefix=""):
        for p in patterns:
            route = prefix + str(p.pattern)
            if hasattr(p, "url_patterns"):
                walk(p.url_patterns, route)
            elif route.startswith(("api/", "tiles/")) and route != "api/openapi.json":
                out.add("/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route))
    walk(get_resolver().url_patterns)
    return out


def test_every_route_documented_and_every_documented_path_real(client):
    documented = set(full_spec()["paths"])
    assert documented == _api_routes()
    served = client.get("/api/openapi.json").json()
    assert served["openapi"].startswith("3.") and set(served["paths"]) == documented


def test_refs_resolve():
    spec = full_spec()
    text = str(spec)
    for ref in set(re.findall(r"#/components/schemas/(\w+)", text)):
        assert ref in spec["components"]["schemas"], ref


def test_valid_openapi_document():
    from openapi_spec_validator import validate

    validate(full_spec())  # raises with the reason if the document is not valid OpenAPI 3.1
