"""Printing an issued document once: its kind's page to PDF (common/pdf.py's Printer: the job worker's kept browser),
signed (documents/signing.py), stored (the default storage), its SHA-256 kept in the register. Run by the job
`documents.render`; a second run finds the document made and returns it. A document is immutable once printed: nothing
here prints it again."""

from __future__ import annotations

import hashlib

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone, translation

from documents import kinds, signing
from documents.models import IssuedDocument


def html_of(doc: IssuedDocument) -> bytes:
    """The document's page as printed: in Persian (the documents are Persian; the verification page speaks both)."""
    with translation.override("fa"):
        return kinds.get(doc.kind).html(doc)


def render(document_id: int) -> IssuedDocument | None:
    """Print, sign and store the document (once; the row is locked meanwhile). None for an id that is not there
    (the issuing transaction was rolled back)."""
    from common.pdf import printer   # the job worker's kept browser

    with transaction.atomic():
        doc = IssuedDocument.objects.select_for_update().filter(pk=document_id).first()
        if doc is None:
            return None
        if doc.rendered_at is not None:
            return doc
        kind = kinds.get(doc.kind)
        pdf = printer().print(html_of(doc))
        signed, key = signing.sign(pdf, reason=f"{kind.name} {doc.number}")
        name = f"{doc.number}.pdf"
        doc.file.save(name, ContentFile(signed), save=False)
        try:
            doc.sha256 = hashlib.sha256(signed).hexdigest()
            doc.size = len(signed)
            doc.signed_by = key.subject[:300]
            doc.demo_signature = key.demo
            doc.rendered_at = timezone.now()
            doc.render_error = ""
            doc.save(update_fields=["file", "sha256", "size", "signed_by", "demo_signature", "rendered_at",
                                    "render_error"])
            if kind.on_rendered is not None:
                kind.on_rendered(doc)
        except BaseException:
            default_storage.delete(doc.file.name)
            raise
    return doc
