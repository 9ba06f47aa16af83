"""The register of issued documents (documents/): issue → printed once in the job, signed (PAdES, validated with
pyHanko's validator; a changed byte breaks it), stored and served; the public verification page for a valid,
superseded, expired, revoked, unknown and mistyped code; a file checked against the register."""

import datetime as dt
import hashlib
import io

import pytest
from asn1crypto import pem, x509
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.utils import timezone
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko_certvalidator import ValidationContext

from common import codes
from documents import api, rendering
from documents.models import IssuedDocument
from parcels.models import Parcel
from tests.documents.conftest import validate_pdf_signature, run_render_jobs

pytestmark = pytest.mark.django_db


@pytest.fixture
def parcel(demo_city):
    return Parcel.objects.order_by("id").first()


def issue_and_render(capture, parcel, **kw):
    with capture(execute=True):
        doc = api.issue("test_note", parcel=parcel, content={"text": kw.pop("text", "")}, **kw)
    assert run_render_jobs() >= 1
    doc.refresh_from_db()
    return doc


def validation_context(key):
    return ValidationContext(trust_roots=[x509.Certificate.load(pem.unarmor(key.cert_path.read_bytes())[2])])


def test_issue_numbers_codes_and_prints_once(note_kind, parcel, django_capture_on_commit_callbacks):
    first = issue_and_render(django_capture_on_commit_callbacks, parcel)
    second = issue_and_render(django_capture_on_commit_callbacks, parcel)
    assert first.number.startswith("TN-") and first.number.endswith("-00001")
    assert second.number.endswith("-00002")
    assert codes.is_valid(first.verification_code, api.VERIFICATION_LENGTH)
    assert first.renewal_code == parcel.renewal_code
    data = first.file.read()
    assert data.startswith(b"%PDF") and hashlib.sha256(data).hexdigest() == first.sha256 and first.size == len(data)
    # a second run of the job finds it made and prints nothing
    before = (first.sha256, first.rendered_at)
    rendering.render(first.pk)
    first.refresh_from_db()
    assert (first.sha256, first.rendered_at) == before
    # the later one of a superseding kind replaces the earlier
    assert first.superseded_by_id == second.pk and api.status_of(first) == "superseded"
    assert api.status_of(second) == "valid"


def test_the_signature_validates_and_a_changed_byte_breaks_it(note_kind, signing_key, parcel,
                                                              django_capture_on_commit_callbacks):
    doc = issue_and_render(django_capture_on_commit_callbacks, parcel, text="نقشه و ضوابط")
    signed = doc.file.read()
    context = validation_context(signing_key)
    status = validate_pdf_signature(PdfFileReader(io.BytesIO(signed)).embedded_signatures[0], context)
    assert status.intact and status.valid and status.trusted, status.summary()
    assert doc.demo_signature and "DEMO" in doc.signed_by
    # one byte of the signed content changed (inside the page's content stream)
    tampered = bytearray(signed)
    at = tampered.find(b"stream") + 20
    tampered[at] = (tampered[at] + 1) % 256
    status = validate_pdf_signature(
        PdfFileReader(io.BytesIO(bytes(tampered)), strict=False).embedded_signatures[0], context)
    assert not status.intact
    # and checked against no trusted root, the same signature is intact but not trusted
    stranger = ValidationContext(trust_roots=[])
    status = validate_pdf_signature(PdfFileReader(io.BytesIO(signed)).embedded_signatures[0], stranger)
    assert status.intact and not status.trusted


def test_verification_page_and_json(note_kind, parcel, english, django_capture_on_commit_callbacks):
    doc = issue_and_render(django_capture_on_commit_callbacks, parcel)
    client = Client(HTTP_COOKIE='django_language=en')
    page = client.get(f"/verify/{doc.verification_code}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-status="valid"' in html and doc.number in html and doc.sha256 in html
    assert "self-signed key" in html                  # the demo says its signature is a demo one
    data = client.get(f"/api/documents/verify/{doc.verification_code}").json()
    assert data["status"] == "valid" and data["sha256"] == doc.sha256 and data["parcel"]["renewal_code"] \
        == parcel.renewal_code
    pdf = client.get(data["pdf"])
    assert pdf.status_code == 200 and b"".join(pdf.streaming_content) == doc.file.open("rb").read()
    # Persian digits typed on a phone are the same code
    persian = doc.verification_code.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    assert client.get(f"/verify/?code={persian}").url == f"/verify/{doc.verification_code}/"


def test_superseded_expired_revoked(note_kind, parcel, english, django_capture_on_commit_callbacks):
    old = issue_and_render(django_capture_on_commit_callbacks, parcel,
                           valid_until=timezone.localdate() - dt.timedelta(days=1))
    assert api.status_of(old) == "expired"
    new = issue_and_render(django_capture_on_commit_callbacks, parcel)
    client = Client(HTTP_COOKIE='django_language=en')
    page = client.get(f"/verify/{old.verification_code}/").content.decode()
    assert 'data-status="superseded"' in page and new.number in page
    api.revoke(new, "Issued on a wrong plan")
    page = client.get(f"/verify/{new.verification_code}/").content.decode()
    assert 'data-status="revoked"' in page and "Issued on a wrong plan" in page
    with pytest.raises(ValueError):
        api.revoke(new, "  ")


def test_unknown_and_mistyped_codes(note_kind, parcel, english, django_capture_on_commit_callbacks):
    doc = issue_and_render(django_capture_on_commit_callbacks, parcel)
    client = Client(HTTP_COOKIE='django_language=en')
    wrong_digit = doc.verification_code[:-1] + str((int(doc.verification_code[-1]) + 1) % 10)
    page = client.get(f"/verify/{wrong_digit}/")
    assert page.status_code == 404 and "wrong digit" in page.content.decode()
    unknown = codes.new_code(length=api.VERIFICATION_LENGTH)
    while IssuedDocument.objects.filter(verification_code=unknown).exists():  # pragma: no cover
        unknown = codes.new_code(length=api.VERIFICATION_LENGTH)
    assert client.get(f"/verify/{unknown}/").status_code == 404
    assert client.get(f"/api/documents/verify/{unknown}").json()["error"] == "not_found"
    assert client.get("/api/documents/verify/12ab").status_code == 404
    assert client.get(f"/documents/{unknown}.pdf").status_code == 404


def test_a_file_is_checked_against_the_register(note_kind, parcel, english, django_capture_on_commit_callbacks):
    doc = issue_and_render(django_capture_on_commit_callbacks, parcel)
    original = doc.file.open("rb").read()
    client = Client(HTTP_COOKIE='django_language=en')
    same = client.post(f"/verify/{doc.verification_code}/", {"file": SimpleUploadedFile("d.pdf", original)})
    assert 'data-result="match"' in same.content.decode()
    changed = original.replace(doc.number.encode(), doc.number[:-1].encode() + b"9", 1)
    changed = changed if changed != original else original + b"\n%tampered"
    other = client.post(f"/verify/{doc.verification_code}/", {"file": SimpleUploadedFile("d.pdf", changed)})
    assert 'data-result="differs"' in other.content.decode()
    assert hashlib.sha256(changed).hexdigest() in other.content.decode()


def test_a_pdf_is_202_while_printing_and_lookups_are_rate_limited(note_kind, parcel, settings,
                                                                   django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        doc = api.issue("test_note", parcel=parcel)
    client = Client(HTTP_COOKIE='django_language=en')
    response = client.get(f"/documents/{doc.verification_code}.pdf")
    assert response.status_code == 202 and response["Retry-After"]
    settings.DOCUMENTS_VERIFY_RATE = ["3/600"]
    with connection.cursor() as cursor:   # lookups a browser test of this session made from this address count too
        cursor.execute("DELETE FROM accounts_ratecounter WHERE key LIKE 'documents-verify:%%'")
    statuses = [client.get(f"/api/documents/verify/{doc.verification_code}").status_code for _ in range(5)]
    assert statuses[:2] == [200, 200] and statuses[-1] == 429


def test_a_deleted_parcel_keeps_its_documents_verifiable(note_kind, parcel, english,
                                                         django_capture_on_commit_callbacks):
    doc = issue_and_render(django_capture_on_commit_callbacks, parcel)
    IssuedDocument.objects.filter(pk=doc.pk).update(parcel=None)    # as SET_NULL leaves it when the parcel goes
    page = Client(HTTP_COOKIE='django_language=en').get(f"/verify/{doc.verification_code}/").content.decode()
    assert 'data-status="valid"' in page and parcel.renewal_code in page.translate(
        str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789")) and "removed from the cadastre" in page
