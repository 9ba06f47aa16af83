"""The bill and the receipt as issued documents (dues/documents.py): amounts in Persian words; a bill printed once in
the job with its page one (amount in words, IDs, Jalali dates, the 26-digit barcode read back by zbar in both
symbologies, the pay QR code) and the annex after it; one receipt per payment however often the bank calls back; the
stored PDF served without a browser; a bill issued before documents gets its document on the first PDF request, once
even under two concurrent requests; and in Chromium, a bill's PDF opened from its page and its barcode decoded."""

import io
import re
import subprocess
import threading
import time
import uuid

import jdatetime
import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from pypdf import PdfReader

from documents import api as documents_api
from documents.models import IssuedDocument
from dues import billid, billing, fees
from dues.models import Bill, Payment, PaymentAttempt, SandboxTransaction
from dues.words import persian_words, rials_in_words
from tests.documents.conftest import signing_key  # noqa: F401  (fixture)
from tests.documents.scan import pdf_page_png, zbar_decode
from tests.dues_support import dues_city, forget_documents  # noqa: F401  (fixture)
from tests.documents.conftest import run_render_jobs
from tests.test_dues_payments import _owed_parcel

_TO_ASCII = str.maketrans("۰۱۲۳۴۵۶۷۸۹٬", "0123456789,")
_BIDI_MARKS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def run_render_jobs_of(doc_ids) -> int:
    """Run the waiting `documents.render` jobs of these documents only (jobs other tests left are not ours)."""
    return run_render_jobs(doc_ids)


def page_texts(pdf: bytes) -> list[str]:
    """Each page's text in reading order, Persian digits and separators made ASCII (the bill prints Persian digits).
    Read by poppler's pdftotext: pypdf gives right-to-left runs in visual order (a date comes out reversed)."""
    count = len(PdfReader(io.BytesIO(pdf)).pages)
    texts = []
    for page in range(1, count + 1):
        out = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), "-", "-"], input=pdf,
                             capture_output=True, check=True, timeout=60).stdout.decode()
        texts.append(_BIDI_MARKS.sub("", out).translate(_TO_ASCII))
    return texts


def _issued_and_printed(capture, parcel):
    with capture(execute=True):
        bill = billing.issue(parcel)
    doc = documents_api.by_source(f"dues.bill:{bill.pk}")
    assert doc is not None and doc.kind == "bill" and doc.rendered_at is None
    assert run_render_jobs_of([doc.pk]) == 1
    doc.refresh_from_db()
    return bill, doc


# --- amounts in words -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("number, words", [
    (0, "صفر"),
    (1, "یک"),
    (101, "صد و یک"),
    (1_000, "هزار"),
    (1_001, "هزار و یک"),
    (12_000_000, "دوازده میلیون"),
    (1_234_567_890, "یک میلیارد و دویست و سی و چهار میلیون و پانصد و شصت و هفت هزار و هشتصد و نود"),
    (2_000_000_000_000, "دو تریلیون"),
    (999_000_000_000_000, "نهصد و نود و نه تریلیون"),
])
def test_persian_words(number, words):
    assert persian_words(number) == words
    assert rials_in_words(number) == words + " ریال"


def test_a_bill_amount_in_words_is_the_amount_rounded_down_to_thousands():
    payable, rounding = fees.payable(1_234_567_890)
    assert (payable, rounding) == (1_234_567_000, 890)
    assert rials_in_words(payable) == "یک میلیارد و دویست و سی و چهار میلیون و پانصد و شصت و هفت هزار ریال"


def test_words_refuse_what_they_cannot_say():
    # num2words' Persian scale ends at 10^15: from 10^18 on it would drop the high digits without a word
    for bad in (-1, 10**15, 10**18):
        with pytest.raises(ValueError):
            persian_words(bad)
    for bad in (True, 1.5, "12"):
        with pytest.raises(TypeError):
            persian_words(bad)


# --- the printed bill -----------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("symbology, zbar_name", [("code128", "CODE-128"), ("itf", "I2/5")])
def test_the_bill_is_printed_once_with_page_one_and_its_annex(symbology, zbar_name, settings, signing_key, dues_city,
                                                              tmp_path, django_capture_on_commit_callbacks):
    settings.DUES_BARCODE_SYMBOLOGY = symbology
    bill, doc = _issued_and_printed(django_capture_on_commit_callbacks, _owed_parcel(dues_city, index=22))
    pdf = doc.file.open("rb").read()
    (tmp_path / "bill.pdf").write_bytes(pdf)
    # the register: public facts only, valid until the end of the Jalali month it was computed for
    assert doc.number.startswith("B-") and doc.subject["facts"][0] == ["Bill ID", bill.bill_id]
    as_of = jdatetime.date.fromgregorian(date=bill.as_of)
    end = jdatetime.date.fromgregorian(date=doc.valid_until)
    assert (end.year, end.month) == (as_of.year, as_of.month) and (end + jdatetime.timedelta(days=1)).day == 1
    # page one is the bill, the formula-by-formula annex follows
    pages = page_texts(pdf)
    assert len(pages) >= 2
    first = pages[0]
    assert bill.bill_id in first and bill.payment_id in first and f"{bill.amount:,}" in first
    assert _words_in(rials_in_words(bill.amount), first)
    assert as_of.strftime("%Y/%m/%d") in first                          # Jalali, with Persian digits on paper
    assert not re.search(r"\b(19|20)\d\d[-/]\d\d[-/]\d\d", first)      # no Gregorian date
    assert "Issued" not in first and "rate * property_value" not in first
    assert "rate * property_value" in "".join(pages[1:])               # the lines' formulas: the annex only
    # the barcode read back: exactly the 26 digits, bill ID and payment ID with valid check digits
    symbols = zbar_decode(pdf_page_png(pdf, page=1, dpi=200, folder=tmp_path))
    codes = [data for kind, data in symbols if kind == zbar_name]
    assert codes == [bill.barcode], symbols
    digits = codes[0]
    assert len(digits) == 26 and digits.isdigit()
    assert billid.is_valid_pair(digits[:13].lstrip("0"), digits[13:].lstrip("0"))
    assert (digits[:13].lstrip("0"), digits[13:].lstrip("0")) == (bill.bill_id, bill.payment_id)
    # the QR codes: the bill's page to pay online, and the verification page
    qrs = {data for kind, data in symbols if kind == "QR-Code"}
    assert qrs == {doc.content["pay_url"], documents_api.verification_url(doc)}
    assert doc.content["pay_url"].endswith(f"/dues/bills/{bill.public_id}/")


def _words_in(words: str, text: str) -> bool:
    """The words on the page, whatever line breaks and spaces the PDF's text layer puts between them."""
    squash = re.compile(r"\s+")
    return squash.sub("", words) in squash.sub("", text)


@pytest.mark.django_db
def test_a_fee_bill_is_printed_with_its_lines_and_replaced_when_the_fees_change(
        signing_key, demo_city, tmp_path, django_capture_on_commit_callbacks):
    from dues import api
    from tests.test_dues_fee_bills import FACTS, LINES, _parcel_id, _reference

    reference = _reference()
    with django_capture_on_commit_callbacks(execute=True):
        first = api.issue_fee_bill(_parcel_id(3), reference=reference, lines=api.evaluate_fees(LINES, FACTS),
                                   title_fa="پروانه ساختمانی", title_en="Building permit")
    bill = Bill.objects.get(public_id=first["id"])
    doc = documents_api.by_source(f"dues.bill:{bill.pk}")
    assert doc.valid_until is None and doc.subject["title"] == "Fee bill"   # a fee bill does not expire
    assert run_render_jobs_of([doc.pk]) == 1
    doc.refresh_from_db()
    pdf = doc.file.open("rb").read()
    first_page = page_texts(pdf)[0]
    assert "پروانه ساختمانی" in first_page and "عوارض هر واحد" in first_page and bill.bill_id in first_page
    assert _words_in(rials_in_words(bill.amount), first_page)
    symbols = zbar_decode(pdf_page_png(pdf, page=1, dpi=200, folder=tmp_path))
    assert [data for kind, data in symbols if kind == "CODE-128"] == [bill.barcode]
    # other fees for the same reference: a new bill, whose document supersedes this one
    second = api.issue_fee_bill(_parcel_id(3), reference=reference,
                                lines=api.evaluate_fees(LINES, {**FACTS, "units": 9}), title_fa="پروانه ساختمانی",
                                title_en="Building permit")
    newer = documents_api.by_source(f"dues.bill:{Bill.objects.get(public_id=second['id']).pk}")
    doc.refresh_from_db()
    assert doc.superseded_by_id == newer.pk and documents_api.status_of(newer) == "valid"


# --- the register: superseded, paid, receipts -----------------------------------------------------------------------


@pytest.mark.django_db
def test_a_replaced_bill_is_superseded_and_a_paid_one_says_when(dues_city):
    parcel = _owed_parcel(dues_city, index=25)
    first = billing.issue(parcel, jdatetime.date(dues_city, 1, 10))
    second = billing.issue(parcel, jdatetime.date(dues_city, 2, 10))   # a month later: a new bill replaces it
    first.refresh_from_db()
    assert first.status == Bill.Status.SUPERSEDED and second.pk != first.pk
    old, new = (documents_api.by_source(f"dues.bill:{b.pk}") for b in (first, second))
    assert old.superseded_by_id == new.pk and documents_api.status_of(old) == "superseded"
    assert documents_api.status_of(new) in ("valid", "expired")        # expired once its month is over
    client = Client()
    client.cookies["django_language"] = "en"
    record = client.get(f"/api/documents/verify/{old.verification_code}").json()
    assert record["status"] == "superseded" and record["extra"]["value"] == "Replaced: no longer payable"
    assert record["subject"]["facts"][0] == ["Bill ID", first.bill_id]
    assert client.get(f"/api/documents/verify/{new.verification_code}").json()["extra"]["value"] == "Payable"
    payment, created = billing.record_payment(second, "test", "SUP-" + uuid.uuid4().hex[:8], second.amount)
    paid_on = jdatetime.date.fromgregorian(date=timezone.localdate(payment.paid_at)).strftime("%Y/%m/%d")
    assert client.get(f"/api/documents/verify/{new.verification_code}").json()["extra"] == {
        "label": "Payment", "value": f"Paid on {paid_on}"}
    # a paid bill is not superseded by the parcel's next bill: only open bills are replaced
    assert documents_api.by_source(f"dues.payment:{payment.pk}").kind == "receipt"


@pytest.mark.django_db
def test_one_receipt_per_payment_however_often_the_bank_calls_back(client, dues_city, signing_key, tmp_path,
                                                                   django_capture_on_commit_callbacks):
    bill = billing.issue(_owed_parcel(dues_city, index=26))
    reference = "TWICE-" + uuid.uuid4().hex[:8]
    attempt = PaymentAttempt.objects.create(bill=bill, token="receipt-" + uuid.uuid4().hex, gateway="sandbox",
                                            amount=bill.amount)
    SandboxTransaction.objects.create(token=attempt.token, reference=reference, amount=bill.amount, succeeded=True)
    url = f"/dues/callback/sandbox/?token={attempt.token}&ref={reference}"
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):                                              # the bank calls back three times
            assert client.get(url).status_code == 302
    payment = Payment.objects.get(bill=bill)
    receipts = IssuedDocument.objects.filter(kind="receipt", source__startswith="dues.payment:",
                                             source__in=[f"dues.payment:{p.pk}" for p in bill.payments.all()])
    assert receipts.count() == 1
    receipt = receipts.get()
    assert receipt.source == f"dues.payment:{payment.pk}" and receipt.number.startswith("R-")
    assert ["Bank reference", reference] in receipt.subject["facts"]
    # and a payment recorded again by hand with the same reference makes none
    again, created = billing.record_payment(bill, "sandbox", reference, bill.amount)
    assert not created and again.pk == payment.pk
    assert IssuedDocument.objects.filter(kind="receipt", source=f"dues.payment:{payment.pk}").count() == 1
    assert run_render_jobs_of([receipt.pk]) == 1
    receipt.refresh_from_db()
    pdf = receipt.file.open("rb").read()
    (tmp_path / "receipt.pdf").write_bytes(pdf)
    text = page_texts(pdf)[0]
    assert bill.bill_id in text and reference in text and _words_in(rials_in_words(bill.amount), text)


# --- serving ----------------------------------------------------------------------------------------------------


def _no_browser(*args, **kwargs):
    raise AssertionError("a browser was started to print a PDF in a request")


@pytest.mark.django_db
def test_the_stored_pdf_is_served_without_a_browser(client, dues_city, signing_key, monkeypatch,
                                                    django_assert_max_num_queries,
                                                    django_capture_on_commit_callbacks):
    bill, doc = _issued_and_printed(django_capture_on_commit_callbacks, _owed_parcel(dues_city, index=27))
    monkeypatch.setattr("common.pdf.print_to_pdf", _no_browser)
    with django_assert_max_num_queries(3):                              # the bill, its document
        response = client.get(f"/dues/bills/{bill.public_id}/pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    body = b"".join(response.streaming_content)
    assert body == doc.file.open("rb").read() and response["ETag"] == f'"{doc.sha256}"'
    assert client.get(f"/dues/bills/{uuid.uuid4()}/pdf").status_code == 404


@pytest.mark.django_db
def test_a_bill_from_before_documents_gets_its_document_on_the_first_pdf_request(
        client, dues_city, signing_key, monkeypatch, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        bill = billing.issue(_owed_parcel(dues_city, index=28))
    source = f"dues.bill:{bill.pk}"
    IssuedDocument.objects.filter(source=source).delete()              # as a bill issued before this change
    url = f"/dues/bills/{bill.public_id}/pdf"
    with monkeypatch.context() as patched:
        patched.setattr("common.pdf.print_to_pdf", _no_browser)
        with django_capture_on_commit_callbacks(execute=True):
            first = client.get(url)
        assert first.status_code == 202 and first["Retry-After"] == "3" and first["Cache-Control"] == "no-store"
        assert 'data-testid="bill-printing"' in first.content.decode()
        assert '<meta http-equiv="refresh" content="3">' in first.content.decode()
        assert client.get(url).status_code == 202                       # asked again while it prints
    docs = IssuedDocument.objects.filter(source=source)
    assert docs.count() == 1
    assert run_render_jobs_of([docs.get().pk]) == 1                   # the worker prints it
    printed = client.get(url)
    assert printed.status_code == 200 and b"".join(printed.streaming_content).startswith(b"%PDF")


def _forget(sources) -> None:
    forget_documents(IssuedDocument.objects.filter(source__in=list(sources)))


def test_two_concurrent_first_requests_issue_one_document(dues_city, django_db_blocker, monkeypatch):
    """Committed data and two threads (two connections), each a request for the PDF of a bill without a document;
    the first one's issue is slowed down so that both have looked for the document before either issued it."""
    from dues import views

    with django_db_blocker.unblock():
        bill = billing.issue(_owed_parcel(dues_city, index=29))
        source = f"dues.bill:{bill.pk}"
        _forget([source])
    detail = views._detail
    monkeypatch.setattr(views, "_detail", lambda b: (time.sleep(0.5), detail(b))[1])
    start, answers = threading.Barrier(2), []

    def ask():
        try:
            start.wait()
            answers.append(Client().get(f"/dues/bills/{bill.public_id}/pdf").status_code)
        finally:
            connection.close()

    with django_db_blocker.unblock():
        try:
            threads = [threading.Thread(target=ask) for _ in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert answers == [202, 202]
            assert IssuedDocument.objects.filter(source=source).count() == 1
        finally:
            _forget([source])
            Bill.objects.filter(pk=bill.pk).delete()


# --- in a real browser ----------------------------------------------------------------------------------------------


@pytest.mark.browser
def test_a_citizen_opens_the_bill_pdf_and_its_barcode_reads_back(browser, portal_url, dues_city, django_db_blocker,
                                                                  signing_key, tmp_path):
    """The bill's page → its PDF link → "being printed" (the worker has not run yet) → the worker prints it → the
    page refreshes by itself into the PDF, whose page one's barcode decodes to the bill's 26 digits."""
    with django_db_blocker.unblock():
        bill = billing.issue(_owed_parcel(dues_city, index=30))
        source = f"dues.bill:{bill.pk}"
        doc = documents_api.by_source(source)
    context = browser.new_context(locale="en-US")
    try:
        pg = context.new_page()
        pg.goto(f"{portal_url}/dues/bills/{bill.public_id}/")
        pg.wait_for_selector("[data-testid=bill]")
        pg.click("[data-testid=bill-pdf]")
        pg.wait_for_selector("[data-testid=bill-printing]")
        with django_db_blocker.unblock():                                # the worker (pyHanko signs with
            printed = []                                                # asyncio.run: not in Playwright's loop)
            worker = threading.Thread(target=lambda: (printed.append(run_render_jobs_of([doc.pk])),
                                                      connection.close()))
            worker.start()
            worker.join()
            assert printed == [1]
        with pg.expect_response(lambda r: r.url.endswith("/pdf") and r.status == 200, timeout=20000) as answer:
            pass                                                        # the page's own refresh, 3 s later
        assert answer.value.headers["content-type"] == "application/pdf"
        pdf = pg.request.get(answer.value.url).body()                   # the same URL, as the browser has it
        symbols = zbar_decode(pdf_page_png(pdf, page=1, dpi=200, folder=tmp_path))
        barcodes = [data for kind, data in symbols if kind in ("CODE-128", "I2/5")]
        assert barcodes == [bill.barcode] and len(barcodes[0]) == 26
        assert billid.is_valid_pair(barcodes[0][:13].lstrip("0"), barcodes[0][13:].lstrip("0"))
    finally:
        context.close()
        with django_db_blocker.unblock():
            _forget([source])
            Bill.objects.filter(pk=bill.pk).delete()
