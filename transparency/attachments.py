"""Attachments of decisions and projects: checked as every upload is (common/uploads.py: size, type by content,
no active content in a PDF, images re-encoded without metadata, the virus scan of PERMITS_CLAMD when one is set),
kept under a random name in Django's default storage, and served only by transparency/civic_views.attachment."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils.translation import gettext as _

from common import uploads
from transparency.models import Attachment

# What may be attached, by libmagic's type: (kind, stored extension, content type).
TYPES = {"application/pdf": ("pdf", ".pdf", "application/pdf"), "image/jpeg": ("jpeg", ".jpg", "image/jpeg"),
         "image/png": ("png", ".png", "image/png")}


def max_bytes() -> int:
    return settings.TRANSPARENCY_ATTACHMENT_MAX_MB * uploads.MB


def checked(upload) -> tuple[ContentFile, str, str, str, int, str, str]:
    """The upload as it will be kept: (content, name, extension, content type, size, sha256, scan status);
    FileRefused (400/413/503) naming the rule otherwise."""
    limit = max_bytes()
    too_large = uploads.FileTooLarge(_("Size limit: an attachment may be at most %(max)s MB.")
                                     % {"max": settings.TRANSPARENCY_ATTACHMENT_MAX_MB})
    declared = getattr(upload, "size", None)
    if declared is not None and declared > limit:
        raise too_large
    spool, size, sha256 = uploads.spooled(upload, limit, too_large)
    with spool:
        if size == 0:
            raise uploads.FileRefused(_("Empty file: the upload has no content."))
        mime, what = uploads.sniff(spool.read(uploads.SNIFF_BYTES))
        if mime not in TYPES:
            raise uploads.FileRefused(_("File type: this file is %(what)s; an attachment must be a PDF, JPEG or PNG "
                                        "(judged by the content, not the name).") % {"what": what})
        kind, extension, content_type = TYPES[mime]
        if kind == "pdf":
            uploads.check_pdf(spool)
            spool.seek(0)
            data = spool.read()
        else:
            data = uploads.reencoded_image(spool, kind)
            size, sha256 = len(data), hashlib.sha256(data).hexdigest()
        scan = uploads.scan(spool, settings.PERMITS_CLAMD, settings.PERMITS_CLAMD_TIMEOUT,
                            settings.PERMITS_CLAMD_FAIL_OPEN)
    name = uploads.clean_name(getattr(upload, "name", ""), extension, default="attachment")
    return ContentFile(data, name=name), name, extension, content_type, size, sha256, scan


def fill(attachment: Attachment, upload) -> Attachment:
    """Check `upload` and set it, with what was learnt of it, on `attachment` (not saved)."""
    content, name, extension, content_type, size, sha256, scan = checked(upload)
    attachment.name, attachment.extension, attachment.content_type = name, extension, content_type
    attachment.size, attachment.sha256, attachment.scan = size, sha256, scan
    attachment.file = content
    return attachment


def add(target_kwargs: dict, upload, *, title: str = "", by=None) -> Attachment:
    """A checked attachment of a decision or a project (`{"decision": d}` or `{"project": p}`), stored; a failure
    while writing the row removes the file."""
    attachment = fill(Attachment(**target_kwargs, title=title[:200],
                                 uploaded_by=by if getattr(by, "is_authenticated", False) else None), upload)
    try:
        with transaction.atomic():
            attachment.save()
    except Exception:
        if attachment.file.name:
            default_storage.delete(attachment.file.name)
        raise
    return attachment
