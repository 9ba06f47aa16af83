"""The demo reports (reports/demo.py, manage.py load_demo_reports): on the small demo city, with the demo categories.
Every report must look like one reports.service.submit stored and the workflow moved: valid unique codes, dates in
order for its status, its timeline, and the place, district, department and public place the service computes."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone

from reports import codes, demo, service, workflow
from reports.models import Category, Event, Follower, Report

COUNT = 400
NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def generated(categories):
    result = demo.generate(COUNT, seed=11, now=NOW)
    return result


def test_counts_codes_and_reporters(generated):
    reports = list(Report.objects.all())
    assert generated["reports"] == len(reports) == COUNT
    assert Event.objects.count() == generated["events"] > COUNT
    found = [r.tracking_code for r in reports]
    assert all(codes.is_valid(c) for c in found), [c for c in found if not codes.is_valid(c)][:5]
    assert len(set(found)) == COUNT
    # test numbers only (0990…), never a real subscriber's format; each reporter follows their report
    assert all(r.reporter_phone.startswith("0990") and len(r.reporter_phone) == 11 for r in reports)
    assert Follower.objects.filter(is_reporter=True).count() == COUNT
    assert all(f.phone.startswith(demo.DEMO_PHONE_PREFIX) for f in Follower.objects.all())
    # some voices: the voices a report counts are people following it besides its reporter
    voiced = [r for r in reports if r.voices]
    assert voiced
    for r in voiced[:20]:
        assert Follower.objects.filter(report=r, is_reporter=False).count() == r.voices
    # the categories' mix: every loaded category has reports
    assert {r.category_id for r in reports} == set(Category.objects.values_list("id", flat=True))


def test_statuses_follow_the_dates(generated):
    reports = list(Report.objects.select_related("category"))
    statuses = {r.status for r in reports}
    assert {workflow.CLOSED, workflow.REJECTED, workflow.MERGED} <= statuses
    assert statuses & workflow.OPEN
    for r in reports:
        assert NOW - dt.timedelta(days=365.25 * demo.DEFAULT_YEARS + 1) <= r.created_at <= NOW
        assert r.due_at == r.created_at + dt.timedelta(days=r.category.sla_days)
        assert r.created_at <= r.updated_at <= NOW, r.tracking_code
        if r.resolved_at is not None:
            assert r.resolved_at >= r.created_at
        if r.accepted_at is not None:
            assert r.created_at <= r.accepted_at <= (r.resolved_at or NOW)
        if r.status == workflow.CLOSED:
            assert r.resolved_at is not None and r.closed_at is not None and r.closed_at >= r.resolved_at
        elif r.status == workflow.RESOLVED:
            assert r.resolved_at is not None and r.closed_at is None and r.rating is None
            assert r.resolved_at + dt.timedelta(days=14) > NOW  # else the periodic closing would have closed it
        elif r.status == workflow.MERGED:
            assert r.merged_into_id and r.merged_into_id != r.pk and r.closed_at and r.resolved_at is None
        elif r.status == workflow.REJECTED:
            assert r.status_note and r.resolved_at is None and r.closed_at is None
        else:
            assert r.status in workflow.OPEN and r.resolved_at is None and r.closed_at is None and r.rating is None
        if r.rating is not None:
            assert r.status == workflow.CLOSED and 1 <= r.rating <= 5
    # old reports are mostly finished, recent ones open; some were fixed late
    old = [r for r in reports if r.created_at < NOW - dt.timedelta(days=365)]
    recent = [r for r in reports if r.created_at > NOW - dt.timedelta(days=3)]
    assert sum(not r.is_open for r in old) >= 0.9 * len(old)
    assert recent and sum(r.is_open for r in recent) >= 0.5 * len(recent)
    late = [r for r in reports if r.resolved_at and r.resolved_at > r.due_at]
    assert 0.05 * COUNT < len(late) < 0.5 * COUNT


def test_each_report_has_its_timeline(generated):
    events = {}
    for e in Event.objects.order_by("at", "id"):
        events.setdefault(e.report_id, []).append(e)
    for r in Report.objects.all():
        steps = events[r.pk]
        assert (steps[0].kind, steps[0].to_status, steps[0].at) == ("status", workflow.SUBMITTED, r.created_at)
        changes = [e for e in steps if e.kind in ("status", "merge") and e.to_status]
        assert changes[-1].to_status == r.status, (r.tracking_code, [e.to_status for e in changes])
        for before, after in zip(changes, changes[1:]):  # each change follows the workflow, in time order
            assert before.at <= after.at
            workflow.check(after.from_status, after.to_status, workflow.STAFF if after.to_status != workflow.CLOSED
                           else workflow.SYSTEM)
        final = {workflow.CLOSED: r.closed_at, workflow.RESOLVED: r.resolved_at, workflow.MERGED: r.closed_at}
        if r.status in final:
            assert changes[-1].at == final[r.status]
        if r.status == workflow.MERGED:
            assert changes[-1].note == r.merged_into.tracking_code
        if r.rating is not None:
            assert [e.note for e in steps if e.kind == "rating"] == [str(r.rating)]


def test_places_are_what_the_service_computes(categories, demo_city):
    from parcels.models import District
    from reports.models import Department, Routing

    # a routing rule sends the potholes of one district to another department: the demo follows it as submit does
    district = District.objects.order_by("id").first()
    other = Department.objects.get(code="green")
    Routing.objects.create(category=categories["pothole"], district=district, department=other)
    demo.generate(COUNT, seed=3, now=NOW)
    reports = list(Report.objects.select_related("category"))
    private = [r for r in reports if r.category.private_place]
    assert private and any(r.public_geom != r.geom for r in private)
    assert any(r.category.code == "pothole" and r.district_id == district.pk for r in reports)
    for r in reports:
        place = service.place_of(r.geom)
        assert (r.district_id, r.parcel_id) == (place.district_id, place.parcel_id), r.tracking_code
        expected = service.public_point(r.category, r.geom, place)
        assert (r.public_geom.x, r.public_geom.y, r.public_geom.srid) == (expected.x, expected.y, expected.srid)
        assert r.department_id == service.route(r.category, r.district_id).pk
        if r.category.needs_parcel:
            assert r.parcel_id is not None
        assert service.in_city(r.geom), r.tracking_code
    # both kinds of places: on parcels and on streets (with the street's name as the address)
    assert any(r.parcel_id for r in reports) and any(r.parcel_id is None and r.address for r in reports)


def test_same_seed_same_reports_and_codes_that_clash_are_drawn_again(categories, reporter, spot):
    # a citizen's report holds the code the first demo report of seed 9 gets
    body = str(100_000_000 + (1 * demo.MULTIPLIER + 9 * 7_919 % demo.BODIES) % demo.BODIES)
    clash = body + codes.luhn_digit(body)
    point, _parcel = spot
    real = service.submit(category=categories["pothole"], point=point, description="a real one", reporter=reporter,
                          now=NOW)
    Report.objects.filter(pk=real.pk).update(tracking_code=clash)

    def drawn():
        return sorted(Report.objects.exclude(pk=real.pk).values_list("tracking_code", "category_id", "status",
                                                                     "created_at", "voices"))

    demo.generate(100, seed=9, now=NOW)
    first = drawn()
    found = {code for code, *_ in first}
    assert clash not in found and len(found) == 100 and all(codes.is_valid(code) for code in found)
    second = demo.generate(100, seed=9, now=NOW)  # a rerun replaces the demo reports and keeps the citizen's
    assert second["removed"] == 100 and drawn() == first
    assert Report.objects.get(pk=real.pk).tracking_code == clash
    real.delete()
    demo.generate(100, seed=9, now=NOW)
    assert clash in {code for code, *_ in drawn()}  # the code the citizen's report had is the demo's otherwise


def test_command_if_absent_and_replace(categories):
    call_command("load_demo_reports", "--count", "50", "--if-absent", "--years", "2")
    assert Report.objects.count() == 50
    assert Report.objects.order_by("created_at").first().created_at > timezone.now() - dt.timedelta(days=732)
    call_command("load_demo_reports", "--count", "60", "--if-absent")  # some there: nothing done
    assert Report.objects.count() == 50
    call_command("load_demo_reports", "--count", "70", "--seed", "2")
    assert Report.objects.count() == 70
    assert Event.objects.filter(report__isnull=True).count() == 0


def test_command_refuses_without_categories(db, demo_city):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="load_report_categories"):
        call_command("load_demo_reports", "--count", "10")
    with pytest.raises(CommandError, match="--count"):
        call_command("load_demo_reports", "--count", "0")
