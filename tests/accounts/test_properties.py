"""A citizen's national ID and properties on the demo city: the check digit, the claim verified by the mobile number
on the owner record / pending for staff / on no owner record, staff confirming in the admin, the properties page with
own and co-owners' shares (never names), sections of other apps, and 404 for anybody else's parcel."""

import pytest
from django.db.models import Sum

from accounts import properties, service
from accounts.models import AuditEvent, Citizen, PropertyLink
from notices.models import Message
from parcels.identifiers import national_id_check_digit
from parcels.models import Owner, Ownership, Parcel
from tests.accounts.conftest import signed_in
from tests.conftest import make_user

pytestmark = pytest.mark.django_db
Kind = AuditEvent.Kind


@pytest.fixture(autouse=True)
def _templates(notice_templates):
    pass


def valid_id(first_nine: str) -> str:
    return first_nine + str(national_id_check_digit(first_nine))


def unused_valid_id() -> str:
    for n in range(100_000_000, 100_001_000):
        nid = valid_id(str(n).zfill(9))
        if not Owner.objects.filter(national_id=nid).exists():
            return nid
    raise AssertionError("no unused national ID")


@pytest.mark.parametrize("typed, message", [
    ("123", "10 digits"), ("12345678901", "10 digits"), ("1111111111", "10 digits"),
])
def test_national_id_format(typed, message, english):
    with pytest.raises(service.InvalidNationalId) as exc:
        service.clean_national_id(typed)
    assert message in exc.value.message


def test_national_id_check_digit(english):
    good = valid_id("001234567")
    bad = good[:9] + str((int(good[9]) + 1) % 10)
    assert service.clean_national_id(good) == good
    assert service.clean_national_id(" " + good.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))) == good
    with pytest.raises(service.InvalidNationalId) as exc:
        service.clean_national_id(bad)
    assert "check digit" in exc.value.message


def test_check_digit_message_in_the_users_language(client, owner):
    signed_in(client, owner.phone)
    good = valid_id("001234567")
    bad = good[:9] + str((int(good[9]) + 1) % 10)
    persian = client.post("/accounts/national-id/", {"national_id": bad})
    assert persian.status_code == 400 and "national-id-error" in persian.content.decode()
    client.cookies["django_language"] = "en"
    english = client.post("/accounts/national-id/", {"national_id": bad})
    assert english.status_code == 400 and "check digit" in english.content.decode()


def test_link_verified_by_the_mobile_number(client, owner):
    response = signed_in(client, owner.phone)
    assert response["Location"] == "/accounts/national-id/"
    page = client.post("/accounts/national-id/", {"national_id": owner.national_id})
    assert page.status_code == 200 and 'data-testid="link-verified"' in page.content.decode()
    citizen = Citizen.objects.get(mobile=owner.phone)
    link = citizen.links.get()
    assert (link.status, link.method, citizen.national_id) == ("verified", "mobile_match", owner.national_id)
    kinds = list(AuditEvent.objects.filter(kind__startswith="link_", user=citizen.user).values_list("kind", flat=True))
    assert sorted(kinds) == [Kind.LINK_CREATED, Kind.LINK_VERIFIED]
    notices = Message.objects.filter(event="accounts.property_linked", user=citizen.user)
    fa = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
    assert notices.exists() and any(o.parcel.renewal_code.translate(fa) in m.body for m in notices
                                    for o in owner.ownerships.select_related("parcel"))
    # signing in again goes to the properties, not to the national ID page
    client.post("/accounts/signout/")
    assert signed_in(client, owner.phone)["Location"] == "/accounts/properties/"


def test_link_pending_when_the_mobile_differs_and_staff_confirm(client, owner, english):
    signed_in(client, "09390000001")
    client.cookies["django_language"] = "en"
    page = client.post("/accounts/national-id/", {"national_id": owner.national_id})
    assert 'data-testid="link-pending"' in page.content.decode()
    citizen = Citizen.objects.get(mobile="09390000001")
    link = citizen.links.get()
    assert link.status == "pending" and citizen.national_id is None
    # nothing shown while pending
    assert 'data-testid="parcel"' not in client.get("/accounts/properties/").content.decode()
    assert not Message.objects.filter(event="accounts.property_linked").exists()
    # staff confirm with the admin's action
    boss = make_user("boss", "admin", is_staff=True)
    staff = client.__class__()
    staff.force_login(boss)
    listing = staff.get("/admin/accounts/propertylink/")
    assert listing.status_code == 200
    staff.post("/admin/accounts/propertylink/", {"action": "confirm", "_selected_action": [link.pk]})
    link.refresh_from_db()
    assert (link.status, link.method, link.decided_by) == ("verified", "staff", boss)
    assert AuditEvent.objects.filter(kind=Kind.LINK_VERIFIED, user=boss).exists()
    assert Message.objects.filter(event="accounts.property_linked", user=citizen.user).exists()
    assert 'data-testid="parcel"' in client.get("/accounts/properties/").content.decode()


def test_staff_reject(client, owner):
    signed_in(client, "09390000002")
    client.post("/accounts/national-id/", {"national_id": owner.national_id})
    link = PropertyLink.objects.get(citizen__mobile="09390000002")
    boss = make_user("boss", "admin", is_staff=True)
    assert service.decide_link(link.pk, False, boss) == "rejected"
    assert service.decide_link(link.pk, True, boss) == "not_pending"
    assert AuditEvent.objects.filter(kind=Kind.LINK_REJECTED).exists()


def test_no_owner_with_that_id_is_a_message(client, english):
    signed_in(client, "09390000003")
    client.cookies["django_language"] = "en"
    page = client.post("/accounts/national-id/", {"national_id": unused_valid_id()})
    assert page.status_code == 200
    assert 'data-testid="link-no-owner"' in page.content.decode() and "No property" in page.content.decode()
    assert not PropertyLink.objects.filter(citizen__mobile="09390000003").exists()


def test_claims_are_rate_limited(client, settings):
    settings.ACCOUNTS_CLAIM_RATE = ["2/3600"]
    signed_in(client, "09390000004")
    for _ in range(2):
        assert client.post("/accounts/national-id/", {"national_id": unused_valid_id()}).status_code == 200
    assert client.post("/accounts/national-id/", {"national_id": unused_valid_id()}).status_code == 429


def _link(client, owner):
    signed_in(client, owner.phone)
    client.post("/accounts/national-id/", {"national_id": owner.national_id})
    return Citizen.objects.get(mobile=owner.phone)


def test_my_properties_shows_own_parcels_and_shares_never_co_owner_names(client, owner):
    citizen = _link(client, owner)
    page = client.get("/accounts/properties/").content.decode()
    mine = list(owner.ownerships.select_related("parcel"))
    for o in mine:
        assert f'data-parcel-id="{o.parcel_id}"' in page
    others = Ownership.objects.filter(parcel_id__in=[o.parcel_id for o in mine]).exclude(owner=owner) \
        .select_related("owner")
    assert others.exists()
    for o in others:
        for name in (o.owner.first_name, o.owner.last_name, o.owner.legal_name, o.owner.national_id, o.owner.phone):
            if name and len(name) > 2:
                assert name not in page, "a co-owner's personal data is on the page"
    rows = {r["id"]: r for r in properties.my_properties(citizen)}
    assert set(rows) == {o.parcel_id for o in mine}
    for o in mine:
        row = rows[o.parcel_id]
        assert row["own_share"] == properties.dang(o.share_dang)
        co = Ownership.objects.filter(parcel_id=o.parcel_id).exclude(owner=owner).aggregate(s=Sum("share_dang"))["s"]
        assert sum(float(s) for s in row["co_owner_shares"]) == pytest.approx(float(co or 0))
        assert row["map_url"].startswith("/#18/") and row["map_url"].endswith(f"/{o.parcel_id}")
    client.cookies["django_language"] = "en"
    english = client.get("/accounts/properties/").content.decode()
    assert "co-owner: " in english and " dang" in english


def test_properties_only_for_a_verified_link(client, owner):
    signed_in(client, "09390000005")
    client.post("/accounts/national-id/", {"national_id": owner.national_id})  # pending
    citizen = Citizen.objects.get(mobile="09390000005")
    assert properties.my_properties(citizen) == []
    parcel_id = owner.ownerships.first().parcel_id
    assert client.get(f"/accounts/properties/{parcel_id}/").status_code == 404


def test_another_citizens_parcel_is_404(client, owner):
    _link(client, owner)
    mine = set(owner.ownerships.values_list("parcel_id", flat=True))
    assert client.get(f"/accounts/properties/{next(iter(mine))}/").status_code == 200
    other = Parcel.objects.exclude(pk__in=mine).order_by("id").first()
    response = client.get(f"/accounts/properties/{other.pk}/")
    assert response.status_code == 404
    assert client.get("/accounts/properties/999999999/").status_code == 404


def test_pages_need_a_citizen(client, role_users):
    assert client.get("/accounts/properties/")["Location"].startswith("/accounts/signin/?next=")
    client.force_login(role_users["engineer"])
    assert client.get("/accounts/properties/").status_code == 403


def test_registered_sections_are_shown(client, owner):
    calls = []

    def build(citizen, parcel_ids):
        calls.append((citizen.pk, list(parcel_ids)))
        return {pid: {"text": f"section-for-{pid}"} for pid in parcel_ids[:1]}

    properties.register(properties.PropertySection(key="test", title_fa="آزمون", title_en="Test",
                                                   template="accounts/section_text.html", build=build, order=5))
    try:
        citizen = _link(client, owner)
        rows = properties.my_properties(citizen)
        first = rows[0]
        assert first["sections"][0]["data"] == {"text": f"section-for-{first['id']}"}
        assert all(not r["sections"] for r in rows[1:])
        assert calls[-1] == (citizen.pk, [r["id"] for r in rows])
        page = client.get("/accounts/properties/").content.decode()
        assert f"section-for-{first['id']}" in page and 'data-section="test"' in page
    finally:
        properties.unregister("test")
