"""Owners' personal data never reaches anonymous users; staff access is recorded; every edit has history."""

from decimal import Decimal

import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon

from parcels.models import Owner, Ownership, Parcel, PersonalDataAccess

pytestmark = pytest.mark.django_db

X0, Y0 = 730_000, 3_130_000


@pytest.fixture
def owned_parcel(db):
    parcel = Parcel.objects.create(renewal_code="6-6-601-001-0-0-0", postal_code="7134691111",
                                   geom=MultiPolygon(Polygon.from_bbox((X0, Y0, X0 + 20, Y0 + 20)), srid=32640))
    owner = Owner.objects.create(kind="person", first_name="زهرا", last_name="شجاعی", national_id="0499370899",
                                 phone="09171234567")
    Ownership.objects.create(parcel=parcel, owner=owner, share_dang=Decimal(6))
    return parcel, owner


SECRETS = ("شجاعی", "0499370899", "09171234567")


def test_anonymous_layer_api_has_no_owner_data(client, owned_parcel):
    response = client.get("/api/layers/parcels.geojson", {"bbox": "59.0,27.0,61.0,29.0"})
    body = response.content.decode()
    assert response.status_code == 200 and "6-6-601-001-0-0-0" in body
    assert not any(secret in body for secret in SECRETS)


def test_anonymous_cannot_open_owner_admin(client, owned_parcel):
    parcel, owner = owned_parcel
    logged = PersonalDataAccess.objects.count()
    for url in ("/admin/parcels/owner/", f"/admin/parcels/owner/{owner.pk}/change/",
                f"/admin/parcels/parcel/{parcel.pk}/change/"):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]
    assert PersonalDataAccess.objects.count() == logged


def test_engineer_sees_parcel_but_not_owners(client, role_users, owned_parcel):
    parcel, owner = owned_parcel
    client.force_login(role_users["engineer"])
    page = client.get(f"/admin/parcels/parcel/{parcel.pk}/change/")
    assert page.status_code == 200 and "6-6-601-001-0-0-0" in page.content.decode()
    assert not any(secret in page.content.decode() for secret in SECRETS)
    assert client.get(f"/admin/parcels/owner/{owner.pk}/change/").status_code == 403
    assert not PersonalDataAccess.objects.filter(user=role_users["engineer"]).exists()


def test_finance_sees_owners_and_access_is_recorded(client, role_users, owned_parcel):
    parcel, owner = owned_parcel
    user = role_users["finance"]
    client.force_login(user)
    listing = client.get("/admin/parcels/owner/")
    assert listing.status_code == 200 and "شجاعی" in listing.content.decode()
    detail = client.get(f"/admin/parcels/owner/{owner.pk}/change/")
    assert detail.status_code == 200 and "0499370899" in detail.content.decode()
    page = client.get(f"/admin/parcels/parcel/{parcel.pk}/change/")
    assert "شجاعی" in page.content.decode()
    log = list(PersonalDataAccess.objects.filter(user=user).order_by("at"))
    assert [(r.user.username, r.action) for r in log] == [("fin", "owner_list"), ("fin", "owner_view"),
                                                          ("fin", "parcel_view")]
    assert owner.pk in log[0].subjects["parcels.owner"]  # the list shows the newest owners first
    assert (log[1].owner_id, log[2].owner_id, log[2].parcel_id) == (owner.pk, owner.pk, parcel.pk)


def test_admin_edit_keeps_before_and_after(client, role_users, owned_parcel):
    """A bulk-loaded row gets a baseline on its first edit, so the history shows before and after, and who."""
    parcel, _ = owned_parcel
    Parcel.history.filter(id=parcel.pk).delete()  # as if loaded by an import (no history yet)
    user = role_users["admin"]
    client.force_login(user)
    parcel.postal_code = "3351766631"
    parcel._history_user = user
    parcel.save()
    rows = list(Parcel.history.filter(id=parcel.pk).order_by("history_id")
                .values_list("history_type", "postal_code", "history_user__username"))
    assert rows == [("+", "7134691111", None), ("~", "3351766631", "boss")]
    page = client.get(f"/admin/parcels/parcel/{parcel.pk}/history/")
    assert page.status_code == 200 and "3351766631" in page.content.decode()


def test_roles_exist_with_their_permissions(role_users):
    from django.contrib.auth.models import Group

    assert set(Group.objects.values_list("name", flat=True)) >= {"citizen", "engineer", "planner", "finance", "admin"}
    assert role_users["finance"].has_perm("parcels.view_personal_data")
    assert not role_users["engineer"].has_perm("parcels.view_personal_data")
    assert not role_users["planner"].has_perm("parcels.view_owner")
    assert role_users["admin"].has_perm("parcels.change_parcel")
    assert not role_users["citizen"].has_perm("parcels.view_parcel")


def test_admin_edits_geometry_on_a_leaflet_map(client, role_users, owned_parcel):
    parcel, _ = owned_parcel
    client.force_login(role_users["admin"])
    page = client.get(f"/admin/parcels/parcel/{parcel.pk}/change/").content.decode()
    assert "/static/leaflet/leaflet.js" in page and "/static/leaflet/draw/leaflet.draw.js" in page  # served locally
    assert 'id="id_geom"' in page


def test_access_log_dates_are_jalali(client, role_users, owned_parcel):
    client.force_login(role_users["finance"])
    client.get("/admin/parcels/owner/")
    client.force_login(role_users["admin"])
    page = client.get("/admin/parcels/personaldataaccess/").content.decode()
    assert "۱۴۰" in page  # a Jalali year (14xx) in Persian digits
