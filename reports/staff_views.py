"""The staff side of reports: the inbox (a map and a list per department, SLA colours, counts per status; its JSON)
and a report's staff page (everything about it, the reporter's number, recorded as a personal-data access; the
actions of the workflow; the parcel sheet's sections for reports about a parcel).

Who: staff with reports.handle_report see the reports of their departments (Department.staff), with
reports.handle_all_reports every report. Every change goes through reports.service (the workflow decides: 409
`status_conflict` out of order, 403 for another department's staff, 400 for a rejection without its reason); nothing
is written on a GET but the record of who saw a reporter's number (parcels.privacy.record_access)."""

from __future__ import annotations

import datetime as dt
import math

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import staff_otp_required
from accounts.signin import is_mobile
from common import params
from common.edge import json_response
from common.errors import ApiError, BadParameter, Forbidden
from common.geo import box_sql, clip_box
from common.i18n import is_persian
from common.text import masked
from parcels.models import District
from parcels.privacy import owners_named_by, record_access
from reports.public import base_layers, map_center
from reports import public, service, workflow
from reports.models import Category, Department, Event, Follower, Photo, Report

PAGE_SIZE = 50
DUE_SOON = dt.timedelta(hours=24)  # an open report due within this is "due soon" (amber); past its due time: overdue

# SLA states (the CSS classes sla-<state> on markers and rows; the colours in reports/static/reports/staff.css)
ON_TIME, DUE_SOON_STATE, OVERDUE, FINISHED = "on_time", "due_soon", "overdue", "finished"
SLA_COLOURS = {ON_TIME: "#2e7d32", DUE_SOON_STATE: "#f9a825", OVERDUE: "#c62828", FINISHED: "#757575"}
STATUS_FILTERS = ("open", "all", *workflow.STATUSES)


def sla_state(status: str, due_at: dt.datetime, now: dt.datetime) -> str:
    """on_time / due_soon (due within DUE_SOON) / overdue (past due) for an open report; finished for the others."""
    if not workflow.is_open(status):
        return FINISHED
    if due_at < now:
        return OVERDUE
    if due_at - now <= DUE_SOON:
        return DUE_SOON_STATE
    return ON_TIME


# --- who sees what ------------------------------------------------------------------------------------------------

def _check_handler(user) -> None:
    if not (user.has_perm("reports.handle_report") or user.has_perm("reports.handle_all_reports")):
        raise Forbidden(_("Only the staff who handle reports may see this."))


def handled_reports(user):
    """The reports `user` handles: every one with reports.handle_all_reports, else those of their departments."""
    _check_handler(user)
    reports = Report.objects.all()
    if not user.has_perm("reports.handle_all_reports"):
        reports = reports.filter(department__staff=user)
    return reports


def _visible_departments(user):
    if user.has_perm("reports.handle_all_reports"):
        return Department.objects.order_by("code")
    return Department.objects.filter(staff=user).order_by("code")


def _handled_report(user, code: str) -> Report:
    """The report with tracking code `code`, if `user` may handle it (404 unknown code, 403 another department's)."""
    _check_handler(user)
    report = service.by_code(code)
    if not service.may_handle(user, report):
        raise Forbidden(_("This report belongs to another department."))
    return report


# --- the inbox ----------------------------------------------------------------------------------------------------

def _filters(request) -> dict:
    """The inbox's filters from the query string (the page's form and the JSON API read the same ones)."""
    get = request.GET
    overdue = params.choice(get, "overdue", ("", "0", "1", "true", "false"), default="")
    return {
        "department": params.text(get, "department", max_length=40).strip(),
        "status": params.choice(get, "status", STATUS_FILTERS, default="open"),
        "category": params.text(get, "category", max_length=40).strip(),
        "district": params.integer(get, "district", min=1, max=2**31 - 1),
        "overdue": overdue in ("1", "true"),
        "bbox": params.bbox(get, "bbox"),
        "page": params.integer(get, "page", default=1, min=1, max=100_000),
    }


def _filtered(user, f: dict, now: dt.datetime, *, with_status=True):
    reports = handled_reports(user)
    if f["department"]:
        reports = reports.filter(department__code=f["department"])
    if f["category"]:
        reports = reports.filter(category__code=f["category"])
    if f["district"]:
        reports = reports.filter(district_id=f["district"])
    if f["overdue"]:
        reports = reports.filter(status__in=workflow.OPEN, due_at__lt=now)
    if f["bbox"] is not None:
        box = clip_box(f["bbox"])
        if box is None:
            return reports.none()
        sql, values = box_sql(box)
        reports = reports.extra(where=[f"ST_Intersects(reports_report.geom, {sql})"], params=values)
    if with_status and f["status"] == "open":
        reports = reports.filter(status__in=workflow.OPEN)
    elif with_status and f["status"] != "all":
        reports = reports.filter(status=f["status"])
    return reports


def _name(obj, field="name"):
    if obj is None:
        return None
    return getattr(obj, field) if is_persian() else (getattr(obj, f"{field}_en", "") or getattr(obj, field))


def _user_label(user) -> str | None:
    """A staff member by user name; a citizen's user name is their mobile number: masked."""
    if user is None:
        return None
    return masked(user.username) if is_mobile(user.username) else user.username


def inbox_item(report: Report, now: dt.datetime) -> dict:
    """One report in the inbox (JSON-ready): the reporter's number masked, never in full."""
    lon, lat = public.lonlat(report.geom)
    category, department = report.category, report.department
    return {
        "tracking_code": report.tracking_code,
        "url": reverse("reports:staff_report", args=[report.tracking_code]),
        "category": {"code": category.code, "name": _name(category), "colour": category.colour},
        "department": {"code": department.code, "name": _name(department)},
        "status": report.status,
        "status_label": str(Report.Status(report.status).label),
        "sla": sla_state(report.status, report.due_at, now),
        "created_at": report.created_at.isoformat(),
        "due_at": report.due_at.isoformat(),
        "lon": lon, "lat": lat,
        "district": _name(report.district),
        "address": report.address,
        "description": report.description[:200],
        "voices": report.voices,
        "crew": report.crew,
        "assignee": _user_label(report.assignee),
        "reporter_phone": report.masked_phone,
    }


def inbox(user, f: dict, now: dt.datetime | None = None) -> dict:
    """A page of the inbox (sorted by due time, the most pressing first) and the counts per status."""
    now = now or timezone.now()
    reports = _filtered(user, f, now).select_related("category", "department", "district", "assignee")
    count = reports.count()
    pages = max(1, math.ceil(count / PAGE_SIZE))
    start = (f["page"] - 1) * PAGE_SIZE
    rows = list(reports.order_by("due_at", "id")[start:start + PAGE_SIZE])
    counts = dict(_filtered(user, f, now, with_status=False).order_by().values_list("status")
                  .annotate(n=Count("id")).values_list("status", "n"))
    return {"count": count, "page": f["page"], "pages": pages, "page_size": PAGE_SIZE,
            "counts": {status: counts.get(status, 0) for status in workflow.STATUSES},
            "overdue": _filtered(user, {**f, "overdue": True}, now, with_status=False).count(),
            "results": [inbox_item(r, now) for r in rows]}


@staff_otp_required
@require_GET
def inbox_json(request):
    return json_response(inbox(request.user, _filters(request)))


@staff_otp_required
@require_GET
def inbox_page(request):
    f = _filters(request)
    data = inbox(request.user, f)
    labels = dict(Report.Status.choices)
    departments = _visible_departments(request.user)
    query = request.GET.copy()
    query.pop("page", None)
    without_status = query.copy()
    without_status.pop("status", None)
    return render(request, "reports/staff_inbox.html", {
        "data": data, "filters": f,
        "status_counts": [(s, labels[s], data["counts"][s]) for s in workflow.STATUSES],
        "status_choices": [(s, labels[s]) for s in workflow.STATUSES],
        "departments": departments,
        "categories": Category.objects.order_by("order", "code"),  # (routing may send any category to a department)
        "districts": District.objects.order_by("code"),
        "query": query.urlencode(), "query_without_status": without_status.urlencode(),
        "map_config": {"basemap_url": settings.BASEMAP_URL, "basemap_attribution": settings.BASEMAP_ATTRIBUTION,
                       "center": map_center(), "api": reverse("reports:staff_inbox_json"), **base_layers(),
                       "colours": SLA_COLOURS},
    })


# --- one report -------------------------------------------------------------------------------------------------

def _timeline(report: Report) -> list[dict]:
    """Every event, public or not, with who did it."""
    labels = dict(Report.Status.choices)
    return [{"at": e.at, "kind": e.kind, "from": labels.get(e.from_status, ""), "to": labels.get(e.to_status, ""),
             "note": e.note, "public": e.public, "actor": _user_label(e.actor)}
            for e in Event.objects.filter(report=report).select_related("actor").order_by("at", "id")]


def _photos(report: Report) -> list[dict]:
    return [{"url": public.photo_url(p), "thumbnail": public.photo_url(p, thumb=True), "kind": p.kind,
             "kind_label": p.get_kind_display(), "moderation": p.moderation,
             "moderation_label": p.get_moderation_display(), "created_at": p.created_at, "state": p.state,
             "refusal": p.refusal}
            for p in Photo.objects.filter(report=report).order_by("created_at", "id")]


def _assignable(report: Report):
    """Staff who may be assigned the report: its department's."""
    return report.department.staff.filter(is_active=True).order_by("username")


PERMIT_WORD = "permit"  # a section keyed like "permits" / "permit_cases" is a permit system's


def _built(section, parcel, request) -> dict:
    """A section's data; one that refuses (an ApiError: e.g. zoning's overlays not computed yet) says why in its
    place instead of taking the report's page down with it (as on the map, a failing section cannot break it)."""
    try:
        return {"data": section.build(parcel, request), "error": None}
    except ApiError as exc:
        return {"data": None, "error": exc.message}


def parcel_facts(report: Report, request) -> dict | None:
    """For a report about a parcel: the parcel sheet's facts and every section other apps registered (what may be
    built, dues, permits...), with their links. reports names none of those apps: parcels.sheet lists them."""
    if report.parcel_id is None:
        return None
    from parcels.sheet import parcel_sheet, section_links, sections

    parcel = report.parcel
    registered = sections()
    links = {link["key"]: link["url"] for link in section_links(parcel.pk)}
    return {
        "parcel": parcel,
        "sheet": parcel_sheet(parcel),
        "sections": [{"section": s, "template": s.template, "url": links.get(s.key), **_built(s, parcel, request)}
                     for s in registered],
        "has_permits": any(PERMIT_WORD in s.key.lower() for s in registered),
        "page_url": reverse("parcels:parcel_page", args=[parcel.pk]),
    }


@staff_otp_required
@require_GET
def report_page(request, code):
    report = _handled_report(request.user, code)
    report = Report.objects.select_related("category", "department", "district", "assignee", "merged_into",
                                           "parcel").get(pk=report.pk)
    now = timezone.now()
    allowed = workflow.allowed(report.status, workflow.STAFF)
    candidates = [r for r in service.nearby(report.category, report.geom, exclude_id=report.pk, limit=8)] \
        if workflow.MERGED in allowed else []
    context = {
        "report": report,
        "sla": sla_state(report.status, report.due_at, now),
        "timeline": _timeline(report),
        "photos": _photos(report),
        "followers": Follower.objects.filter(report=report).count(),
        "merged_reports": list(report.merged_reports.order_by("tracking_code").values_list("tracking_code",
                                                                                           flat=True)),
        "allowed": allowed,
        "assignable": _assignable(report),
        "candidates": candidates,
        "category_name": _name(report.category),
        "department_name": _name(report.department),
        "district_name": _name(report.district),
        "reporter_user": _user_label(report.reporter),
        "parcel_facts": parcel_facts(report, request) if report.category.needs_parcel else None,
        "point": public.lonlat(report.geom),
        "status_url": reverse("reports:staff_status", args=[report.tracking_code]),
        "photo_url": reverse("reports:staff_resolution_photo", args=[report.tracking_code]),
        "photo_ok": report.is_open or report.status == workflow.RESOLVED,
        "map_config": {"basemap_url": settings.BASEMAP_URL, "basemap_attribution": settings.BASEMAP_ATTRIBUTION,
                       **base_layers()},
    }
    response = render(request, "reports/staff_report.html", context)
    if report.reporter_phone:  # the page shows the reporter's number in full: recorded
        record_access(request, "report_view",
                      objects=[report, *owners_named_by(phones=[report.reporter_phone])])
    return response


# --- actions (JSON) -------------------------------------------------------------------------------------------------

def _body(request) -> dict:
    if request.content_type == "application/json":
        return params.json_object(request.body)
    return request.POST


def _assignee(value, report: Report):
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).isdigit() \
            or not 0 < int(value) < 2**31:
        raise BadParameter(_("assignee must be the id of a staff member."))
    user = get_user_model().objects.filter(pk=int(value), is_active=True).first()
    if user is None or not service.may_handle(user, report):
        raise BadParameter(_("assignee must be a staff member who handles this report's department."))
    return user


def staff_doc(report: Report, now=None) -> dict:
    now = now or timezone.now()
    report = Report.objects.select_related("assignee", "merged_into").get(pk=report.pk)
    return {"tracking_code": report.tracking_code, "status": report.status,
            "status_label": str(Report.Status(report.status).label),
            "sla": sla_state(report.status, report.due_at, now), "crew": report.crew,
            "assignee": _user_label(report.assignee), "status_note": report.status_note,
            "merged_into": report.merged_into.tracking_code if report.merged_into_id else None,
            "allowed": workflow.allowed(report.status, workflow.STAFF)}


@staff_otp_required
@require_POST
def change_status(request, code):
    report = _handled_report(request.user, code)
    data = _body(request)
    new = params.choice(data, "status", workflow.STATUSES)
    if new is None:
        raise BadParameter(_("status is required"))
    note = params.text(data, "note", max_length=2000)
    crew = params.text(data, "crew", max_length=120).strip()
    assignee = _assignee(data.get("assignee"), report)
    into = None
    if new == workflow.MERGED:
        target = params.text(data, "into", max_length=40)
        if not target.strip():
            raise BadParameter(_("Name the report this one duplicates."))
        into = service.by_code(target)
    report = service.change_status(report, new, by=request.user, note=note, crew=crew, assignee=assignee,
                                   into=into)
    return json_response(staff_doc(report))


@staff_otp_required
@require_POST
def resolution_photo(request, code):
    from reports import photos

    report = _handled_report(request.user, code)
    if not (report.is_open or report.status == workflow.RESOLVED):
        raise service.StatusConflict(_("A photo of the fix is added to an open or resolved report."))
    uploaded = request.FILES.get("photo")
    if uploaded is None:
        raise BadParameter(_("Attach the photo (the field 'photo')."))
    photo = photos.add(report, uploaded, kind=Photo.Kind.RESOLUTION, by=request.user)
    return json_response({"url": public.photo_url(photo), "thumbnail": public.photo_url(photo, thumb=True),
                          "kind": photo.kind, "moderation": photo.moderation, "state": photo.state}, status=201)

