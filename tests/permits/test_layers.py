"""The permits' layers: permit_cases (open cases at their parcels) only for the permit office's staff, issued_permits
public; neither carries personal data."""

import datetime as dt

import pytest
from django.utils import timezone

from layers.registry import LAYERS
from permits.models import Issued
from tests.conftest import make_user
from tests.permits.test_staff import signed_in, submitted

PERSONAL = ("phone", "mobile", "applicant", "national", "owner", "name_of")


def _geojson(client, name, **query):
    """The layer's features in a box around the parcel of the demo city's cases (the API wants a bbox)."""
    from parcels.models import Parcel

    box = Parcel.objects.filter(permit_cases__isnull=False).first() or Parcel.objects.first()
    centre = box.geom.centroid.transform(4326, clone=True)
    bbox = f"{centre.x - 0.01:.6f},{centre.y - 0.01:.6f},{centre.x + 0.01:.6f},{centre.y + 0.01:.6f}"
    return client.get(f"/api/layers/{name}.geojson", {"bbox": bbox, **query})


def test_permit_cases_is_for_permit_staff_only(client, permit_types, applicant, desk_staff):
    user, parcel = applicant
    case = submitted(permit_types, user, parcel)
    layer = LAYERS["permit_cases"]
    assert not layer.is_public and layer.permission == "permits.view_case"
    assert _geojson(client, "permit_cases").status_code == 401
    assert _geojson(signed_in(client, make_user("a-planner", "planner", is_staff=True)),
                    "permit_cases").status_code == 403
    answer = _geojson(signed_in(client, desk_staff["mayor"]), "permit_cases")
    assert answer.status_code == 200, answer.content
    features = answer.json()["features"]
    found = [f["properties"] for f in features if f["properties"]["tracking_code"] == case.tracking_code]
    assert found and found[0]["step"] == "site_visit" and found[0]["desk"] == "inspection"
    assert found[0]["overdue"] is False and found[0]["case_type"] == "building_permit"
    text = answer.content.decode()
    assert case.applicant_phone not in text
    assert not [k for k in found[0] if any(word in k for word in PERSONAL)]


def test_issued_permits_is_public_without_personal_data(client, permit_types, applicant):
    user, parcel = applicant
    case = submitted(permit_types, user, parcel)
    now = timezone.now()
    Issued.objects.create(case=case, parcel=parcel, kind="permit", number="TEST-1405-0001",
                          verification_code="123456789012", issued_at=now,
                          valid_until=(now + dt.timedelta(days=730)).date(), approved={"floors": 2})
    layer = LAYERS["issued_permits"]
    assert layer.is_public
    answer = _geojson(client, "issued_permits")
    assert answer.status_code == 200
    found = [f["properties"] for f in answer.json()["features"] if f["properties"]["number"] == "TEST-1405-0001"]
    assert found and found[0]["kind"] == "permit" and found[0]["renewal_code"] == parcel.renewal_code
    assert set(found[0]) <= {f.name for f in layer.fields} | {"id"}
    assert case.applicant_phone not in answer.content.decode()
    assert "123456789012" not in answer.content.decode()          # the verification code stays on the paper
    # a revoked one is not shown
    Issued.objects.filter(case=case).update(revoked_at=now, revoked_reason="issued in error")
    assert not [f for f in _geojson(client, "issued_permits").json()["features"]
                if f["properties"]["number"] == "TEST-1405-0001"]


@pytest.mark.parametrize("name", ["permit_cases", "issued_permits"])
def test_the_layers_fields_carry_no_personal_data(name):
    fields = " ".join(f"{f.name} {f.sql}" for f in LAYERS[name].fields)
    assert not any(word in fields for word in PERSONAL)
