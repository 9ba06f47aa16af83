"""The issued document's PDF (permits/issuing.py, printed by the documents' job documents.render): made once by Chromium,
in Persian, kept in the parcel's archive with its SHA-256, its QR code the verification page's address; and the
public verification page and JSON for a valid, revoked, superseded and unknown code."""

import datetime as dt
import hashlib
import io
import unicodedata

import pytest
import segno
from django.test import Client
from django.utils import timezone
from PIL import Image
from pypdf import PdfReader

from permits import files, issuing, service
from permits.models import Document, Issued
from tests.documents.conftest import run_render_jobs
from tests.permits.conftest import a_proposal
from tests.permits.test_files import pdf_bytes, upload


def submitted_case(permit_types, applicant):
    user, parcel = applicant
    case = service.start(permit_types["building_permit"], parcel, user, work="new")
    service.save_proposal(case, a_proposal(parcel), by=user)
    for kind in ("deed", "national_card"):
        files.add_document(case=case, kind=kind, upload=upload(pdf_bytes(), f"{kind}.pdf"), by=user)
    return service.submit(case, by=user)


def issue_now(case, capture, outcome=None):
    """The case's Issued row as its issue step makes it, with the render job deferred on commit."""
    if outcome:
        case.outcome = outcome
        case.save(update_fields=["outcome"])
    with capture(execute=True):
        issued = issuing.issue(case, service.definition_of(case), timezone.now())
    return issued


def run_deferred_jobs(doc_ids=None) -> int:
    """Run the waiting print jobs of issued documents as a worker would (tests/documents/conftest.py): of `doc_ids`,
    or of every document not printed yet."""
    return run_render_jobs(doc_ids)


def qr_matrix_of(image: Image.Image, border=4) -> list[list[bool]]:
    """The modules of a QR code image (square modules, `border` light modules around): dark or not, sampled at each
    module's centre."""
    grey = image.convert("L")
    width, _height = grey.size
    # the size in modules is found from the first dark row's run: the finder pattern is 7 modules
    pixels = grey.load()
    start = next(i for i in range(width) if pixels[i, i] < 128)
    run = next(i for i in range(start, width) if pixels[i, start] >= 128) - start
    module = run / 7
    count = round(width / module) - 2 * border
    return [[pixels[int((border + c + 0.5) * module), int((border + r + 0.5) * module)] < 128 for c in range(count)]
            for r in range(count)]


@pytest.fixture
def issued_permit(permit_types, applicant, django_capture_on_commit_callbacks):
    case = submitted_case(permit_types, applicant)
    issued = issue_now(case, django_capture_on_commit_callbacks,
                       outcome={"planning_position": {"plan_position": "residential", "frontage_m": 12.5,
                                                      "setback_m": 2}})
    return issued


def test_the_job_renders_the_permit_pdf_once_in_persian_with_its_qr_code(issued_permit, settings):
    settings.DOCUMENTS_PUBLIC_URL = "https://gis.example.ir"
    issued = issued_permit
    assert issued.document_id is None
    assert run_deferred_jobs([issued.record_id]) == 1
    issued.refresh_from_db()
    doc = issued.document
    assert doc.issued and doc.kind == "permit" and doc.parcel_id == issued.parcel_id and doc.case_id == issued.case_id
    with doc.file.open("rb") as stored:
        pdf = stored.read()
    assert pdf.startswith(b"%PDF") and hashlib.sha256(pdf).hexdigest() == issued.sha256 == doc.sha256
    # the same signed file in the register of issued documents
    record = issued.record
    assert record.sha256 == issued.sha256 and record.file.name == doc.file.name and record.signed_by
    assert record.number == issued.number and record.verification_code == issued.verification_code

    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert abs(float(box.width) - 595) < 3 and abs(float(box.height) - 842) < 3      # A4
    # Chromium's text is extractable: Persian as shaped glyphs (presentation forms, NFKC gives the letters back)
    text = unicodedata.normalize("NFKC", reader.pages[0].extract_text())
    case_type, work = "پروانه ساختمانی", "احداث بنای جدید"
    for expected in (settings.MUNICIPALITY_NAME, case_type, work, issued.number,
                     f"https://gis.example.ir/verify/{issued.verification_code}/"):
        assert expected in text, (expected, text[:800])

    # the QR code in the PDF is the verification page's address, module for module
    url = f"https://gis.example.ir/verify/{issued.verification_code}/"
    assert issuing.verification_url(issued) == url
    images = reader.pages[0].images
    assert images, "no image in the PDF"
    expected = segno.make(url, error="m", micro=False).matrix
    found = qr_matrix_of(images[0].image)
    assert found == [[bool(v) for v in row] for row in expected]

    # made once: a second run (a retried job) changes nothing
    issuing.render(issued.pk)
    assert Document.objects.filter(parcel_id=issued.parcel_id, issued=True).count() == 1
    assert run_deferred_jobs([issued.record_id]) == 0


def test_the_page_printed_shows_what_was_approved_the_map_and_the_demo_notice(issued_permit):
    html = issuing.html_of(issued_permit).decode()
    plain = html.translate(str.maketrans("۰۱۲۳۴۵۶۷۸۹٫", "0123456789."))
    assert 'lang="fa" dir="rtl"' in html and "size: A4" in html
    assert 'data-kind="parcel"' in html and 'data-kind="envelope"' in html            # the map
    assert issued_permit.parcel.renewal_code in plain
    assert "12.5" in plain and "DN-" not in plain                                      # the recorded frontage
    floors = issued_permit.approved["proposal"]["floors"]
    assert f"<td>{floors}</td>" in plain
    assert issued_permit.approved["rulebook"] and str(issued_permit.approved["rulebook"]) in plain
    assert 'class="demo"' in html                                                      # a demo definition
    assert issued_permit.verification_code in plain and issuing.verification_url(issued_permit) in html


def test_the_verification_page_and_json_for_a_valid_permit(issued_permit, english):
    issuing.render(issued_permit.pk)
    issued_permit.refresh_from_db()
    client = Client()
    code = issued_permit.verification_code
    answer = client.get(f"/api/permits/verify/{code}").json()
    assert answer["status"] == "valid" and answer["number"] == issued_permit.number
    assert answer["sha256"] == issued_permit.sha256 and answer["parcel"] == {
        "renewal_code": issued_permit.parcel.renewal_code}
    page = client.get(f"/permits/verify/{code}/", HTTP_COOKIE="django_language=en", follow=True)
    assert page.redirect_chain == [(f"/verify/{code}/", 301)] and page.status_code == 200
    body = page.content.decode()
    assert 'data-status="valid"' in body and issued_permit.sha256 in body
    # no personal data: neither the applicant's mobile nor the owner's name or national ID
    from parcels.models import Ownership

    owner = Ownership.objects.select_related("owner").filter(parcel=issued_permit.parcel).first().owner
    for secret in (issued_permit.case.applicant_phone, owner.national_id, owner.name if hasattr(owner, "name") else ""):
        if secret:
            assert secret not in body and secret not in str(answer)


def test_a_revoked_expired_superseded_and_unknown_code(issued_permit, permit_types, applicant, english,
                                                       django_capture_on_commit_callbacks):
    from documents.models import IssuedDocument

    client = Client()
    code = issued_permit.verification_code
    IssuedDocument.objects.filter(pk=issued_permit.record_id).update(
        valid_until=timezone.localdate() - dt.timedelta(days=1))
    assert client.get(f"/api/permits/verify/{code}").json()["status"] == "expired"
    issuing.revoke(issued_permit, "Built beyond it")
    answer = client.get(f"/api/permits/verify/{code}").json()
    assert answer["status"] == "revoked" and answer["revoked_reason"] == "Built beyond it"
    page = client.get(f"/verify/{code}/", HTTP_COOKIE="django_language=en").content.decode()
    assert 'data-status="revoked"' in page and "Built beyond it" in page
    assert Issued.objects.get(pk=issued_permit.pk).revoked_reason == "Built beyond it"

    IssuedDocument.objects.filter(pk=issued_permit.record_id).update(
        revoked_at=None, revoked_reason="", valid_until=timezone.localdate() + dt.timedelta(days=30))
    later = Issued.objects.create(case=submitted_case(permit_types, applicant), parcel=issued_permit.parcel,
                                  kind="permit", number="P-9999-00001", verification_code="123456789012",
                                  issued_at=timezone.now() + dt.timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=False):
        issuing.register(later)
    answer = client.get(f"/api/permits/verify/{code}").json()
    assert answer["status"] == "superseded" and answer["superseded_by"] == later.number
    page = client.get(f"/verify/{code}/", HTTP_COOKIE="django_language=en").content.decode()
    assert 'data-status="superseded"' in page and later.number in page
    # a certificate of another kind for the same parcel replaces nothing
    assert IssuedDocument.objects.get(pk=later.record_id).superseded_by_id is None

    unknown = client.get("/verify/000000000000/", HTTP_COOKIE="django_language=en")
    assert unknown.status_code == 404 and 'data-status="unknown"' in unknown.content.decode()
    assert "No document has this verification code" in unknown.content.decode()
    missing = client.get("/api/permits/verify/not-a-code")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


def test_verification_lookups_are_rate_limited_per_address(db, settings):
    settings.PERMITS_VERIFY_RATE = ["3/600"]
    client = Client()
    answers = [client.get("/api/permits/verify/111111111111").status_code for _ in range(4)]
    assert answers == [404, 404, 404, 429]
    assert client.get("/api/permits/verify/111111111111")["Retry-After"]
