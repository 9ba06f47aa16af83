"""Everything that changes a report, in one place: submitting (with the duplicate check, routing, the SLA and the
public place), adding one's voice, status changes through the workflow (reports/workflow.py), merging, rating,
reopening and the periodic closing. Every change writes its Event and, in the same transaction, the notices to the
report's followers (notices.service.notify: the outbox). Views, the admin, Open311 and the tests all come here.

Errors are ApiErrors (common/errors.py): 400 for bad input, 409 `status_conflict` for a change out of order, 429 for
too many submissions (accounts.service.TooManyRequests)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import ratelimit
from accounts.audit import request_address
from accounts.service import TooManyRequests  # 429 rate_limited with Retry-After, as for sign-in codes
from accounts.signin import parse_limits
from common import municipality
from common.db import prepared_fetchone
from common.errors import ApiError, BadParameter, Forbidden, NotFound
from notices.service import Recipient, notify
from parcels.models import District
from reports import codes, workflow
from reports.models import Category, Event, Follower, Report, Routing

DESCRIPTION_MAX = 2000

# The notices events (registered in ReportsConfig.ready; default texts in data/notices/templates.toml).
RECEIVED, STATUS_CHANGED, MERGED_EVENT = "reports.received", "reports.status_changed", "reports.merged"


class StatusConflict(ApiError):
    status = 409
    code = "status_conflict"


@dataclass(frozen=True)
class Reporter:
    """Who reports (or adds a voice, rates, reopens): a signed-in user and/or a verified mobile number."""

    user: object | None = None
    phone: str = ""
    language: str = "fa"

    @property
    def user_id(self):
        return getattr(self.user, "pk", None) if self.user is not None and self.user.is_authenticated else None


# --- where: routing, the public place, the parcel and district ----------------------------------------------------

def route(category: Category, district_id: int | None):
    """The department a report of `category` in `district_id` goes to: a routing rule's, else the category's."""
    if district_id is not None:
        rule = Routing.objects.filter(category=category, district_id=district_id).select_related("department").first()
        if rule is not None:
            return rule.department
    return category.department


_PLACE = """
SELECT (SELECT id FROM parcels_district d WHERE ST_Intersects(d.geom, p.pt) ORDER BY id LIMIT 1),
       (SELECT id FROM parcels_parcel x WHERE ST_Intersects(x.geom, p.pt) ORDER BY id LIMIT 1),
       (SELECT ARRAY[ST_X(s.pt), ST_Y(s.pt)] FROM (SELECT ST_PointOnSurface(b.geom) AS pt FROM parcels_block b
         WHERE ST_Intersects(b.geom, p.pt) ORDER BY id LIMIT 1) s)
FROM (SELECT ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), %(srid)s) AS pt) p
"""


@dataclass(frozen=True)
class Place:
    district_id: int | None
    parcel_id: int | None
    block_point: Point | None


def place_of(point: Point) -> Place:
    """The district, parcel and block (a point on it) at `point` (in the municipality's CRS), in one statement."""
    srid = municipality.current().srid
    with connection.cursor() as cursor:
        cursor.execute(_PLACE, {"x": point.x, "y": point.y, "srid": srid})
        district_id, parcel_id, block = cursor.fetchone()
    block_point = Point(block[0], block[1], srid=srid) if block is not None else None
    return Place(district_id, parcel_id, block_point)


def public_point(category: Category, point: Point, place: Place) -> Point:
    """What the public map shows: the place itself, or, for a category about private homes, a point inside its
    block (or the centre of a REPORTS_PRIVATE_GRID_METRES cell outside blocks): the house cannot be told."""
    if not category.private_place:
        return Point(point.x, point.y, srid=point.srid)
    if place.block_point is not None:
        block = place.block_point
        return Point(block.x, block.y, srid=point.srid)
    cell = float(settings.REPORTS_PRIVATE_GRID_METRES)
    return Point((point.x // cell + 0.5) * cell, (point.y // cell + 0.5) * cell, srid=point.srid)


def in_city(point: Point) -> bool:
    """Whether `point` lies within the city (near a parcel: the same test the parcel sheet uses for a click)."""
    from django.contrib.gis.geos import Point as P

    from parcels.sheet import near_parcels

    wgs = P(point.x, point.y, srid=point.srid)
    wgs.transform(4326)
    return near_parcels(wgs.x, wgs.y)


# --- duplicates ----------------------------------------------------------------------------------------------------

def nearby(category: Category, point: Point, *, exclude_id: int | None = None, limit: int = 5) -> list[Report]:
    """Open reports of the same category within REPORTS_DUPLICATE_METRES of `point`, reported in the last
    REPORTS_DUPLICATE_DAYS days, nearest first: what a reporter is offered to join."""
    since = timezone.now() - dt.timedelta(days=settings.REPORTS_DUPLICATE_DAYS)
    rows = Report.objects.raw(
        "SELECT r.* FROM reports_report r WHERE r.category_id = %s AND r.status = ANY(%s) AND r.created_at >= %s "
        "AND ST_DWithin(r.geom, ST_SetSRID(ST_MakePoint(%s, %s), %s), %s) AND r.id <> %s "
        "ORDER BY r.geom <-> ST_SetSRID(ST_MakePoint(%s, %s), %s) LIMIT %s",
        [category.pk, list(workflow.OPEN), since, point.x, point.y, point.srid, settings.REPORTS_DUPLICATE_METRES,
         exclude_id or 0, point.x, point.y, point.srid, limit])
    return list(rows)


# --- submitting ------------------------------------------------------------------------------------------------------

def check_rate(reporter: Reporter, request=None) -> None:
    """Count a submission against the per-number and per-address limits (429 past them)."""
    scopes = {}
    if reporter.phone:
        scopes["reports-number"] = (reporter.phone, parse_limits(settings.REPORTS_RATE_PER_NUMBER))
    if request is not None:
        scopes["reports-address"] = (request_address(request), parse_limits(settings.REPORTS_RATE_PER_ADDRESS))
    if not scopes:
        return
    decision = ratelimit.hit(scopes)
    if not decision.allowed:
        raise TooManyRequests(_("Too many reports from this number or place; try again in %(minutes)s minutes.")
                             % {"minutes": max(1, round(decision.retry_after / 60))}, decision.retry_after)


_WHERE = """
SELECT EXISTS (SELECT 1 FROM parcels_parcel WHERE ST_DWithin(geom, p.pt, %(near)s)),
       d.id, d.name, d.name_en,
       (SELECT id FROM parcels_parcel x WHERE ST_Intersects(x.geom, p.pt) ORDER BY id LIMIT 1),
       (SELECT ARRAY[ST_X(s.pt), ST_Y(s.pt)] FROM (SELECT ST_PointOnSurface(b.geom) AS pt FROM parcels_block b
         WHERE ST_Intersects(b.geom, p.pt) ORDER BY id LIMIT 1) s),
       coalesce((SELECT r.department_id FROM reports_routing r WHERE r.category_id = %(category)s
                 AND r.district_id = d.id ORDER BY r.id LIMIT 1), %(department)s)
FROM (SELECT ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), %(srid)s) AS pt) p
LEFT JOIN LATERAL (SELECT id, name, name_en FROM parcels_district d WHERE ST_Intersects(d.geom, p.pt)
                   ORDER BY id LIMIT 1) d ON true
"""
CITY_METRES = 500  # a place within this of a parcel is in the city (parcels.sheet.near_parcels' default, as in_city)


def _where(category: Category, point: Point) -> tuple[bool, Place, int, District | None]:
    """in_city, place_of and route for a new report, in one prepared statement: whether `point` is in the city, its
    place, the department the report goes to, and its district's names (for the answer: no second look-up)."""
    srid = municipality.current().srid
    near, district_id, name, name_en, parcel_id, block, department_id = prepared_fetchone(_WHERE, {
        "near": CITY_METRES, "x": point.x, "y": point.y, "srid": srid,
        "category": category.pk, "department": category.department_id})
    block_point = Point(block[0], block[1], srid=srid) if block is not None else None
    district = District(pk=district_id, name=name, name_en=name_en) if district_id is not None else None
    return near, Place(district_id, parcel_id, block_point), department_id, district


# A new report, its first event and its reporter as its first follower, in one statement; a tracking code taken
# already (one in 10^9: ON CONFLICT … DO NOTHING) inserts nothing and the caller draws another.
_INSERT = """
WITH report AS (
    INSERT INTO reports_report (public_id, tracking_code, category_id, department_id, status, geom, public_geom,
                                parcel_id, district_id, description, address, reporter_id, reporter_phone, language,
                                source, created_at, updated_at, due_at, crew, status_note, voices, rating_comment,
                                reopened)
    VALUES (%(public_id)s, %(code)s, %(category)s, %(department)s, %(status)s,
            ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), %(srid)s), ST_SetSRID(ST_MakePoint(%(px)s, %(py)s), %(srid)s),
            %(parcel)s, %(district)s, %(description)s, %(address)s, %(user)s, %(phone)s, %(language)s, %(source)s,
            %(now)s, %(now)s, %(due)s, '', '', 0, '', 0)
    ON CONFLICT (tracking_code) DO NOTHING
    RETURNING id
),
event AS (
    INSERT INTO reports_event (report_id, at, actor_id, kind, from_status, to_status, note, public)
    SELECT id, %(now)s, %(user)s, 'status', '', %(status)s, '', true FROM report
),
follower AS (
    INSERT INTO reports_follower (report_id, user_id, phone, language, is_reporter, created_at)
    SELECT id, %(user)s, %(phone)s, %(language)s, true, %(now)s FROM report WHERE %(follows)s
)
SELECT id FROM report
"""


def submit(*, category: Category, point: Point, description: str, reporter: Reporter, address: str = "",
           parcel_id: int | None = None, source: str = Report.Source.WEB, request=None,
           now: dt.datetime | None = None) -> Report:
    """Record a new report and tell its reporter (an SMS with the tracking code). `point` is in the municipality's
    CRS. Photos are added afterwards (reports.photos.add), in the same transaction as the caller's.

    Lean, because a citizen waits for it: the place, the parcel, the block and the department in one prepared
    statement (_where), the rate counters in one (check_rate), the report with its event and follower in one
    (_INSERT), then the notice (notices.service.notify) — each a round trip to the database (15 before)."""
    if not category.active:
        raise BadParameter(_("This category is not taking reports."))
    description = (description or "").strip()
    if not description:
        raise BadParameter(_("Describe the problem."))
    if len(description) > DESCRIPTION_MAX:
        raise BadParameter(_("The description is longer than %(max)s characters.") % {"max": DESCRIPTION_MAX})
    near, place, department_id, district = _where(category, point)
    if not near:
        raise BadParameter(_("This place is outside the city."))
    if category.needs_parcel:
        parcel_id = parcel_id or place.parcel_id
        if parcel_id is None:
            raise BadParameter(_("Reports of this kind are about a parcel: pick the parcel on the map."))
    elif parcel_id is None:
        parcel_id = place.parcel_id
    now = now or timezone.now()
    check_rate(reporter, request)
    shown = public_point(category, point, place)
    report = Report(category=category, department_id=department_id, geom=point, public_geom=shown,
                    parcel_id=parcel_id, district_id=place.district_id, description=description,
                    address=(address or "")[:300], reporter=reporter.user if reporter.user_id else None,
                    reporter_phone=reporter.phone, language=reporter.language, source=source, created_at=now,
                    updated_at=now, due_at=now + dt.timedelta(days=category.sla_days))
    values = {"public_id": report.public_id, "category": category.pk, "department": department_id,
              "status": report.status, "x": point.x, "y": point.y, "px": shown.x, "py": shown.y,
              "srid": municipality.current().srid, "parcel": parcel_id, "district": place.district_id,
              "description": description, "address": report.address, "user": reporter.user_id,
              "phone": reporter.phone, "language": reporter.language, "source": source, "now": now,
              "due": report.due_at, "follows": bool(reporter.user_id or reporter.phone)}
    # no savepoint of its own: inside a caller's transaction (a submission with photos) a failure rolls it all back
    with transaction.atomic(savepoint=False):
        for _attempt in range(20):
            report.tracking_code = codes.new_code()
            row = prepared_fetchone(_INSERT, {**values, "code": report.tracking_code})
            if row is not None:
                break
        else:  # 10^9 codes: does not happen
            raise RuntimeError("no free tracking code after 20 tries")
        report.pk = row[0]
        report._state.adding, report._state.db = False, connection.alias
        report.district = district  # named by _where: the answer needs no look-up
        _tell(report, RECEIVED, [_recipient_of(reporter)], key=f"reports:{report.pk}:received")
    return report


def first_event(report: Report) -> Event:
    """The event _INSERT recorded with a new report, as it recorded it (for its answer, without reading it back)."""
    return Event(report=report, at=report.created_at, actor_id=report.reporter_id, kind="status", from_status="",
                 to_status=report.status, note="", public=True)


def _recipient_of(reporter: Reporter) -> Recipient:
    return Recipient(user_id=reporter.user_id, phone=reporter.phone, language=reporter.language)


def _follow(report: Report, reporter: Reporter, *, is_reporter=False, now=None) -> bool:
    """Make `reporter` a follower of `report`; False when they follow it already."""
    if not reporter.user_id and not reporter.phone:
        return False
    existing = Follower.objects.filter(report=report)
    if reporter.user_id and existing.filter(user_id=reporter.user_id).exists():
        return False
    if reporter.phone and existing.filter(phone=reporter.phone).exists():
        return False
    try:
        with transaction.atomic():
            Follower.objects.create(report=report, user_id=reporter.user_id, phone=reporter.phone,
                                    language=reporter.language, is_reporter=is_reporter,
                                    created_at=now or timezone.now())
    except IntegrityError:  # a concurrent voice of the same person
        return False
    return True


def _context(report: Report) -> dict:
    from django.utils import translation

    labels = {}
    for language in ("fa", "en"):
        with translation.override(language):
            labels[language] = str(Report.Status(report.status).label)
    return {"tracking_code": report.tracking_code, "category": report.category.name,
            "category_en": report.category.name_en or report.category.name, "status": report.status,
            "status_fa": labels["fa"], "status_en": labels["en"], "note": report.status_note}


def _tell(report: Report, event: str, recipients, *, key: str) -> None:
    for i, recipient in enumerate(recipients):
        notify(event, recipient, _context(report), key=f"{key}:{i}:{recipient.user_id or recipient.phone}")


def followers(report: Report) -> list[Recipient]:
    return [Recipient(user_id=f.user_id, phone=f.phone, language=f.language)
            for f in Follower.objects.filter(report=report).order_by("id")]


# --- voices ------------------------------------------------------------------------------------------------------------

def add_voice(report: Report, reporter: Reporter, request=None) -> bool:
    """`reporter` reports the same problem: they follow the report from now on and it counts one more voice. False
    when they already follow it (their voice counts once)."""
    if not report.is_open:
        raise StatusConflict(_("This report is no longer open; report the problem anew if it is back."))
    check_rate(reporter, request)
    with transaction.atomic():
        report = Report.objects.select_for_update().get(pk=report.pk)
        if not _follow(report, reporter):
            return False
        Report.objects.filter(pk=report.pk).update(voices=report.voices + 1, updated_at=timezone.now())
        Event.objects.create(report=report, at=timezone.now(), kind="voice")
    return True


# --- status changes -------------------------------------------------------------------------------------------------

def may_handle(user, report: Report) -> bool:
    """Staff with reports.handle_all_reports, or with reports.handle_report in the report's department."""
    if user is None or not user.is_authenticated:
        return False
    if user.has_perm("reports.handle_all_reports"):
        return True
    return user.has_perm("reports.handle_report") and report.department.staff.filter(pk=user.pk).exists()


def change_status(report: Report, new: str, *, by=None, actor: str = workflow.STAFF, note: str = "",
                  crew: str = "", assignee=None, into: Report | None = None, now: dt.datetime | None = None) -> Report:
    """Move `report` to `new` (the workflow decides whether `actor` may); a rejection needs `note` (its reason), a
    merge `into`. The report's followers are told."""
    now = now or timezone.now()
    note = (note or "").strip()
    if actor == workflow.STAFF and not may_handle(by, report):
        raise Forbidden(_("Only the staff of the report's department may change it."))
    if new in workflow.NEEDS_REASON and not note:
        raise BadParameter(_("Say why the report is rejected: the reporter reads it."))
    if new in workflow.NEEDS_TARGET:
        return merge(report, into, by=by, now=now)
    with transaction.atomic():
        report = Report.objects.select_for_update().select_related("category").get(pk=report.pk)
        try:
            workflow.check(report.status, new, actor)
        except workflow.TransitionRefused as exc:
            msgid, params = exc.args
            raise StatusConflict(_(msgid) % params) from None
        before = report.status
        report.status = new
        report.updated_at = now
        if note:
            report.status_note = note
        if crew:
            report.crew = crew[:120]
        if assignee is not None:
            report.assignee = assignee
        if new == workflow.ACCEPTED or (before == workflow.SUBMITTED and report.accepted_at is None):
            report.accepted_at = report.accepted_at or now
        if new == workflow.RESOLVED:
            report.resolved_at = now
        if new == workflow.CLOSED:
            report.closed_at = now
        if new == workflow.SUBMITTED:  # reopened
            report.resolved_at = None
            report.reopened += 1
            report.due_at = now + dt.timedelta(days=report.category.sla_days)
        report.save()
        Event.objects.create(report=report, at=now, actor=by if getattr(by, "is_authenticated", False) else None,
                             kind="reopen" if new == workflow.SUBMITTED else "status", from_status=before,
                             to_status=new, note=note)
        if new != workflow.CLOSED or actor != workflow.SYSTEM:
            _tell(report, STATUS_CHANGED, followers(report), key=f"reports:{report.pk}:{new}:{now.timestamp()}")
    return report


def merge(report: Report, into: Report | None, *, by=None, now: dt.datetime | None = None) -> Report:
    """`report` duplicates `into`: it is closed as merged, its followers and voices move to `into` (each keeps
    hearing about the problem), and they are told the tracking code to follow."""
    now = now or timezone.now()
    if into is None:
        raise BadParameter(_("Name the report this one duplicates."))
    if into.pk == report.pk:
        raise BadParameter(_("A report cannot be merged into itself."))
    if not may_handle(by, report):
        raise Forbidden(_("Only the staff of the report's department may change it."))
    with transaction.atomic():
        first, second = sorted([report.pk, into.pk])
        locked = {r.pk: r for r in Report.objects.select_for_update().filter(pk__in=[first, second]).order_by("pk")}
        report, into = locked[report.pk], locked[into.pk]
        while into.status == workflow.MERGED and into.merged_into_id:  # follow a chain to the live report
            into = Report.objects.select_for_update().get(pk=into.merged_into_id)
            if into.pk == report.pk:
                raise BadParameter(_("These reports are merged into each other already."))
        try:
            workflow.check(report.status, workflow.MERGED, workflow.STAFF)
        except workflow.TransitionRefused as exc:
            msgid, params = exc.args
            raise StatusConflict(_(msgid) % params) from None
        if not into.is_open:
            raise StatusConflict(_("Report %(code)s is no longer open; merge into an open one.")
                                 % {"code": into.tracking_code})
        moved = 0
        for f in Follower.objects.filter(report=report).order_by("id"):
            moved += _follow(into, Reporter(user=f.user, phone=f.phone, language=f.language), now=now)
        before = report.status
        Report.objects.filter(pk=report.pk).update(status=workflow.MERGED, merged_into=into, updated_at=now,
                                                   closed_at=now)
        Report.objects.filter(pk=into.pk).update(voices=into.voices + report.voices + 1, updated_at=now)
        Event.objects.create(report=report, at=now, actor=by, kind="merge", from_status=before,
                             to_status=workflow.MERGED, note=into.tracking_code)
        Event.objects.create(report=into, at=now, actor=by, kind="merge", note=report.tracking_code, public=False)
        report.refresh_from_db()
        ctx_key = f"reports:{report.pk}:merged"
        for i, recipient in enumerate(followers(report)):
            notify(MERGED_EVENT, recipient, {**_context(report), "into": into.tracking_code},
                   key=f"{ctx_key}:{i}:{recipient.user_id or recipient.phone}")
    return report


# --- the reporter after the fix ----------------------------------------------------------------------------------------

def is_follower(report: Report, reporter: Reporter, *, reporter_only: bool = False) -> bool:
    qs = Follower.objects.filter(report=report)
    if reporter_only:
        qs = qs.filter(is_reporter=True)
    if reporter.user_id and qs.filter(user_id=reporter.user_id).exists():
        return True
    return bool(reporter.phone) and qs.filter(phone=reporter.phone).exists()


def _within_window(report: Report, now: dt.datetime) -> bool:
    return report.resolved_at is not None and now <= report.resolved_at + dt.timedelta(
        days=settings.REPORTS_REOPEN_DAYS)


def rate(report: Report, reporter: Reporter, rating: int, comment: str = "", now=None) -> Report:
    """The reporter rates the fix (1-5): the report is closed."""
    now = now or timezone.now()
    if not is_follower(report, reporter, reporter_only=True):
        raise Forbidden(_("Only the person who reported it may rate the fix."))
    if not isinstance(rating, int) or not 1 <= rating <= 5:
        raise BadParameter(_("A rating is a whole number from 1 to 5."))
    if report.status not in (workflow.RESOLVED, workflow.CLOSED) or report.rating is not None:
        raise StatusConflict(_("Only a resolved report may be rated, once."))
    with transaction.atomic():
        Report.objects.filter(pk=report.pk).update(rating=rating, rating_comment=(comment or "")[:500],
                                                   updated_at=now)
        Event.objects.create(report=report, at=now, kind="rating", note=str(rating))
        report.refresh_from_db()
        if report.status == workflow.RESOLVED:
            report = change_status(report, workflow.CLOSED, actor=workflow.REPORTER, now=now)
    return report


def reopen(report: Report, reporter: Reporter, note: str, now=None) -> Report:
    """The reporter says the problem is not fixed, within REPORTS_REOPEN_DAYS of its resolution."""
    now = now or timezone.now()
    if not is_follower(report, reporter, reporter_only=True):
        raise Forbidden(_("Only the person who reported it may reopen it."))
    if report.status != workflow.RESOLVED or not _within_window(report, now):
        raise StatusConflict(_("A report may be reopened only within %(days)s days of its resolution.")
                             % {"days": settings.REPORTS_REOPEN_DAYS})
    if not (note or "").strip():
        raise BadParameter(_("Say what is still wrong."))
    return change_status(report, workflow.SUBMITTED, actor=workflow.REPORTER, note=note, now=now)


def close_expired(now: dt.datetime | None = None) -> int:
    """Close the resolved reports whose reopen window has passed (the periodic task); returns how many."""
    now = now or timezone.now()
    limit = now - dt.timedelta(days=settings.REPORTS_REOPEN_DAYS)
    done = 0
    for report in Report.objects.filter(status=workflow.RESOLVED, resolved_at__lt=limit).order_by("pk")[:5000]:
        change_status(report, workflow.CLOSED, actor=workflow.SYSTEM, now=now)
        done += 1
    return done


def by_code(code: str) -> Report:
    """The report with this tracking code (Persian digits welcome); 404 otherwise, 400 when the check digit fails."""
    from common.params import ascii_digits

    code = ascii_digits(code or "").strip().replace("-", "").replace(" ", "")
    if not codes.is_valid(code):
        raise BadParameter(_("'%(code)s' is not a tracking code (ten digits; the last one checks the others).")
                           % {"code": code[:20]})
    report = Report.objects.select_related("category", "department").filter(tracking_code=code).first()
    if report is None:
        raise NotFound(_("No report has the tracking code %(code)s.") % {"code": code})
    return report
