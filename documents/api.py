"""The documents app's public face: what other apps call to issue, revoke and point at a document.

    doc = documents.api.issue("bill", parcel=p, subject={...}, content={...}, source=f"dues.bill:{bill.pk}")

`issue` runs in the caller's transaction; the PDF is printed after commit by the job `documents.render` (once).
"""

from __future__ import annotations

import datetime as dt

import jdatetime
import segno
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from common import codes
from documents import kinds
from documents.models import IssuedDocument

VERIFICATION_LENGTH = 12


def _number(prefix: str, year: int) -> str:
    head = f"{prefix}-{year}-"
    with connection.cursor() as cursor:   # one number at a time per prefix and year, until the transaction ends
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", ["documents:" + head])
    last = IssuedDocument.objects.filter(number__startswith=head).aggregate(m=Max("number"))["m"]
    seq = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{head}{seq:05d}"


def new_verification_code() -> str:
    """Twelve digits, the last a Luhn check (a mistyped digit is caught before a look-up), unused so far."""
    for _attempt in range(20):
        code = codes.new_code(length=VERIFICATION_LENGTH)
        if not IssuedDocument.objects.filter(verification_code=code).exists():
            return code
    raise RuntimeError("no free verification code")  # pragma: no cover


def issue(kind_code: str, *, parcel=None, subject: dict | None = None, content: dict | None = None,
          source: str = "", valid_until: dt.date | None = None, now: dt.datetime | None = None,
          number: str | None = None, verification_code: str | None = None) -> IssuedDocument:
    """Register a document and print its PDF after commit. A kind that supersedes marks the parcel's earlier ones
    of the same kind as replaced by this one. `number`/`verification_code`: an app that numbered it already."""
    kind = kinds.get(kind_code)
    now = now or timezone.now()
    year = jdatetime.date.fromgregorian(date=timezone.localdate(now)).year
    doc = IssuedDocument.objects.create(
        kind=kind.code, number=number or _number(kind.prefix, year),
        verification_code=verification_code or new_verification_code(), parcel=parcel,
        renewal_code=getattr(parcel, "renewal_code", "") or "", subject=subject or {}, content=content or {},
        source=source, issued_at=now, valid_until=valid_until)
    if kind.supersedes and parcel is not None:
        (IssuedDocument.objects.filter(kind=kind.code, parcel=parcel, superseded_by__isnull=True,
                                       revoked_at__isnull=True, issued_at__lte=now).exclude(pk=doc.pk)
         .update(superseded_by=doc))
    transaction.on_commit(lambda: render_later(doc.pk))
    return doc


def render_later(document_id: int) -> None:
    from documents.tasks import render_document

    render_document.defer(document_id=document_id)


def revoke(doc: IssuedDocument, reason: str, now: dt.datetime | None = None) -> IssuedDocument:
    if not reason.strip():
        raise ValueError("a revocation needs a reason")
    doc.revoked_at = now or timezone.now()
    doc.revoked_reason = reason.strip()
    doc.save(update_fields=["revoked_at", "revoked_reason"])
    return doc


def by_source(source: str) -> IssuedDocument | None:
    return IssuedDocument.objects.filter(source=source).order_by("-issued_at").first()


def verification_url(doc_or_code) -> str:
    """The public verification page's address printed on the document and in its QR code."""
    code = getattr(doc_or_code, "verification_code", doc_or_code)
    return settings.DOCUMENTS_PUBLIC_URL.rstrip("/") + reverse("documents:verify", args=[code])


def pdf_url(doc: IssuedDocument) -> str:
    """The site path of the stored PDF (served once printed; a page that waits for it before)."""
    return reverse("documents:pdf", args=[doc.verification_code])


def stored_pdf_response(handle, filename: str, sha256: str):
    """The answer that streams a printed document's stored PDF (`handle`: the opened file): inline, under `filename`,
    cacheable for a year by the holder's browser (a printed document never changes), its SHA-256 as the ETag."""
    from django.http import FileResponse

    response = FileResponse(handle, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "private, max-age=31536000, immutable"
    response["ETag"] = f'"{sha256}"'
    return response


def qr_png_data_uri(url: str, scale: int = 4) -> str:
    """The QR code of `url` (segno, error correction M) as a PNG data URI."""
    return segno.make(url, error="m", micro=False).png_data_uri(scale=scale, border=4)


def status_of(doc: IssuedDocument, today: dt.date | None = None) -> str:
    """valid, expired, revoked or superseded (in that order of precedence)."""
    today = today or timezone.localdate()
    if doc.revoked_at:
        return "revoked"
    if doc.superseded_by_id:
        return "superseded"
    if doc.valid_until and doc.valid_until < today:
        return "expired"
    return "valid"
