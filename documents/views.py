"""The public side of issued documents: the verification page a document's QR code opens (and its JSON), the check
of a file someone holds against the register, and the stored PDF."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from accounts import ratelimit
from accounts.audit import request_address
from accounts.service import TooManyRequests
from accounts.signin import address_key, parse_limits
from common import codes, params
from common.db import prepared_fetchone
from common.edge import json_response
from common.errors import BadParameter, NotFound
from documents import api, kinds
from documents.models import IssuedDocument


def _check_rate(request) -> None:
    """Verification codes are looked up (and PDFs fetched by code) at most DOCUMENTS_VERIFY_RATE per address."""
    decision = ratelimit.hit({"documents-verify": (address_key(request_address(request)),
                                                   parse_limits(settings.DOCUMENTS_VERIFY_RATE))})
    if not decision.allowed:
        raise TooManyRequests(_("Too many verification lookups from this address; try again in %(minutes)s minutes.")
                              % {"minutes": max(1, round(decision.retry_after / 60))}, decision.retry_after)


def checked_code(code: str) -> str:
    """The code's twelve digits; NotFound when it is not twelve digits, or a digit is wrong (its check digit)."""
    code = params.ascii_digits(str(code or "")).strip().replace(" ", "").replace("-", "")
    if not code.isdigit() or len(code) != api.VERIFICATION_LENGTH:
        raise NotFound(_("A verification code has %(n)s digits.") % {"n": api.VERIFICATION_LENGTH})
    if not codes.is_valid(code, api.VERIFICATION_LENGTH):
        raise NotFound(_("This verification code has a wrong digit: check the digits."))
    return code


def find(code: str) -> IssuedDocument:
    """The document with this verification code; NotFound (saying a digit is wrong when the check digit says so)."""
    doc = IssuedDocument.objects.select_related("superseded_by").filter(verification_code=checked_code(code)).first()
    if doc is None:
        raise NotFound(_("No document has this verification code: check the digits."))
    return doc


def record_of(doc: IssuedDocument) -> dict:
    """What the public may know of an issued document (no personal data: the issuing app chose the subject)."""
    kind = kinds.KINDS.get(doc.kind)
    status = api.status_of(doc)
    extra = kind.extra_status(doc) if kind is not None and kind.extra_status is not None else None
    return {
        "verification_code": doc.verification_code, "number": doc.number, "kind": doc.kind,
        "kind_name": str(kind.name) if kind is not None else doc.kind, "status": status,
        "issued_at": doc.issued_at.isoformat(),
        "valid_until": doc.valid_until.isoformat() if doc.valid_until else None,
        "revoked_at": doc.revoked_at.isoformat() if doc.revoked_at else None,
        "revoked_reason": doc.revoked_reason if doc.revoked_at else "",
        "superseded_by": doc.superseded_by.number if doc.superseded_by_id else None,
        "superseded_by_code": doc.superseded_by.verification_code if doc.superseded_by_id else None,
        "parcel": {"renewal_code": doc.renewal_code, "exists": doc.parcel_id is not None},
        "subject": doc.subject,
        "ready": doc.rendered_at is not None,
        "sha256": doc.sha256 or None,
        "signed_by": doc.signed_by or None, "demo_signature": doc.demo_signature,
        "pdf": reverse("documents:pdf", args=[doc.verification_code])
        if doc.rendered_at and kind is not None and kind.public_pdf else None,
        "extra": extra,
    }


@require_safe
def verify_api(request, code: str):
    """GET /api/documents/verify/<code>: the verification as JSON."""
    _check_rate(request)
    return json_response(record_of(find(code)))


@require_http_methods(["GET", "HEAD", "POST"])
def verify_page(request, code: str):
    """The page a document's QR code opens. POST: a file is checked against the register (same SHA-256 or not)."""
    _check_rate(request)
    try:
        doc = find(code)
    except NotFound as exc:
        return render(request, "documents/verify.html", {"record": None, "message": exc.message,
                                                         "code": str(code)[:40]}, status=404)
    context = {"record": record_of(doc), "code": doc.verification_code}
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            context["check_error"] = _("Choose the PDF file to check.")
        elif upload.size > settings.DOCUMENTS_CHECK_MAX_BYTES:
            context["check_error"] = _("The file is larger than any document the municipality issues.")
        else:
            digest = hashlib.sha256()
            for chunk in upload.chunks():
                digest.update(chunk)
            context["checked_sha256"] = digest.hexdigest()
            context["check_matches"] = bool(doc.sha256) and digest.hexdigest() == doc.sha256
    return render(request, "documents/verify.html", context, status=400 if context.get("check_error") else 200)


@require_safe
def verify_form(request):
    """/verify/?code=...: the page where a code read from a paper is typed."""
    code = params.text(request.GET, "code", max_length=40)
    if code:
        from django.shortcuts import redirect

        digits = params.ascii_digits(code).replace(" ", "").replace("-", "")
        if digits.isdigit():
            return redirect("documents:verify", digits)
        raise BadParameter(_("A verification code is made of digits."))
    return render(request, "documents/verify.html", {"record": None, "form_only": True})


# The stored PDF is the most asked-for public answer (every QR scanned at a bank or a notary's office opens it): the
# few columns it needs in one prepared statement, rather than the ORM's whole row joined to its successor's: 0.15 ms
# against 1.4-4 ms on the shared machine (bench/documents.py).
_PDF_ROW = ("SELECT kind, number, file, sha256, rendered_at IS NOT NULL FROM documents_issueddocument"
            " WHERE verification_code = %s")


@require_safe
def pdf(request, code: str):
    """The stored PDF of a document whose kind may be downloaded by anyone holding its code (202 while it prints)."""
    _check_rate(request)
    row = prepared_fetchone(_PDF_ROW, [checked_code(code)])
    if row is None:
        raise NotFound(_("No document has this verification code: check the digits."))
    kind_code, number, file_name, sha256, rendered = row
    kind = kinds.KINDS.get(kind_code)
    if kind is None or not kind.public_pdf:
        raise NotFound(_("This document is given to its holder by the municipality, not downloaded here."))
    if not rendered or not file_name:
        response = HttpResponse(_("The document is being printed; try again in a few seconds."), status=202,
                                content_type="text/plain; charset=utf-8")
        response["Retry-After"] = "3"
        return response
    return api.stored_pdf_response(IssuedDocument.file.field.storage.open(file_name, "rb"), f"{number}.pdf", sha256)
