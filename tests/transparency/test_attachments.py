"""Attachments of decisions and projects are checked as every upload is (common/uploads.py, shared with the permits'
documents): a PDF with JavaScript, a file that only claims to be a PDF, an oversized file are refused; a plain PDF is
kept and served, an image is kept re-encoded without its metadata; and the admin says why it refuses one."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from common import uploads
from tests.permits.test_files import image_bytes, pdf_bytes
from transparency import attachments
from transparency.models import Attachment, Project

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(db):
    return Project.objects.create(code="p1", title="A project")


def upload(data: bytes, name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/pdf")   # what the client claims: ignored


@pytest.mark.parametrize("active", ["open_action", "names", "escaped", "launch", "embedded"])
def test_a_pdf_with_active_content_is_refused(project, english, active):
    with pytest.raises(uploads.FileRefused, match="PDF with active content"):
        attachments.add({"project": project}, upload(pdf_bytes(active), "plan.pdf"))
    assert not Attachment.objects.exists()


def test_a_file_that_is_not_a_pdf_image_or_too_large_is_refused(project, english, settings):
    with pytest.raises(uploads.FileRefused, match="an attachment must be a PDF, JPEG or PNG"):
        attachments.add({"project": project}, upload(b"MZ\x90\x00" + b"\x00" * 200, "plan.pdf"))
    settings.TRANSPARENCY_ATTACHMENT_MAX_MB = 1
    with pytest.raises(uploads.FileTooLarge, match="at most 1 MB"):
        attachments.add({"project": project}, upload(pdf_bytes() + b"%" + b"0" * (2 * 1024 * 1024), "big.pdf"))
    assert not Attachment.objects.exists()


def test_a_plain_pdf_is_kept_and_served_and_an_image_loses_its_metadata(client, project):
    pdf = attachments.add({"project": project}, upload(pdf_bytes(), "../../etc/plan.pdf"), title="The plan")
    assert (pdf.name, pdf.content_type, pdf.scan) == ("plan.pdf", "application/pdf", "not_scanned")
    answer = client.get(reverse("transparency:attachment", args=[pdf.public_id]))
    assert answer.status_code == 200 and b"".join(answer.streaming_content) == pdf_bytes()
    assert answer["X-Content-Type-Options"] == "nosniff" and "attachment" in answer["Content-Disposition"]
    photo = attachments.add({"project": project}, upload(image_bytes(), "site.jpg"))
    stored = Image.open(io.BytesIO(photo.file.read()))
    assert stored.format == "JPEG" and not stored.getexif()   # no camera, no artist, no GPS
    page = client.get(reverse("transparency:project", args=[project.pk])).content.decode()
    assert "The plan" in page and str(photo.public_id) in page
    for a in Attachment.objects.all():
        a.file.delete(save=False)


def test_the_admin_says_why_it_refuses_an_attachment(client, project, english):
    from tests.conftest import make_user

    client.force_login(make_user("tp-att-admin", "admin", is_staff=True))
    client.cookies["django_language"] = "en"
    assert client.get(reverse("admin:transparency_project_change", args=[project.pk])).status_code == 200
    assert client.get(reverse("admin:transparency_decision_add")).status_code == 200
    assert client.get(reverse("admin:transparency_comment_changelist")).status_code == 200
    form = {"code": "p1", "title": "A project", "status": "planned", "progress": "0", "title_en": "",
            "description": "", "budget": "", "spent": "", "starts_on": "", "ends_on": "", "department": "",
            "geom": "", "attachments-TOTAL_FORMS": "1", "attachments-INITIAL_FORMS": "0",
            "attachments-MIN_NUM_FORMS": "0", "attachments-MAX_NUM_FORMS": "1000", "attachments-0-title": "x",
            "attachments-0-file": upload(pdf_bytes("open_action"), "evil.pdf"),
            "updates-TOTAL_FORMS": "0", "updates-INITIAL_FORMS": "0", "updates-MIN_NUM_FORMS": "0",
            "updates-MAX_NUM_FORMS": "1000"}
    answer = client.post(reverse("admin:transparency_project_change", args=[project.pk]), form)
    assert answer.status_code == 200 and "PDF with active content" in answer.content.decode()
    assert not Attachment.objects.exists()
    form["attachments-0-file"] = upload(pdf_bytes(), "good.pdf")
    answer = client.post(reverse("admin:transparency_project_change", args=[project.pk]), form)
    assert answer.status_code == 302, answer.content.decode()[-3000:]
    kept = Attachment.objects.get()
    assert kept.name == "good.pdf" and kept.sha256 and kept.uploaded_by.username == "tp-att-admin"
    kept.file.delete(save=False)
