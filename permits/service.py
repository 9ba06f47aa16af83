"""What happens to a permit case: started, filled, submitted, acted on at each step, paid, issued. Every change goes
through here, in one transaction with its event and its notice, so the citizen pages, the staff pages, the API, the
admin and the tests follow the same path (permits/definitions.py says what each step allows).

Concurrency: a change names the case's `revision` it was decided on; the row is locked and a different revision (a
colleague acted meanwhile) is refused with 409 and nothing is written. A double submit returns the one case."""

from __future__ import annotations

import datetime as dt
import functools

from django.conf import settings
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts import properties
from accounts.models import Citizen
from common import codes, municipality
from common.errors import ApiError, BadParameter, Forbidden, NotFound
from dues import api as dues_api
from notices.service import Recipient, notify
from parcels.models import Parcel
from permits import definitions
from permits.models import Case, CaseEvent, CaseType, Consent, Desk, Document, Engineer, Issued, Workflow
from zoning import api as zoning_api

Status = Case.Status
Kind = CaseEvent.Kind


class CaseConflict(ApiError):
    """The case changed since the page was loaded (another member of staff acted), or the action does not fit its
    step: nothing was written; reload and decide again."""

    status = 409
    code = "conflict"


class NotAllowed(Forbidden):
    pass


# -- definitions --------------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=256)
def _definition(workflow_id: int, sha256: str, database: str) -> definitions.Definition:  # database: per municipality
    workflow = Workflow.objects.get(pk=workflow_id)
    return definitions.parse(workflow.definition, set(Desk.objects.values_list("code", flat=True)))


def definition_of(case_or_workflow) -> definitions.Definition:
    """The checked definition of a case's (or a workflow's) version; cached per version (they never change)."""
    workflow = case_or_workflow.workflow if isinstance(case_or_workflow, Case) else case_or_workflow
    return _definition(workflow.pk, workflow.sha256, municipality.current().database)


def open_types() -> list[tuple[CaseType, Workflow]]:
    """The active case types with their current workflow, in order."""
    out = []
    # the versions' ids and checksums only (definition_of needs no more): not every version's definition JSON
    versions = Prefetch("workflows", queryset=Workflow.objects.only("id", "case_type_id", "version", "sha256",
                                                                   "is_demo"))
    for case_type in CaseType.objects.filter(active=True).prefetch_related(versions):
        workflows = sorted(case_type.workflows.all(), key=lambda w: -w.version)
        if workflows:
            out.append((case_type, workflows[0]))
    return out


def step_name(definition: definitions.Definition, code: str) -> str:
    step = definition.step(code)
    return step.name if translation.get_language() == "fa" or not step.name_en else step.name_en


# -- who may apply ------------------------------------------------------------------------------------------------

def citizen_of(user) -> Citizen | None:
    return getattr(user, "citizen", None) if user is not None and user.is_authenticated else None


def owns(user, parcel_id: int) -> bool:
    citizen = citizen_of(user)
    return citizen is not None and parcel_id in properties.parcel_ids(citizen)


def engineer_of(user) -> Engineer | None:
    engineer = getattr(user, "permit_engineer", None) if user is not None and user.is_authenticated else None
    return engineer if engineer is not None and engineer.active and engineer.verified_at else None


def usable_consent(engineer: Engineer, parcel_id: int) -> Consent | None:
    """The engineer's confirmed, unused, unexpired consent for the parcel."""
    return (Consent.objects.filter(engineer=engineer, parcel_id=parcel_id, confirmed_at__isnull=False,
                                   used_by__isnull=True, expires_at__gt=timezone.now())
            .order_by("-confirmed_at").first())


def _mobile_of(user) -> str:
    citizen = citizen_of(user)
    return citizen.mobile if citizen else ""


# -- starting and filling a case ----------------------------------------------------------------------------------

def start(case_type: CaseType, parcel: Parcel, user, *, work: str = "") -> Case:
    """A draft case of `case_type` on `parcel` for `user` (a citizen owning it, an engineer with the owner's
    confirmed consent, or anyone for case types that need no ownership)."""
    if user is None or not user.is_authenticated:
        raise NotAllowed(_("Sign in to apply."))
    workflow = case_type.current()
    if workflow is None or not case_type.active:
        raise BadParameter(_("This kind of case is not taking applications."))
    definition = definition_of(workflow)
    works = [w["code"] for w in definition.works]
    if works and work not in works:
        raise BadParameter(_("Choose the kind of work: %(choices)s.") % {"choices": ", ".join(works)})
    engineer = None
    if definition.needs_ownership and not owns(user, parcel.pk):
        engineer = engineer_of(user)
        if engineer is None or usable_consent(engineer, parcel.pk) is None:
            raise NotAllowed(_("Only the parcel's owner, or an engineer with the owner's consent, may apply for it."))
    phone = _mobile_of(user)
    if not phone:
        raise NotAllowed(_("Applications are made from a citizen's account (sign in with your mobile number)."))
    return Case.objects.create(case_type=case_type, workflow=workflow, work=work, parcel=parcel, applicant=user,
                               applicant_phone=phone, engineer=engineer, step=definition.first.code,
                               language=translation.get_language() or "fa")


def _owned_by(case: Case, user) -> None:
    if user is None or not user.is_authenticated or case.applicant_id != user.pk:
        raise NotAllowed(_("Only the applicant may change this case."))


def check_proposal(case: Case, proposal: dict) -> dict | None:
    """The engine's answer for the proposal (what the form shows as the applicant types): the eligibility decision,
    the subdivision check, or None for case types without a check. BadProposal (400) names bad fields."""
    definition = definition_of(case)
    if definition.check == "eligibility":
        return zoning_api.decide(case.parcel_id, proposal)
    if definition.check == "subdivision":
        return zoning_api.subdivision(case.parcel_id, proposal.get("lines"))
    return None


def save_proposal(case: Case, proposal: dict, *, by) -> dict | None:
    """Store the draft's (or returned case's) proposal after checking it; returns the engine's answer."""
    _owned_by(case, by)
    if case.status not in (Status.DRAFT, Status.RETURNED):
        raise CaseConflict(_("The proposal can be changed only before submitting or when the case is returned."))
    answer = check_proposal(case, proposal)
    keep = {k: v for k, v in proposal.items() if k in (*zoning_api.PROPOSAL_FIELDS, "footprint", "lines")}
    Case.objects.filter(pk=case.pk).update(proposal=keep, updated_at=timezone.now())
    case.proposal = keep
    return answer


def fee_facts(case: Case) -> dict:
    """The facts fee formulas use: the proposal's numbers, the parcel's area, a flag per kind of work."""
    definition = definition_of(case)
    facts = {name: 0 for name in definitions.FEE_FACTS}
    for name in definitions.FEE_FACTS:
        value = case.proposal.get(name)
        if value not in (None, ""):
            try:
                facts[name] = float(value)
            except (TypeError, ValueError):
                raise BadParameter(_("%(field)s is not a number.") % {"field": name}) from None
    parcel = case.parcel
    facts["lot_area"] = float(parcel.deed_area or parcel.measured_area or 0)
    for w in definition.works:
        facts[f"work_{w['code']}"] = 1 if case.work == w["code"] else 0
    return facts


def fee_estimate(case: Case) -> dict:
    """The fee lines and their total for the case as it stands (the estimate the form shows)."""
    definition = definition_of(case)
    if not definition.fees:
        return {"lines": [], "total": 0}
    lines = dues_api.evaluate_fees(list(definition.fees), fee_facts(case))
    return {"lines": lines, "total": dues_api.fee_total(lines)}   # what the bill asks: whole thousands of rials


# -- documents present --------------------------------------------------------------------------------------------

def current_documents(case: Case):
    """The case's documents in their latest versions."""
    return Document.objects.filter(case=case, superseded_by__isnull=True)


def missing_documents(case: Case, step_code: str) -> list[definitions.DocumentType]:
    definition = definition_of(case)
    present = set(current_documents(case).values_list("kind", flat=True))
    return [d for d in definition.documents_due(step_code) if d.code not in present]


def _require_documents(case: Case, step_code: str) -> None:
    missing = missing_documents(case, step_code)
    if missing:
        names = ", ".join(d.name if translation.get_language() == "fa" or not d.name_en else d.name_en
                          for d in missing)
        raise BadParameter(_("Attach these documents first: %(names)s.") % {"names": names})


# -- moving the case ----------------------------------------------------------------------------------------------

def _locked(case: Case, revision: int | None) -> Case:
    """The case's row, locked; CaseConflict when `revision` is given and is not the row's."""
    fresh = Case.objects.select_for_update().select_related("workflow", "parcel").get(pk=case.pk)
    if revision is not None and fresh.revision != revision:
        raise CaseConflict(_("This case was changed by someone else since you opened it (now at revision "
                             "%(now)s, you saw %(seen)s). Nothing was saved: reload it and decide again.")
                           % {"now": fresh.revision, "seen": revision})
    return fresh


def _event(case: Case, kind: str, *, by=None, desk: str = "", before: tuple[str, str] | None = None, note="",
           documents=(), data=None, internal=False, now=None) -> CaseEvent:
    from_step, from_status = before or ("", "")
    return CaseEvent.objects.create(
        case=case, at=now or timezone.now(), kind=kind, actor=by if getattr(by, "is_authenticated", False) else None,
        desk=desk, from_step=from_step, to_step=case.step if before else "", from_status=from_status,
        to_status=case.status if before else "", note=note, documents=list(documents), data=data or {},
        internal=internal)


def _enter(case: Case, step: definitions.Step, now: dt.datetime) -> None:
    """Put the case at `step`: its desk, its due date, and what entering it does (a bill, the issue)."""
    case.step = step.code
    case.step_entered_at = now
    case.step_due_at = now + dt.timedelta(days=step.days) if step.days else None
    case.assignee = None
    case.desk = Desk.objects.get(code=step.desk) if step.desk and not step.by_applicant else None
    if step.kind == "payment":
        estimate = fee_estimate(case)
        case.fees = estimate["lines"]
        case.fee_total = estimate["total"]
        if estimate["total"] <= 0:       # nothing to bill (dues bills whole thousands): straight on
            return _enter(case, definition_of(case).after(step.code), now)
        definition = definition_of(case)
        bill = dues_api.issue_fee_bill(
            case.parcel_id, reference=fee_reference(case), lines=estimate["lines"],
            title_fa=f"{definition.name} - {case.tracking_code}",
            title_en=f"{definition.name_en or definition.name} - {case.tracking_code}")
        case.bill = bill["id"]
        if bill["paid"]:                 # back at the payment step after paying (returned later): no second bill
            return _enter(case, definition_of(case).after(step.code), now)
        case.status = Status.AWAITING_PAYMENT
    elif step.kind == "issue":
        case.status = Status.ISSUED
        case.finished_at = now
    else:
        case.status = Status.OPEN


def fee_reference(case: Case) -> str:
    return f"permits:{case.public_id}"


def _save(case: Case) -> None:
    case.revision += 1
    case.save()


def submit(case: Case, *, by, now: dt.datetime | None = None) -> Case:
    """Submit a draft: documents due at the application are attached, the proposal is checked and its decision
    (with the rulebook version and citations) frozen into the case, a tracking code is given, the case goes to the
    first staff step. Submitting twice (a double click, two tabs) returns the one case."""
    _owned_by(case, by)
    now = now or timezone.now()
    with transaction.atomic():
        case = _locked(case, None)
        if case.status != Status.DRAFT:
            return case                                       # already submitted: the same case
        definition = definition_of(case)
        _require_documents(case, definition.first.code)
        if definition.check != "none":
            if not case.proposal:
                raise BadParameter(_("Fill in the proposal first."))
            case.decision = check_proposal(case, case.proposal)
        if case.engineer_id:
            consent = usable_consent(case.engineer, case.parcel_id)
            if consent is None:
                raise NotAllowed(_("The owner's consent has expired or was used; ask the owner for a new code."))
            Consent.objects.filter(pk=consent.pk).update(used_by=case)
        case.tracking_code = _new_code()
        case.submitted_at = now
        before = (case.step, case.status)
        _enter(case, definition.after(case.step), now)
        _save(case)
        _event(case, Kind.SUBMIT, by=by, before=before, now=now,
               data={"rulebook": (case.decision or {}).get("rulebook"), "decision": (case.decision or {}).get("status")})
        _tell(case, "permits.submitted", now)
        _tell_step(case, definition, now)
    return case


def _new_code() -> str:
    for _attempt in range(20):
        code = codes.new_code()
        if not Case.objects.filter(tracking_code=code).exists():
            return code
    raise RuntimeError("no free tracking code")  # pragma: no cover - 10^9 codes


def may_act(user, case: Case) -> bool:
    """Staff at the desk that holds the case (or with act_at_any_desk)."""
    if user is None or not user.is_authenticated or case.desk_id is None:
        return False
    if user.has_perm("permits.act_at_any_desk"):
        return True
    return user.has_perm("permits.act_on_case") and case.desk.staff.filter(pk=user.pk).exists()


def act(case: Case, action: str, *, by, revision: int, note: str = "", fields: dict | None = None,
        documents=(), now: dt.datetime | None = None) -> Case:
    """Staff act at the case's step: approve (on to the next step, recording the step's fields), return (to the
    applicant, with a reason), reject (with a reason), site_visit (to the inspection step and back)."""
    now = now or timezone.now()
    note = (note or "").strip()
    with transaction.atomic():
        case = _locked(case, revision)
        if not may_act(by, case):
            raise NotAllowed(_("Only staff at the desk that holds this case may act on it."))
        definition = definition_of(case)
        allowed = definition.actions_at(case.step)
        if action not in allowed or case.status != Status.OPEN:
            raise CaseConflict(_("%(action)s is not possible at this step (%(step)s); possible: %(allowed)s.")
                               % {"action": action, "step": step_name(definition, case.step),
                                  "allowed": ", ".join(allowed) or "-"})
        step = definition.step(case.step)
        before = (case.step, case.status)
        desk = case.desk.code if case.desk else ""
        if action in ("return", "reject") and not note:
            raise BadParameter(_("Give the reason: the applicant reads it."))
        if action == "approve":
            recorded = _fields(step, fields or {})
            _require_documents(case, step.code)
            if recorded:
                case.outcome = {**case.outcome, step.code: recorded}
            back = case.outcome.get("_visit_return") if step.kind == "visit" else None
            if back:
                case.outcome = {k: v for k, v in case.outcome.items() if k != "_visit_return"}
                target = definition.step(back)
            else:
                target = definition.after(step.code)
                while target.kind == "visit" and case.outcome.get("_visited_" + target.code) and target.code != step.code:
                    target = definition.after(target.code)      # a visit already made on request is not repeated
            if step.kind == "visit":
                case.outcome = {**case.outcome, "_visited_" + step.code: now.isoformat()}
            _enter(case, target, now)
            kind, data = Kind.APPROVE, {"fields": recorded}
        elif action == "return":
            case.outcome = {**case.outcome, "_returned_from": step.code}
            case.step, case.status, case.desk = definition.first.code, Status.RETURNED, None
            case.step_entered_at, case.step_due_at, case.assignee = now, None, None
            case.status_note = note
            kind, data = Kind.RETURN, {}
        elif action == "reject":
            case.status, case.finished_at, case.status_note = Status.REFUSED, now, note
            case.desk, case.step_due_at, case.assignee = None, None, None
            kind, data = Kind.REJECT, {"fields": _fields(step, fields or {}, required=False)}
        else:  # site_visit
            visit = definition.visit_step()
            case.outcome = {**case.outcome, "_visit_return": step.code}
            _enter(case, visit, now)
            kind, data = Kind.SITE_VISIT, {}
        _save(case)
        _event(case, kind, by=by, desk=desk, before=before, note=note, documents=documents, data=data, now=now)
        if action == "return":
            _tell(case, "permits.returned", now)
        elif action == "reject":
            _tell(case, "permits.refused", now)
        else:
            _tell_step(case, definition, now)
    return case


def _fields(step: definitions.Step, given: dict, required: bool = True) -> dict:
    out, problems = {}, []
    for f in step.fields:
        value = given.get(f.code)
        value = value.strip() if isinstance(value, str) else value
        if value in (None, ""):
            if f.required and required:
                problems.append(f.name_en or f.code)
            continue
        if f.type == "number":
            try:
                value = float(str(value).replace(",", ""))
            except ValueError:
                raise BadParameter(_("%(field)s must be a number.") % {"field": f.name_en or f.code}) from None
            if not -1e9 < value < 1e9:
                raise BadParameter(_("%(field)s is out of range.") % {"field": f.name_en or f.code})
        elif f.type == "choice" and value not in f.choices:
            raise BadParameter(_("%(field)s must be one of %(choices)s.")
                               % {"field": f.name_en or f.code, "choices": ", ".join(f.choices)})
        elif f.type == "text":
            value = str(value)[:500]
        out[f.code] = value
    if problems:
        raise BadParameter(_("Fill in: %(fields)s.") % {"fields": ", ".join(problems)})
    return out


def resubmit(case: Case, *, by, revision: int, note: str = "", now: dt.datetime | None = None) -> Case:
    """The applicant sends a returned case back, corrected: it goes to the step that returned it; the history
    (the return, its reason, the earlier documents) stays."""
    _owned_by(case, by)
    now = now or timezone.now()
    with transaction.atomic():
        case = _locked(case, revision)
        if case.status != Status.RETURNED:
            raise CaseConflict(_("Only a returned case can be resubmitted."))
        definition = definition_of(case)
        _require_documents(case, definition.first.code)
        back = case.outcome.get("_returned_from") or definition.after(definition.first.code).code
        _require_documents(case, definition.steps[max(0, [s.code for s in definition.steps].index(back) - 1)].code)
        if definition.check != "none" and case.proposal:
            case.decision = check_proposal(case, case.proposal)
        before = (case.step, case.status)
        case.outcome = {k: v for k, v in case.outcome.items() if k != "_returned_from"}
        case.status_note = ""
        _enter(case, definition.step(back), now)
        _save(case)
        _event(case, Kind.RESUBMIT, by=by, before=before, note=(note or "").strip()[:2000], now=now)
        _tell_step(case, definition, now)
    return case


def withdraw(case: Case, *, by, revision: int, now=None) -> Case:
    _owned_by(case, by)
    now = now or timezone.now()
    with transaction.atomic():
        case = _locked(case, revision)
        if not (case.is_open or case.status == Status.DRAFT):
            raise CaseConflict(_("This case is finished: it cannot be withdrawn."))
        before = (case.step, case.status)
        case.status, case.finished_at, case.desk, case.step_due_at = Status.WITHDRAWN, now, None, None
        _save(case)
        _event(case, Kind.WITHDRAW, by=by, before=before, now=now)
    return case


def assign(case: Case, assignee, *, by, revision: int, now=None) -> Case:
    """Give the case to one member of its desk's staff (or to nobody)."""
    now = now or timezone.now()
    with transaction.atomic():
        case = _locked(case, revision)
        if not may_act(by, case):
            raise NotAllowed(_("Only staff at the desk that holds this case may assign it."))
        if assignee is not None and not case.desk.staff.filter(pk=assignee.pk).exists():
            raise BadParameter(_("Assign the case to someone at its desk."))
        case.assignee = assignee
        _save(case)
        _event(case, Kind.ASSIGN, by=by, desk=case.desk.code, now=now,
               data={"assignee": assignee.pk if assignee else None})
    return case


def comment(case: Case, note: str, *, by, internal: bool = True, now=None) -> CaseEvent:
    """A comment on the case: internal (staff only) or to the applicant (they are told)."""
    note = (note or "").strip()
    if not note:
        raise BadParameter(_("Write the comment."))
    staff = may_act(by, case) or (by is not None and by.is_authenticated and by.has_perm("permits.view_case"))
    if not staff and (by is None or case.applicant_id != by.pk):
        raise NotAllowed(_("Only the applicant and the permit office may comment on this case."))
    with transaction.atomic():
        event = _event(case, Kind.COMMENT, by=by, desk=case.desk.code if staff and case.desk else "",
                       note=note[:4000], internal=internal and staff, now=now)
        Case.objects.filter(pk=case.pk).update(updated_at=timezone.now())
    return event


# -- payment ------------------------------------------------------------------------------------------------------

def payment_recorded(reference: str, bill: str, amount: int, now=None) -> Case | None:
    """The fee bill of a case is paid (dues.api.bill_paid): the case moves on. Once, however often it is told."""
    if not reference.startswith("permits:"):
        return None
    now = now or timezone.now()
    with transaction.atomic():
        case = Case.objects.select_for_update().filter(public_id=reference.split(":", 1)[1]).first()
        if case is None or case.status != Status.AWAITING_PAYMENT or str(case.bill) != str(bill):
            return case
        definition = definition_of(case)
        before = (case.step, case.status)
        _enter(case, definition.after(case.step), now)
        _save(case)
        _event(case, Kind.PAYMENT, before=before, now=now, data={"bill": str(bill), "amount": amount})
        _tell_step(case, definition, now)
    return case


def on_bill_paid(sender, reference: str = "", bill: str = "", amount: int = 0, **kwargs) -> None:
    payment_recorded(reference, bill, amount)


# -- issuing ------------------------------------------------------------------------------------------------------

def _issue(case: Case, definition: definitions.Definition, now: dt.datetime) -> Issued:
    from permits import issuing

    return issuing.issue(case, definition, now)


# -- notices ------------------------------------------------------------------------------------------------------

def _context(case: Case, definition: definitions.Definition) -> dict:
    step = definition.step(case.step)
    labels = {}
    for language in ("fa", "en"):
        with translation.override(language):
            labels[language] = str(Status(case.status).label)
    return {"tracking_code": case.tracking_code or "", "case_type": definition.name,
            "case_type_en": definition.name_en or definition.name, "step": step.name,
            "step_en": step.name_en or step.name, "status": case.status, "status_fa": labels["fa"],
            "status_en": labels["en"], "note": case.status_note, "days": step.days,
            "amount": case.fee_total, "bill": str(case.bill or "")}


def _tell(case: Case, event: str, now: dt.datetime) -> None:
    definition = definition_of(case)
    recipient = Recipient(user_id=case.applicant_id, phone=case.applicant_phone, language=case.language)
    notify(event, recipient, _context(case, definition),
           key=f"permits:{case.pk}:{event}:{case.revision}")


def _tell_step(case: Case, definition: definitions.Definition, now: dt.datetime) -> None:
    """Entering a step tells the applicant (unless the step says not to); issuing makes the document."""
    step = definition.step(case.step)
    if step.kind == "issue":
        _issue(case, definition, now)
        _tell(case, "permits.issued", now)
    elif step.kind == "payment":
        _tell(case, "permits.payment_due", now)
    elif step.notice:
        _tell(case, "permits.step", now)


# -- finding a case -----------------------------------------------------------------------------------------------

def by_code(code: str, phone: str) -> Case:
    """The case with this tracking code whose applicant has this mobile (the public status page); NotFound for a
    mistyped code (the check digit), an unknown one or another mobile, without saying which."""
    code = (code or "").strip()
    if not codes.is_valid(code):
        raise NotFound(_("No case has this tracking code: check the digits."))
    case = Case.objects.select_related("case_type", "workflow", "desk").filter(tracking_code=code).first()
    if case is None or case.applicant_phone != phone:
        raise NotFound(_("No case with this tracking code and mobile number."))
    return case


def fresh_decision(case: Case) -> dict | None:
    """The eligibility decision for the case's proposal under today's rules (None when it cannot be made); shown
    beside the frozen one when the rulebook changed since submission."""
    if definition_of(case).check != "eligibility" or not case.proposal:
        return None
    try:
        return zoning_api.decide(case.parcel_id, case.proposal)
    except ApiError:
        return None


def days_left(case: Case, now=None) -> int | None:
    if case.step_due_at is None:
        return None
    return (case.step_due_at - (now or timezone.now())).days


def settings_value(name: str, default):
    return getattr(settings, name, default)
