"""Fixtures of the permits' tests: the demo desks and case types (data/permits/) and the default notice texts (per
test, in its transaction), an owner of a demo parcel signed up as a citizen, staff at every desk, a document."""

import pytest

from tests.conftest import make_user
from tests.zoning_fixtures import demo_rulebook  # noqa: F401  (a fixture: the eligibility decision needs rules)


@pytest.fixture
def permit_types(db, demo_city, demo_rulebook):
    """The demo desks and case types, loaded as `load_permit_types --commit` does; {code: CaseType}."""
    from notices import defaults
    from permits import loader
    from permits.models import CaseType

    defaults.load()
    loader.load(loader.read(loader.DEFAULT_DIR))
    return {t.code: t for t in CaseType.objects.all()}


def owned_parcel(index: int = 0):
    """A demo parcel in a zone with rules, owned by one person with a national ID (the `index`-th such)."""
    from django.db.models import Count

    from common.errors import NotFound
    from parcels.models import Owner, Ownership, Parcel
    from zoning import api as zoning_api

    parcels = (Parcel.objects.filter(renewal_code__isnull=False, deed_area__gt=150)
               .annotate(n=Count("ownerships")).filter(n=1).order_by("id"))
    found = 0
    for parcel in parcels[:400]:
        ownership = Ownership.objects.select_related("owner").get(parcel=parcel)
        if ownership.owner.kind == Owner.Kind.PERSON and ownership.owner.national_id:
            try:
                zoning_api.envelope(parcel.pk)
            except NotFound:
                continue
            if found == index:
                return parcel, ownership.owner
            found += 1
    raise AssertionError("no parcel with a single personal owner in the demo city")


def citizen_owning(parcel_owner, mobile: str, username: str | None = None):
    """A citizen account (user, Citizen, verified link) for a demo owner."""
    from accounts.models import Citizen, PropertyLink

    user = make_user(username or "c" + mobile, "citizen")
    citizen = Citizen.objects.create(user=user, mobile=mobile, national_id=parcel_owner.national_id)
    PropertyLink.objects.create(citizen=citizen, national_id=parcel_owner.national_id, status="verified",
                                method="staff")
    return user


@pytest.fixture
def applicant(permit_types):
    """(user, parcel): a citizen who owns a demo parcel with a planning zone."""
    parcel, owner = owned_parcel()
    return citizen_owning(owner, "09171230001", "applicant"), parcel


@pytest.fixture
def desk_staff(permit_types):
    """{desk code: user}: one member of the permit office (role "permits") at each desk."""
    from permits.models import Desk

    staff = {}
    for desk in Desk.objects.all():
        user = make_user(f"desk-{desk.code}", "permits", is_staff=True)
        desk.staff.add(user)
        staff[desk.code] = user
    return staff


PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
       b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\nxref\n0 4\n0000000000 65535 f \n"
       b"0000000009 00000 n \n0000000052 00000 n \n0000000101 00000 n \ntrailer<</Size 4/Root 1 0 R>>\n"
       b"startxref\n160\n%%EOF\n")


def a_proposal(parcel) -> dict:
    """A modest proposal the demo rules should allow on `parcel`: two floors, half the lot."""
    area = float(parcel.deed_area or parcel.measured_area)
    return {"land_use": "residential", "floors": 2, "footprint_area": round(area * 0.4, 1),
            "gross_floor_area": round(area * 0.8, 1), "units": 1, "parking_spaces": 1}
