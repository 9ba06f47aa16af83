"""Bills, payments and the ledger on the real PostGIS (the server-side tests are in test_dues_server.py)."""

import uuid

import jdatetime
import pytest
from django.db import connection
from django.db.models import Sum
from django.utils import timezone, translation

from dues import billid, billing, reports
from dues.assessment import assess_year
from dues.gateways import SandboxGateway
from dues.models import Assessment, Bill, LedgerEntry, Payment, PaymentAttempt, SandboxTransaction, TariffBook
from dues.loader import load_files
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
    """Each payment is posted in full (its payment and credit entries add up to the money received), and the ledger's
    balance of every year equals the raw rows summed here in SQL with the signs written out (assessed + penalty −
    discount − rounding − payment − credit), not through LedgerYear's own arithmetic."""
    for payment in Payment.objects.filter(parcel=parcel):
        posted = payment.entries.filter(kind__in=["payment", "credit"]).aggregate(s=Sum("amount"))["s"] or 0
        assert posted == payment.amount, (payment.pk, posted, payment.amount)
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT year, sum(v) FROM (
              SELECT year, amount AS v FROM dues_assessment WHERE parcel_id = %(p)s AND is_current
              UNION ALL
              SELECT year, CASE kind WHEN 'penalty' THEN amount
                                     WHEN 'discount' THEN -amount WHEN 'rounding' THEN -amount
                                     WHEN 'payment' THEN -amount WHEN 'credit' THEN -amount END
              FROM dues_ledgerentry WHERE parcel_id = %(p)s) t
            GROUP BY year""", {"p": parcel.pk})
        raw = dict(cursor.fetchall())
    assert {y.year: y.balance for y in billing.ledger(parcel.pk)} == raw


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
    with translation.override("en"):
        day = reports.reconciliation(timezone.localdate())
    assert {"gateway": "test", "gateway_label": None, "kind": "full", "kind_label": "Full", "payments": 1,
            "amount": bill.amount, "posted": bill.amount, "difference": 0} in day["rows"]
    with pytest.raises(billing.BillError) as paid:
        billing.check_payable(bill, AS_OF)
    assert paid.value.code == "already_paid"
    with pytest.raises(billing.BillError) as nothing:
        billing.issue(assessed, AS_OF)
    assert nothing.value.code == "nothing_owed"


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
    with pytest.raises(billing.BillError) as changed:
        billing.check_payable(bill, AS_OF)
    assert changed.value.code == "amount_changed"
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
    with pytest.raises(billing.BillError) as changed:
        billing.check_payable(bill, jdatetime.date(1403, 10, 1))        # one more month of penalty on 1402
    assert changed.value.code == "amount_changed"
    with translation.override("en"), pytest.raises(billing.BillError, match="it says .* rials, the parcel now owes"):
        billing.check_payable(bill, jdatetime.date(1403, 10, 1))
    newer = billing.issue(assessed, jdatetime.date(1403, 10, 1))
    bill.refresh_from_db()
    assert bill.status == Bill.Status.SUPERSEDED and newer.amount > bill.amount
    assert bill.superseded_code == Bill.Superseded.REPLACED and bill.superseded_params == {"bill": newer.pk}


def test_the_current_year_must_be_assessed(demo_city):
    load_files(BOOKS)
    parcel = Parcel.objects.order_by("id").first()
    with pytest.raises(billing.BillError) as exc:
        billing.issue(parcel, jdatetime.date(1401, 3, 1))
    assert exc.value.code == "not_assessed"


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
    bill_page = client.post(data["bill_url"], follow=True)
    assert bill_page.status_code == 200
    html = bill_page.content.decode()
    bill = Bill.objects.filter(parcel=parcel).latest("issued_at")
    assert bill.bill_id in html and bill.payment_id in html and "rate * property_value" in html
    bill_json = client.get(f"/api/dues/bills/{bill.public_id}").json()
    assert bill_json["amount"] == bill.amount and bill_json["years"][-1]["lines"][0]["inputs"]
    text_page = client.get(f"/parcels/{parcel.pk}/").content.decode()
    assert 'id="section-dues"' in text_page and data["bill_url"] in text_page
    for owner in Owner.objects.filter(ownerships__parcel=parcel):
        for personal in (owner.last_name, owner.national_id, owner.phone):
            if personal:
                assert personal not in html and personal not in str(data) and personal not in text_page
    assert client.get("/api/dues/parcels/999999999").json()["error"] == "not_found"


def test_a_bill_is_issued_by_post_only_and_once_a_day(dues_city):
    """GET shows what a bill would ask and writes nothing; POST (CSRF-protected) issues it; a second POST the same
    day is the same open bill; then GET shows that bill."""
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    parcel = _owed_parcel(dues_city, index=7)
    Bill.objects.filter(parcel=parcel).delete()
    url = f"/dues/parcels/{parcel.pk}/bill/"
    bills = Bill.objects.count()
    preview = client.get(url)
    assert preview.status_code == 200 and Bill.objects.count() == bills
    html = preview.content.decode()
    assert 'method="post"' in html and f'action="{url}"' in html and "csrfmiddlewaretoken" in html
    assert client.post(url).status_code == 403 and Bill.objects.count() == bills      # no CSRF token, no bill
    token = client.cookies["csrftoken"].value
    first = client.post(url, {"csrfmiddlewaretoken": token})
    assert first.status_code == 302 and Bill.objects.count() == bills + 1
    bill = Bill.objects.get(parcel=parcel)
    assert first["Location"] == f"/dues/bills/{bill.public_id}/"
    second = client.post(url, {"csrfmiddlewaretoken": token})
    assert second["Location"] == first["Location"] and Bill.objects.filter(parcel=parcel).count() == 1
    again = client.get(url)
    assert again.status_code == 302 and again["Location"] == first["Location"]
    assert Bill.objects.count() == bills + 1


def test_the_bill_page_speaks_the_citizens_language(client, dues_city):
    """The issued time in Jalali with Persian digits and the status word translated on a Persian page; Gregorian
    and English on an English one."""
    from django.utils import timezone

    parcel = _owed_parcel(dues_city, index=8)
    bill = billing.issue(parcel)
    local = timezone.localtime(bill.issued_at)
    issued = jdatetime.datetime.fromgregorian(datetime=local).strftime("%Y/%m/%d %H:%M")
    persian = client.get(f"/dues/bills/{bill.public_id}/").content.decode()
    assert issued.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")) in persian
    with translation.override("fa"):
        assert f'data-testid="bill-status">{Bill.Status.ISSUED.label}<' in persian
    client.cookies["django_language"] = "en"
    english = client.get(f"/dues/bills/{bill.public_id}/").content.decode()
    assert 'data-testid="bill-status">Issued<' in english and local.strftime("%Y-%m-%d %H:%M") in english
    # each line's legal basis in the page's language (the PDF is the same page)
    assert '<div class="note">قانون نوسازی و عمران شهری ۱۳۴۷، ماده ۲</div>' in persian and "Law of" not in persian
    assert '<div class="note">Law of Urban Renewal 1347, Article 2</div>' in english and "قانون نوسازی" not in english
    line = client.get(f"/api/dues/bills/{bill.public_id}").json()["years"][-1]["lines"][3]
    assert (line["code"], line["legal_basis"], line["legal_basis_en"]) == (
        "renewal_dues", "قانون نوسازی و عمران شهری ۱۳۴۷، ماده ۲", "Law of Urban Renewal 1347, Article 2")


def test_a_book_without_english_legal_basis_shows_the_persian_on_english_pages(client, dues_city):
    parcel = _owed_parcel(dues_city, index=8)
    bill = billing.issue(parcel)
    book = TariffBook.objects.approved(dues_city)
    book.lines = [{k: v for k, v in line.items() if k != "legal_basis_en"} for line in book.lines]
    book.save()
    client.cookies["django_language"] = "en"
    english = client.get(f"/dues/bills/{bill.public_id}/").content.decode()
    assert '<div class="note">قانون نوسازی و عمران شهری ۱۳۴۷، ماده ۲</div>' in english
    assert client.get(f"/api/dues/bills/{bill.public_id}").json()["years"][-1]["lines"][3]["legal_basis_en"] == ""


def test_finance_views_are_for_finance_staff_only(client, role_users, dues_city):
    anonymous = client.get("/dues/finance/")  # a page sends an anonymous visitor to the staff sign-in
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/admin/login/?next=/dues/finance/")
    assert client.get("/api/dues/finance").json()["error"] == "signin_needed"
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


def test_the_finance_page_reads_in_one_language(client, role_users, dues_city):
    """District names in the reader's language (collections and what-if), the gateway by its translated name, the
    kind of payment translated; a gateway no backend has keeps its code, marked as such."""
    from parcels.models import District

    parcel = _owed_parcel(dues_city)
    bill = billing.issue(parcel)
    billing.record_payment(bill, "sandbox", "FIN-" + uuid.uuid4().hex[:8], bill.amount)
    other = billing.issue(_owed_parcel(dues_city, index=4))
    billing.record_payment(other, "bank-file", "FIN-" + uuid.uuid4().hex[:8], other.amount - 1000)
    draft = TariffBook.objects.get(year=1405, name="proposal-1405-b")
    client.force_login(role_users["finance"])
    client.cookies["django_language"] = "en"
    english = client.get(f"/dues/finance/?what_if={draft.pk}").content.decode()
    district = District.objects.get(pk=parcel.district_id)
    assert district.name_en and english.count(f"<td>{district.name_en}</td>") >= 2     # collections and what-if
    assert district.name not in english
    assert "<td>Local sandbox gateway</td><td>Full</td>" in english and ">sandbox<" not in english
    assert '<bdi dir="ltr" translate="no">bank-file</bdi></td><td>Partial</td>' in english
    assert "Draft renewal-dues tariff book 1405 (illustrative)</option>" in english
    client.cookies["django_language"] = "fa"
    persian = client.get(f"/dues/finance/?what_if={draft.pk}").content.decode()
    assert persian.count(f"<td>{district.name}</td>") >= 2 and district.name_en not in persian
    with translation.override("fa"):
        sandbox, full = str(SandboxGateway.label), str(Payment.Kind.FULL.label)
    assert f"<td>{sandbox}</td><td>{full}</td>" in persian and "Local sandbox" not in persian
    rows = client.get("/api/dues/finance").json()["reconciliation"]["rows"]
    assert {(r["gateway"], r["gateway_label"]) for r in rows} >= {("sandbox", sandbox), ("bank-file", None)}


def test_a_forged_callback_is_not_a_payment(client, dues_city, django_db_blocker):
    parcel = _owed_parcel(dues_city)
    bill = billing.issue(parcel)
    attempt = PaymentAttempt.objects.create(bill=bill, token="forged-" + uuid.uuid4().hex, gateway="sandbox", amount=bill.amount)
    response = client.get(f"/dues/callback/sandbox/?token={attempt.token}&ref=MADE-UP")
    assert response.status_code == 302 and "message=failed" in response["Location"]
    assert not Payment.objects.filter(bill=bill).exists()
    assert "reason=no_such_transaction" in response["Location"]
    attempt.refresh_from_db()
    assert attempt.status == "failed" and attempt.failure == PaymentAttempt.Failure.NO_SUCH_TRANSACTION
    assert attempt.message == ""                          # the sandbox bank says nothing in its own words
    with translation.override("en"):
        assert attempt.failure_text() == "The bank has no such transaction."
    persian = client.get(response["Location"]).content.decode()
    client.cookies["django_language"] = "en"
    english = client.get(response["Location"]).content.decode()
    assert "The payment did not go through. The bank has no such transaction." in english
    with translation.override("fa"):
        assert str(PaymentAttempt.Failure.NO_SUCH_TRANSACTION.label) in persian
    assert "no such transaction" not in persian


def test_a_cancelled_payment_says_why_and_unknown_reasons_are_not_shown(client, dues_city):
    parcel = _owed_parcel(dues_city)
    bill = billing.issue(parcel)
    attempt = PaymentAttempt.objects.create(bill=bill, token="cancel-" + uuid.uuid4().hex, gateway="sandbox",
                                            amount=bill.amount)
    SandboxTransaction.objects.create(token=attempt.token, reference="SBX-C-" + uuid.uuid4().hex[:8],
                                      amount=bill.amount, succeeded=False)
    reference = SandboxTransaction.objects.get(token=attempt.token).reference
    response = client.get(f"/dues/callback/sandbox/?token={attempt.token}&ref={reference}")
    assert response["Location"].endswith("?message=failed&reason=cancelled")
    attempt.refresh_from_db()
    assert attempt.failure == PaymentAttempt.Failure.CANCELLED
    client.cookies["django_language"] = "en"
    page = client.get(response["Location"]).content.decode()
    assert "The payment was cancelled at the bank." in page
    forged = client.get(f"/dues/bills/{bill.public_id}/?message=failed&reason=%3Cb%3Eyou+won%3C%2Fb%3E").content.decode()
    assert 'data-testid="failed-message">The payment did not go through.</p>' in forged and "you won" not in forged


def test_a_replaced_bill_says_why_in_the_readers_language(client, role_users, dues_city):
    """Why a bill was superseded is stored as a code with its values and read in the reader's language, on the
    bill page and in its JSON."""
    parcel = _owed_parcel(dues_city, index=6)
    old = billing.issue(parcel, jdatetime.date(dues_city, 2, 1))
    newer = billing.issue(parcel, jdatetime.date(dues_city, 3, 1))    # one more month of penalty on last year
    old.refresh_from_db()
    assert old.superseded_code == "replaced" and old.superseded_params == {"bill": newer.pk}
    client.cookies["django_language"] = "en"
    english = client.get(f"/dues/bills/{old.public_id}/").content.decode()
    assert f'data-testid="superseded-reason">Replaced by bill {newer.pk}.<' in english
    data = client.get(f"/api/dues/bills/{old.public_id}").json()
    assert (data["superseded_code"], data["superseded_params"]) == ("replaced", {"bill": newer.pk})
    assert data["superseded_reason"] == f"Replaced by bill {newer.pk}."
    assert client.get(f"/api/dues/bills/{newer.public_id}").json()["superseded_reason"] is None
    client.cookies["django_language"] = "fa"
    persian = client.get(f"/dues/bills/{old.public_id}/").content.decode()
    with translation.override("fa"):
        reason = old.superseded_text()
    assert f'data-testid="superseded-reason">{reason}<' in persian and "Replaced" not in reason
    assert str(newer.pk).translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")) in reason
    client.force_login(role_users["admin"])
    assert reason in client.get(f"/admin/dues/bill/{old.pk}/change/").content.decode()


def test_reasons_stored_as_english_text_before_are_converted_or_kept(dues_city):
    """The migration to codes converts the texts the code wrote before; any other text is shown as it is."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("dues.migrations.0003_reasons_as_codes")
    parcel = _owed_parcel(dues_city)
    bill = billing.issue(parcel)
    Bill.objects.filter(pk=bill.pk).update(status=Bill.Status.SUPERSEDED, superseded_reason="replaced by bill 12")
    other = Bill.objects.create(**{f.name: getattr(bill, f.name) for f in Bill._meta.concrete_fields
                                   if f.name not in ("id", "issued_at", "public_id")})
    Bill.objects.filter(pk=other.pk).update(status=Bill.Status.SUPERSEDED,
                                            superseded_reason="reassessed for 1402 by run 7")
    third = Bill.objects.create(**{f.name: getattr(bill, f.name) for f in Bill._meta.concrete_fields
                                   if f.name not in ("id", "issued_at", "public_id")})
    Bill.objects.filter(pk=third.pk).update(status=Bill.Status.SUPERSEDED, superseded_reason="cancelled by clerk")
    cancelled = PaymentAttempt.objects.create(bill=bill, token="old-" + uuid.uuid4().hex, gateway="sandbox",
                                              amount=bill.amount, status="failed",
                                              message="the payment was cancelled at the bank")
    said = PaymentAttempt.objects.create(bill=bill, token="old-" + uuid.uuid4().hex, gateway="sandbox",
                                         amount=bill.amount, status="failed", message="Card expired")
    migration.to_codes(apps, None)
    for b in (bill, other, third, cancelled, said):
        b.refresh_from_db()
    assert (bill.superseded_code, bill.superseded_params) == ("replaced", {"bill": 12})
    assert (other.superseded_code, other.superseded_params) == ("reassessed", {"year": 1402, "run": 7})
    assert third.superseded_code is None and third.superseded_text() == "cancelled by clerk"
    assert (cancelled.failure, cancelled.message) == ("cancelled", "")
    assert (said.failure, said.failure_text()) == ("", "Card expired")
    with translation.override("en"):
        assert other.superseded_text() == "The dues of 1402 were reassessed (assessment run 7)."
    migration.to_text(apps, None)
    bill.refresh_from_db()
    cancelled.refresh_from_db()
    assert bill.superseded_reason == "replaced by bill 12"
    assert cancelled.message == "the payment was cancelled at the bank"
