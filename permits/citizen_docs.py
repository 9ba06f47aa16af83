"""What the citizen's side shows of a case, built from explicit lists of fields: the public status (by tracking code
and mobile: the steps with their dates, the desk holding the case, the days left; never a name, a mobile or a note),
the applicant's own view (adding the proposal, the frozen decision, documents, fees and the bill, the reasons given
to them), and the parcel's issued permits (public: number, kind, dates, what was approved, the verification link).

Dates are datetimes here (templates show them Jalali with `localized_date`, the JSON API as ISO); names of desks,
case types, works and steps are picked in the request's language."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from common.i18n import is_persian
from dues import api as dues_api
from permits import service
from permits.models import Case, CaseEvent, Document, Issued

Status = Case.Status
Kind = CaseEvent.Kind

# what an issued document approved that anyone may read (approved_of's proposal figures, without geometry)
APPROVED_FIELDS = ("land_use", "floors", "gross_floor_area", "footprint_area", "units", "parking_spaces", "height")


def pick(obj, field: str = "name") -> str:
    """The English text of a two-language value on English pages (when there is one), else the Persian."""
    get = obj.get if isinstance(obj, dict) else (lambda k, d="": getattr(obj, k, d))
    return (not is_persian() and get(f"{field}_en", "")) or get(field, "") or ""


def url_or_none(name: str, *args) -> str | None:
    """The URL of a route another part of the permits app adds (documents, verification), or None before it is
    there."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def issued_kind_label(kind: str) -> str:
    labels = {"permit": _("Building permit"), "completion_certificate": _("Completion certificate"),
              "certificate": _("Certificate of no violation"), "inquiry": _("Planning inquiry answer"),
              "decision": _("Recorded decision")}
    return labels.get(kind, kind)


def issued_doc(issued: Issued) -> dict:
    """An issued permit or certificate as anyone may see it: no applicant, no owner."""
    proposal = (issued.approved or {}).get("proposal") or {}
    definition = service.definition_of(issued.case.workflow)
    work = next((w for w in definition.works if w["code"] == (issued.approved or {}).get("work")), None)
    return {"number": issued.number, "kind": issued.kind, "kind_label": issued_kind_label(issued.kind),
            "case_type": pick(issued.case.case_type), "work": pick(work) if work else "",
            "issued_at": issued.issued_at, "valid_until": issued.valid_until,
            "revoked": issued.revoked_at is not None or bool(issued.record_id and issued.record.revoked_at),
            "approved": {k: proposal[k] for k in APPROVED_FIELDS if proposal.get(k) not in (None, "")},
            "verification_code": issued.verification_code,
            "verification_url": url_or_none("documents:verify", issued.verification_code)}


# -- the steps ----------------------------------------------------------------------------------------------------

def step_dates(case: Case, events) -> dict[str, dict]:
    """{step code: {"entered": datetime, "left": datetime}} from the case's events (the last time of each)."""
    dates: dict[str, dict] = {service.definition_of(case).first.code: {"entered": case.created_at}}
    for e in events:
        if not e.to_step:
            continue
        if e.from_step and e.from_step != e.to_step:
            dates.setdefault(e.from_step, {})["left"] = e.at
        dates.setdefault(e.to_step, {})["entered"] = e.at
    return dates


def steps(case: Case, events) -> list[dict]:
    """Every step of the case's workflow: done, current or to come, with the dates it was entered and left and the
    desk that acts there (a desk's name, never a person)."""
    from permits.models import Desk

    definition = service.definition_of(case)
    desks = {d.code: d for d in Desk.objects.filter(code__in={s.desk for s in definition.steps})}
    dates = step_dates(case, events)
    codes = [s.code for s in definition.steps]
    finished = case.status in (Status.ISSUED,)
    current = codes.index(case.step) if case.step in codes else 0
    out = []
    for i, s in enumerate(definition.steps):
        if finished or i < current:
            state = "done"
        elif i == current:
            state = "stopped" if case.status in (Status.REFUSED, Status.WITHDRAWN) else "current"
        else:
            state = "todo"
        desk = desks.get(s.desk)
        out.append({"code": s.code, "name": service.step_name(definition, s.code), "kind": s.kind, "state": state,
                    "days": s.days, "desk": pick(desk) if desk else (_("The applicant") if s.by_applicant else ""),
                    "entered_at": dates.get(s.code, {}).get("entered") if state != "todo" else None,
                    "left_at": dates.get(s.code, {}).get("left") if state == "done" else None})
    return out


def holder(case: Case) -> str:
    """Who holds the case now: a desk's name, the applicant, or nobody (finished)."""
    if case.desk_id:
        return pick(case.desk)
    if case.status in (Status.DRAFT, Status.RETURNED, Status.AWAITING_PAYMENT):
        return _("The applicant")
    return ""


def status_label(case: Case) -> str:
    return str(Status(case.status).label)


def _events(case: Case):
    return list(CaseEvent.objects.filter(case=case, internal=False).order_by("at", "id"))


def public_status(case: Case, now=None) -> dict:
    """The public status page's answer: what anyone with the tracking code and the applicant's mobile sees. No
    names, no mobile, no notes, no documents: the steps, their dates, the desk holding the case and its days left."""
    definition = service.definition_of(case)
    events = _events(case)
    work = next((w for w in definition.works if w["code"] == case.work), None)
    issued = Issued.objects.filter(case=case).select_related("case__case_type", "case__workflow").first()
    return {
        "tracking_code": case.tracking_code, "case_type": pick(case.case_type), "work": pick(work) if work else "",
        "status": case.status, "status_label": status_label(case),
        "submitted_at": case.submitted_at, "finished_at": case.finished_at,
        "step": service.step_name(definition, case.step), "holder": holder(case),
        "due_at": case.step_due_at if case.is_open else None,
        "days_left": service.days_left(case, now) if case.is_open else None,
        "days_late": max(-(service.days_left(case, now) or 0), 0) if case.is_open else 0,
        "steps": steps(case, events),
        "history": [{"kind": e.kind, "kind_label": str(Kind(e.kind).label), "at": e.at,
                     "step": service.step_name(definition, e.to_step) if e.to_step else ""}
                    for e in events if e.kind != Kind.COMMENT],
        "issued": issued_doc(issued) if issued else None,
        "demo": case.workflow.is_demo,
    }


# -- the applicant's view -----------------------------------------------------------------------------------------

def document_doc(doc: Document, definition) -> dict:
    try:
        kind_name = pick(definition.document(doc.kind))
    except KeyError:
        kind_name = doc.kind
    return {"id": doc.pk, "kind": doc.kind, "kind_name": kind_name, "name": doc.name, "version": doc.version,
            "size": doc.size, "uploaded_at": doc.uploaded_at, "issued": doc.issued,
            "url": url_or_none("permits:document", doc.pk)}


def document_types(case: Case) -> list[dict]:
    """The documents the applicant may attach, with the one present now (its latest version) and whether it is due
    before submitting (or resubmitting)."""
    definition = service.definition_of(case)
    present = {d.kind: d for d in service.current_documents(case).filter(issued=False)}
    first = definition.first.code
    due_now = {d.code for d in definition.documents_due(first)}
    back = (case.outcome or {}).get("_returned_from")
    if case.status == Status.RETURNED and back:
        codes = [s.code for s in definition.steps]
        due_now |= {d.code for d in definition.documents_due(definition.steps[max(0, codes.index(back) - 1)].code)}
    out = []
    for d in definition.documents:
        if d.by != "applicant":
            continue
        doc = present.get(d.code)
        out.append({"code": d.code, "name": pick(d), "types": list(d.types), "max_mb": d.max_mb,
                    "required": d.code in due_now, "accept": accept_of(d.types),
                    "current": document_doc(doc, definition) if doc else None})
    return out


def documents_wanted(case: Case) -> list[dict]:
    """On an open case: the applicant's documents the step that holds it waits for (e.g. the approved drawings at
    their step), which the applicant uploads from their page; [] when nothing is missing."""
    if case.status != Status.OPEN:
        return []
    missing = {d.code for d in service.missing_documents(case, case.step) if d.by == "applicant"}
    return [t for t in document_types(case) if t["code"] in missing]


ACCEPT = {"pdf": ".pdf,application/pdf", "jpeg": ".jpg,.jpeg,image/jpeg", "png": ".png,image/png", "dwg": ".dwg",
          "dxf": ".dxf"}


def accept_of(types) -> str:
    return ",".join(ACCEPT[t] for t in types if t in ACCEPT)


def correction(case: Case, events) -> dict | None:
    """For a returned case: the reason given and the documents named to correct (the return's documents)."""
    if case.status != Status.RETURNED:
        return None
    definition = service.definition_of(case)
    last = next((e for e in reversed(events) if e.kind == Kind.RETURN), None)
    ids = [i for i in (last.documents if last else []) if isinstance(i, int)]
    docs = Document.objects.filter(pk__in=ids, case=case)
    kinds = sorted({d.kind for d in docs})
    return {"reason": case.status_note or (last.note if last else ""), "at": last.at if last else None,
            "documents": [document_doc(d, definition) for d in docs],
            "kinds": kinds, "kind_names": [pick(definition.document(k)) if k in {x.code for x in definition.documents}
                                           else k for k in kinds]}


def bill_of(case: Case) -> dict | None:
    """The case's fee bill (dues): bill ID, payment ID, amount, status and the page where it is paid."""
    if not case.bill and case.status != Status.AWAITING_PAYMENT:
        return None
    return dues_api.fee_bill(service.fee_reference(case))


def applicant_view(case: Case, now=None) -> dict:
    """The applicant's own page: the public status plus what is theirs."""
    now = now or timezone.now()
    definition = service.definition_of(case)
    events = _events(case)
    doc = public_status(case, now)
    doc.update({
        "id": str(case.public_id), "revision": case.revision, "parcel_id": case.parcel_id,
        "renewal_code": case.parcel.renewal_code or "", "work_code": case.work, "case_type_code": case.case_type.code,
        "check": definition.check, "proposal": case.proposal, "decision": case.decision,
        "fees": case.fees, "fee_total": case.fee_total, "bill": bill_of(case),
        "documents": [document_doc(d, definition) for d in
                      Document.objects.filter(case=case).order_by("kind", "-version", "-id")],
        "document_types": document_types(case) if case.status in (Status.DRAFT, Status.RETURNED) else [],
        "documents_wanted": documents_wanted(case),
        "correction": correction(case, events),
        "status_note": case.status_note,
        "history": [{"kind": e.kind, "kind_label": str(Kind(e.kind).label), "at": e.at, "note": e.note,
                     "step": service.step_name(definition, e.to_step) if e.to_step else "",
                     "from_step": service.step_name(definition, e.from_step) if e.from_step else ""}
                    for e in events],
        "engineer": case.engineer.full_name if case.engineer_id else "",
        "issued_document_url": (citizen_docs_url(doc["issued"], case) if doc["issued"] else None),
        "may_withdraw": case.is_open or case.status == Status.DRAFT,
        "may_resubmit": case.status == Status.RETURNED,
        "url": reverse("permits:case", args=[case.public_id]),
        "apply_url": reverse("permits:apply", args=[case.parcel_id]) + f"?case={case.public_id}",
    })
    return doc


def citizen_docs_url(issued: dict, case: Case) -> str | None:
    """The issued PDF (the applicant may open it: permits:document checks who asks)."""
    document_id = Issued.objects.filter(case=case).values_list("document_id", flat=True).first()
    return url_or_none("permits:document", document_id) if document_id else None


def api_case(case: Case) -> dict:
    """The applicant's view as JSON: dates as ISO text."""
    return jsonable(applicant_view(case))


def jsonable(value):
    import datetime as dt

    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return value
