"""Bills, payments and the ledger on the real PostGIS (the server-side tests are in test_dues_server.py)."""

import re
import uuid

import jdatetime
import pytest
from django.db.models import Sum

from dues import billid, billing
from dues.assessment import assess_year
from dues.models import Assessment, Bill, LedgerEntry, Payment, PaymentAttempt, SandboxTransaction, TariffBook
from dues.tariffs import load_files
from parcels.models import Owner, Parcel
from tests.conftest import make_user
from tests.dues_support import BOOKS, dues_city  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db
AS_OF = jdatetime.date(1403, 9, 1)      # 1 Azar 1403: 1402 is eight months late, 1403 is the current year


@pytest.fixture
def assessed(demo_city):
    load_files(BOOKS)
    assess_year(1402)
    assess_year(1403)
    parcel_id = (Assessment.objects.filter(year=1403, is_current=True, amount__gt=5_000_000)
                 .order_by("parcel_id").values_list("parcel_id", flat=True)[3])
    return Parcel.objects.get(pk=parcel_id)


def _ledger_totals(parcel):
    years = [y for y in billing.ledger(parcel.pk) if y.year <= AS_OF.year]   # later years may be assessed too
    return {"assessed": sum(y.assessed for y in years), "balance": sum(y.balance for y in years),
            "outstanding": sum(y.outstanding for y in years)}


def _reconciles(parcel):
    """Money paid equals money posted, and each year's balance is assessed − discount + penalty − rounding − paid."""
    paid = Payment.objects.filter(parcel=parcel).aggregate(s=Sum("amount"))["s"] or 0
    posted = LedgerEntry.objects.filter(parcel=parcel, kind__in=["payment", "credit"]).aggregate(s=Sum("amount"))["s"] or 0
    assert paid == posted
    for y in billing.ledger(parcel.pk):
        assert y.balance == y.assessed - y.discount + y.penalty - y.rounding - y.paid - y.credit


def test_bill_lists_arrears_with_penalty_and_the_current_year_with_discount(assessed):
    bill = billing.issue(assessed, AS_OF)
    a1402, a1403 = (Assessment.objects.get(parcel=assessed, year=y, is_current=True).amount for y in (1402, 1403))
    items = {i["year"]: i for i in bill.items}
    assert items[1402]["months_late"] == 8 and items[1402]["penalty"] == billing.calculator.rials(a1402 * 16 / 100)
    assert items[1402]["discount"] == 0
    assert items[1403]["discount"] == billing.calculator.rials(a1403 / 10) and items[1403]["penalty"] == 0
    assert bill.total == sum(i["due"] for i in bill.items)
    assert bill.amount % 1000 == 0 and bill.amount + bill.rounding == bill.total and 0 <= bill.rounding < 1000
    assert billid.is_valid_pair(bill.bill_id, bill.payment_id) and bill.bill_id[-2] == "6"
    assert billid.amount_of(bill.payment_id) == bill.amount
    assert billing.issue(assessed, AS_OF).pk == bill.pk          # the same bill again, not a second one


def test_full_payment_settles_every_year_once_however_often_reported(assessed):
    bill = billing.issue(assessed, AS_OF)
    payment, created = billing.record_payment(bill, "test", "REF-1", bill.amount)
    again, created_again = billing.record_payment(bill, "test", "REF-1", bill.amount)
    assert created and not created_again and again.pk == payment.pk
    assert Payment.objects.filter(gateway_ref="REF-1").count() == 1
    bill.refresh_from_db()
    assert bill.status == Bill.Status.PAID and payment.kind == Payment.Kind.FULL
    totals = _ledger_totals(assessed)
    assert totals["balance"] == 0 and totals["outstanding"] == 0
    kinds = dict(LedgerEntry.objects.filter(payment=payment).values("kind").annotate(s=Sum("amount"))
                 .values_list("kind", "s"))
    items = {i["year"]: i for i in bill.items}
    assert kinds["penalty"] == items[1402]["penalty"] and kinds["discount"] == items[1403]["discount"]
    assert kinds.get("rounding", 0) == bill.rounding and kinds["payment"] == bill.amount
    _reconciles(assessed)
    with pytest.raises(billing.BillError, match="already paid"):
        billing.check_payable(bill, AS_OF)
    with pytest.raises(billing.BillError, match="Nothing is owed"):
        billing.issue(assessed, AS_OF)


def test_partial_payment_settles_oldest_first_and_the_old_bill_is_refused(assessed):
    bill = billing.issue(assessed, AS_OF)
    first = bill.items[0]
    part = first["due"] + 1000               # all of 1402 and one thousand rials of 1403
    payment, _ = billing.record_payment(bill, "bank-file", "P-1", part)
    bill.refresh_from_db()
    assert payment.kind == Payment.Kind.PARTIAL and bill.status == Bill.Status.PARTIALLY_PAID
    years = {y.year: y for y in billing.ledger(assessed.pk)}
    assert years[1402].balance == 0 and years[1402].penalty == first["penalty"]
    assert years[1403].paid == 1000 and years[1403].discount == 0 and years[1403].balance == years[1403].assessed - 1000
    _reconciles(assessed)
    with pytest.raises(billing.BillError, match="changed"):
        billing.check_payable(bill, AS_OF)
    fresh = billing.issue(assessed, AS_OF)
    assert [i["year"] for i in fresh.items] == [1403] and fresh.items[0]["outstanding"] == years[1403].assessed - 1000


def test_over_payment_is_credit_the_municipality_owes(assessed):
    bill = billing.issue(assessed, AS_OF)
    payment, _ = billing.record_payment(bill, "bank-file", "O-1", bill.amount + 50_000)
    assert payment.kind == Payment.Kind.OVER
    assert LedgerEntry.objects.get(payment=payment, kind="credit").amount == 50_000
    assert _ledger_totals(assessed)["balance"] == -50_000
    _reconciles(assessed)


def test_a_bill_from_last_month_is_refused(assessed):
    bill = billing.issue(assessed, AS_OF)
    billing.check_payable(bill, AS_OF)
    with pytest.raises(billing.BillError, match="amount has changed"):
        billing.check_payable(bill, jdatetime.date(1403, 10, 1))        # one more month of penalty on 1402
    newer = billing.issue(assessed, jdatetime.date(1403, 10, 1))
    bill.refresh_from_db()
    assert bill.status == Bill.Status.SUPERSEDED and newer.amount > bill.amount


def test_the_current_year_must_be_assessed(demo_city):
    load_files(BOOKS)
    parcel = Parcel.objects.order_by("id").first()
    with pytest.raises(billing.BillError, match="not assessed"):
        billing.issue(parcel, jdatetime.date(1401, 3, 1))


# --- Views ----------------------------------------------------------------------------------------------


def _owed_parcel(year, index=5):
    """An owned parcel with dues this year and no payment yet (the test database is kept between runs)."""
    return Parcel.objects.filter(dues_payments__isnull=True, dues_assessments__year=year, dues_assessments__is_current=True,
                                 dues_assessments__amount__gt=5_000_000, ownerships__isnull=False).order_by("id").distinct()[index]


def test_sheet_section_and_bill_show_no_owner_data_to_anonymous_users(client, dues_city):
    parcel = _owed_parcel(dues_city)
    sheet = client.get(f"/api/parcels/{parcel.pk}").json()
    dues_link = next(s for s in sheet["sections"] if s["key"] == "dues")
    data = client.get(dues_link["url"]).json()
    assert data["owed"]["payable"] > 0 and data["owed"]["items"][-1]["year"] == dues_city
    bill_page = client.get(data["bill_url"], follow=True)
    assert bill_page.status_code == 200
    html = bill_page.content.decode()
    bill = Bill.objects.filter(parcel=parcel).latest("issued_at")
    assert bill.bill_id in html and bill.payment_id in html and "rate * property_value" in html
    bill_json = client.get(f"/api/dues/bills/{bill.pk}").json()
    assert bill_json["amount"] == bill.amount and bill_json["years"][-1]["lines"][0]["inputs"]
    text_page = client.get(f"/parcels/{parcel.pk}/").content.decode()
    assert 'id="section-dues"' in text_page and data["bill_url"] in text_page
    for owner in Owner.objects.filter(ownerships__parcel=parcel):
        for personal in (owner.last_name, owner.national_id, owner.phone):
            if personal:
                assert personal not in html and personal not in str(data) and personal not in text_page
    assert client.get("/api/dues/parcels/999999999").json()["error"] == "not_found"


def test_bill_pdf_is_printed_by_chromium(client, dues_city):
    parcel = _owed_parcel(dues_city)
    bill = billing.issue(parcel)
    response = client.get(f"/dues/bills/{bill.pk}/pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF") and len(response.content) > 5000


def test_finance_views_are_for_finance_staff_only(client, role_users, dues_city):
    assert client.get("/dues/finance/").status_code == 403
    assert client.get("/api/dues/finance").json()["error"] == "forbidden"
    client.force_login(role_users["citizen"])
    assert client.get("/dues/finance/").status_code == 403
    client.force_login(role_users["finance"])
    page = client.get("/dues/finance/")
    assert page.status_code == 200 and 'data-testid="collections"' in page.content.decode()
    draft = TariffBook.objects.get(year=1405, name="proposal-1405-b")
    what_if_page = client.get(f"/dues/finance/?what_if={draft.pk}").content.decode()
    assert 'data-testid="what-if"' in what_if_page
    data = client.get("/api/dues/finance").json()
    rows = [r for r in data["collections"] if r["year"] == dues_city]
    assert rows and sum(r["assessed"] for r in rows) == (
        Assessment.objects.filter(year=dues_city, is_current=True).aggregate(s=Sum("amount"))["s"])
    assert data["reconciliation"]["reconciled"] is True


def test_a_forged_callback_is_not_a_payment(client, dues_city, django_db_blocker):
    parcel = _owed_parcel(dues_city)
    bill = billing.issue(parcel)
    attempt = PaymentAttempt.objects.create(bill=bill, token="forged-" + uuid.uuid4().hex, gateway="sandbox", amount=bill.amount)
    response = client.get(f"/dues/callback/sandbox/?token={attempt.token}&ref=MADE-UP")
    assert response.status_code == 302 and "message=failed" in response["Location"]
    assert not Payment.objects.filter(bill=bill).exists()
    attempt.refresh_from_db()
    assert attempt.status == "failed" and re.search("no such transaction", attempt.message)
