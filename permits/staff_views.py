"""The permit office's side (staff at desks): the inbox per desk (a list and a map, filters, SLA colours, assignment;
its JSON and GeoJSON), a case's page (the parcel and its envelope, the frozen eligibility decision beside a fresh one
when the rules changed, the documents with a viewer, the history, comments, the site-visit form, the step's actions)
and the city-wide SLA report (HTML and CSV).

Who: staff with permits.view_case see the pages; the inbox lists the cases held by the desks they sit at
(Desk.staff), every desk's with permits.act_at_any_desk. Every change goes through permits.service (or
permits.visits), each naming the case's `revision` it was decided on: a colleague who acted meanwhile makes it 409
(nothing written), an action the step does not allow is 409 too, staff not at the desk 403. The applicant's mobile is
masked unless asked for on the case's page, which records the viewing (parcels.privacy.record_access)."""

from __future__ import annotations

import datetime as dt
import functools

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.gis.db.models.functions import PointOnSurface, Transform
from django.db.models import Exists, F, FloatField, Func, OuterRef, Q
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import staff_otp_required
from accounts.signin import is_mobile
from common import municipality, params
from common.edge import json_response
from common.errors import ApiError, BadParameter, Forbidden, NotFound
from common.i18n import is_persian
from common.templatetags.persian import digits, localized_date
from common.text import masked
from parcels.models import LandUse
from parcels.privacy import record_access
from permits import service, sla, visits
from permits.models import Case, CaseEvent, CaseType, Desk, Document, SiteVisit, Workflow
from zoning import api as zoning_api

PAGE_SIZE = 50
COUNT_CAP = 1000       # counts above this say "more than 1,000" (counting a big desk's every row costs more)
MAP_LIMIT = 2000       # features on the inbox's map
STATUS_FILTERS = ("open", "all", *[s for s in Case.Status.values if s != "draft"])
OPEN = ("open", "returned", "awaiting_payment")
ASSIGNED = ("", "me", "none")
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif")


# --- who -------------------------------------------------------------------------------------------------------------

def _check_staff(user) -> None:
    if not (user.has_perm("permits.view_case") or user.has_perm("permits.act_at_any_desk")):
        raise Forbidden(_("Only the permit office's staff may see this."))


def sees_every_desk(user) -> bool:
    return user.has_perm("permits.act_at_any_desk")


def desks_of(user):
    """The desks whose inbox `user` sees: those they sit at (every desk with act_at_any_desk)."""
    desks = Desk.objects.filter(active=True)
    return desks if sees_every_desk(user) else desks.filter(staff=user)


def _staff_case(user, case_id) -> Case:
    _check_staff(user)
    case = (Case.objects.select_related("case_type", "workflow", "parcel", "desk", "assignee", "applicant",
                                        "engineer")
            .filter(public_id=case_id).exclude(status=Case.Status.DRAFT).first())
    if case is None:
        raise NotFound(_("No permit case has this id."))
    return case


# --- the inbox -------------------------------------------------------------------------------------------------------

def _filters(get) -> dict:
    overdue = params.choice(get, "overdue", ("", "0", "1", "true", "false"), default="")
    return {
        "desk": params.text(get, "desk", max_length=40).strip(),
        "case_type": params.text(get, "case_type", max_length=40).strip(),
        "step": params.text(get, "step", max_length=40).strip(),
        "status": params.choice(get, "status", STATUS_FILTERS, default="open"),
        "overdue": overdue in ("1", "true"),
        "assigned": params.choice(get, "assigned", ASSIGNED, default=""),
        "q": params.ascii_digits(params.text(get, "q", max_length=24)).replace("-", "").replace(" ", ""),
        "after": _cursor(params.text(get, "after", max_length=60)),
    }


def _cursor(text: str):
    """The keyset cursor of the next page: "<due time in epoch seconds, or n>:<case id>"."""
    if not text:
        return None
    due, _sep, pk = text.partition(":")
    try:
        pk = int(pk)
        due = None if due == "n" else dt.datetime.fromtimestamp(float(due), tz=dt.timezone.utc)
    except (ValueError, OverflowError, OSError):
        raise BadParameter(_("after must be the cursor a page gave (its `next`).")) from None
    if not 0 < pk < 2**63:
        raise BadParameter(_("after must be the cursor a page gave (its `next`)."))
    return due, pk


def _cursor_of(case: Case) -> str:
    due = "n" if case.step_due_at is None else f"{case.step_due_at.timestamp():.6f}"
    return f"{due}:{case.pk}"


def visible_cases(user, status: str = "open"):
    """The cases `user` sees in the inbox: held by their desks (open ones); for the others (finished, returned,
    awaiting payment) those their desks acted on. Every case with act_at_any_desk. Never drafts."""
    _check_staff(user)
    cases = Case.objects.exclude(status=Case.Status.DRAFT)
    if sees_every_desk(user):
        return cases
    desks = list(Desk.objects.filter(staff=user).values_list("pk", "code"))
    held = Q(desk_id__in=[pk for pk, _code in desks])
    if status == "open":
        return cases.filter(held)
    acted = Exists(CaseEvent.objects.filter(case=OuterRef("pk"), desk__in=[code for _pk, code in desks]))
    return cases.filter(held | acted)


def filtered(user, f: dict, now: dt.datetime):
    cases = visible_cases(user, f["status"])
    if f["status"] == "open":
        # a desk holds only cases in progress (returned and unpaid ones wait for the applicant): one status, so
        # that the inbox index (desk, status, step_due_at) gives the page in order
        cases = cases.filter(status__in=OPEN) if sees_every_desk(user) else cases.filter(status=Case.Status.OPEN)
    elif f["status"] != "all":
        cases = cases.filter(status=f["status"])
    if f["desk"]:
        desk = Desk.objects.filter(code=f["desk"]).values_list("pk", flat=True).first()
        cases = cases.filter(desk_id=desk) if desk else cases.none()
    if f["case_type"]:
        cases = cases.filter(case_type__code=f["case_type"])
    if f["step"]:
        cases = cases.filter(step=f["step"])
    if f["overdue"]:
        cases = cases.filter(status__in=OPEN, step_due_at__lt=now)
    if f["assigned"] == "me":
        cases = cases.filter(assignee=user)
    elif f["assigned"] == "none":
        cases = cases.filter(assignee__isnull=True)
    if f["q"]:
        cases = cases.filter(tracking_code=f["q"])
    return cases


def _after(cases, cursor):
    if cursor is None:
        return cases
    due, pk = cursor
    if due is None:
        return cases.filter(step_due_at__isnull=True, pk__gt=pk)
    return cases.filter(Q(step_due_at__gt=due) | Q(step_due_at=due, pk__gt=pk) | Q(step_due_at__isnull=True))


def _capped_count(cases) -> int:
    return cases.order_by().values("pk")[:COUNT_CAP + 1].count()


def _name(obj, field="name"):
    if obj is None:
        return None
    return getattr(obj, field) if is_persian() else (getattr(obj, f"{field}_en", "") or getattr(obj, field))


def _user_label(user) -> str | None:
    """A member of staff by user name; a citizen's user name is their mobile: masked."""
    if user is None:
        return None
    return masked(user.username) if is_mobile(user.username) else user.username


def _step_label(case: Case, code: str) -> str:
    try:
        return service.step_name(service.definition_of(case), code)
    except (KeyError, ValueError):
        return code


def inbox_item(case: Case, now: dt.datetime) -> dict:
    """One case in the inbox, JSON-ready: no personal data (no applicant, no mobile)."""
    lon, lat = getattr(case, "lon", None), getattr(case, "lat", None)
    return {
        "id": str(case.public_id),
        "tracking_code": case.tracking_code,
        "url": _case_url(case.public_id),
        "case_type": {"code": case.case_type.code, "name": _name(case.case_type)},
        "work": case.work,
        "step": {"code": case.step, "name": _step_label(case, case.step)},
        "desk": {"code": case.desk.code, "name": _name(case.desk)} if case.desk else None,
        "status": case.status,
        "status_label": str(Case.Status(case.status).label),
        "sla": sla.state(case.status, case.step_due_at, now),
        "due_at": case.step_due_at.isoformat() if case.step_due_at else None,
        "days_left": service.days_left(case, now),
        "submitted_at": case.submitted_at.isoformat() if case.submitted_at else None,
        "assignee": _user_label(case.assignee),
        "renewal_code": getattr(case, "renewal_code", None) or "",
        "lon": round(lon, 7) if lon is not None else None,
        "lat": round(lat, 7) if lat is not None else None,
        "revision": case.revision,
    }


def _page_query(cases):
    """The page's rows: the case's own columns, its parcel's renewal code and a point on it (WGS84). The small tables
    (case types, desks, workflows, users) are joined in Python (_joined): fewer joins, a quicker plan."""
    return (cases.only("id", "public_id", "tracking_code", "work", "step", "status", "step_due_at", "submitted_at",
                       "revision", "case_type_id", "workflow_id", "desk_id", "assignee_id", "parcel_id")
            .annotate(lon=Func(Transform(PointOnSurface("parcel__geom"), 4326), function="ST_X", output_field=FloatField()),
                      lat=Func(Transform(PointOnSurface("parcel__geom"), 4326), function="ST_Y", output_field=FloatField()),
                      renewal_code=F("parcel__renewal_code")))   # numbers, not a GEOS point per row


def _workflow(pk: int) -> Workflow:
    """A workflow version's id and checksum (enough for service.definition_of); versions are never changed."""
    return _workflow_of(municipality.current().database, pk)


@functools.lru_cache(maxsize=256)
def _workflow_of(database: str, pk: int) -> Workflow:  # per municipality: each database numbers its own
    return Workflow.objects.only("id", "sha256").get(pk=pk)


def _case_url(public_id) -> str:
    return _CASE_URL().replace("00000000-0000-0000-0000-000000000000", str(public_id))


@functools.lru_cache(maxsize=1)
def _CASE_URL() -> str:
    return reverse("permits:staff_case", args=["00000000-0000-0000-0000-000000000000"])


def _joined(rows: list[Case]) -> list[Case]:
    types = {t.pk: t for t in CaseType.objects.all()}
    desks = {d.pk: d for d in Desk.objects.all()}
    workflows = {pk: _workflow(pk) for pk in {c.workflow_id for c in rows}}
    users = {u.pk: u for u in get_user_model().objects.filter(pk__in={c.assignee_id for c in rows if c.assignee_id})
             .only("id", "username")}
    for case in rows:
        case.case_type = types[case.case_type_id]
        case.workflow = workflows[case.workflow_id]
        case.desk = desks.get(case.desk_id)
        case.assignee = users.get(case.assignee_id)
    return rows


def inbox(user, f: dict, now: dt.datetime | None = None) -> dict:
    """A page of the inbox, the most pressing first (by the step's due time), keyset-paged (`next`: the cursor of
    the following page), with the count (capped) and the overdue count under the same filters."""
    now = now or timezone.now()
    cases = filtered(user, f, now)
    rows = _joined(list(_page_query(_after(cases, f["after"])).order_by("step_due_at", "id")[:PAGE_SIZE + 1]))
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    count = _capped_count(cases)
    overdue = _capped_count(cases.filter(status__in=OPEN, step_due_at__lt=now)) if not f["overdue"] else count
    return {"count": min(count, COUNT_CAP), "count_capped": count > COUNT_CAP, "overdue": min(overdue, COUNT_CAP),
            "page_size": PAGE_SIZE, "next": _cursor_of(rows[-1]) if more else None,
            "results": [inbox_item(c, now) for c in rows]}


@staff_otp_required
@require_GET
def inbox_json(request):
    return json_response(inbox(request.user, _filters(request.GET)))


@staff_otp_required
@require_GET
def inbox_map(request):
    """The inbox's cases (same filters, the first MAP_LIMIT by due time) as GeoJSON points on their parcels, with
    the properties of the protected layer permit_cases (no personal data)."""
    f = _filters(request.GET)
    now = timezone.now()
    cases = _joined(list(_page_query(filtered(request.user, f, now)).order_by("step_due_at", "id")[:MAP_LIMIT]))
    features = []
    for case in cases:
        item = inbox_item(case, now)
        if item["lon"] is None:
            continue
        features.append({"type": "Feature", "id": item["id"],
                         "geometry": {"type": "Point", "coordinates": [item["lon"], item["lat"]]},
                         "properties": {k: item[k] for k in ("tracking_code", "url", "status", "sla", "due_at")}
                         | {"case_type": item["case_type"]["name"], "step": item["step"]["name"],
                            "desk": item["desk"]["name"] if item["desk"] else None}})
    return json_response({"type": "FeatureCollection", "features": features})


def _map_config() -> dict:
    from layers.geojson import city_extent

    bbox = (city_extent() or {}).get("bbox")
    if bbox and all(v is not None for v in bbox):
        center = [(bbox[1] + bbox[3]) / 2, (bbox[0] + bbox[2]) / 2]
    else:
        center = list(settings.LEAFLET_CONFIG["DEFAULT_CENTER"][:2])
    return {"basemap_url": settings.BASEMAP_URL, "basemap_attribution": settings.BASEMAP_ATTRIBUTION,
            "center": center, "colours": sla.COLOURS}


_ROW = ('<tr class="sla-{sla}" data-code="{code}" data-sla="{sla}" data-id="{id}"><td><span class="sla-dot sla-{sla}">'
        '</span><a href="{url}"><bdi dir="ltr">{shown_code}</bdi></a></td><td>{case_type}</td><td>{step}</td>'
        '<td>{desk}</td><td>{due}</td><td>{assignee}</td><td><bdi dir="ltr">{renewal}</bdi></td></tr>')


def rows_html(results: list[dict]):
    """The inbox's table rows, made in Python (format_html escapes every value): fifty rows through the template
    language cost more than the page's SQL."""
    rows = []
    for c in results:
        step = c["step"]["name"] + (f" ({c['status_label']})" if c["status"] != "open" else "")
        due = format_html("<bdi>{}</bdi>", localized_date(c["due_at"], "time")) if c["due_at"] else "—"
        rows.append(format_html(_ROW, sla=c["sla"], code=c["tracking_code"], id=c["id"], url=c["url"],
                                shown_code=digits(c["tracking_code"]), case_type=c["case_type"]["name"], step=step,
                                desk=(c["desk"] or {}).get("name") or "—", due=due, assignee=c["assignee"] or "—",
                                renewal=digits(c["renewal_code"]) or "—"))
    return mark_safe("".join(rows))   # each row made by format_html above


@staff_otp_required
@require_GET
def inbox_page(request):
    f = _filters(request.GET)
    data = inbox(request.user, f)
    query = request.GET.copy()
    query.pop("after", None)
    desks = desks_of(request.user).order_by("code")
    types = CaseType.objects.order_by("order", "code")
    steps = {}
    for case_type, workflow in service.open_types():
        if f["case_type"] and case_type.code != f["case_type"]:
            continue
        definition = service.definition_of(workflow)
        for step in definition.steps:
            if step.kind in ("review", "visit") and step.code not in steps:
                steps[step.code] = service.step_name(definition, step.code)
    return render(request, "permits/staff/inbox.html", {
        "data": data, "rows_html": rows_html(data["results"]), "filters": f, "desks": desks, "types": types,
        "steps": sorted(steps.items()),
        "every_desk": sees_every_desk(request.user),
        "status_choices": [(s, label) for s, label in Case.Status.choices if s != "draft"],
        "query": query.urlencode(), "view": params.choice(request.GET, "view", ("list", "map"), default="list"),
        "map_config": {**_map_config(), "api": reverse("permits:staff_inbox_map")},
    })


# --- one case --------------------------------------------------------------------------------------------------------

def document_url(doc_id: int) -> str:
    """The documents part's inline view of a document (permits:document)."""
    try:
        return reverse("permits:document", args=[doc_id])
    except NoReverseMatch:     # the documents part not installed yet: its contracted path
        return f"/permits/documents/{doc_id}/"


def _viewer(doc: Document) -> str:
    if doc.content_type == "application/pdf":
        return "pdf"
    if doc.content_type in IMAGE_TYPES:
        return "image"
    return "file"


def _documents(case: Case) -> list[dict]:
    definition = service.definition_of(case)
    names = {}
    for d in definition.documents:
        names[d.code] = d.name if is_persian() or not d.name_en else d.name_en
    names.setdefault(visits.PHOTO_KIND, _("Site photo"))
    docs = Document.objects.filter(case=case).select_related("uploaded_by").order_by("kind", "-version", "-id")
    superseded = set(Document.objects.filter(case=case, supersedes__isnull=False)
                     .values_list("supersedes_id", flat=True))
    return [{"doc": d, "url": document_url(d.pk), "viewer": _viewer(d), "kind_name": names.get(d.kind, d.kind),
             "current": d.pk not in superseded, "uploader": _user_label(d.uploaded_by)} for d in docs]


def _events(case: Case) -> list[dict]:
    desks = {d.code: _name(d) for d in Desk.objects.all()}
    kinds = dict(CaseEvent.Kind.choices)
    statuses = dict(Case.Status.choices)
    out = []
    for e in CaseEvent.objects.filter(case=case).select_related("actor").order_by("at", "id"):
        out.append({"event": e, "kind": kinds.get(e.kind, e.kind), "actor": _user_label(e.actor),
                    "desk": desks.get(e.desk, e.desk), "from_step": _step_label(case, e.from_step) if e.from_step
                    else "", "to_step": _step_label(case, e.to_step) if e.to_step else "",
                    "to_status": statuses.get(e.to_status, ""), "documents": [document_url(d) for d in e.documents],
                    "fields": (e.data or {}).get("fields") or {}})
    return out


def decision_changes(frozen: dict | None, fresh: dict | None) -> dict | None:
    """The frozen decision beside today's when the rules changed since: both rulebooks and the checks whose result
    (status or limit) changed. None when the rules are the same or there is nothing to compare."""
    if not frozen or not fresh:
        return None
    before = {c.get("key"): c for c in frozen.get("checks", [])}
    after = {c.get("key"): c for c in fresh.get("checks", [])}
    changed = []
    for key in [*before, *[k for k in after if k not in before]]:
        old, new = before.get(key), after.get(key)
        if old is None or new is None or old.get("status") != new.get("status") or old.get("limit") != new.get("limit"):
            changed.append({"key": key, "title": _check_title(new or old), "before": old, "after": new})
    if frozen.get("rulebook") == fresh.get("rulebook") and not changed and frozen.get("status") == fresh.get("status"):
        return None
    return {"frozen_rulebook": frozen.get("rulebook"), "fresh_rulebook": fresh.get("rulebook"),
            "frozen_status": frozen.get("status"), "fresh_status": fresh.get("status"), "changed": changed,
            "fresh": fresh}


def _check_title(check: dict) -> str:
    return (check.get("title_fa") if is_persian() else check.get("title_en")) or check.get("key", "")


def _checks(decision: dict | None) -> list[dict]:
    return [{**c, "title": _check_title(c)} for c in (decision or {}).get("checks", [])]


def _parcel_features(case: Case) -> dict:
    """The parcel (and, from zoning, its envelope and road-widening strip) as GeoJSON in WGS84."""
    try:
        return zoning_api.envelope_features(case.parcel_id)
    except ApiError:
        geom = case.parcel.geom.transform(4326, clone=True)
        import json

        return {"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"kind": "parcel"}, "geometry": json.loads(geom.geojson)}]}


def _assignable(case: Case):
    if case.desk is None:
        return get_user_model().objects.none()
    return case.desk.staff.filter(is_active=True).order_by("username")


def case_state(case: Case, user, now=None) -> dict:
    """The case as its staff page's actions see it (JSON-ready)."""
    now = now or timezone.now()
    definition = service.definition_of(case)
    may = service.may_act(user, case)
    actions = list(definition.actions_at(case.step)) if may and case.status == Case.Status.OPEN else []
    return {"id": str(case.public_id), "tracking_code": case.tracking_code, "status": case.status,
            "status_label": str(Case.Status(case.status).label), "step": case.step,
            "step_name": _step_label(case, case.step), "desk": case.desk.code if case.desk else None,
            "revision": case.revision, "sla": sla.state(case.status, case.step_due_at, now),
            "due_at": case.step_due_at.isoformat() if case.step_due_at else None,
            "assignee": _user_label(case.assignee), "actions": actions, "may_act": may,
            "status_note": case.status_note}


def proposal_rows(case: Case) -> list[tuple[str, object]]:
    """The proposal as people read it: each field's label (the engineer form's), the land use's name."""
    rows = []
    for key in zoning_api.PROPOSAL_FIELDS:
        value = case.proposal.get(key)
        if value in (None, ""):
            continue
        if key == "land_use":
            use = LandUse.objects.filter(code=value).first()
            value = (use.name_fa if is_persian() or not use.name_en else use.name_en) if use else value
        rows.append((str(zoning_api.FIELD_LABELS.get(key, key)), value))
    return rows


def outcome_rows(case: Case, definition) -> list[tuple[str, list[tuple[str, object]]]]:
    """What each step recorded, by the step's and the fields' names (codes only for a step no longer defined)."""
    rows = []
    for step_code, values in case.outcome.items():
        if step_code.startswith("_") or not isinstance(values, dict):
            continue
        try:
            step = definition.step(step_code)
        except KeyError:
            rows.append((step_code, list(values.items())))
            continue
        labels = {f.code: (f.name if is_persian() or not f.name_en else f.name_en) for f in step.fields}
        rows.append((service.step_name(definition, step_code),
                     [(labels.get(k, k), v) for k, v in values.items()]))
    return rows


@staff_otp_required
@require_GET
def case_page(request, case_id):
    case = _staff_case(request.user, case_id)
    now = timezone.now()
    definition = service.definition_of(case)
    state = case_state(case, request.user, now)
    step = definition.step(case.step)
    fresh = service.fresh_decision(case) if case.decision else None
    show_contact = params.choice(request.GET, "contact", ("", "0", "1"), default="") == "1"
    context = {
        "case": case, "state": state, "definition": definition, "step": step,
        "case_type_name": _name(case.case_type), "desk_name": _name(case.desk),
        "work_name": next((w.get("name") if is_persian() else (w.get("name_en") or w.get("name"))
                           for w in definition.works if w.get("code") == case.work), case.work),
        "sla": state["sla"], "days_left": service.days_left(case, now),
        # whole days past the due time (timedelta.days floors: -3 days 1 hour is -4 days left but 3 days over)
        "days_over": (now - case.step_due_at).days if case.step_due_at and case.step_due_at < now else 0,
        "frozen_checks": _checks(case.decision), "changes": decision_changes(case.decision, fresh),
        "documents": _documents(case),
        "missing": [d.name if is_persian() or not d.name_en else d.name_en
                    for d in service.missing_documents(case, case.step)] if case.status == "open" else [],
        "events": _events(case),
        "visits": SiteVisit.objects.filter(case=case).select_related("inspector").prefetch_related("photos")
                  .order_by("at"),
        "step_fields": [{"code": f.code, "type": f.type, "choices": f.choices, "required": f.required,
                         "label": f.name if is_persian() or not f.name_en else f.name_en} for f in step.fields],
        "assignable": _assignable(case),
        "is_visit_step": step.kind == "visit", "is_inspection": definition.issues == "completion_certificate",
        "phone": case.applicant_phone if show_contact else masked(case.applicant_phone),
        "show_contact": show_contact,
        "outcome": outcome_rows(case, definition), "proposal_rows": proposal_rows(case),
        "parcel_features": _parcel_features(case),
        "map_config": _map_config(),
        "urls": {"act": reverse("permits:staff_act", args=[case.public_id]),
                 "assign": reverse("permits:staff_assign", args=[case.public_id]),
                 "comment": reverse("permits:staff_comment", args=[case.public_id]),
                 "visit": reverse("permits:staff_visit", args=[case.public_id]),
                 "state": reverse("permits:staff_case_json", args=[case.public_id])},
    }
    response = render(request, "permits/staff/case.html", context)
    if show_contact:     # the applicant's mobile in full: recorded as a personal-data access
        record_access(request, "permit_case_contact", parcel=case.parcel, objects=[case])
    return response


@staff_otp_required
@require_GET
def case_json(request, case_id):
    case = _staff_case(request.user, case_id)
    return json_response(case_state(case, request.user))


# --- actions (JSON) --------------------------------------------------------------------------------------------------

def _body(request) -> dict:
    if request.content_type == "application/json":
        return params.json_object(request.body)
    return request.POST


def _revision(data) -> int:
    revision = params.integer(data, "revision", min=0, max=2**31 - 1)
    if revision is None:
        raise BadParameter(_("revision is required: the case's revision your decision was made on."))
    return revision


def _action_fields(data) -> dict:
    fields = data.get("fields") if hasattr(data, "get") else None
    if fields is None:   # a form: field_<code>
        fields = {k[6:]: v for k, v in data.items() if k.startswith("field_")}
    if not isinstance(fields, dict):
        raise BadParameter(_("fields must be an object of the step's fields."))
    return {str(k)[:40]: params.storable(v, "fields")[:500] if isinstance(v, str) else v
            for k, v in list(fields.items())[:40] if isinstance(v, (str, int, float))}


@staff_otp_required
@require_POST
def act(request, case_id):
    case = _staff_case(request.user, case_id)
    data = _body(request)
    action = params.choice(data, "action", ("approve", "return", "reject", "site_visit"))
    if action is None:
        raise BadParameter(_("action is required: approve, return, reject or site_visit."))
    revision = _revision(data)
    note = params.text(data, "note", max_length=2000)
    case = service.act(case, action, by=request.user, revision=revision, note=note, fields=_action_fields(data))
    return json_response(case_state(case, request.user))


@staff_otp_required
@require_POST
def assign(request, case_id):
    case = _staff_case(request.user, case_id)
    data = _body(request)
    revision = _revision(data)
    value = data.get("assignee")
    assignee = None
    if value not in (None, ""):
        if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).isdigit() \
                or not 0 < int(value) < 2**31:
            raise BadParameter(_("assignee must be the id of a member of staff."))
        assignee = get_user_model().objects.filter(pk=int(value), is_active=True).first()
        if assignee is None:
            raise BadParameter(_("Assign the case to someone at its desk."))
    if case.desk is None:
        raise service.CaseConflict(_("No desk holds this case now: there is no one to assign it to."))
    case = service.assign(case, assignee, by=request.user, revision=revision)
    return json_response(case_state(case, request.user))


@staff_otp_required
@require_POST
def comment(request, case_id):
    case = _staff_case(request.user, case_id)
    data = _body(request)
    note = params.text(data, "note", max_length=4000)
    internal = data.get("internal", True)
    internal = internal if isinstance(internal, bool) else str(internal).lower() not in ("0", "false", "no", "")
    event = service.comment(case, note, by=request.user, internal=internal)
    return json_response({"id": event.pk, "at": event.at.isoformat(), "internal": event.internal,
                          "note": event.note}, status=201)


@staff_otp_required
@require_POST
def visit(request, case_id):
    case = _staff_case(request.user, case_id)
    data = request.POST
    point = visits.point_from(params.number(data, "lon", min=-180, max=180),
                              params.number(data, "lat", min=-90, max=90))
    matches = params.choice(data, "matches_permit", ("", "true", "false"), default="")
    findings = visits.check(case, by=request.user, findings=params.text(data, "findings", max_length=4000),
                            point=point)
    photos = visits.add_photos(case, request.FILES.getlist("photos"), by=request.user)
    found = visits.record(case, by=request.user, findings=findings, point=point,
                          matches_permit=None if matches == "" else matches == "true", photos=photos)
    return json_response({"id": found.pk, "at": found.at.isoformat(), "photos": [document_url(p.pk) for p in photos],
                          "matches_permit": found.matches_permit}, status=201)


# --- the SLA report --------------------------------------------------------------------------------------------------

def _sla_data(user) -> dict:
    _check_staff(user)
    data = sla.report()
    types = {t.code: _name(t) for t in CaseType.objects.all()}
    desks = {d.code: _name(d) for d in Desk.objects.all()}
    steps = {}
    for case_type, workflow in [(t, t.current()) for t in CaseType.objects.all()]:
        if workflow is not None:
            definition = service.definition_of(workflow)
            for s in definition.steps:
                steps[(case_type.code, s.code)] = service.step_name(definition, s.code)
    for row in data["steps"]:
        row["case_type_name"] = types.get(row["case_type"], row["case_type"])
        row["step_name"] = steps.get((row["case_type"], row["step"]), row["step"])
        row["desk_name"] = desks.get(row["desk"], "") if row["desk"] else ""
    for row in data["issued"]:
        row["case_type_name"] = types.get(row["case_type"], row["case_type"])
    return data


@staff_otp_required
@require_GET
def sla_page(request):
    data = _sla_data(request.user)
    return render(request, "permits/staff/sla.html", {"data": data})


@staff_otp_required
@require_GET
def sla_csv(request):
    data = _sla_data(request.user)
    response = HttpResponse(sla.as_csv(data), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="permits-sla.csv"'
    return response
