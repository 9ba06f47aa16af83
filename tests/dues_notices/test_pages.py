"""The staff reminders page (preview, start, report) and the dues section of a citizen's "My properties" page."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from common.jalali import persian_digits
from dues import billing, properties, reminders
from dues.models import Assessment
from notices.models import Batch, Message
from parcels.models import Owner, Ownership, Parcel
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


# --- Staff: the reminders page -------------------------------------------------------------------------------------

def test_finance_staff_preview_start_and_follow_a_campaign(year, role_users, client):
    client.force_login(role_users["finance"])
    page = client.get(reverse("dues:reminders"), {"year": year})
    assert page.status_code == 200
    preview = page.context["preview"]
    assert preview.to_send > 0 and page.context["can_start"]
    html = page.content.decode()
    assert persian_digits(f"{preview.to_send:,}".replace(",", "٬")) in html and "۱۰٪" in html
    assert not Batch.objects.exists()                                   # a GET writes nothing
    started = client.post(reverse("dues:reminders_start"), {"year": year})
    batch = Batch.objects.get()
    assert started.status_code == 302 and started["Location"] == reverse("dues:reminders_report", args=[batch.pk])
    assert batch.created_by == role_users["finance"] and batch.enqueued == preview.to_send
    report = client.get(started["Location"])
    assert report.status_code == 200
    statuses = {s["status"]: s["count"] for s in report.context["report"]["statuses"]}
    assert statuses["queued"] == batch.enqueued and statuses["delivered"] == 0
    assert 'data-status="queued"' in report.content.decode()
    again = client.get(reverse("dues:reminders"), {"year": year})
    assert again.context["preview"].to_send == 0 and again.context["preview"].existing == batch.enqueued
    assert again.context["campaigns"][0]["batch"] == batch
    client.cookies["django_language"] = "en"
    english = client.get(reverse("dues:reminders"), {"year": year}).content.decode()
    assert "Renewal dues reminders by SMS" in english and f"Your {year} renewal dues are ready" in english
    assert f"{batch.enqueued:,}" in client.get(started["Location"]).content.decode()


def test_the_reminders_pages_are_for_finance_and_admin_staff(year, role_users, client):
    url = reverse("dues:reminders")
    assert client.get(url).status_code == 302                            # anonymous: to the sign-in
    for role in ("engineer", "planner", "citizen"):
        client.force_login(role_users[role])
        assert client.get(url).status_code == 403
        assert client.post(reverse("dues:reminders_start"), {"year": year}).status_code == 403
    assert not Message.objects.filter(event=reminders.EVENT).exists()
    client.force_login(role_users["admin"])
    assert client.get(url).status_code == 200
    assert client.get(reverse("dues:reminders_report", args=[999999])).status_code == 404


def test_with_two_factor_required_staff_without_it_do_not_reach_the_page(year, role_users, client, settings):
    settings.STAFF_OTP_REQUIRED = True
    client.force_login(role_users["finance"])
    response = client.get(reverse("dues:reminders"))
    assert response.status_code in (302, 403) and "preview" not in (response.context or {})


# --- Citizens: the dues of "My properties" -------------------------------------------------------------------------

def _untouched(parcel_ids, year) -> bool:
    """Assessed for the year with dues, and no bill or payment yet (other tests commit some on the shared city)."""
    ids = list(parcel_ids)
    return (Assessment.objects.filter(parcel_id__in=ids, year=year, is_current=True, amount__gt=1_000_000).count()
            == len(ids) and not Parcel.objects.filter(pk__in=ids, dues_bills__isnull=False).exists())


def _owner_of_several(year):
    """A person owning two or more assessed parcels without bills."""
    from django.db.models import Count

    candidates = (Owner.objects.filter(kind="person", national_id__isnull=False)
                  .annotate(n=Count("ownerships", distinct=True)).filter(n__gte=2).order_by("id"))
    for owner in candidates[:500]:
        if _untouched(Ownership.objects.filter(owner=owner).values_list("parcel_id", flat=True), year):
            return owner
    raise AssertionError("no owner of several untouched parcels in the demo city")


def _citizen_for(owner):
    from accounts.models import Citizen, PropertyLink

    user = make_user("c" + owner.national_id, "citizen")
    citizen = Citizen.objects.create(user=user, mobile="09990000001", national_id=owner.national_id)
    PropertyLink.objects.create(citizen=citizen, national_id=owner.national_id, status="verified", method="staff")
    return user, citizen


def test_the_section_shows_the_citizens_parcels_with_their_bills_and_payments(year, client):
    owner = _owner_of_several(year)
    mine = sorted(Ownership.objects.filter(owner=owner).values_list("parcel_id", flat=True))
    other = next(pid for pid in Assessment.objects.filter(year=year, is_current=True, amount__gt=1_000_000)
                 .exclude(parcel__ownerships__owner=owner).order_by("parcel_id").values_list("parcel_id", flat=True)
                 if _untouched([pid], year))
    paid_bill = billing.issue(Parcel.objects.get(pk=mine[0]))
    billing.record_payment(paid_bill, "sandbox", "TEST-PROP-1", paid_bill.amount)
    open_bill = billing.issue(Parcel.objects.get(pk=mine[1]))
    others_bill = billing.issue(Parcel.objects.get(pk=other))
    user, citizen = _citizen_for(owner)

    with CaptureQueriesContext(connection) as queries:
        built = properties.build(citizen, mine)
    assert len(queries.captured_queries) == 1 and set(built) == set(mine)
    first, second = built[mine[0]], built[mine[1]]
    amount = Assessment.objects.get(parcel_id=mine[0], year=year, is_current=True).amount
    assert first["current"] == {"year": year, "amount": amount}
    assert first["unpaid"] == [u for u in first["unpaid"] if u["year"] != year]     # this year is paid
    assert first["bill"]["bill_id"] == paid_bill.bill_id and first["bill"]["status"] == "paid"
    assert first["bill"]["url"] == reverse("dues:bill_page", args=[paid_bill.public_id])
    assert [p["amount"] for p in first["payments"]] == [paid_bill.amount]
    assert second["bill"]["payment_id"] == open_bill.payment_id and second["bill"]["status"] == "issued"
    assert year in [u["year"] for u in second["unpaid"]] and second["payments"] == []
    assert properties.build(citizen, []) == {}

    client.force_login(user)
    html = client.get(reverse("accounts:properties")).content.decode()
    for parcel_id in mine:
        assert f'data-testid="dues-property-{parcel_id}"' in html
    assert persian_digits(paid_bill.payment_id) in html and persian_digits(open_bill.payment_id) in html
    assert reverse("dues:bill_page", args=[open_bill.public_id]) in html
    assert html.count(f'href="{reverse("accounts:settings")}"') >= 1          # where reminders are turned off
    assert f'data-testid="dues-property-{other}"' not in html
    assert persian_digits(others_bill.payment_id) not in html and persian_digits(others_bill.bill_id) not in html
    # someone else's parcel is not one of the citizen's pages either
    assert client.get(reverse("accounts:property", args=[other])).status_code == 404
    one = client.get(reverse("accounts:property", args=[mine[1]])).content.decode()
    assert persian_digits(open_bill.payment_id) in one


def test_the_finance_pages_ask_the_second_factor_when_required(client, role_users, settings):
    """STAFF_OTP_REQUIRED: finance staff signed in with a password alone are sent to enrol a device (pages) or
    refused (API) on every finance route; with a verified device they get in."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client.force_login(role_users["finance"])
    assert client.get("/dues/finance/").status_code == 200  # not required, no device: the password is enough
    settings.STAFF_OTP_REQUIRED = True
    for path in ("/dues/finance/", "/dues/finance/reminders/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/staff/2fa/"), path
    assert client.get("/api/dues/finance").status_code == 403
    assert client.post("/api/dues/assessments/jobs", {"year": 1405}).status_code == 403
    device = TOTPDevice.objects.create(user=role_users["finance"], name="phone", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id  # what django_otp.login() records after a right code
    session.save()
    assert client.get("/dues/finance/").status_code == 200
    assert client.get("/api/dues/finance").status_code == 200
