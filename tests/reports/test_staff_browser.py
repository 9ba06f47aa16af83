"""The staff inbox in Debian's headless Chromium against the portal server (gunicorn on the test database): a clerk
of the roads department opens the inbox, sees the pothole report on the map and in the list with its SLA colour,
opens it, accepts it and resolves it with a note and a photo of the fix; the reporter is told of each change
(notices' messages).

The browser test has no django_db mark: what it makes must be committed for the server's connections to see it; it deletes it
afterwards (and the categories and departments too when it loaded them)."""

import contextlib
import datetime as dt
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.reports.conftest import forget_committed_categories
from django.conf import settings
from django.db import connection
from django.utils import timezone

pytestmark = pytest.mark.browser

PHONE = "09170001370"
CLERK = "roads-browser-clerk"


def _session(user) -> str:
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session.update({SESSION_KEY: str(user.pk), BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
                    HASH_SESSION_KEY: user.get_session_auth_hash()})
    session.create()
    return session.session_key


def _cleanup(loaded_categories: bool):
    from django.contrib.auth.models import User

    from notices.models import LocalSms, Message
    from parcels.models import PersonalDataAccess
    from reports.models import Report

    from reports.models import Photo

    Message.objects.filter(phone=PHONE).delete()
    LocalSms.objects.filter(phone=PHONE).delete()
    for photo in Photo.objects.filter(report__reporter_phone=PHONE).select_related("report"):
        photo.image.delete(save=False)  # the served portal stored its files
        photo.thumbnail.delete(save=False)
        photo.incoming.delete(save=False)
        with connection.cursor() as cursor:  # its job, if the test did not run it
            cursor.execute("DELETE FROM procrastinate_jobs WHERE task_name = 'reports.process_photo' AND "
                           "(args->>'photo_id')::bigint = %s", [photo.pk])
        folder = Path(settings.MEDIA_ROOT) / "reports" / str(photo.report.public_id)
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    Report.objects.filter(reporter_phone=PHONE).delete()
    PersonalDataAccess.objects.filter(user__username=CLERK).delete()
    User.objects.filter(username=CLERK).delete()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM accounts_ratecounter WHERE key LIKE %s", [f"%{PHONE}%"])
    if loaded_categories:
        forget_committed_categories()


@pytest.fixture
def pothole(demo_city, django_db_blocker):
    """A pothole report due within the day, and a clerk of the roads department (role "service"), committed."""
    from django.contrib.auth.models import Group, User

    from notices import defaults
    from parcels.models import Parcel
    from reports import loader, service
    from reports.models import Category, Report

    with django_db_blocker.unblock():
        loaded = not Category.objects.exists()
        _cleanup(False)
        defaults.load()
        loader.load(loader.read(loader.DEFAULT_FILE))
        category = Category.objects.select_related("department").get(code="pothole")
        clerk = User.objects.create_user(CLERK, password=None, is_staff=True)
        clerk.groups.add(Group.objects.get(name="service"))
        category.department.staff.add(clerk)
        parcel = Parcel.objects.filter(renewal_code__isnull=False).order_by("id")[70]
        point = parcel.geom.point_on_surface
        report = service.submit(category=category, point=point, description="A deep pothole by the school",
                                reporter=service.Reporter(phone=PHONE, language="en"))
        Report.objects.filter(pk=report.pk).update(due_at=timezone.now() + dt.timedelta(hours=5))
        session = _session(clerk)
    yield report, session
    with django_db_blocker.unblock():
        _cleanup(loaded)


@contextlib.contextmanager
def photo_worker(log_dir: Path):
    """A procrastinate worker on the queue "reports" (`manage.py procrastinate worker`), on the test database."""
    db = connection.settings_dict
    url = f"postgis://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env = {**os.environ, "DATABASE_URL": url, "PYTHONUNBUFFERED": "1",
           "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "gis_portal.settings_test")}
    root = Path(__file__).resolve().parents[2]
    with open(log_dir / "worker.log", "ab") as log:
        worker = subprocess.Popen([str(root / ".venv" / "bin" / "python"), "manage.py", "procrastinate", "worker",
                                   "--queues", "reports", "--fetch-job-polling-interval", "1"],
                                  cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield worker
    finally:
        worker.terminate()
        worker.wait(timeout=20)


def test_a_roads_clerk_accepts_and_resolves_a_pothole(portal_url, pothole, browser, django_db_blocker, tmp_path):
    from PIL import Image

    from notices.models import Message
    from reports.models import Photo, Report

    fix = tmp_path / "fix.jpg"
    Image.new("RGB", (800, 600), (90, 90, 90)).save(fix, "JPEG")

    report, session = pothole
    code = report.tracking_code
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    context.add_cookies([{"name": "sessionid", "value": session, "url": portal_url},
                         {"name": "django_language", "value": "en", "url": portal_url}])
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(portal_url + "/reports/staff/?department=roads")
        page.wait_for_function("() => document.body.dataset.inboxReady", timeout=20000)
        row = page.locator(f'tr[data-code="{code}"]')
        assert row.get_attribute("data-sla") == "due_soon"
        assert "sla-due_soon" in row.get_attribute("class")
        # amber, as the legend says (the row's first cell is bordered in the SLA colour)
        colour = row.locator("td").first.evaluate("td => getComputedStyle(td).borderInlineStartColor")
        assert colour == "rgb(249, 168, 37)"
        assert page.locator("path.sla-marker.sla-due_soon").count() >= 1  # its marker on the map
        assert PHONE not in page.inner_text("main")  # masked in the list
        row.locator("a").click()
        page.wait_for_function("() => document.body.dataset.reportReady", timeout=20000)
        assert page.get_attribute("[data-testid=sla]", "data-sla") == "due_soon"
        assert PHONE in page.inner_text("[data-testid=reporter-phone]")  # in full on the report's page
        page.click("[data-testid=action-accept] button")
        page.wait_for_function("() => document.querySelector('[data-testid=staff-report]').dataset.status "
                               "=== 'accepted'", timeout=20000)
        assert page.inner_text("[data-testid=status]") == "Accepted"
        page.fill("[data-testid=action-resolve] textarea[name=note]", "Filled and rolled")
        page.set_input_files("[data-testid=action-resolve] input[name=photo]", str(fix))
        page.click("[data-testid=action-resolve] button")
        page.wait_for_function("() => document.querySelector('[data-testid=staff-report]').dataset.status "
                               "=== 'resolved'", timeout=20000)
        assert page.inner_text("[data-testid=status]") == "Resolved"
        assert "Filled and rolled" in page.inner_text("[data-testid=status-note]")
        assert page.get_attribute("[data-testid=sla]", "data-sla") == "finished"
        # the fix's photo: taken, and shown once its job has made the clean JPEG: a real worker (the queue
        # "reports", as `./run` starts it) takes the job the served portal deferred
        assert page.locator("[data-testid=photos] li.moderation-approved [data-testid=photo-processing]").count() == 1
        with django_db_blocker.unblock(), photo_worker(tmp_path):
            deadline = time.monotonic() + 60
            while Photo.objects.get(report_id=report.pk).state == "processing":
                assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()[-3000:]
                time.sleep(0.2)
        page.reload()
        page.wait_for_function("() => document.body.dataset.reportReady", timeout=20000)
        assert page.locator("[data-testid=photos] li.moderation-approved img").count() == 1
        assert page.locator("[data-testid=photos] li.moderation-approved img").evaluate(
            "img => img.complete ? img.naturalWidth : new Promise(r => img.onload = () => r(img.naturalWidth))") == 400
        assert errors == []
        with django_db_blocker.unblock():
            report = Report.objects.get(pk=report.pk)
            assert (report.status, report.status_note) == ("resolved", "Filled and rolled")
            photo = Photo.objects.get(report=report)
            assert (photo.kind, photo.width, photo.height) == ("resolution", 800, 600)
            told = Message.objects.filter(event="reports.status_changed", phone=PHONE, channel="sms")
            assert told.count() == 2  # accepted, resolved
            from parcels.models import PersonalDataAccess

            # opened, after accepting, after resolving, and reloaded for the processed photo
            assert PersonalDataAccess.objects.filter(user__username=CLERK, action="report_view").count() == 4
    finally:
        context.close()


@pytest.mark.django_db  # (also makes pytest-django set up the test database when this module runs alone)
def test_the_sla_colours_agree_in_python_css_and_javascript():
    import re
    from pathlib import Path

    from reports.staff_views import SLA_COLOURS

    static = Path(__file__).resolve().parents[2] / "reports" / "static" / "reports"
    css = (static / "staff.css").read_text()
    js = (static / "staff.js").read_text()
    for state, colour in SLA_COLOURS.items():
        assert re.search(rf"\.sla-dot\.sla-{state}[^{{]*\{{ background: {colour}; \}}", css), state
        assert f'{state}: "{colour}"' in js, state
