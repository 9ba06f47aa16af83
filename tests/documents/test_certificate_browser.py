"""A parcel certificate from the portal's parcel sheet to the verified paper, in Debian's headless Chromium against the
portal server (gunicorn on the test database): the sheet's certificate button issues it, its page waits while a real
procrastinate worker prints and signs it, then offers the PDF; the PDF's page is rendered to an image (pdftoppm) and its QR code decoded
(zbarimg) to the verification page's address, which the browser opens: valid, with the certificate's number.

No django_db mark: what the server writes is committed, and deleted afterwards."""

import io
import shutil

import pytest
from django.db import connection
from pypdf import PdfReader

from tests.documents.scan import pdf_page_png, zbar_decode
from tests.jobs.workers import running_worker
from tests.dues_support import dues_city  # noqa: F401  (a fixture: dues assessed this year)
from tests.zoning_fixtures import demo_rulebook  # noqa: F401  (a fixture: the rules in force)

pytestmark = pytest.mark.browser


def _cleanup(parcel_id: int) -> None:
    from documents.models import IssuedDocument

    docs = list(IssuedDocument.objects.filter(kind="parcel_certificate", parcel_id=parcel_id))
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs WHERE task_name = 'documents.render' "
                       "AND (args->>'document_id')::bigint = ANY(%s)", [[d.pk for d in docs]])
        cursor.execute("DELETE FROM accounts_ratecounter WHERE key LIKE 'documents-%%'")
    for doc in docs:
        if doc.file:
            doc.file.delete(save=False)
    IssuedDocument.objects.filter(pk__in=[d.pk for d in docs]).delete()


@pytest.fixture
def chosen(demo_city, demo_rulebook, dues_city, django_db_blocker):
    """A zoned parcel with a road-widening strip (not the one the database tests use), without certificates."""
    with django_db_blocker.unblock():
        with connection.cursor() as cursor:
            cursor.execute("""SELECT p.id FROM parcels_parcel p JOIN zoning_parceloverlay o ON o.parcel_id = p.id
                              WHERE o.zone_code <> '' AND o.widening_area > 5 ORDER BY p.id DESC LIMIT 1""")
            (parcel_id,), = cursor.fetchall()
        from parcels.models import Parcel

        parcel = Parcel.objects.get(pk=parcel_id)
        point = parcel.geom.point_on_surface.transform(4326, clone=True)
        _cleanup(parcel_id)
    yield parcel, point
    with django_db_blocker.unblock():
        _cleanup(parcel_id)


def test_a_certificate_from_the_sheet_to_the_verification_page(browser, portal_url, chosen, signing_key, settings,
                                                               django_db_blocker, tmp_path):
    from documents import api
    from documents.models import IssuedDocument
    from tests.test_map_browser import new_page

    parcel, point = chosen
    problems = []
    settings.DOCUMENTS_PUBLIC_URL = portal_url     # as the server and the worker have it
    pg = new_page(browser, portal_url, f"/#19/{point.y:.7f}/{point.x:.7f}/{parcel.pk}")
    pg.on("pageerror", lambda e: problems.append(str(e)))
    pg.context.add_cookies([{"name": "django_language", "value": "en", "url": portal_url}])
    pg.wait_for_function(f"() => document.body.dataset.sheet === '{parcel.pk}'", timeout=15000)
    pg.click("#sheet-certificate [data-testid=certificate-request]", timeout=15000)
    pg.wait_for_selector("[data-testid=issued-waiting]")          # the job has not printed it yet
    code = pg.get_attribute("[data-testid=issued]", "data-api").rstrip("/").rsplit("/", 1)[1]
    with django_db_blocker.unblock():
        doc = IssuedDocument.objects.get(verification_code=code)
        assert doc.kind == "parcel_certificate" and doc.parcel_id == parcel.pk and doc.rendered_at is None
    # a real worker of the documents queue prints, signs and stores it (the address in its QR code: the server's)
    with running_worker(django_db_blocker, plain=True, queues=["documents"], DOCUMENTS_PUBLIC_URL=portal_url):
        link = pg.wait_for_selector("[data-testid=issued-pdf]", state="visible", timeout=90000)
    with django_db_blocker.unblock():
        doc.refresh_from_db()
    assert doc.rendered_at is not None and doc.demo_signature
    assert pg.is_hidden("[data-testid=issued-waiting]") and doc.number in pg.inner_text("[data-testid=issued-number]")
    answer = pg.request.get(portal_url + link.get_attribute("href"))
    assert answer.status == 200 and answer.headers["content-type"] == "application/pdf"
    pdf = answer.body()

    # the QR code, as a phone reads it off the printed page (the footer is on the last page)
    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    assert 1 <= pages <= 2
    found = zbar_decode(pdf_page_png(pdf, page=pages, dpi=200, folder=tmp_path))
    url = api.verification_url(doc)
    assert found == [("QR-Code", url)] and url == f"{portal_url}/verify/{code}/"

    checker = browser.new_context(locale="en-US")                 # a bank clerk who scanned the code
    checker.add_cookies([{"name": "django_language", "value": "en", "url": portal_url}])
    verify = checker.new_page()
    verify.goto(found[0][1])
    assert verify.get_attribute("[data-testid=verify-status]", "data-status") == "valid"
    assert "Valid" in verify.inner_text("[data-testid=verify-status]")
    assert verify.inner_text("[data-testid=verify-number]") == doc.number
    checker.close()
    pg.context.close()
    assert not problems, problems


def test_the_scanner_reads_no_code_where_there_is_none(tmp_path):
    """The helpers read what is printed, not what is expected: a page without a code decodes to nothing."""
    from common.pdf import print_to_pdf

    assert shutil.which("pdftoppm") and shutil.which("zbarimg")
    pdf = print_to_pdf(b'<html><meta charset="utf-8"><body><p>No code here</p></body></html>')
    assert zbar_decode(pdf_page_png(pdf, folder=tmp_path)) == []
