"""The citizen's side of permits: the JSON API (start a draft case, save and check its proposal, the fee estimate,
submit, resubmit, withdraw; the public status by tracking code and mobile; an engineer's consent requests; the parcel
sheet's section) and the pages (apply for a parcel, the applicant's case, the public status page, the engineer's
page). Thin: request → parameters (common.params) → one call of permits.service / permits.consent → what the person
may see (permits/citizen_docs.py builds it from explicit fields).

Who: a citizen signed in with their mobile number (accounts); anyone else gets 401 `signin_needed` on the API and the
sign-in page on pages. A case is seen and changed by its applicant only (another person's case is "not found"). The
status page needs no sign-in: the tracking code and the applicant's mobile, rate-limited against guessing. POSTs need
the CSRF token (the `csrftoken` cookie sent back in `X-CSRFToken`)."""

from __future__ import annotations

import json
import uuid

from django.conf import settings
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import ratelimit
from accounts.audit import request_address
from accounts.decorators import SignInNeeded, citizen_of, citizen_required
from accounts.models import Citizen
from accounts.service import TooManyRequests, clean_mobile
from accounts.signin import parse_limits
from common import params
from common.edge import json_response
from common.errors import ApiError, BadParameter, NotFound
from common.i18n import is_persian
from parcels.models import LandUse, Parcel
from permits import citizen_docs, consent, service, sheet
from permits.models import Case, CaseType, Engineer

NOTE_MAX = 2000


# --- who is asking ---------------------------------------------------------------------------------------------------

def _citizen(request) -> Citizen | None:
    user = request.user
    return citizen_of(user)


def _require_citizen(request) -> Citizen:
    citizen = _citizen(request)
    if citizen is None:
        raise SignInNeeded(_("Sign in with your mobile number first."))
    return citizen


def _body(request) -> dict:
    """A POST's fields: JSON (parsed safely by common.params) or a form."""
    if request.content_type == "application/json":
        return params.json_object(request.body)
    return request.POST


def _own_case(request, case_id) -> Case:
    """The asking applicant's case; any other case (or none) is "not found", never "someone else's"."""
    case = (Case.objects.select_related("case_type", "workflow", "parcel", "desk", "engineer")
            .filter(public_id=case_id, applicant_id=request.user.pk).first()
            if request.user.is_authenticated else None)
    if case is None:
        raise NotFound(_("You have no case with this number."))
    return case


def _parcel(parcel_id: int) -> Parcel:
    parcel = Parcel.objects.filter(pk=parcel_id).first() if 0 < parcel_id < 2**63 else None
    if parcel is None:
        raise NotFound(_("No parcel with id %(id)s.") % {"id": parcel_id})
    return parcel


def _revision(body) -> int:
    return params.integer(body, "revision", required=True, min=0, max=2**31 - 1)


# --- JSON API: a case --------------------------------------------------------------------------------------------

@require_POST
def api_start(request):
    """A draft case of a type for a parcel (the applicant's draft of the same type and work is given back rather
    than a second one)."""
    _require_citizen(request)
    body = _body(request)
    code = params.text(body, "case_type", required=True, max_length=40)
    parcel = _parcel(params.integer(body, "parcel_id", required=True, min=1, max=params.ID_MAX))
    work = params.text(body, "work", max_length=40)
    case_type = CaseType.objects.filter(code=code, active=True).first()
    if case_type is None:
        raise BadParameter(_("There is no case type '%(code)s' taking applications.") % {"code": code})
    existing = (Case.objects.filter(case_type=case_type, parcel=parcel, applicant=request.user, work=work,
                                    status=Case.Status.DRAFT).order_by("-created_at").first())
    if existing is not None:
        return json_response(citizen_docs.api_case(existing))
    case = service.start(case_type, parcel, request.user, work=work)
    return json_response(citizen_docs.api_case(case), status=201)


@require_GET
def api_case(request, case_id):
    _require_citizen(request)
    return json_response(citizen_docs.api_case(_own_case(request, case_id)))


def _estimate(case: Case) -> dict:
    """The fee estimate, or what stops it (a figure missing): the form shows either."""
    try:
        return {**service.fee_estimate(case), "error": None}
    except ApiError as exc:
        return {"lines": [], "total": 0, "error": exc.message}


@require_POST
def api_proposal(request, case_id):
    """Save the draft's proposal and answer the engine's decision (eligibility: rule by rule with the rulebook and
    citations; subdivision: each part against the minimums) and the fee estimate. A bad field: 400 naming it."""
    _require_citizen(request)
    case = _own_case(request, case_id)
    body = params.json_object(request.body) if request.content_type == "application/json" else request.POST.dict()
    proposal = body.get("proposal", body)
    if not isinstance(proposal, dict):
        raise BadParameter(_("proposal must be an object of the proposal's fields."))
    answer = service.save_proposal(case, proposal, by=request.user)
    return json_response({"check": service.definition_of(case).check, "answer": answer,
                          "proposal": case.proposal, "fees": _estimate(case)})


@require_GET
def api_fees(request, case_id):
    _require_citizen(request)
    case = _own_case(request, case_id)
    return json_response(_estimate(case))


@require_POST
def api_submit(request, case_id):
    """Submit the draft: the decision is frozen, a tracking code given (and sent by SMS). Twice: the same case."""
    _require_citizen(request)
    case = service.submit(_own_case(request, case_id), by=request.user)
    return json_response(citizen_docs.api_case(case))


@require_POST
def api_resubmit(request, case_id):
    _require_citizen(request)
    case = _own_case(request, case_id)
    body = _body(request)
    case = service.resubmit(case, by=request.user, revision=_revision(body),
                            note=params.text(body, "note", max_length=NOTE_MAX))
    return json_response(citizen_docs.api_case(case))


@require_POST
def api_withdraw(request, case_id):
    _require_citizen(request)
    case = _own_case(request, case_id)
    case = service.withdraw(case, by=request.user, revision=_revision(_body(request)))
    return json_response(citizen_docs.api_case(case))


# --- the public status -------------------------------------------------------------------------------------------

def check_status_rate(request, code: str) -> None:
    """Count a status look-up against the per-address and per-code limits (429 past them): a mobile number cannot
    be found by trying them."""
    decision = ratelimit.hit({
        "permits-status-address": (request_address(request), parse_limits(settings.PERMITS_STATUS_RATE_PER_ADDRESS)),
        "permits-status-code": (code[:24], parse_limits(settings.PERMITS_STATUS_RATE_PER_CODE))})
    if not decision.allowed:
        raise TooManyRequests(_("Too many look-ups; try again in %(minutes)s minutes.")
                              % {"minutes": max(1, round(decision.retry_after / 60))}, decision.retry_after)


def _status_case(request, body) -> Case:
    code = params.ascii_digits(params.text(body, "code", required=True, max_length=40))
    code = code.replace(" ", "").replace("-", "")
    mobile = clean_mobile(params.text(body, "mobile", required=True, max_length=40))
    check_status_rate(request, code)
    return service.by_code(code, mobile)


@require_POST
def api_status(request):
    case = _status_case(request, _body(request))
    return json_response(citizen_docs.jsonable(citizen_docs.public_status(case)))


# --- the parcel sheet's section ----------------------------------------------------------------------------------

@never_cache   # it depends on who asks
@require_GET
def api_section(request, parcel_id):
    parcel = _parcel(parcel_id)
    response = json_response(sheet.build(parcel, request))
    patch_vary_headers(response, ["Cookie"])
    return response


# --- an engineer's consent ---------------------------------------------------------------------------------------

def _engineer(request) -> Engineer | None:
    return Engineer.objects.filter(user=request.user).first() if request.user.is_authenticated else None


@require_POST
def api_consent_ask(request):
    _require_citizen(request)
    parcel = _parcel(params.integer(_body(request), "parcel_id", required=True, min=1, max=params.ID_MAX))
    made = consent.ask(service.engineer_of(request.user), parcel)
    return json_response({"parcel_id": parcel.pk, "sent_to": [consent.mask_phone(c.owner_phone) for c in made],
                          "expires_at": made[0].expires_at.isoformat()}, status=201)


@require_POST
def api_consent_confirm(request):
    _require_citizen(request)
    body = _body(request)
    parcel = _parcel(params.integer(body, "parcel_id", required=True, min=1, max=params.ID_MAX))
    code = params.ascii_digits(params.text(body, "code", required=True, max_length=20))
    confirmed = consent.confirm(service.engineer_of(request.user), parcel, code)
    return json_response({"parcel_id": parcel.pk, "confirmed_at": confirmed.confirmed_at.isoformat(),
                          "expires_at": confirmed.expires_at.isoformat(),
                          "apply_url": reverse("permits:apply", args=[parcel.pk])})


# --- pages -------------------------------------------------------------------------------------------------------

def _lang() -> str:
    return "fa" if is_persian() else "en"


def _parcel_wgs84(parcel: Parcel) -> dict:
    geom = parcel.geom.transform(4326, clone=True)
    return json.loads(geom.geojson)


def _fill_config(case: Case, doc: dict) -> dict:
    base = f"/api/permits/cases/{case.public_id}"
    return {"lang": _lang(), "caseId": str(case.public_id), "revision": case.revision, "status": case.status,
            "check": doc["check"], "parcel": _parcel_wgs84(case.parcel) if doc["check"] == "subdivision" else None,
            "basemapUrl": settings.BASEMAP_URL, "basemapAttribution": settings.BASEMAP_ATTRIBUTION,
            "dateLocale": "fa-IR-u-ca-persian" if is_persian() else "en-CA",
            "urls": {"api": base, "proposal": base + "/proposal", "fees": base + "/fees", "submit": base + "/submit",
                     "resubmit": base + "/resubmit", "withdraw": base + "/withdraw",
                     "documents": base + "/documents", "case": reverse("permits:case", args=[case.public_id])}}


@never_cache
@ensure_csrf_cookie
@require_GET
@citizen_required
def apply_page(request, parcel_id):
    """Apply for a parcel: pick the case type (and kind of work), then fill the draft (`?case=`): the proposal with
    the engine's decision as one types, the documents, the fee estimate, submit."""
    parcel = _parcel(parcel_id)
    case_id = params.text(request.GET, "case", max_length=40)
    context = {"citizen": request.citizen, "parcel": parcel, "lang": _lang()}
    if case_id:
        try:
            case = _own_case(request, uuid.UUID(case_id))
        except ValueError:
            raise NotFound(_("You have no case with this number.")) from None
        if case.parcel_id != parcel.pk:
            return redirect(reverse("permits:apply", args=[case.parcel_id]) + f"?case={case.public_id}")
        if case.status not in (Case.Status.DRAFT, Case.Status.RETURNED):
            return redirect("permits:case", case_id=case.public_id)
        doc = citizen_docs.applicant_view(case)
        definition = service.definition_of(case)
        context.update({"case": case, "doc": doc, "config": _fill_config(case, doc), "definition": definition,
                        "demo": case.workflow.is_demo, "estimate": _estimate(case),
                        "land_uses": LandUse.objects.order_by("code"),
                        "fields": _proposal_fields(case.proposal),
                        "selected_use": case.proposal.get("land_use") or "residential",
                        "lines_json": json.dumps(case.proposal["lines"]) if case.proposal.get("lines") else ""})
        return render(request, "permits/citizen/apply.html", context)
    chosen = params.text(request.GET, "type", max_length=40)
    options = sheet.apply_options(request.user, parcel.pk)
    works = {}
    for case_type, workflow in service.open_types():
        works[case_type.code] = [{"code": w["code"], "name": citizen_docs.pick(w)}
                                 for w in service.definition_of(workflow).works]
    for option in options:
        option["works"] = works.get(option["code"], [])
    drafts = (Case.objects.filter(parcel=parcel, applicant=request.user,
                                  status__in=(Case.Status.DRAFT, Case.Status.RETURNED))
              .select_related("case_type").order_by("-created_at")[:20])
    context.update({"options": options, "chosen": chosen, "drafts": drafts,
                    "demo": any(o["demo"] for o in options), "engineer": service.engineer_of(request.user),
                    "config": {"lang": _lang(), "parcelId": parcel.pk,
                               "urls": {"start": reverse("permits:api_start"),
                                        "apply": reverse("permits:apply", args=[parcel.pk])}}})
    return render(request, "permits/citizen/apply.html", context)


PROPOSAL_INPUTS = (("floors", "numeric"), ("gross_floor_area", "decimal"), ("footprint_area", "decimal"),
                   ("units", "numeric"), ("parking_spaces", "numeric"), ("height", "decimal"))


def _proposal_fields(proposal: dict) -> list[dict]:
    from zoning import api as zoning_api

    return [{"name": name, "label": str(zoning_api.FIELD_LABELS[name]), "mode": mode,
             "value": proposal.get(name, "")} for name, mode in PROPOSAL_INPUTS]


@never_cache
@ensure_csrf_cookie
@require_GET
@citizen_required
def case_page(request, case_id):
    case = _own_case(request, case_id)
    if case.status == Case.Status.DRAFT:
        return redirect(reverse("permits:apply", args=[case.parcel_id]) + f"?case={case.public_id}")
    doc = citizen_docs.applicant_view(case)
    return render(request, "permits/citizen/case.html", {
        "citizen": request.citizen, "case": case, "doc": doc, "config": _fill_config(case, doc),
        "demo": case.workflow.is_demo})


@never_cache
@ensure_csrf_cookie
@require_http_methods(["GET", "POST"])
def status_page(request):
    """The public status page: the tracking code and the applicant's mobile → the steps, the desk holding the case
    and its days left (no names). A wrong pair says so without saying which half was wrong."""
    context = {"citizen": _citizen(request), "code": "", "mobile": ""}
    if request.method == "GET":
        return render(request, "permits/citizen/status.html", context)
    context["code"] = params.text(request.POST, "code", max_length=40)
    try:
        case = _status_case(request, request.POST)
    except ApiError as exc:  # a missing field, a mistyped code, no such pair, too many tries: said with the form
        context["error"] = exc.message
        response = render(request, "permits/citizen/status.html", context, status=exc.status)
        for name, value in exc.headers.items():
            response[name] = value
        return response
    context["status"] = citizen_docs.public_status(case)
    return render(request, "permits/citizen/status.html", context)


@never_cache
@ensure_csrf_cookie
@require_http_methods(["GET", "POST"])
@citizen_required
def engineer_page(request):
    """A licensed engineer registers their licence (verified by staff in the admin), asks an owner's consent for a
    parcel (a code by SMS to the owner's mobile on record) and types the code back; then applies for the parcel."""
    engineer = _engineer(request)
    context = {"citizen": request.citizen, "engineer": engineer, "message": "", "error": "",
               "parcel_value": params.text(request.GET, "parcel", max_length=40)}
    status = 200
    if request.method == "POST":
        action = params.choice(request.POST, "action", ("register", "ask", "confirm"))
        try:
            if action == "register":
                engineer = _register_engineer(request, engineer)
                context["message"] = _("Your licence is recorded. The municipality checks it; then you can apply "
                                       "for owners who consent.")
            elif action in ("ask", "confirm"):
                parcel = _find_parcel(params.text(request.POST, "parcel", required=True, max_length=40))
                context["parcel_value"] = parcel.renewal_code or str(parcel.pk)
                if action == "ask":
                    made = consent.ask(service.engineer_of(request.user), parcel)
                    context["message"] = _("A code was sent to the owner's mobile (%(phones)s). Ask the owner for "
                                           "it and type it below.") % {
                        "phones": ", ".join(consent.mask_phone(c.owner_phone) for c in made)}
                    context["confirm_parcel"] = parcel
                else:
                    consent.confirm(service.engineer_of(request.user), parcel,
                                    params.ascii_digits(params.text(request.POST, "code", required=True,
                                                                    max_length=20)))
                    context["message"] = _("The owner's consent is recorded: you may apply for this parcel.")
                    context["apply_url"] = reverse("permits:apply", args=[parcel.pk])
            else:
                raise BadParameter(_("Choose what to do."))
        except ApiError as exc:
            context["error"], status = exc.message, exc.status
            if action == "confirm":
                context["confirm_parcel"] = Parcel.objects.filter(
                    pk=_parcel_or_none(request.POST.get("parcel", ""))).first()
    context["engineer"] = engineer
    context["consents"] = consent.consents_of(engineer) if engineer else []
    return render(request, "permits/citizen/engineer.html", context, status=status)


def _register_engineer(request, engineer: Engineer | None) -> Engineer:
    licence = params.ascii_digits(params.text(request.POST, "licence_number", required=True, max_length=30)).strip()
    full_name = params.text(request.POST, "full_name", required=True, max_length=120).strip()
    if not licence or not full_name:
        raise BadParameter(_("Give your licence number and your full name."))
    taken = Engineer.objects.filter(licence_number=licence).exclude(user=request.user).exists()
    if taken:
        raise BadParameter(_("This licence number is registered to another account: ask the municipality."))
    if engineer is None:
        return Engineer.objects.create(user=request.user, licence_number=licence, full_name=full_name)
    if engineer.verified_at and (engineer.licence_number != licence or engineer.full_name != full_name):
        raise BadParameter(_("Your licence was verified: ask the municipality to change it."))
    engineer.licence_number, engineer.full_name = licence, full_name
    engineer.save(update_fields=["licence_number", "full_name"])
    return engineer


def _parcel_or_none(value: str) -> int | None:
    try:
        return _find_parcel(value).pk
    except ApiError:
        return None


def _find_parcel(value: str) -> Parcel:
    """A parcel by its renewal code (as people know it) or its id."""
    value = params.ascii_digits(value or "").strip()
    if not value:
        raise BadParameter(_("Give the parcel's renewal code."))
    parcel = Parcel.objects.filter(renewal_code=value).first()
    if parcel is None and value.isdigit() and len(value) < 18:
        parcel = Parcel.objects.filter(pk=int(value)).first()
    if parcel is None:
        raise NotFound(_("No parcel has the renewal code %(code)s.") % {"code": value})
    return parcel

