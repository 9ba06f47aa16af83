"""The core of the reports app against the real PostGIS: the workflow's moves (and refusals), tracking codes,
submitting (routing, SLA, place, duplicates), voices, merging, rating, reopening and closing, and the notices each
change leaves in the outbox."""

import datetime as dt

import pytest
from django.contrib.gis.geos import Point
from django.utils import timezone

from notices.models import Message
from reports import codes, service, workflow
from reports.models import Event, Follower, Report, Routing

pytestmark = pytest.mark.django_db


# --- pure parts ---------------------------------------------------------------------------------------------------

def test_every_status_has_its_moves_and_finished_ones_have_none_but_closing():
    for status in workflow.STATUSES:
        assert status in workflow.TRANSITIONS
    for status in (workflow.REJECTED, workflow.MERGED, workflow.CLOSED):
        assert workflow.TRANSITIONS[status] == {}
    workflow.check(workflow.SUBMITTED, workflow.ACCEPTED, workflow.STAFF)
    with pytest.raises(workflow.TransitionRefused):
        workflow.check(workflow.RESOLVED, workflow.IN_PROGRESS, workflow.STAFF)
    with pytest.raises(workflow.TransitionRefused):
        workflow.check(workflow.SUBMITTED, workflow.ACCEPTED, workflow.REPORTER)  # a reporter cannot accept
    with pytest.raises(workflow.TransitionRefused):
        workflow.check(workflow.RESOLVED, workflow.SUBMITTED, workflow.STAFF)  # only the reporter reopens
    assert workflow.open311_status(workflow.IN_PROGRESS) == "open"
    assert workflow.open311_status(workflow.RESOLVED) == "closed"


def test_tracking_codes_catch_a_mistyped_digit():
    import random

    rng = random.Random(7)
    for _ in range(200):
        code = codes.new_code(rng.randrange)
        assert codes.is_valid(code) and len(code) == 10 and code[0] != "0"
        i = rng.randrange(10)
        wrong = code[:i] + str((int(code[i]) + rng.randrange(1, 10)) % 10) + code[i + 1:]
        assert not codes.is_valid(wrong)


# --- with the database --------------------------------------------------------------------------------------------

def test_submit_routes_times_and_places_a_report(categories, spot, reporter):
    point, parcel = spot
    pothole = categories["pothole"]
    report = service.submit(category=pothole, point=point, description="چاله‌ی بزرگ جلوی در", reporter=reporter)
    assert codes.is_valid(report.tracking_code)
    assert report.department == pothole.department and report.status == workflow.SUBMITTED
    assert report.due_at - report.created_at == dt.timedelta(days=pothole.sla_days)
    assert report.parcel_id == parcel.pk and report.district_id is not None
    assert report.public_geom.equals(report.geom)  # a street problem is shown where it is
    sms = Message.objects.get(event="reports.received", phone=reporter.phone)
    assert report.tracking_code.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")) in sms.body
    assert list(Event.objects.filter(report=report).values_list("to_status", flat=True)) == [workflow.SUBMITTED]


def test_a_routing_rule_sends_a_district_elsewhere(categories, spot, reporter):
    point, _parcel = spot
    place = service.place_of(point)
    Routing.objects.create(category=categories["pothole"], district_id=place.district_id,
                           department=categories["waste"].department)
    report = service.submit(category=categories["pothole"], point=point, description="x", reporter=reporter)
    assert report.department == categories["waste"].department


def test_reports_about_homes_are_shown_at_the_block(categories, spot, reporter):
    point, parcel = spot
    report = service.submit(category=categories["illegal-construction"], point=point, description="طبقه‌ی اضافه",
                            reporter=reporter)
    assert report.parcel_id == parcel.pk
    assert not report.public_geom.equals(report.geom)
    with pytest.raises(service.BadParameter):  # about a parcel: a place on no parcel is refused
        service.submit(category=categories["illegal-construction"], point=_street_point(), description="x",
                       reporter=reporter)


def _street_point():
    from django.db import connection

    with connection.cursor() as c:  # a point on a street, off every parcel
        c.execute("SELECT ST_X(p), ST_Y(p), ST_SRID(p) FROM (SELECT ST_LineInterpolatePoint(ST_GeometryN(geom, 1), 0.5)"
                  " AS p FROM parcels_street) s WHERE NOT EXISTS (SELECT 1 FROM parcels_parcel x "
                  "WHERE ST_Intersects(x.geom, s.p)) LIMIT 1")
        x, y, srid = c.fetchone()
    return Point(x, y, srid=srid)


@pytest.mark.parametrize("bad, words", [
    ({"description": "  "}, "Describe"),
    ({"description": "x" * 2001}, "longer"),
    ({"point": Point(0, 0, srid=32640)}, "outside the city"),
])
def test_bad_submissions_are_refused_and_write_nothing(categories, spot, reporter, bad, words, english):
    point, _parcel = spot
    from django.conf import settings

    if "point" in bad:
        bad = {"point": Point(0, 0, srid=settings.MUNICIPALITY_SRID)}
    kwargs = {"category": categories["waste"], "point": point, "description": "پسماند", "reporter": reporter, **bad}
    with pytest.raises(service.BadParameter, match=words):
        service.submit(**kwargs)
    assert not Report.objects.exists() and not Message.objects.filter(event__startswith="reports.").exists()


def test_nearby_open_reports_are_offered_and_a_voice_counts_once(categories, spot, reporter):
    point, _parcel = spot
    first = service.submit(category=categories["street-light"], point=point, description="خاموش", reporter=reporter)
    near = Point(point.x + 20, point.y, srid=point.srid)
    assert [r.pk for r in service.nearby(categories["street-light"], near)] == [first.pk]
    assert service.nearby(categories["pothole"], near) == []  # another category
    far = Point(point.x + 500, point.y, srid=point.srid)
    assert service.nearby(categories["street-light"], far) == []
    other = service.Reporter(phone="09171112244")
    assert service.add_voice(first, other) is True
    assert service.add_voice(first, other) is False
    first.refresh_from_db()
    assert first.voices == 1 and Follower.objects.filter(report=first).count() == 2


def test_staff_move_a_report_and_every_follower_hears(categories, spot, reporter, role_users):
    point, _parcel = spot
    report = service.submit(category=categories["pothole"], point=point, description="چاله", reporter=reporter)
    service.add_voice(report, service.Reporter(phone="09171112255"))
    boss = role_users["admin"]
    report = service.change_status(report, workflow.ACCEPTED, by=boss)
    report = service.change_status(report, workflow.RESOLVED, by=boss, note="وصله شد")
    phones = sorted(Message.objects.filter(event="reports.status_changed").values_list("phone", flat=True))
    assert phones == sorted(["09171112233", "09171112255"] * 2)
    with pytest.raises(service.StatusConflict):
        service.change_status(report, workflow.IN_PROGRESS, by=boss)
    with pytest.raises(service.Forbidden):
        service.change_status(report, workflow.CLOSED, by=role_users["planner"])


def test_merge_moves_followers_and_voices(categories, spot, reporter, role_users, english):
    point, _parcel = spot
    boss = role_users["admin"]
    kept = service.submit(category=categories["waste"], point=point, description="a", reporter=reporter)
    dup = service.submit(category=categories["waste"], point=point, description="b",
                         reporter=service.Reporter(phone="09171112266"))
    service.merge(dup, kept, by=boss)
    dup.refresh_from_db()
    kept.refresh_from_db()
    assert dup.status == workflow.MERGED and dup.merged_into == kept and kept.voices == 1
    assert set(Follower.objects.filter(report=kept).values_list("phone", flat=True)) == {"09171112233",
                                                                                         "09171112266"}
    assert Message.objects.filter(event="reports.merged", phone="09171112266").exists()
    with pytest.raises(service.BadParameter, match="merged into each other"):
        service.merge(kept, dup, by=boss)  # into a merged one: followed to `kept` itself
    with pytest.raises(service.BadParameter):
        service.merge(kept, kept, by=boss)


def test_rate_reopen_and_close_after_the_window(categories, spot, reporter, role_users, settings):
    point, _parcel = spot
    boss = role_users["admin"]
    report = service.submit(category=categories["sidewalk"], point=point, description="x", reporter=reporter)
    report = service.change_status(report, workflow.RESOLVED, by=boss)
    stranger = service.Reporter(phone="09170000000")
    with pytest.raises(service.Forbidden):
        service.reopen(report, stranger, "not fixed")
    report = service.reopen(report, reporter, "هنوز خراب است")
    assert report.status == workflow.SUBMITTED and report.reopened == 1 and report.resolved_at is None
    report = service.change_status(report, workflow.RESOLVED, by=boss)
    later = timezone.now() + dt.timedelta(days=settings.REPORTS_REOPEN_DAYS + 1)
    with pytest.raises(service.StatusConflict):
        service.reopen(report, reporter, "again", now=later)
    assert service.close_expired(later) == 1
    report.refresh_from_db()
    assert report.status == workflow.CLOSED
    rated = service.rate(report, reporter, 4, "خوب")
    assert rated.rating == 4
    with pytest.raises(service.StatusConflict):
        service.rate(rated, reporter, 5)


def test_submissions_are_rate_limited_per_number(categories, spot, settings):
    point, _parcel = spot
    settings.REPORTS_RATE_PER_NUMBER = ["2/3600"]
    flood = service.Reporter(phone="09179998877")
    for _ in range(2):
        service.submit(category=categories["waste"], point=point, description="x", reporter=flood)
    with pytest.raises(service.TooManyRequests) as refused:
        service.submit(category=categories["waste"], point=point, description="x", reporter=flood)
    assert int(refused.value.headers["Retry-After"]) > 0
    assert Report.objects.filter(reporter_phone=flood.phone).count() == 2


def test_by_code_reads_persian_digits_and_checks_the_digit(categories, spot, reporter):
    point, _parcel = spot
    report = service.submit(category=categories["waste"], point=point, description="x", reporter=reporter)
    persian = report.tracking_code.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    assert service.by_code(persian).pk == report.pk
    wrong = report.tracking_code[:-1] + str((int(report.tracking_code[-1]) + 1) % 10)
    with pytest.raises(service.BadParameter):
        service.by_code(wrong)
