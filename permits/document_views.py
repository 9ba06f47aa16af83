"""Documents at the HTTP edge: the upload API, a document served to who may see it, the parcels' archive for staff,
and the public verification of an issued permit or certificate.

- A document is never at a public media URL: `document` serves it after the check (the case's applicant, or staff
  with permits.view_document, whose every look is recorded with parcels.privacy.record_access), inline with the type
  libmagic found, `X-Content-Type-Options: nosniff`, framed only by the site's own pages (the staff case page's viewer),
  images in a `sandbox` CSP; PDFs with active content are never stored (files.py), so they are shown unsandboxed
  (Chromium's PDF viewer does not draw in a sandboxed frame). Someone who may not see it gets the same 404 as for an unknown id.
- The archive (/permits/archive/): every document of a parcel across its cases and issued documents, searched by
  renewal code, tracking code, kind and dates (Jalali typed); what a search shows is recorded like personal data.
- The verification page (/permits/verify/<code>/ and its JSON): what was issued, when, for which parcel (the renewal
  code, never owners or applicants), valid / expired / revoked / superseded, and the PDF's SHA-256. Lookups are
  counted per client address (PERMITS_VERIFY_RATE): a code has 10^11 values and cannot be guessed by trying."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth.decorators import permission_required
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from accounts import ratelimit
from accounts.audit import request_address
from accounts.decorators import SignInNeeded, staff_otp_required
from accounts.service import TooManyRequests
from accounts.signin import address_key, parse_limits
from accounts.staff import otp_satisfied
from common import params
from common.edge import json_response
from common.errors import BadParameter, Forbidden, NotFound
from parcels.privacy import record_access
from permits import files, issuing, service
from permits.models import Case, Document, Issued

ARCHIVE_PAGE_SIZE = 50
# A multipart body is a little larger than its file: its boundaries and the other fields.
MULTIPART_SLACK = 64 * 1024


def _staff_verified(user) -> bool:
    return user.is_authenticated and user.is_staff and otp_satisfied(user)


def may_see(user, document: Document) -> bool:
    """The applicant of the document's case, or staff with permits.view_document (second factor done)."""
    if not user.is_authenticated:
        return False
    if document.case_id is not None and document.case.applicant_id == user.pk:
        return True
    return user.has_perm("permits.view_document") and (not user.is_staff or otp_satisfied(user))


def document_json(document: Document) -> dict:
    return {"id": document.pk, "kind": document.kind, "name": document.name, "version": document.version,
            "size": document.size, "sha256": document.sha256, "content_type": document.content_type,
            "url": reverse("permits:document", args=[document.pk])}


# -- the upload API ------------------------------------------------------------------------------------------------

@require_POST
def upload_api(request, case_id):
    """POST /api/permits/cases/<uuid>/documents (multipart: kind, file): the new document (a new version of its kind
    when the case has one), 201."""
    user = request.user
    if not user.is_authenticated:
        raise SignInNeeded(_("Sign in first."))
    case = Case.objects.select_related("workflow", "desk").filter(public_id=case_id).first()
    if case is None or not (case.applicant_id == user.pk or user.has_perm("permits.view_case")):
        raise NotFound(_("No such case."))
    if user.is_staff and case.applicant_id != user.pk and not otp_satisfied(user):
        raise Forbidden(_("This needs a staff sign-in with a two-factor code."))
    length = str(request.META.get("CONTENT_LENGTH") or "")
    declared = int(length) if length.isdigit() else None
    kind = request.GET.get("kind")   # given in the query too, the kind's own limit is checked before reading
    if declared is not None:
        if kind:
            files.check_declared_size(case, kind, max(0, declared - MULTIPART_SLACK))
        largest = max([d.max_mb for d in service.definition_of(case).documents]
                      + [d.max_mb for d in files.STAFF_KINDS.values()])
        if declared - MULTIPART_SLACK > largest * files.MB:
            raise files.FileTooLarge(_("Size limit: at most %(max)s MB may be sent.") % {"max": largest})
    kind = params.text(request.POST, "kind", required=True, max_length=40) if not kind else kind
    upload = request.FILES.get("file")
    if upload is None:
        raise BadParameter(_("Send the file as the multipart field \"file\"."))
    document = files.add_document(case=case, kind=kind, upload=upload, by=user)
    return json_response(document_json(document), status=201)


# -- serving a document -------------------------------------------------------------------------------------------

INLINE_TYPES = ("application/pdf", "image/jpeg", "image/png")


@require_safe
def document(request, doc_id: int):
    """GET /permits/documents/<id>/: the file, inline (PDF and images), to who may see it."""
    doc = Document.objects.select_related("case").filter(pk=doc_id).first()
    if doc is None or not may_see(request.user, doc):
        if doc is not None and not request.user.is_authenticated:
            raise SignInNeeded(_("Sign in to see this document."))
        raise NotFound(_("No such document."))
    if request.user.is_staff and (doc.case is None or doc.case.applicant_id != request.user.pk):
        record_access(request, "permit_document", parcel=doc.parcel, objects=[doc])
    try:
        handle = default_storage.open(doc.file.name, "rb")
    except (FileNotFoundError, OSError):
        raise NotFound(_("No such document.")) from None
    response = FileResponse(handle, content_type=doc.content_type)
    disposition = "inline" if doc.content_type in INLINE_TYPES else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{doc.kind}-v{doc.version}{doc.extension}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    # Shown in the staff case page's viewer (an <iframe> of this URL): framed by the site's own pages only. A PDF
    # gets no `sandbox`: Chromium's PDF viewer refuses to draw inside a sandboxed frame, and no PDF with active
    # content is ever stored (permits/files.py refuses JavaScript, launch and embedded-file actions on upload).
    if doc.content_type == "application/pdf":
        response["Content-Security-Policy"] = "frame-ancestors 'self'"
    else:
        response["Content-Security-Policy"] = ("default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; "
                                               "frame-ancestors 'self'; sandbox")
    response["X-Frame-Options"] = "SAMEORIGIN"
    return response


# -- the archive ---------------------------------------------------------------------------------------------------

def archive_search(query) -> tuple[dict, object | None]:
    """The archive's filters read from `query` and the documents they find (None when nothing was asked)."""
    renewal = params.ascii_digits(params.text(query, "renewal_code", max_length=40)).strip()
    tracking = params.ascii_digits(params.text(query, "tracking_code", max_length=20)).strip()
    kind = params.text(query, "kind", max_length=40).strip()
    since = params.date(query, "from")
    until = params.date(query, "to")
    issued = params.choice(query, "issued", ("", "yes", "no"), default="")
    filters = {"renewal_code": renewal, "tracking_code": tracking, "kind": kind, "from": since, "to": until,
               "issued": issued}
    if not any(v for v in filters.values()):
        return filters, None
    found = Q()
    if renewal:
        found &= Q(parcel__renewal_code=renewal)
    if tracking:
        found &= Q(case__tracking_code=tracking)
    if kind:
        found &= Q(kind=kind)
    if since:   # from the day's first moment, local time (a range on the indexed column, not a cast of it)
        found &= Q(uploaded_at__gte=_day_start(since))
    if until:
        found &= Q(uploaded_at__lt=_day_start(until + dt.timedelta(days=1)))
    if issued:
        found &= Q(issued=issued == "yes")
    documents = (Document.objects.filter(found).select_related("parcel", "case", "case__case_type", "uploaded_by",
                                                                "superseded_by")
                 .order_by("-uploaded_at", "-id"))
    return filters, documents


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def archive_kinds() -> list[tuple[str, str]]:
    """(code, name) of every kind of document the archive may hold: the case types' documents, the staff kinds and
    the issued kinds (from the definitions: no scan of the documents table)."""
    kinds: dict[str, str] = {}
    for _case_type, workflow in service.open_types():
        for doc_type in service.definition_of(workflow).documents:
            kinds.setdefault(doc_type.code, files.type_name(doc_type))
    for doc_type in files.STAFF_KINDS.values():
        kinds.setdefault(doc_type.code, files.type_name(doc_type))
    for code, name in issuing.KIND_NAMES.items():
        kinds.setdefault(code, str(name))
    return sorted(kinds.items(), key=lambda item: item[1])


@require_safe
@staff_otp_required
@permission_required("permits.view_archive", raise_exception=True)
def archive(request):
    """GET /permits/archive/: the parcels' documents, searched; what is shown is recorded."""
    filters, documents = archive_search(request.GET)
    page, shown = None, []
    names = dict(kinds := archive_kinds())
    if documents is not None:
        page = Paginator(documents, ARCHIVE_PAGE_SIZE).get_page(
            params.integer(request.GET, "page", default=1, min=1, max=100000))
        shown = list(page.object_list)
        for doc in shown:
            doc.kind_name = names.get(doc.kind, doc.kind)
        if shown:
            parcels = {d.parcel_id for d in shown}
            record_access(request, "permit_archive", parcel=shown[0].parcel if len(parcels) == 1 else None,
                          objects=shown)
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "permits/documents/archive.html", {
        "filters": filters, "page": page, "documents": shown, "kinds": kinds, "query": query.urlencode()})


# -- verification --------------------------------------------------------------------------------------------------

def _check_rate(request) -> None:
    limits = parse_limits(settings.PERMITS_VERIFY_RATE)
    decision = ratelimit.hit({"permits-verify": (address_key(request_address(request)), limits)})
    if not decision.allowed:
        raise TooManyRequests(_("Too many verification lookups from this address; try again in %(minutes)s minutes.")
                              % {"minutes": max(1, round(decision.retry_after / 60))}, decision.retry_after)


def verification(code: str) -> dict:
    """What the public may know of the issued document with this verification code; NotFound otherwise. Its state
    (valid, expired, revoked, superseded) and SHA-256 are the register's (documents/) when it is registered there."""
    from documents import api as documents_api

    code = params.ascii_digits(str(code or "")).strip()
    issued = (Issued.objects.select_related("parcel", "case__case_type", "record__superseded_by")
              .filter(verification_code=code).first() if code.isdigit() else None)
    if issued is None:
        raise NotFound(_("No permit or certificate has this verification code: check the digits."))
    record = issued.record
    if record is not None:
        status = documents_api.status_of(record)
        revoked_at, reason = record.revoked_at, record.revoked_reason
        newer = record.superseded_by
        sha256 = record.sha256 or issued.sha256
    else:   # issued before the register existed and not registered since
        newer = (Issued.objects.filter(parcel_id=issued.parcel_id, kind=issued.kind, issued_at__gt=issued.issued_at,
                                       revoked_at__isnull=True).order_by("issued_at").first())
        revoked_at, reason, sha256 = issued.revoked_at, issued.revoked_reason, issued.sha256
        today = timezone.localdate()
        status = ("revoked" if revoked_at else "superseded" if newer is not None
                  else "expired" if issued.valid_until and issued.valid_until < today else "valid")
    return {
        "verification_code": issued.verification_code, "number": issued.number, "kind": issued.kind,
        "case_type": issued.case.case_type.code, "case_type_name": issued.case.case_type.name,
        "case_type_name_en": issued.case.case_type.name_en,
        "issued_at": issued.issued_at.isoformat(), "valid_until": issued.valid_until.isoformat()
        if issued.valid_until else None, "status": status,
        "revoked_at": revoked_at.isoformat() if revoked_at else None,
        "revoked_reason": reason if revoked_at else "",
        "superseded_by": newer.number if newer is not None and status == "superseded" else None,
        "parcel": {"renewal_code": issued.parcel.renewal_code},
        "sha256": sha256 or None,
    }


@require_safe
def verify_api(request, code: str):
    """GET /api/permits/verify/<code>: the verification as JSON."""
    _check_rate(request)
    return json_response(verification(code))


@require_safe
def verify_page(request, code: str):
    """GET /permits/verify/<code>/: printed on the permits of before the register; the one verification page of
    every issued document is documents' /verify/<code>/."""
    return redirect("documents:verify", params.ascii_digits(str(code))[:40], permanent=True)


