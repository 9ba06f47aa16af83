"""Schemathesis over the citizen's operations of /api/openapi.json as a signed-in citizen (tests/test_schemathesis.py
calls every operation anonymously and as staff, which these answer 401 before reading anything): every answer must
be one the description lists, with its schema, and none a 5xx. Half the generated tracking codes are replaced by the
codes of real reports (one the citizen reported and staff resolved, one of someone else's still open), so that the
voices, ratings and reopenings meet real states (200, 403, 409), not only 400 and 404."""

import pytest
import schemathesis

from portal.openapi import full_spec
from tests.test_schemathesis import BOUNDED, _call, api, parcel_ids  # noqa: F401  (fixtures)
from tests.zoning_fixtures import demo_rulebook  # noqa: F401  (a fixture of `api`)

MOBILE = "09179990000"


def _citizen_operations():
    from gis_portal.wsgi import application

    schema = schemathesis.openapi.from_dict(full_spec()).include(
        path_regex=r"^/api/reports(/categories|/nearby|/mine|/photos|/\{code\}(/voice|/rate|/reopen)?)?$")
    schema.app = application
    return schema


citizen_schema = _citizen_operations()


@pytest.fixture
def citizen(api, categories, spot, role_users, settings):
    """A signed-in citizen's session cookie and the codes of two real reports."""
    from django.contrib.auth.models import User
    from django.test import Client

    from accounts.models import Citizen
    from reports import service, workflow

    settings.REPORTS_RATE_PER_NUMBER = ["100000/60"]
    settings.REPORTS_RATE_PER_ADDRESS = ["100000/60"]
    user = User.objects.create_user(username=MOBILE)
    Citizen.objects.create(user=user, mobile=MOBILE)
    mine = service.submit(category=categories["pothole"], point=spot[0], description="x",
                          reporter=service.Reporter(user=user, phone=MOBILE))
    service.change_status(mine, workflow.RESOLVED, by=role_users["admin"])
    theirs = service.submit(category=categories["waste"], point=spot[0], description="y",
                            reporter=service.Reporter(phone="09179990001"))
    client = Client()
    client.force_login(user)
    return {settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value}, api, \
        [mine.tracking_code, theirs.tracking_code]


@citizen_schema.parametrize()
@BOUNDED
def test_citizen_operations_as_a_citizen(case, citizen):
    cookies, parcel_ids, codes = citizen
    given = (case.path_parameters or {}).get("code")
    if isinstance(given, str) and len(given) % 2 == 0:
        case.path_parameters["code"] = codes[len(given) // 2 % 2]  # deterministic, like the rest
    _call(case, cookies, parcel_ids)
