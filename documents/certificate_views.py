"""Asking for a parcel certificate: the button of the parcel sheet (and of the text-only parcel page) posts here; the
certificate is issued (or today's identical one reused) and the asker waits on its page until the PDF is printed."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from accounts import ratelimit
from accounts.audit import request_address
from accounts.service import TooManyRequests
from accounts.signin import address_key, parse_limits
from common.edge import json_response
from common.errors import NotFound
from documents import api, certificate, kinds
from documents.views import _check_rate, find, record_of
from parcels.models import Parcel


def _parcel(parcel_id: int) -> Parcel:
    parcel = (Parcel.objects.select_related("import_run").filter(pk=parcel_id).first()
              if 0 < parcel_id < 2**63 else None)
    if parcel is None:
        raise NotFound(_("No parcel with id %(id)s: it may have been merged, split or removed from the cadastre "
                         "since. Find the parcel on the map again to ask for its certificate.") % {"id": parcel_id})
    return parcel


def _check_certificate_rate(request) -> None:
    """Certificates are asked for at most DOCUMENTS_CERTIFICATE_RATE per address (each builds every section)."""
    decision = ratelimit.hit({"documents-certificate": (address_key(request_address(request)),
                                                        parse_limits(settings.DOCUMENTS_CERTIFICATE_RATE))})
    if not decision.allowed:
        raise TooManyRequests(_("Too many certificates asked for from this address; try again in %(minutes)s "
                                "minutes.") % {"minutes": max(1, round(decision.retry_after / 60))},
                              decision.retry_after)


@require_POST
def request_certificate(request, parcel_id: int):
    """POST /documents/certificate/<parcel_id>: issue the parcel's certificate (anyone; CSRF) and go to its page."""
    _check_certificate_rate(request)
    doc, _created = certificate.issue_for(_parcel(parcel_id))
    return redirect("documents:issued", doc.verification_code)


@require_safe
def issued_page(request, code: str):
    """/documents/issued/<code>/: an issued document's page while its PDF is printed, then its links."""
    _check_rate(request)
    doc = find(code)
    kind = kinds.KINDS.get(doc.kind)
    return render(request, "documents/issued.html", {
        "record": record_of(doc), "doc": doc, "pdf_url": api.pdf_url(doc) if kind and kind.public_pdf else "",
        "verify_url": reverse("documents:verify", args=[doc.verification_code]),
        "api_url": reverse("documents:verify_api", args=[doc.verification_code])})


@require_safe
def sheet_section_api(request, parcel_id: int):
    """GET /api/documents/parcels/<parcel_id>/certificate: the parcel sheet's certificate section (its button)."""
    return json_response(sheet_section(_parcel(parcel_id), request))


def sheet_section(parcel: Parcel, request=None) -> dict:
    """The parcel sheet's section: where to ask for the certificate (a POST with the page's CSRF token)."""
    return {"parcel_id": parcel.pk, "request_url": reverse("documents:request_certificate", args=[parcel.pk])}
