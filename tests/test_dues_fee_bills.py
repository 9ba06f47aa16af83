"""Fee bills through dues.api (a permit's fees): lines checked and evaluated with the tariff formula language, bills
with the national IDs, idempotent per reference, paid through the sandbox like a renewal bill, `bill_paid` sent
once, and the renewal ledger untouched. Real PostGIS; the concurrency tests commit (no django_db mark) so that each
thread's own connection sees the others' work."""

import threading
import uuid
from contextlib import contextmanager

import jdatetime
import jsonschema
import pytest
from django.db import connection
from django.db.models import Sum
from django.utils import timezone, translation

from documents.models import IssuedDocument
from dues import api, billid, billing, reports
from dues.models import Bill, LedgerEntry, Payment
from dues.openapi_spec import SCHEMAS
from parcels.models import Parcel
from tests.dues_support import dues_city, forget_documents  # noqa: F401  (fixture)

FACTS = {"floor_area": 312.5, "units": 4, "use": "residential", "frontage": 12}
LINES = [
    {"code": "built", "label_fa": "زیربنا", "label_en": "Built area", "kind": "value", "formula": "floor_area"},
    {"code": "permit_fee", "label_fa": "عوارض صدور پروانه", "label_en": "Permit fee",
     "formula": "built * (120000 if use == \"residential\" else 200000)"},
    {"code": "per_unit", "label_fa": "عوارض هر واحد", "label_en": "Per unit", "formula": "units * 1500000.5"},
    {"code": "frontage_discount", "label_fa": "تخفیف بر", "label_en": "Frontage discount", "kind": "reduction",
     "formula": "-min(permit_fee / 10, frontage * 100000)", "legal_basis": "مصوبه شورا ۱۴۰۳",
     "legal_basis_en": "Council resolution 1403"},
]
NAMES = set(FACTS)


def _reference():
    return "TEST-" + uuid.uuid4().hex[:12]


def _parcel_id(index=0):
    """A parcel the renewal-dues tests do not pick (they take the first owed ones by id): committed fee payments stay
    off theirs."""
    return Parcel.objects.order_by("-id").values_list("id", flat=True)[index]


@contextmanager
def _receiving():
    """The bill_paid signals sent while the block runs (from any thread)."""
    got, lock = [], threading.Lock()

    def receiver(sender, **kwargs):
        with lock:
            got.append({"sender": sender, **kwargs})

    api.bill_paid.connect(receiver, weak=False)
    try:
        yield got
    finally:
        api.bill_paid.disconnect(receiver)


# --- Formulas: checked and evaluated -----------------------------------------------------------------------------


@pytest.mark.parametrize("formula, problem", [
    ("height * 1000", "unknown name 'height'"),                  # not a fact nor an earlier line
    ("per_unit + 1", "unknown name 'per_unit'"),                 # a later line's code
    ("floor_area ** 2", "operator Pow is not allowed"),
    ("__import__('os').system('true')", "only min(a, b, ...) and max(a, b, ...) may be called"),
    ("floor_area.real", "Attribute is not allowed"),
    ("[floor_area][0]", "Subscript is not allowed"),
    ("floor_area +", "cannot parse"),
])
def test_a_formula_not_allowed_is_refused_naming_the_line(formula, problem, english):
    lines = [LINES[0], {**LINES[1], "formula": formula}, *LINES[2:]]
    with pytest.raises(api.FeeError) as exc:
        api.check_fee_formulas(lines, NAMES)
    assert exc.value.status == 400 and exc.value.code == "bad_fee"
    assert exc.value.message.startswith("Fee line 2 (permit_fee): ") and problem in exc.value.message
    assert exc.value.response().status_code == 400
    api.check_fee_formulas(LINES, NAMES)                         # the lines as they are pass


def test_codes_kinds_and_labels_are_checked(english):
    cases = [
        ([{**LINES[0], "code": "floor_area"}], "Fee line 1 (floor_area): its code must be a new lower-case name"),
        ([LINES[0], {**LINES[1], "code": "built"}], "Fee line 2 (built): its code must be a new"),
        ([{**LINES[0], "kind": "bonus"}], "kind 'bonus' is not one of charge, reduction, value"),
        ([{**LINES[3], "legal_basis": ""}], "a reduction or exemption needs its legal_basis"),
        ([{**LINES[1], "label_fa": ""}], "label_fa is missing"),
        ([], "Fees: there are no fee lines."),
    ]
    for lines, message in cases:
        with pytest.raises(api.FeeError, match=message.replace("(", r"\(").replace(")", r"\)")):
            api.check_fee_formulas(lines, NAMES)


def test_a_problem_is_said_in_the_readers_language():
    lines = [LINES[0], {**LINES[1], "formula": "height * 1000"}]
    with translation.override("en"), pytest.raises(api.FeeError) as english:
        api.check_fee_formulas(lines, NAMES)
    with translation.override("fa"), pytest.raises(api.FeeError) as persian:
        api.check_fee_formulas(lines, NAMES)
    assert (english.value.line, english.value.line_code) == (2, "permit_fee")
    with translation.override("fa"):
        from django.utils.translation import gettext
        expected = gettext("Fee line %(number)s (%(code)s): %(problem)s.") % {
            "number": 2, "code": "permit_fee", "problem": gettext(
                "unknown name %(name)r in %(formula)r at column %(column)s (not a fact, parameter or earlier line)")
            % {"name": "height", "formula": "height * 1000", "column": 1}}
    assert persian.value.message == expected


def test_lines_are_evaluated_in_order_with_the_calculators_rounding():
    lines = api.evaluate_fees(LINES, FACTS)
    amounts = {line["code"]: line["amount"] for line in lines}
    assert [line["code"] for line in lines] == [line["code"] for line in LINES]
    assert amounts["built"] == 313                              # 312.5 → 313: half away from zero, not to even
    assert amounts["permit_fee"] == 313 * 120_000               # later lines use the rounded amount
    assert amounts["per_unit"] == 6_000_002                     # 6,000,002.0
    assert amounts["frontage_discount"] == -1_200_000           # min(3,756,000, 1,200,000)
    assert lines[1]["inputs"] == {"built": 313, "use": "residential"} and lines[1]["label_en"] == "Permit fee"
    assert api.fee_total(lines) == (313 * 120_000 + 6_000_002 - 1_200_000) // 1000 * 1000   # value line not billed
    commercial = {line["code"]: line["amount"] for line in api.evaluate_fees(LINES, {**FACTS, "use": "shop"})}
    assert commercial["permit_fee"] == 313 * 200_000
    assert api.fee_total(api.evaluate_fees([{**LINES[1], "formula": "999"}], FACTS)) == 0   # nothing to bill


def test_a_missing_fact_a_negative_total_and_bad_values_are_refused(english):
    with pytest.raises(api.FeeError, match=r"Fee line 3 \(per_unit\): fact 'units' is missing"):
        api.evaluate_fees(LINES, {k: v for k, v in FACTS.items() if k != "units"})
    with pytest.raises(api.FeeError, match="Fees: the fees add up to -1000 rials: a negative total is not allowed"):
        api.evaluate_fees([{**LINES[3], "formula": "-1000"}], FACTS)
    with pytest.raises(api.FeeError, match=r"Fee line 1 \(permit_fee\): division by zero"):
        api.evaluate_fees([{**LINES[1], "formula": "floor_area / (units - 4)"}], FACTS)
    with pytest.raises(api.FeeError, match="a text fact is used as a number"):
        api.evaluate_fees([{**LINES[1], "formula": "use * 2"}], FACTS)
    with pytest.raises(api.FeeError, match="fact 'units' is not a number or a text"):
        api.evaluate_fees(LINES, {**FACTS, "units": [4]})


# --- Bills: ids, idempotency, supersede -------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_fee_bill_has_its_own_national_ids_and_is_the_same_bill_again(demo_city):
    lines = api.evaluate_fees(LINES, FACTS)
    reference = _reference()
    first = api.issue_fee_bill(_parcel_id(), reference=reference, lines=lines, title_fa="پروانه ساختمانی",
                               title_en="Building permit")
    again = api.issue_fee_bill(_parcel_id(), reference=reference, lines=api.evaluate_fees(LINES, FACTS),
                               title_fa="پروانه ساختمانی", title_en="Building permit")
    assert again == first and api.fee_bill(reference) == first
    assert Bill.objects.filter(reference=reference).count() == 1
    bill = Bill.objects.get(public_id=first["id"])
    total = sum(line["amount"] for line in lines if line["kind"] != "value")
    assert (bill.kind, bill.total, bill.amount, bill.rounding) == ("fee", total, total // 1000 * 1000, total % 1000)
    assert first["amount"] == bill.amount and first["status"] == "issued" and first["paid"] is False
    assert first["page_url"] == f"/dues/bills/{bill.public_id}/"
    assert first["pay_url"] == f"/dues/bills/{bill.public_id}/pay"
    assert billid.is_valid_pair(bill.bill_id, bill.payment_id) and bill.bill_id[-2] == "6"
    assert billid.amount_of(bill.payment_id) == bill.amount
    assert int(bill.bill_id[:-5]) >= billid.FEE_FILE_CODES_FROM             # the file code: a fee bill's own
    other = api.issue_fee_bill(_parcel_id(), reference=_reference(), lines=lines, title_fa="پروانه", title_en="")
    assert other["bill_id"] != first["bill_id"]                           # same parcel and lines, another bill ID
    assert api.fee_bill("NO-SUCH-" + reference) is None


@pytest.mark.django_db
def test_other_lines_supersede_the_unpaid_bill(demo_city, english):
    reference = _reference()
    old = api.issue_fee_bill(_parcel_id(), reference=reference, lines=api.evaluate_fees(LINES, FACTS),
                             title_fa="پروانه", title_en="Permit")
    new = api.issue_fee_bill(_parcel_id(), reference=reference, lines=api.evaluate_fees(LINES, {**FACTS, "units": 6}),
                             title_fa="پروانه", title_en="Permit")
    assert new["id"] != old["id"] and new["bill_id"] != old["bill_id"] and new["amount"] > old["amount"]
    stale = Bill.objects.get(public_id=old["id"])
    assert stale.status == "superseded" and stale.superseded_code == "fees_changed"
    assert stale.superseded_text() == f"The fees were changed: replaced by bill {new['bill_id']}."
    assert api.fee_bill(reference) == new
    assert Bill.objects.filter(reference=reference).exclude(status="superseded").count() == 1
    with pytest.raises(billing.BillError) as refused:
        billing.check_payable(stale)
    assert refused.value.code == "superseded"


@pytest.mark.django_db
def test_bills_that_cannot_be_issued_are_refused(demo_city, english):
    lines = api.evaluate_fees(LINES, FACTS)
    cases = [
        ({"lines": [{**lines[1], "amount": "12"}]}, "Fee line 1 needs a code"),
        ({"lines": api.evaluate_fees([{**LINES[1], "formula": "999"}], FACTS)}, "under 1,000 rials"),
        ({"reference": ""}, "needs a reference"),
        ({"title_fa": " "}, "needs a Persian title"),
        ({"parcel_id": 999_999_999}, "No parcel with id 999999999."),
    ]
    for change, message in cases:
        given = {"parcel_id": _parcel_id(), "reference": _reference(), "lines": lines, "title_fa": "پروانه",
                 "title_en": "", **change}
        with pytest.raises(api.FeeError) as exc:
            api.issue_fee_bill(given.pop("parcel_id"), **given)
        assert message in exc.value.message
    with pytest.raises(api.FeeError, match="too much for one bill's payment ID"):
        api.issue_fee_bill(_parcel_id(), reference=_reference(), title_fa="پروانه", title_en="",
                           lines=[{**lines[1], "amount": 10**14}])


# --- Paying: the citizen's path, once ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_fee_bill_is_paid_through_the_sandbox_and_announced_once(client, demo_city,
                                                                    django_capture_on_commit_callbacks):
    reference = _reference()
    bill = api.issue_fee_bill(_parcel_id(), reference=reference, lines=api.evaluate_fees(LINES, FACTS),
                              title_fa="پروانه ساختمانی", title_en="Building permit")
    client.cookies["django_language"] = "en"
    page = client.get(bill["page_url"]).content.decode()
    assert "<h1>Building permit — " in page and "Permit fee" in page and "Frontage discount" in page
    assert "shown, not billed" in page and "Year " not in page and "penalty or discount changes" not in page
    assert f'data-testid="bill-id">{bill["bill_id"]}<' in page
    assert f'data-testid="payment-id">{bill["payment_id"]}<' in page
    data = client.get(f"/api/dues/bills/{bill['id']}").json()
    jsonschema.validate(data, {**SCHEMAS["DuesBill"], "components": {"schemas": SCHEMAS}})   # as documented
    assert (data["kind"], data["title_en"], data["years"]) == ("fee", "Building permit", [])
    assert data["amount"] == bill["amount"]
    assert [line["code"] for line in data["lines"]] == [line["code"] for line in LINES]
    client.cookies["django_language"] = "fa"
    persian = client.get(bill["page_url"]).content.decode()
    issued = jdatetime.date.fromgregorian(date=timezone.localdate()).strftime("%Y/%m/%d")
    assert issued.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")) in persian and "پروانه ساختمانی" in persian
    client.cookies["django_language"] = "en"

    with _receiving() as signals:
        to_bank = client.post(bill["pay_url"])
        assert to_bank.status_code == 302 and to_bank["Location"].startswith("/dues/sandbox/")
        assert client.get(to_bank["Location"]).status_code == 200
        back = client.post(to_bank["Location"], {"action": "pay"})
        assert back.status_code == 302 and back["Location"].startswith("/dues/callback/sandbox/")
        with django_capture_on_commit_callbacks(execute=True):
            paid = client.get(back["Location"])
        assert paid["Location"] == bill["page_url"] + "?message=paid"
        with django_capture_on_commit_callbacks(execute=True):
            assert client.get(back["Location"])["Location"] == bill["page_url"] + "?message=paid"   # the bank again
    assert signals == [{"sender": "dues", "signal": api.bill_paid, "reference": reference, "bill": bill["id"],
                        "amount": bill["amount"]}]
    payment = Payment.objects.get(bill__public_id=bill["id"])
    assert (payment.gateway, payment.amount, payment.kind) == ("sandbox", bill["amount"], "full")
    assert not LedgerEntry.objects.filter(payment=payment).exists()       # not on the renewal ledger
    now = api.fee_bill(reference)
    assert (now["status"], now["paid"], now["paid_amount"]) == ("paid", True, bill["amount"])
    assert 'data-testid="paid-message">Payment recorded.<' in client.get(paid["Location"]).content.decode()

    twice = client.post(bill["pay_url"])                                  # a fee paid twice
    assert twice.status_code == 409 and "This bill is already paid." in twice.content.decode()
    assert "A new bill" not in twice.content.decode()
    again = api.issue_fee_bill(_parcel_id(), reference=reference, lines=api.evaluate_fees(LINES, {**FACTS, "units": 9}),
                               title_fa="پروانه ساختمانی", title_en="Building permit")
    assert again["id"] == bill["id"] and again["paid"] and Bill.objects.filter(reference=reference).count() == 1
    pdf = client.get(f"/dues/bills/{bill['id']}/pdf")    # printed once by the job (dues/documents.py): 202 until then
    assert pdf.status_code == 202


@pytest.mark.django_db
def test_a_partly_paid_fee_bill_is_neither_paid_online_nor_replaced(client, demo_city,
                                                                     django_capture_on_commit_callbacks, english):
    reference = _reference()
    bill = api.issue_fee_bill(_parcel_id(), reference=reference, lines=api.evaluate_fees(LINES, FACTS),
                              title_fa="پروانه", title_en="Permit")
    row = Bill.objects.get(public_id=bill["id"])
    with _receiving() as signals, django_capture_on_commit_callbacks(execute=True):
        billing.record_payment(row, "bank-file", "PART-" + reference, 1000)
    assert signals == [] and api.fee_bill(reference)["status"] == "partial"
    client.cookies["django_language"] = "en"
    refused = client.post(bill["pay_url"])
    assert refused.status_code == 409 and "Part of this bill is paid already" in refused.content.decode()
    with pytest.raises(api.FeeError, match="is partly paid"):
        api.issue_fee_bill(_parcel_id(), reference=reference, lines=api.evaluate_fees(LINES, {**FACTS, "units": 2}),
                           title_fa="پروانه", title_en="Permit")
    with _receiving() as signals, django_capture_on_commit_callbacks(execute=True):
        billing.record_payment(row, "bank-file", "REST-" + reference, bill["amount"] - 1000)
    assert [s["amount"] for s in signals] == [bill["amount"]]


# --- The renewal dues stay as they are --------------------------------------------------------------------------


def _renewal_payments_posted_in_full(parcel):
    """test_dues_payments._reconciles for a parcel that also has fee payments: every renewal payment is posted in
    full on the ledger, every fee payment posts nothing."""
    for payment in Payment.objects.filter(parcel=parcel):
        posted = payment.entries.filter(kind__in=["payment", "credit"]).aggregate(s=Sum("amount"))["s"] or 0
        assert posted == (payment.amount if payment.bill.kind == "renewal" else 0), (payment.pk, posted)


@pytest.mark.django_db
def test_renewal_bills_ledger_and_reports_are_untouched_by_fee_bills(dues_city):
    from dues.properties import build as properties_section
    from tests.test_dues_payments import _owed_parcel

    parcel = _owed_parcel(dues_city, index=12)
    renewal = billing.issue(parcel)
    ledger_before = billing.ledger(parcel.pk)
    collections_before = reports.collections()
    day = timezone.localdate()
    with translation.override("en"):
        reconciliation_before = reports.reconciliation(day)
    fees_before = {r["year"]: r for r in reports.fee_collections()}

    fee = api.issue_fee_bill(parcel.pk, reference=_reference(), lines=api.evaluate_fees(LINES, FACTS),
                             title_fa="پروانه", title_en="Permit")
    assert fee["bill_id"] != renewal.bill_id
    assert billing.issue(parcel).pk == renewal.pk                         # the open renewal bill is still the one
    assert billing.open_bill(parcel).pk == renewal.pk
    renewal.refresh_from_db()
    assert renewal.status == "issued" and renewal.kind == "renewal"
    fee_row = Bill.objects.get(public_id=fee["id"])
    # a renewal bill of another date replaces the parcel's open renewal bill, never its fee bill
    earlier = billing.issue(parcel, jdatetime.date(dues_city, 2, 1))
    renewal.refresh_from_db()
    fee_row.refresh_from_db()
    assert earlier.pk != renewal.pk and renewal.status == "superseded" and fee_row.status == "issued"
    renewal = billing.issue(parcel)
    billing.record_payment(fee_row, "fee-gateway", "FEE-" + uuid.uuid4().hex[:8], fee["amount"])

    assert billing.ledger(parcel.pk) == ledger_before and reports.collections() == collections_before
    with translation.override("en"):
        after = reports.reconciliation(day)
    assert after["rows"] == reconciliation_before["rows"] and after["reconciled"] == reconciliation_before["reconciled"]
    assert after["amount"] == reconciliation_before["amount"]
    assert {"gateway": "fee-gateway", "gateway_label": None, "kind": "full", "kind_label": "Full", "payments": 1,
            "amount": fee["amount"]} in after["fee_rows"]
    assert after["fee_amount"] == reconciliation_before["fee_amount"] + fee["amount"]
    year = fee_row.jalali_year
    row = {r["year"]: r for r in reports.fee_collections()}[year]
    before = fees_before.get(year, {"bills": 0, "billed": 0, "paid_bills": 0, "collected": 0})
    assert (row["bills"], row["billed"], row["paid_bills"], row["collected"]) == (
        before["bills"] + 1, before["billed"] + fee["amount"], before["paid_bills"] + 1,
        before["collected"] + fee["amount"])
    _renewal_payments_posted_in_full(parcel)
    section = properties_section(None, [parcel.pk])[parcel.pk]
    assert section["bill"]["ref"] == str(renewal.public_id) and section["payments"] == []

    billing.record_payment(renewal, "test", "REN-" + uuid.uuid4().hex[:8], renewal.amount)   # and renewal still pays
    assert sum(y.balance for y in billing.ledger(parcel.pk)) == 0
    _renewal_payments_posted_in_full(parcel)


@pytest.mark.django_db
def test_the_finance_page_shows_fee_bills_apart(client, role_users, demo_city):
    bill = api.issue_fee_bill(_parcel_id(), reference=_reference(), lines=api.evaluate_fees(LINES, FACTS),
                              title_fa="پروانه", title_en="Permit")
    billing.record_payment(Bill.objects.get(public_id=bill["id"]), "sandbox", "FIN-" + uuid.uuid4().hex[:8],
                           bill["amount"])
    client.force_login(role_users["finance"])
    client.cookies["django_language"] = "en"
    page = client.get("/dues/finance/").content.decode()
    assert 'data-testid="fee-collections"' in page and 'data-testid="fee-payments"' in page
    data = client.get("/api/dues/finance").json()
    assert sum(r["collected"] for r in data["fee_collections"]) == (
        Payment.objects.filter(bill__kind="fee").aggregate(s=Sum("amount"))["s"])
    assert data["reconciliation"]["fee_amount"] >= bill["amount"]
    client.force_login(role_users["admin"])
    admin = client.get(f"/admin/dues/bill/?kind=fee&q={bill['bill_id']}").content.decode()
    assert bill["bill_id"] in admin and "Fees" in admin


# --- Concurrency (committed: each thread has its own connection) --------------------------------------------------


@pytest.fixture
def forget_committed_fee_bills(django_db_blocker):
    """The committed tests below (threads, a browser) write fee bills other tests must not find (e.g. the language
    crawl looks for today's sandbox payments): removed afterwards, with their payments and attempts."""
    made = []
    yield made
    from dues.models import PaymentAttempt

    with django_db_blocker.unblock():
        bills = Bill.objects.filter(reference__in=made)
        sources = [f"dues.bill:{pk}" for pk in bills.values_list("pk", flat=True)] + [
            f"dues.payment:{pk}" for pk in Payment.objects.filter(bill__in=bills).values_list("pk", flat=True)]
        forget_documents(IssuedDocument.objects.filter(source__in=sources))
        PaymentAttempt.objects.filter(bill__in=bills).delete()
        Payment.objects.filter(bill__in=bills).delete()
        bills.delete()


def _at_once(n, work):
    """Run work(i) in n threads released together; their results (or exceptions)."""
    start, results = threading.Barrier(n), [None] * n

    def run(i):
        start.wait()
        try:
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001 (reported by the test)
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_concurrent_issuers_get_one_bill(demo_city, django_db_blocker, forget_committed_fee_bills):
    with django_db_blocker.unblock():
        parcel_id = _parcel_id(1)
        lines = api.evaluate_fees(LINES, FACTS)
        reference = _reference()
        forget_committed_fee_bills.append(reference)
        results = _at_once(6, lambda i: api.issue_fee_bill(parcel_id, reference=reference, lines=lines,
                                                           title_fa="پروانه", title_en="Permit"))
        assert len({r["id"] for r in results}) == 1, results
        assert Bill.objects.filter(reference=reference).count() == 1
        # different lines at once: one live bill in the end, every other one superseded
        other = _reference()
        forget_committed_fee_bills.append(other)
        results = _at_once(4, lambda i: api.issue_fee_bill(
            parcel_id, reference=other, lines=api.evaluate_fees(LINES, {**FACTS, "units": i + 1}),
            title_fa="پروانه", title_en="Permit"))
        assert all(isinstance(r, dict) for r in results), results
        live = Bill.objects.filter(reference=other).exclude(status="superseded")
        assert live.count() == 1 and Bill.objects.filter(reference=other).count() == len({r["id"] for r in results})
        assert api.fee_bill(other)["id"] == str(live.get().public_id)


def test_racing_callbacks_record_one_payment_and_announce_once(demo_city, django_db_blocker,
                                                             forget_committed_fee_bills):
    with django_db_blocker.unblock():
        reference = _reference()
        forget_committed_fee_bills.append(reference)
        bill = api.issue_fee_bill(_parcel_id(2), reference=reference, lines=api.evaluate_fees(LINES, FACTS),
                                  title_fa="پروانه", title_en="Permit")
        row = Bill.objects.get(public_id=bill["id"])
        same, other = "SBX-RACE-" + uuid.uuid4().hex[:8], "SBX-RACE-" + uuid.uuid4().hex[:8]
        with _receiving() as signals:
            # six deliveries of one bank reference and two of a second payment of the same bill, all at once
            results = _at_once(8, lambda i: billing.record_payment(row, "sandbox", same if i < 6 else other,
                                                                   bill["amount"]))
        assert not [r for r in results if isinstance(r, Exception)], results
        assert sum(created for _, created in results) == 2
        payments = Payment.objects.filter(bill=row)
        assert payments.count() == 2 and {p.kind for p in payments} == {"full", "over"}
        assert [(s["reference"], s["bill"], s["amount"]) for s in signals] == [(reference, bill["id"], bill["amount"])]
        assert api.fee_bill(reference)["paid"] is True


# --- In a real browser: the fee bill page speaks one language ----------------------------------------------------


@pytest.mark.browser
@pytest.mark.parametrize("language", ["fa", "en"])
def test_the_fee_bill_page_speaks_one_language(browser, portal_url, django_db_blocker, language,
                                               forget_committed_fee_bills):
    from tests.test_language_crawl import READ_PAGE, offending

    forget_committed_fee_bills.append("TEST-LANGUAGE")
    with django_db_blocker.unblock():   # committed (no django_db mark): the server reads it on its own connection
        bill = api.issue_fee_bill(_parcel_id(3), reference="TEST-LANGUAGE", lines=api.evaluate_fees(LINES, FACTS),
                                  title_fa="پروانه ساختمانی", title_en="Building permit")
    context = browser.new_context(locale="en-US")
    if language == "en":
        context.add_cookies([{"name": "django_language", "value": "en", "url": portal_url}])
    pg = context.new_page()
    try:
        pg.goto(portal_url + bill["page_url"], wait_until="networkidle")
        assert pg.evaluate("document.documentElement.lang") == language
        assert pg.locator("[data-testid=fee-lines] tbody tr").count() == len(LINES)
        found = offending(pg.evaluate(READ_PAGE), language, set())
    finally:
        context.close()
    assert found == []
