"""Documents checked by their content (permits/files.py) with real files: PDFs with and without JavaScript made by
pypdf, images made by Pillow (EXIF with GPS, a decompression bomb), a renamed ELF executable, DXF drawings made by
ezdxf, oversized files; versions; the virus scan against a fake clamd on loopback; the upload API and serving a
document inline."""

import hashlib
import io
import os
import socket
import struct
import threading
import time
from contextlib import contextmanager

import ezdxf
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject

from permits import files, service
from permits.models import CaseEvent, Document
from tests.conftest import make_user
from tests.permits.conftest import PDF

MB = 1024 * 1024


# -- real files ------------------------------------------------------------------------------------------------------

def pdf_bytes(active: str | None = None) -> bytes:
    """A one-page PDF by pypdf, with active content of the kind named."""
    writer = PdfWriter()
    page = writer.add_blank_page(200, 200)
    js = DictionaryObject({NameObject("/S"): NameObject("/JavaScript"),
                           NameObject("/JS"): TextStringObject("app.alert(1)")})
    if active == "open_action":
        writer._root_object[NameObject("/OpenAction")] = writer._add_object(js)
    elif active == "names":       # document-level JavaScript in the /Names tree
        tree = DictionaryObject({NameObject("/Names"): ArrayObject([TextStringObject("a"), writer._add_object(js)])})
        writer._root_object[NameObject("/Names")] = DictionaryObject({NameObject("/JavaScript"): tree})
    elif active == "page_aa":     # an additional action on opening the page
        page[NameObject("/AA")] = DictionaryObject({NameObject("/O"): js})
    elif active == "launch":
        writer._root_object[NameObject("/OpenAction")] = DictionaryObject({
            NameObject("/S"): NameObject("/Launch"), NameObject("/F"): TextStringObject("cmd.exe")})
    elif active == "embedded":
        writer.add_attachment("payload.exe", b"MZ\x90\x00")
    elif active == "escaped":     # /S /JavaScript and /JS written with #xx escapes (a byte search finds neither)
        writer._root_object[NameObject("/OpenAction")] = writer._add_object(js)
    out = io.BytesIO()
    writer.write(out)
    data = out.getvalue()
    if active == "escaped":       # the same length: the cross-reference table stays right
        escaped = data.replace(b"<<\n/S /JavaScript\n/JS (", b"<</S/Java#53cript/J#53(")
        assert escaped != data and len(escaped) == len(data) and b"/JS" not in escaped
        data = escaped
    return data


def image_bytes(fmt="JPEG", size=(64, 48), gps=True) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"              # Make
    exif[0x013B] = "Ali Rezaei"               # Artist: a name
    if gps:
        exif[0x8825] = {1: "N", 2: (29.0, 5.0, 10.0), 3: "E", 4: (54.0, 33.0, 2.0)}
    out = io.BytesIO()
    image.save(out, fmt, exif=exif.tobytes())
    return out.getvalue()


def bomb_png() -> bytes:
    """A small PNG declaring more pixels than Pillow's limit (a decompression bomb): 20000 × 20000, one colour."""
    image = Image.new("1", (20000, 20000), 0)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def dxf_bytes() -> bytes:
    doc = ezdxf.new()
    doc.modelspace().add_lwpolyline([(0, 0), (10, 0), (10, 12), (0, 12)], close=True)
    out = io.StringIO()
    doc.write(out)
    return out.getvalue().encode("utf-8")


def upload(data: bytes, name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


@pytest.fixture
def draft(permit_types, applicant):
    user, parcel = applicant
    return service.start(permit_types["building_permit"], parcel, user, work="new"), user


def add(draft, kind, data, name):
    case, user = draft
    return files.add_document(case=case, kind=kind, upload=upload(data, name), by=user)


def refused(draft, kind, data, name, rule, status=400):
    with pytest.raises(files.FileRefused) as info:
        add(draft, kind, data, name)
    assert info.value.code in ("file_refused", "scan_unavailable") and info.value.status == status
    assert rule in info.value.message, info.value.message
    return info.value


# -- taken -----------------------------------------------------------------------------------------------------------

def test_a_plain_pdf_is_kept_with_its_checksum_uploader_and_kind(draft, english):
    data = pdf_bytes()
    doc = add(draft, "deed", data, "my deed.PDF")
    assert (doc.kind, doc.version, doc.content_type, doc.extension) == ("deed", 1, "application/pdf", ".pdf")
    assert doc.sha256 == hashlib.sha256(data).hexdigest() and doc.size == len(data)
    assert doc.uploaded_by == draft[1] and doc.parcel_id == draft[0].parcel_id and doc.step == "application"
    assert doc.name == "my deed.pdf" and doc.scan == "not_scanned"
    with doc.file.open("rb") as stored:
        assert stored.read() == data
    assert "my deed" not in doc.file.name        # the stored name says nothing of the person
    assert CaseEvent.objects.filter(case=draft[0], kind="document", documents=[doc.pk]).exists()


def test_a_new_upload_of_a_kind_is_the_next_version_and_nothing_is_overwritten(draft):
    first = add(draft, "deed", pdf_bytes(), "deed.pdf")
    second = add(draft, "deed", PDF, "deed-corrected.pdf")
    third = add(draft, "deed", image_bytes(), "deed.jpg")
    assert [first.version, second.version, third.version] == [1, 2, 3]
    assert second.supersedes == first and third.supersedes == second
    assert list(service.current_documents(draft[0])) == [third]
    for doc, data in ((first, pdf_bytes()), (second, PDF)):
        with doc.file.open("rb") as stored:
            assert hashlib.sha256(stored.read()).hexdigest() == doc.sha256
    assert len({first.file.name, second.file.name, third.file.name}) == 3


def test_images_are_re_encoded_without_their_exif(draft):
    for fmt, name in (("JPEG", "card.jpg"), ("PNG", "card.png")):
        data = image_bytes(fmt)
        assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)      # GPS was there
        doc = add(draft, "national_card", data, name)
        with doc.file.open("rb") as stored:
            kept = stored.read()
        image = Image.open(io.BytesIO(kept))
        assert image.format == fmt and image.size == (64, 48)
        assert not image.getexif() and b"Ali Rezaei" not in kept and b"CameraMaker" not in kept
        assert doc.sha256 == hashlib.sha256(kept).hexdigest() and doc.size == len(kept)


def test_a_dxf_drawing_is_taken_and_a_text_file_named_dxf_is_not(draft, english):
    doc = add(draft, "drawings", dxf_bytes(), "plan.dxf")
    assert doc.extension == ".dxf"
    error = refused(draft, "drawings", b"0\nSECTION\n2\nHEADER\nthis is not a drawing\n" * 20, "plan.dxf",
                    "Unreadable DXF")
    assert "/tmp" not in error.message
    refused(draft, "drawings", b"just some notes\n" * 50, "plan.dxf", "File type")


def test_a_dwg_needs_its_autocad_header(draft, english):
    doc = add(draft, "drawings", b"AC1032" + b"\x00" * 5 + b"\x0f\x01" + os.urandom(2000), "plan.dwg")
    assert doc.content_type == "image/vnd.dwg"
    refused(draft, "drawings", b"AC1009" + b"\x00" * 5 + b"\x0f\x01" + os.urandom(2000), "plan.dwg",
            "Unreadable DWG")                    # R11/R12: libmagic's DWG, a release not taken


def test_a_photo_is_stored_upright(draft):
    image = Image.new("RGB", (64, 48), (0, 0, 255))
    exif = Image.Exif()
    exif[0x0112] = 6                             # the camera was turned: shown rotated a quarter
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    doc = add(draft, "national_card", out.getvalue(), "card.jpg")
    with doc.file.open("rb") as stored:
        kept = Image.open(io.BytesIO(stored.read()))
    assert kept.size == (48, 64) and not kept.getexif()


# -- refused, naming the rule ----------------------------------------------------------------------------------------

def test_a_renamed_executable_is_refused_by_its_content(draft, english):
    with open("/bin/true", "rb") as handle:
        elf = handle.read()
    error = refused(draft, "deed", elf, "deed.pdf", "File type: this file is ELF")
    assert "PDF, JPEG, PNG" in error.message
    assert not Document.objects.filter(case=draft[0]).exists()


def test_staff_add_site_photos_to_a_case_at_their_desk_through_the_same_checks(permit_types, applicant, desk_staff,
                                                                                english):
    from tests.permits.conftest import a_proposal

    user, parcel = applicant
    case = service.start(permit_types["building_permit"], parcel, user, work="new")
    service.save_proposal(case, a_proposal(parcel), by=user)
    for kind in ("deed", "national_card"):
        files.add_document(case=case, kind=kind, upload=upload(pdf_bytes(), f"{kind}.pdf"), by=user)
    case = service.submit(case, by=user)
    inspector = desk_staff[case.desk.code]
    with pytest.raises(files.FileRefused, match="File type: this file is PDF"):
        files.add_document(case=case, kind="site_photo", upload=upload(pdf_bytes(), "x.jpg"), by=inspector)
    photo = files.add_document(case=case, kind="site_photo", upload=upload(image_bytes(), "site.jpg"), by=inspector)
    assert photo.uploaded_by == inspector and photo.step == case.step and photo.content_type == "image/jpeg"
    other_desk = next(u for code, u in desk_staff.items() if code != case.desk.code)
    with pytest.raises(files.Forbidden):
        files.add_document(case=case, kind="site_photo", upload=upload(image_bytes(), "site.jpg"), by=other_desk)


@pytest.mark.parametrize("active, rule", [("open_action", "JavaScript"), ("names", "JavaScript"),
                                          ("page_aa", "automatic actions"), ("launch", "launch actions"),
                                          ("embedded", "embedded files"), ("escaped", "JavaScript")])
def test_a_pdf_with_active_content_is_refused(draft, english, active, rule):
    data = pdf_bytes(active)
    PdfReader(io.BytesIO(data))                   # a real PDF
    refused(draft, "deed", data, "deed.pdf", f"PDF with active content: the file holds {rule}")


def test_an_encrypted_or_broken_pdf_is_refused(draft, english):
    writer = PdfWriter()
    writer.add_blank_page(100, 100)
    writer.encrypt("secret")
    out = io.BytesIO()
    writer.write(out)
    refused(draft, "deed", out.getvalue(), "deed.pdf", "Encrypted PDF")
    refused(draft, "deed", b"%PDF-1.7\n" + os.urandom(3000), "deed.pdf", "Unreadable PDF")


def test_a_decompression_bomb_is_refused(draft, english):
    data = bomb_png()
    assert len(data) < 200_000
    refused(draft, "deed", data, "deed.png", "Decompression bomb")


def test_an_oversized_file_is_refused_from_its_declared_size_and_while_reading(permit_types, applicant, english):
    user, parcel = applicant
    case = service.start(permit_types["no_violation"], parcel, user)   # supervisor_report: at most 20 MB
    big = pdf_bytes() + b"%" + b"0" * (21 * MB)
    error = refused((case, user), "supervisor_report", big, "report.pdf", "Size limit: the file is 21 MB", 413)
    assert "at most 20 MB" in error.message

    class Lying(io.BytesIO):                     # declares 1 KB, sends 21 MB
        size = 1024
        name = "report.pdf"

    with pytest.raises(files.FileTooLarge, match="at most 20 MB"):
        files.add_document(case=case, kind="supervisor_report", upload=Lying(big), by=user)
    assert not Document.objects.filter(case=case).exists()


def test_an_empty_file_and_an_unknown_kind_are_refused(draft, english):
    refused(draft, "deed", b"", "deed.pdf", "Empty file")
    with pytest.raises(files.BadParameter, match="Unknown kind of document"):
        add(draft, "passport", PDF, "p.pdf")


def test_only_the_applicant_of_an_open_case_or_staff_at_its_desk_may_add(draft, desk_staff, english):
    case, user = draft
    stranger = make_user("stranger", "citizen")
    with pytest.raises(files.Forbidden):
        files.add_document(case=case, kind="deed", upload=upload(PDF, "d.pdf"), by=stranger)
    with pytest.raises(files.Forbidden):                # staff kinds are not the applicant's
        files.add_document(case=case, kind="site_photo", upload=upload(image_bytes(), "p.jpg"), by=user)
    case.status = case.Status.REFUSED
    with pytest.raises(files.Forbidden):
        files.add_document(case=case, kind="deed", upload=upload(PDF, "d.pdf"), by=user)


# -- the virus scan: a fake clamd on loopback ------------------------------------------------------------------------

@contextmanager
def fake_clamd(answer: str):
    """A clamd speaking INSTREAM on 127.0.0.1: answers OK, FOUND, closes at once ("fail") or never answers
    ("hang"); records the bytes it was sent."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    received = []
    stop = threading.Event()

    def serve():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _addr = server.accept()
            except OSError:
                continue
            with conn:
                if answer == "fail":
                    continue
                conn.settimeout(5)
                command = b""
                while not command.endswith(b"\0"):
                    command += conn.recv(1)
                assert command == b"zINSTREAM\0"
                data = b""
                while True:
                    (length,) = struct.unpack("!L", conn.recv(4, socket.MSG_WAITALL))
                    if length == 0:
                        break
                    data += conn.recv(length, socket.MSG_WAITALL)
                received.append(data)
                if answer == "hang":
                    stop.wait(3)
                    continue
                conn.sendall(b"stream: OK\0" if answer == "ok" else b"stream: Win.Test.EICAR_HDB-1 FOUND\0")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"tcp:127.0.0.1:{server.getsockname()[1]}", received
    finally:
        stop.set()
        thread.join(5)
        server.close()


def test_a_clean_scan_marks_the_document_clean_and_sends_the_whole_file(draft, settings):
    data = pdf_bytes()
    with fake_clamd("ok") as (address, received):
        settings.PERMITS_CLAMD = address
        doc = add(draft, "deed", data, "deed.pdf")
    assert doc.scan == "clean" and received == [data]


def test_malware_found_by_clamd_is_refused_naming_it(draft, settings, english):
    with fake_clamd("found") as (address, _received):
        settings.PERMITS_CLAMD = address
        refused(draft, "deed", pdf_bytes(), "deed.pdf", "Virus scan: the file carries malware (Win.Test.EICAR_HDB-1)")
    assert not Document.objects.filter(case=draft[0]).exists()


@pytest.mark.parametrize("answer", ["fail", "hang", "unreachable"])
def test_a_scanner_that_cannot_answer_refuses_the_file_unless_fail_open(draft, settings, english, answer):
    settings.PERMITS_CLAMD_TIMEOUT = 0.5
    with fake_clamd(answer if answer != "unreachable" else "ok") as (address, _received):
        if answer == "unreachable":
            probe = socket.socket()
            probe.bind(("127.0.0.1", 0))
            address = f"tcp:127.0.0.1:{probe.getsockname()[1]}"   # bound, not listening: refused
            probe.close()
        settings.PERMITS_CLAMD = address
        started = time.monotonic()
        error = refused(draft, "deed", pdf_bytes(), "deed.pdf", "cannot be scanned now", 503)
        assert error.code == "scan_unavailable" and time.monotonic() - started < 3
        settings.PERMITS_CLAMD_FAIL_OPEN = True
        assert add(draft, "deed", pdf_bytes(), "deed.pdf").scan == "scan_failed"


# -- the API and serving ---------------------------------------------------------------------------------------------

def test_the_upload_api_answers_201_and_the_document_is_served_inline(draft, desk_staff):
    from parcels.models import PersonalDataAccess

    case, user = draft
    client = Client()
    client.force_login(user)
    url = f"/api/permits/cases/{case.public_id}/documents"
    response = client.post(url, {"kind": "deed", "file": upload(image_bytes(), "deed.jpg")})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "deed" and body["version"] == 1 and body["content_type"] == "image/jpeg"
    assert body["url"] == f"/permits/documents/{body['id']}/"
    served = client.get(body["url"])
    assert served.status_code == 200 and served["Content-Type"] == "image/jpeg"
    assert served["Content-Disposition"].startswith("inline") and served["X-Content-Type-Options"] == "nosniff"
    assert hashlib.sha256(b"".join(served.streaming_content)).hexdigest() == body["sha256"]

    pdf = client.post(url, {"kind": "national_card", "file": upload(pdf_bytes(), "card.pdf")}).json()
    served = client.get(pdf["url"])
    # framed by the site's own case page only; unsandboxed (Chromium's PDF viewer does not draw in a sandbox)
    assert served["Content-Type"] == "application/pdf" and served["X-Frame-Options"] == "SAMEORIGIN"
    assert served["Content-Security-Policy"] == "frame-ancestors 'self'"
    image = client.get(body["url"])
    assert "sandbox" in image["Content-Security-Policy"] and "frame-ancestors 'self'" in image["Content-Security-Policy"]

    refused_answer = client.post(url, {"kind": "deed", "file": upload(pdf_bytes("open_action"), "x.pdf")})
    assert refused_answer.status_code == 400 and refused_answer.json()["error"] == "file_refused"

    stranger = Client()
    stranger.force_login(make_user("nosy", "citizen"))
    assert stranger.get(body["url"]).status_code == 404
    assert stranger.post(url, {"kind": "deed", "file": upload(PDF, "d.pdf")}).status_code == 404
    assert Client().post(url, {"kind": "deed", "file": upload(PDF, "d.pdf")}).status_code == 401

    staff = Client()
    staff.force_login(desk_staff["intake"] if "intake" in desk_staff else next(iter(desk_staff.values())))
    before = PersonalDataAccess.objects.count()
    assert staff.get(body["url"]).status_code == 200
    access = PersonalDataAccess.objects.latest("id")
    assert PersonalDataAccess.objects.count() == before + 1 and access.parcel_id == case.parcel_id
    assert access.action == "permit_document"


def test_the_api_refuses_an_oversized_body_before_reading_it(draft):
    case, user = draft
    client = Client()
    client.force_login(user)
    response = client.post(f"/api/permits/cases/{case.public_id}/documents?kind=deed",
                           {"kind": "deed", "file": upload(b"%PDF-1.4\n" + b"0" * (11 * MB), "deed.pdf")})
    assert response.status_code == 413 and response.json()["error"] == "file_refused"
