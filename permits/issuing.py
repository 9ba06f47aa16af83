"""Issuing: the last step of a case makes its document (a permit, a certificate, an inquiry's answer, a recorded
decision): a numbered Issued row with a verification code, in the case's transaction; its PDF is made once, after
commit, in the job queue (permits/tasks.py) and kept in the parcel's archive (a Document)."""

from __future__ import annotations

import datetime as dt

import jdatetime
from django.db import transaction
from django.db.models import Max
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy, gettext_noop

from common.errors import ApiError
from documents import api as documents_api
from documents import kinds as document_kinds
from documents import maps
from parcels.models import LandUse
from permits import definitions
from permits.models import Case, Desk, Document, Issued
from zoning import api as zoning_api

VERIFICATION_LENGTH = 12


def _number(kind: str, year: int) -> str:
    prefix = {"permit": "P", "completion_certificate": "C", "certificate": "N", "inquiry": "Q",
              "decision": "D"}.get(kind, "X")
    last = (Issued.objects.select_for_update().filter(number__startswith=f"{prefix}-{year}-")
            .aggregate(m=Max("number"))["m"])
    seq = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}-{year}-{seq:05d}"


def _verification_code() -> str:
    """A code free in both registers (every Issued is registered in documents/, but rows of before that may not)."""
    for _attempt in range(20):
        code = documents_api.new_verification_code()
        if not Issued.objects.filter(verification_code=code).exists():
            return code
    raise RuntimeError("no free verification code")  # pragma: no cover


def approved_of(case: Case) -> dict:
    """What was approved: the proposal's figures and what the steps recorded (public fields only)."""
    proposal = {k: v for k, v in case.proposal.items() if k != "footprint" and k != "lines"}
    recorded = {step: values for step, values in case.outcome.items() if not step.startswith("_")}
    return {"work": case.work, "proposal": proposal, "recorded": recorded,
            "decision_status": (case.decision or {}).get("status"), "rulebook": (case.decision or {}).get("rulebook")}


def issue(case: Case, definition, now: dt.datetime) -> Issued:
    """The Issued row of a case that reached its issue step (once: a second call returns it)."""
    existing = Issued.objects.filter(case=case).first()
    if existing:
        return existing
    kind = definition.issues if definition.issues != "none" else "decision"
    valid_until = (now + dt.timedelta(days=definition.validity_days)).date() if definition.validity_days else None
    issued = Issued.objects.create(case=case, parcel_id=case.parcel_id, kind=kind,
                                   number=_number(kind, jdatetime.date.fromgregorian(date=timezone.localdate(now)).year),
                                   verification_code=_verification_code(), issued_at=now, valid_until=valid_until,
                                   approved=approved_of(case), conditions=list(definition.raw.get("conditions", [])))
    register(issued)
    return issued


DOCUMENT_KIND = "permit"


def register(issued: Issued) -> None:
    """Register the issued document in documents/ (same number and verification code): its PDF is printed and signed
    there, once, after commit (the job documents.render), and filed in the parcel's archive (`_filed`). A later one of
    the same kind for the same parcel replaces the earlier ones still in force."""
    case = issued.case
    record = documents_api.issue(
        DOCUMENT_KIND, parcel=issued.parcel, number=issued.number, verification_code=issued.verification_code,
        now=issued.issued_at, valid_until=issued.valid_until, source=f"permits.issued:{issued.pk}",
        subject={"title": KIND_MSGIDS.get(issued.kind, issued.kind),
                 "facts": [[gettext_noop("Application"), case.case_type.name],
                           [gettext_noop("Tracking code"), case.tracking_code]]})
    Issued.objects.filter(pk=issued.pk).update(record=record)
    issued.record = record
    earlier = (Issued.objects.filter(parcel_id=issued.parcel_id, kind=issued.kind, issued_at__lte=issued.issued_at,
                                     record__isnull=False, record__superseded_by__isnull=True,
                                     record__revoked_at__isnull=True).exclude(pk=issued.pk)
               .values_list("record_id", flat=True))
    record.__class__.objects.filter(pk__in=list(earlier)).update(superseded_by=record)


def revoke(issued: Issued, reason: str, now: dt.datetime | None = None) -> Issued:
    """Revoke an issued permit or certificate: its verification page says so, with the reason, from now on."""
    now = now or timezone.now()
    if issued.record_id:
        documents_api.revoke(issued.record, reason, now)
    issued.revoked_at, issued.revoked_reason = now, reason.strip()
    issued.save(update_fields=["revoked_at", "revoked_reason"])
    return issued


# -- the PDF (made once, in the job permits.render_issued) ------------------------------------------------------------

KIND_MSGIDS = {"permit": gettext_noop("Permit"), "completion_certificate": gettext_noop("Completion certificate"),
               "certificate": gettext_noop("Certificate"), "inquiry": gettext_noop("Answer to an inquiry"),
               "decision": gettext_noop("Decision")}
KIND_NAMES = {kind: gettext_lazy(msgid) for kind, msgid in KIND_MSGIDS.items()}
MAP_WIDTH, MAP_HEIGHT, MAP_MARGIN = 300, 200, 12


def verification_url(issued: Issued) -> str:
    """The public verification page's address printed on the document and in its QR code: the one page of every
    document the municipality issues (documents/; DOCUMENTS_PUBLIC_URL is the site's public address)."""
    return documents_api.verification_url(issued.verification_code)


qr_png_data_uri = documents_api.qr_png_data_uri


def map_svg(features: dict) -> dict | None:
    """The parcel, its envelope and its road-widening strip (zoning.api.envelope_features, WGS84) as SVG paths in a
    MAP_WIDTH × MAP_HEIGHT box, north up, with a scale bar (documents.maps.map_svg)."""
    return maps.map_svg(features, MAP_WIDTH, MAP_HEIGHT, MAP_MARGIN)


def _pairs(items: list) -> list[list]:
    """Two label-value pairs a row (the page is A4: one page)."""
    return [items[i:i + 2] for i in range(0, len(items), 2)]


def _recorded(case: Case, definition) -> list[tuple[str, list[tuple[str, object]]]]:
    """What the steps recorded, named as the definition names the step and its fields."""
    out = []
    for step_code, values in (case.outcome or {}).items():
        if step_code.startswith("_") or not isinstance(values, dict):
            continue
        try:
            step = definition.step(step_code)
        except KeyError:
            out.append((step_code, _pairs(list(values.items()))))
            continue
        names = {f.code: f.name for f in step.fields}
        out.append((step.name, _pairs([(names.get(k, k), v) for k, v in values.items()])))
    return out


def context_of(issued: Issued) -> dict:
    """What the issued document's page shows."""
    case = issued.case
    # parsed here rather than through service.definition_of: the service imports this module
    definition = definitions.parse(case.workflow.definition, set(Desk.objects.values_list("code", flat=True)))
    try:
        features = zoning_api.envelope_features(issued.parcel_id, timezone.localdate(issued.issued_at))
    except ApiError:   # no zone or rulebook on that day: the document is made without its map
        features = {"features": []}
    proposal = issued.approved.get("proposal", {})
    uses = dict(LandUse.objects.values_list("code", "name_fa"))   # the use's name, not its code
    approved = [(str(zoning_api.FIELD_LABELS.get(k, k)), uses.get(proposal[k], proposal[k]) if k == "land_use"
                 else proposal[k]) for k in zoning_api.PROPOSAL_FIELDS if proposal.get(k) not in (None, "")]
    work = next((w["name"] for w in definition.works if w["code"] == issued.approved.get("work")), "")
    url = verification_url(issued)
    return {"issued": issued, "case": case, "parcel": issued.parcel, "definition": definition,
            "kind_name": KIND_NAMES.get(issued.kind, issued.kind), "work": work, "approved": approved,
            "approved_rows": _pairs(approved),
            "recorded": _recorded(case, definition), "conditions": issued.conditions,
            "rulebook": issued.approved.get("rulebook") or (case.decision or {}).get("rulebook"),
            "demo": case.workflow.is_demo or definition.demo, "map": map_svg(features),
            "verification_url": url, "qr": qr_png_data_uri(url)}


def html_of(issued: Issued) -> bytes:
    """The issued document's page, in Persian (right to left, A4), as printed."""
    with translation.override("fa"):
        return render_to_string("permits/issued/document.html", context_of(issued)).encode("utf-8")


def render(issued_id: int):
    """Print the issued document now (documents/rendering.py: printed, signed and stored once; `_filed` puts it in the
    parcel's archive). For a job deferred before the register existed: a row without its record is registered
    first. None for an id that is not there (the case's transaction was rolled back)."""
    from documents import rendering

    with transaction.atomic():
        issued = Issued.objects.select_for_update(of=("self",)).filter(pk=issued_id).first()
        if issued is None:
            return None
        if issued.record_id is None:
            register(issued)
    rendering.render(issued.record_id)
    issued.refresh_from_db()
    return issued.document


def _issued_of(record) -> Issued:
    return (Issued.objects.select_related("case__workflow", "case__case_type", "parcel")
            .get(record_id=record.pk))


def _html(record) -> bytes:
    return html_of(_issued_of(record))


def _filed(record) -> None:
    """The printed PDF in the parcel's archive (a Document, issued=True, the same stored file), and its SHA-256."""
    issued = _issued_of(record)
    if issued.document_id is not None:
        return
    document = Document(parcel_id=issued.parcel_id, case=issued.case, kind=issued.kind, name=f"{issued.number}.pdf",
                        extension=".pdf", content_type="application/pdf", size=record.size, sha256=record.sha256,
                        step=issued.case.step, issued=True)
    document.file.name = record.file.name
    document.save()
    Issued.objects.filter(pk=issued.pk).update(document=document, sha256=record.sha256)


def register_kind() -> None:
    """Called from PermitsConfig.ready(): issued permits and certificates are a kind of the documents' register."""
    document_kinds.register_kind(document_kinds.DocumentKind(
        code=DOCUMENT_KIND, name=gettext_lazy("Permit or certificate"), prefix="P", other_prefixes=("C", "N", "Q", "D", "X"),
        html=_html, supersedes=False, public_pdf=False, on_rendered=_filed))
