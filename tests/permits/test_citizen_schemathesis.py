"""Schemathesis over the permits' citizen operations of /api/openapi.json as a signed-in citizen who owns a parcel
(tests/test_schemathesis.py calls every operation anonymously and as staff, which the case endpoints answer 401
before reading anything): every answer must be one the description lists, with its schema, and none a 5xx. Half the
generated case ids are replaced by real ones (the citizen's own draft, someone else's case) and half the parcel ids
by the citizen's parcel, so that the proposal, the fees, submit, resubmit and withdraw meet real states."""

import pytest
import schemathesis

from portal.openapi import full_spec
from tests.permits.conftest import citizen_owning, owned_parcel
from tests.test_schemathesis import BOUNDED, _call, api, parcel_ids  # noqa: F401  (fixtures)
from tests.zoning_fixtures import demo_rulebook  # noqa: F401  (a fixture of `api`)


def _citizen_operations():
    from gis_portal.wsgi import application

    schema = schemathesis.openapi.from_dict(full_spec()).include(
        path_regex=r"^/api/permits/(cases(/\{case_id\}(/proposal|/fees|/submit|/resubmit|/withdraw)?)?|status|"
                   r"consents(/confirm)?|parcels/\{parcel_id\}/section)$")
    schema.app = application
    return schema


citizen_schema = _citizen_operations()


@pytest.fixture
def citizen(api, permit_types, settings):
    """A signed-in owner's session cookie, their parcel, and two real case ids (their draft, another's)."""
    from django.test import Client

    from permits import service

    settings.PERMITS_STATUS_RATE_PER_ADDRESS = ["100000/60"]
    settings.PERMITS_STATUS_RATE_PER_CODE = ["100000/60"]
    parcel, owner = owned_parcel()
    user = citizen_owning(owner, "09179990100")
    other_parcel, other_owner = owned_parcel(1)
    other = citizen_owning(other_owner, "09179990101")
    mine = service.start(permit_types["building_permit"], parcel, user, work="new")
    theirs = service.start(permit_types["planning_inquiry"], other_parcel, other)
    client = Client()
    client.force_login(user)
    return ({settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value}, api,
            [str(mine.public_id), str(theirs.public_id)], parcel.pk)


@citizen_schema.parametrize()
@BOUNDED
def test_citizen_operations_as_a_citizen(case, citizen):
    cookies, parcel_ids, case_ids, parcel_id = citizen
    given = (case.path_parameters or {}).get("case_id")
    if isinstance(given, str) and len(given) % 2 == 0:
        case.path_parameters["case_id"] = case_ids[len(given) // 2 % 2]  # deterministic, like the rest
    body = case.body if isinstance(case.body, dict) else None
    if body is not None and isinstance(body.get("parcel_id"), int) and body["parcel_id"] % 2 == 0:
        body["parcel_id"] = parcel_id
    _call(case, cookies, parcel_ids)
