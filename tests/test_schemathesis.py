"""Schemathesis over the OpenAPI description (/api/openapi.json): every operation is called with examples generated
from what the document says (valid and invalid values, bounded and reproducible), anonymously and as staff, in
process against the WSGI application production serves (the tile shortcut in front of Django), inside the test's
transaction (nothing a POST writes is kept). It fails on any 5xx and on any answer the document does not describe:
an undocumented status code or content type, or a JSON body that breaks the documented schema."""

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from portal.openapi import full_spec
from tests.zoning_fixtures import demo_rulebook  # noqa: F401  (a fixture: the zoning answers need rules)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
CSRF_TOKEN = "schemathesis0123456789abcdefghij"  # a valid CSRF secret (32 letters and digits), as cookie and header
CALLBACK_TOKEN = "schemathesis-callback-token"  # the SMS gateway's shared secret in these tests
# Generated examples per operation and run (Schemathesis adds its coverage cases: boundary values, missing and
# wrong-typed parameters, other methods); derandomized, so every run sends the same requests.
EXAMPLES = 15


def _schema():
    from gis_portal.wsgi import application

    schema = schemathesis.openapi.from_dict(full_spec())
    schema.app = application
    return schema


schema = _schema()


def _ogc_schema():
    """OGC API – Features has its own description (/ogc/api, the one QGIS reads): held to the same standard."""
    from gis_portal.wsgi import application
    from layers.openapi_spec import ogc_spec

    ogc = schemathesis.openapi.from_dict(ogc_spec())
    ogc.app = application
    return ogc


ogc_schema = _ogc_schema()

BOUNDED = hypothesis_settings(
    max_examples=EXAMPLES, derandomize=True, deadline=None, database=None, print_blob=True,
    phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="module")
def parcel_ids(demo_city, django_db_blocker):
    """Ids of the demo city's parcels: generated ids rarely hit one, so half the cases ask for a real parcel."""
    from parcels.models import Parcel

    with django_db_blocker.unblock():
        return list(Parcel.objects.order_by("pk").values_list("pk", flat=True)[:500])


@pytest.fixture
def api(demo_city, demo_rulebook, parcel_ids, db, settings):
    """The demo city and rulebook (committed once per session) and the test's transaction, which the in-process WSGI
    calls share: as in Django's test client, a request does not close the connection at its end (that would end the
    transaction). The SMS callbacks get a shared secret, so that they can be reached."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    settings.NOTICES_CALLBACK_TOKEN = CALLBACK_TOKEN
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield parcel_ids
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


CALLS = {"anonymous": 0, "staff": 0, "wrong credentials": 0}


@pytest.fixture(scope="module", autouse=True)
def _report_calls():
    yield
    print(f"\nschemathesis: {CALLS['anonymous']} anonymous, {CALLS['staff']} staff and "
          f"{CALLS['wrong credentials']} wrong-credentials requests")


def _call(case, cookies, parcel_ids, authorization=None):
    CALLS["wrong credentials" if authorization else "staff" if cookies else "anonymous"] += 1
    given = (case.path_parameters or {}).get("parcel_id")
    if isinstance(given, int) and not isinstance(given, bool) and given % 2 == 0:
        case.path_parameters["parcel_id"] = parcel_ids[given % len(parcel_ids)]  # deterministic, like the rest
    token = (case.path_parameters or {}).get("token")
    if isinstance(token, str) and len(token) % 2 == 0:
        case.path_parameters["token"] = CALLBACK_TOKEN  # the SMS callbacks past their shared secret, half the time
    headers = {"X-CSRFToken": CSRF_TOKEN, **({"Authorization": authorization} if authorization else {})}
    case.call_and_validate(headers=headers, cookies={"csrftoken": CSRF_TOKEN, **cookies}, checks=CHECKS)


@schema.parametrize()
@BOUNDED
def test_anonymous(case, api):
    _call(case, {}, api)


@pytest.fixture
def staff_cookies(api):
    """A signed-in administrator's session (staff, superuser: every permission)."""
    from django.conf import settings
    from django.test import Client

    from tests.conftest import make_user

    client = Client()
    client.force_login(make_user("schemathesis-admin", "admin", is_staff=True, is_superuser=True))
    return {settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value}, api


@schema.parametrize()
@BOUNDED
def test_staff(case, staff_cookies):
    _call(case, *staff_cookies)


@ogc_schema.parametrize()
@BOUNDED
def test_ogc_anonymous(case, api):
    _call(case, {}, api)


@ogc_schema.parametrize()
@BOUNDED
def test_ogc_staff(case, staff_cookies):
    _call(case, *staff_cookies)


# A few examples per operation with a wrong API token and a wrong password: what accounts/apiauth.py answers them
# (401, or the public answer where nothing asks who is calling) must be documented too.
FEW = hypothesis_settings(BOUNDED, max_examples=2)
WRONG = ["Bearer lp_wrongtoken0000000000000000000000000000", "Basic " + __import__("base64").b64encode(
    b"schemathesis-nobody:wrong password").decode()]


@schema.parametrize()
@FEW
def test_wrong_credentials(case, api):
    _call(case, {}, api, authorization=WRONG[CALLS["wrong credentials"] % 2])


@ogc_schema.parametrize()
@FEW
def test_ogc_wrong_credentials(case, api):
    _call(case, {}, api, authorization=WRONG[CALLS["wrong credentials"] % 2])


def test_every_api_operation_documents_wrong_credentials():
    from layers.openapi_spec import ogc_spec

    for spec in (full_spec(), ogc_spec()):
        assert set(spec["components"]["securitySchemes"]) == {"apiToken", "basic"}
        for path, operations in spec["paths"].items():
            for method, operation in operations.items():
                if isinstance(operation, dict) and "responses" in operation:
                    assert {"401", "429"} <= set(operation["responses"]), (method, path)


# --- What Schemathesis's checks do not cover: required parameters enforced, and the HTTP server's own answers --------


def _path_values(parcel_ids):
    from django.conf import settings

    return {"parcel_id": parcel_ids[0], "layer": "parcels", "token": settings.NOTICES_CALLBACK_TOKEN}


def test_required_query_parameters_are_enforced(api, client, settings):
    """Every query parameter the document calls required is required by the code: without it the answer is 400,
    not a guess (GET /api/search without q answered 200 with no results while the document said required)."""
    import re

    settings.NOTICES_CALLBACK_TOKEN = CALLBACK_TOKEN
    checked = []
    for path, operations in full_spec()["paths"].items():
        operation = operations.get("get")
        if operation is None:
            continue
        required = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query" and p.get("required")]
        if not required:
            continue
        url = re.sub(r"\{(\w+)\}", lambda m: str(_path_values(api)[m.group(1)]), path)
        response = client.get(url)
        assert response.status_code == 400, (path, response.status_code)
        assert response.json()["error"] == "bad_parameter", path
        checked.append(path)
    assert "/api/search" in checked and len(checked) >= 5, checked


def test_the_servers_own_refusals_are_documented(portal_url):
    """gunicorn refuses a request line over 4094 bytes with 414 and a header over 8190 bytes with 431, as short HTML
    pages, before the application runs: every operation documents both with that content type."""
    import urllib.error
    import urllib.request

    from layers.openapi_spec import ogc_spec

    for spec in (full_spec(), ogc_spec()):
        for path, operations in spec["paths"].items():
            for method, operation in operations.items():
                for status in ("414", "431"):
                    assert "text/html" in operation["responses"][status]["content"], (method, path, status)

    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(portal_url + "/api/search?q=" + "x" * 5000, timeout=10)
    assert refused.value.code == 414 and refused.value.headers.get_content_type() == "text/html"
    request = urllib.request.Request(portal_url + "/api/city", headers={"X-Long": "x" * 9000})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 431 and refused.value.headers.get_content_type() == "text/html"
