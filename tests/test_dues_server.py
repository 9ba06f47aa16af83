"""Against the running server (gunicorn on the test database) and the real PostGIS: twenty identical payment
callbacks at once record one payment; the citizen's whole path in Chromium (sheet → bill → sandbox → paid).
No django_db mark: the data these tests make must be committed for the server's own connections to see it."""

import threading
import uuid
import urllib.error
import urllib.request

import pytest
from django.db.models import Sum

from documents.models import IssuedDocument
from dues import billing
from dues.models import Bill, LedgerEntry, Payment, PaymentAttempt, SandboxTransaction
from tests.dues_support import dues_city  # noqa: F401  (fixture)
from tests.dues_support import forget_module_documents  # noqa: F401  (fixture)
from tests.test_dues_payments import _owed_parcel, _reconciles


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _all_at_once(n, opener, request):
    """Send `request()` n times from n threads released together; the (status, Location) of each redirect."""
    start, answers = threading.Barrier(n), []

    def send():
        start.wait()
        try:
            opener.open(request(), timeout=30)
        except urllib.error.HTTPError as exc:  # _NoRedirect turns each redirect into an HTTPError
            answers.append((exc.code, exc.headers.get("Location", "")))

    threads = [threading.Thread(target=send) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


@pytest.fixture(scope="module", autouse=True)
def _documents_forgotten(forget_module_documents):
    """The bills' and receipts' documents these tests commit (printed by no worker here) are removed at the end."""
    yield


@pytest.fixture(scope="module")
def threaded_server(portal_url, django_db_blocker):
    """A second gunicorn on the test database with 20 threads in 2 processes, so twenty callbacks really are
    handled at once (the shared portal server has two single-threaded workers)."""
    from tests.conftest import serve_portal

    with serve_portal(django_db_blocker, gunicorn_args=("--workers", "2", "--threads", "10")) as base:
        yield base


def test_twenty_concurrent_duplicate_callbacks_record_one_payment(threaded_server, dues_city, django_db_blocker):
    reference = "SBX-CONCURRENT-" + uuid.uuid4().hex[:8]
    with django_db_blocker.unblock():
        parcel = _owed_parcel(dues_city)
        bill = billing.issue(parcel)
        attempt = PaymentAttempt.objects.create(bill=bill, token="concurrent-" + uuid.uuid4().hex, gateway="sandbox",
                                                amount=bill.amount)
        SandboxTransaction.objects.create(token=attempt.token, reference=reference, amount=bill.amount,
                                          succeeded=True)
    url = f"{threaded_server}/dues/callback/sandbox/?token={attempt.token}&ref={reference}"
    opener = urllib.request.build_opener(_NoRedirect)
    statuses = _all_at_once(20, opener, lambda: url)
    assert len(statuses) == 20 and all(code == 302 and "message=paid" in where for code, where in statuses)
    with django_db_blocker.unblock():
        payments = Payment.objects.filter(gateway="sandbox", gateway_ref=reference)
        assert payments.count() == 1 and payments[0].amount == bill.amount
        assert IssuedDocument.objects.filter(kind="receipt", source=f"dues.payment:{payments[0].pk}").count() == 1
        assert LedgerEntry.objects.filter(payment=payments[0], kind="payment").aggregate(s=Sum("amount"))["s"] == bill.amount
        bill.refresh_from_db()
        assert bill.status == Bill.Status.PAID
        assert sum(y.balance for y in billing.ledger(parcel.pk)) == 0
        _reconciles(parcel)


def test_ten_concurrent_posts_issue_one_bill(threaded_server, dues_city, django_db_blocker):
    """A double click or two tabs: the parcel's bill is issued once, and every POST is sent to it."""
    import re

    with django_db_blocker.unblock():
        parcel = _owed_parcel(dues_city, index=11)
        Bill.objects.filter(parcel=parcel, payments__isnull=True).delete()
        before = Bill.objects.filter(parcel=parcel).count()
    url = f"{threaded_server}/dues/parcels/{parcel.pk}/bill/"
    preview = urllib.request.urlopen(url, timeout=30)
    cookie = re.search(r"csrftoken=([^;]+)", preview.headers["Set-Cookie"]).group(1)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', preview.read().decode()).group(1)
    opener = urllib.request.build_opener(_NoRedirect)

    def post():
        return urllib.request.Request(url, data=f"csrfmiddlewaretoken={token}".encode(), method="POST",
                                      headers={"Cookie": f"csrftoken={cookie}", "Referer": url,
                                               "Content-Type": "application/x-www-form-urlencoded"})

    locations = _all_at_once(10, opener, post)
    assert len(locations) == 10 and {code for code, _ in locations} == {302}
    assert len({where for _, where in locations}) == 1
    with django_db_blocker.unblock():
        assert Bill.objects.filter(parcel=parcel).count() == before + 1


@pytest.mark.browser
def test_citizen_pays_from_the_parcel_sheet_through_the_sandbox(browser, portal_url, dues_city, django_db_blocker):
    from tests.test_map_browser import new_page

    with django_db_blocker.unblock():
        parcel = _owed_parcel(dues_city, index=9)
        point = parcel.geom.point_on_surface.transform(4326, clone=True)
    pg = new_page(browser, portal_url, f"/#19/{point.y:.7f}/{point.x:.7f}/{parcel.pk}")
    pg.wait_for_function(f"() => document.body.dataset.sheet === '{parcel.pk}'", timeout=15000)
    link = pg.wait_for_selector("#sheet-dues [data-testid=dues-bill-link]", timeout=15000)
    payable = pg.inner_text("#sheet-dues [data-testid=dues-payable]")
    assert payable and all(c in "۰۱۲۳۴۵۶۷۸۹," for c in payable)          # Persian digits
    link.click()
    pg.wait_for_selector("[data-testid=bill]")
    assert pg.evaluate("document.documentElement.dir") == "rtl"
    bill_id = pg.inner_text("[data-testid=bill-id]")
    assert "عوارض نوسازی" in pg.inner_text("h1")
    pg.click("[data-testid=pay]")
    pg.wait_for_selector("[data-testid=sandbox-pay]")
    pg.click("[data-testid=sandbox-pay]")
    pg.wait_for_selector("[data-testid=paid-message]")
    assert pg.inner_text("[data-testid=bill-id]") == bill_id
    pg.context.close()
    with django_db_blocker.unblock():
        bill = Bill.objects.get(bill_id=bill_id, status=Bill.Status.PAID, parcel=parcel)
        payment = Payment.objects.get(bill=bill)
        assert payment.gateway == "sandbox" and payment.amount == bill.amount and payment.kind == "full"
        assert sum(y.balance for y in billing.ledger(parcel.pk)) == 0
