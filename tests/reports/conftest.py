"""Fixtures of the reports' tests: the demo city (session, committed), the demo categories and departments and the
default notice templates (per test, in its transaction), places on the demo city and reporters."""

import pytest
from django.contrib.gis.geos import Point


@pytest.fixture
def categories(db, demo_city):
    """The demo categories and departments (data/reports/categories.toml) and the default notice texts."""
    from notices import defaults
    from reports import loader
    from reports.models import Category

    defaults.load()
    loader.load(loader.read(loader.DEFAULT_FILE))
    return {c.code: c for c in Category.objects.select_related("department")}


@pytest.fixture
def spot(demo_city):
    """A point on a parcel of the demo city (municipality CRS), and that parcel."""
    from parcels.models import Parcel

    parcel = Parcel.objects.filter(renewal_code__isnull=False).order_by("id")[50]
    point = parcel.geom.point_on_surface
    return Point(point.x, point.y, srid=point.srid), parcel


@pytest.fixture
def reporter():
    from reports.service import Reporter

    return Reporter(phone="09171112233", language="fa")


def forget_committed_categories() -> None:
    """For browser tests, which commit the demo categories (the served portal reads them): remove them again, with
    their departments, routing rules and history, so that later tests (and a rerun on the same database) find the
    database as it was. Left alone while any report still points at them."""
    from reports.models import Category, Department, Report, Routing

    if Report.objects.exists():
        return
    for model in (Routing, Category, Department):
        model.objects.all().delete()
        model.history.all().delete()


def run_photo_jobs() -> dict[int, str]:
    """Run the photo jobs that were deferred (the `reports.process_photo` rows procrastinate queued, read from its
    table in this test's transaction) here, as the worker would, and take them off the queue: {photo id: state}."""
    import json

    from django.db import connection

    from reports.tasks import process_photo

    with connection.cursor() as cursor:
        cursor.execute("SELECT id, args::text, queue_name FROM procrastinate_jobs "
                       "WHERE task_name = 'reports.process_photo' AND status = 'todo' ORDER BY id")
        queued = cursor.fetchall()
    done = {}
    for job_id, text, queue in queued:
        assert queue == "reports"  # the worker (all queues by default) takes it
        args = json.loads(text)
        done[args["photo_id"]] = process_photo(**args)
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM procrastinate_jobs WHERE id = %s", [job_id])
    return done
