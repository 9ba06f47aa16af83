"""In Debian's headless Chromium on a phone-size screen (390×844, touch) against the portal server (gunicorn on the
test database): a citizen reports a pothole with a photo, is offered a report already open nearby, submits anyway,
signs in with the SMS code on the form itself, and gets the tracking code (and its SMS); staff resolve it; the
citizen opens the tracking page, sees "Resolved" and rates the fix five stars, which closes the report.

No django_db mark: what these tests make must be committed for the server's connections to see it, and they delete
it afterwards."""

import io
import re

import pytest

from tests.reports.conftest import forget_committed_categories, run_photo_jobs
from django.contrib.gis.geos import Point
from django.db import connection

from tests.test_map_browser import axe_violations

pytestmark = pytest.mark.browser

PHONE = "09170009988"  # the citizen of this test
DUP_PHONE = "09170009977"  # who reported the pothole first
ASCII = str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789")
FA = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def _cleanup():
    from django.contrib.auth.models import User

    from accounts.models import AuditEvent, Citizen, SigninCode
    from accounts.signin import mask_phone
    from notices.models import LocalSms, Message, Preference
    from reports.models import Follower, Photo, Report

    phones = [PHONE, DUP_PHONE]
    reports = Report.objects.filter(reporter_phone__in=phones)
    for photo in Photo.objects.filter(report__in=reports):
        for field in (photo.image, photo.thumbnail, photo.incoming):
            if field.name:
                field.storage.delete(field.name)
        with connection.cursor() as cursor:  # its job, if the test did not run it
            cursor.execute("DELETE FROM procrastinate_jobs WHERE task_name = 'reports.process_photo' AND "
                           "(args->>'photo_id')::bigint = %s", [photo.pk])
    Follower.objects.filter(report__in=reports).delete()
    Report.objects.filter(merged_into__in=reports).update(merged_into=None)
    reports.delete()  # events and photos with them
    users = User.objects.filter(username__in=phones + ["report-browser-staff"])
    AuditEvent.objects.filter(user__in=users).delete()
    for phone in phones:
        AuditEvent.objects.filter(phone=mask_phone(phone)).delete()
    Message.objects.filter(user__in=users).delete()
    Message.objects.filter(phone__in=phones).delete()
    LocalSms.objects.filter(phone__in=phones).delete()
    Preference.objects.filter(phone__in=phones).delete()
    SigninCode.objects.filter(phone__in=phones).delete()
    Citizen.objects.filter(mobile__in=phones).delete()
    users.delete()
    with connection.cursor() as cursor:  # this run's counters, so that runs within the hour do not add up
        cursor.execute("DELETE FROM accounts_ratecounter WHERE key LIKE 'number:%%' OR key LIKE 'address:%%' "
                       "OR key LIKE 'reports-%%'")


@pytest.fixture
def committed(demo_city, django_db_blocker):
    """The demo categories and the notice texts (committed: the server reads them), a clean slate for the two
    numbers, and a spot on a parcel of the demo city."""
    from notices import defaults
    from parcels.models import Parcel
    from reports import loader

    from reports.models import Category

    with django_db_blocker.unblock():
        loaded = not Category.objects.exists()
        defaults.load()
        loader.load(loader.read(loader.DEFAULT_FILE))
        _cleanup()
        parcel = Parcel.objects.filter(renewal_code__isnull=False).order_by("id")[60]
        surface = parcel.geom.point_on_surface
        point = Point(surface.x, surface.y, srid=surface.srid)
    yield point
    with django_db_blocker.unblock():
        _cleanup()
        if loaded:
            forget_committed_categories()


def _photo_bytes() -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (800, 600), (120, 120, 120))
    draw = ImageDraw.Draw(image)
    draw.ellipse((250, 200, 550, 420), fill=(40, 35, 30))  # a pothole, roughly
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=88)
    return buffer.getvalue()


def _last_code(phone: str) -> str:
    from notices.models import Message

    message = Message.objects.filter(event="accounts.signin_code", phone=phone).order_by("-id").first()
    assert message is not None, f"no sign-in code was queued for {phone}"
    return re.search(r"\b(\d{5,6})\b", message.body.translate(ASCII))[1]


@pytest.mark.django_db  # (also what makes pytest-django set the test database up when this module runs alone)
def test_the_demo_pothole_is_a_street_problem(categories):
    """The flow below reports a pothole where the map is tapped: a demo category about the street itself (not about
    a parcel or a home, which would move or hide the place)."""
    pothole = categories["pothole"]
    assert pothole.active and not pothole.needs_parcel and not pothole.private_place


def test_a_citizen_reports_a_pothole_on_a_phone_and_rates_the_fix(browser, portal_url, committed,
                                                                   django_db_blocker):
    from django.contrib.auth.models import User

    from notices.models import Message
    from reports import service, workflow
    from reports.models import Category, Photo, Report

    point = committed
    with django_db_blocker.unblock():
        pothole = Category.objects.get(code="pothole")
        first = service.submit(category=pothole, point=point, description="چاله‌ی قدیمی",
                               reporter=service.Reporter(phone=DUP_PHONE))
    wgs = Point(point.x, point.y, srid=point.srid)
    wgs.transform(4326)

    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True, locale="fa-IR")
    page = context.new_page()
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    try:
        page.goto(f"{portal_url}/reports/new/?lat={wgs.y:.7f}&lon={wgs.x:.7f}")
        assert page.get_attribute("html", "dir") == "rtl"
        page.wait_for_selector("#pick-map.leaflet-container")
        # the form fits the phone: nothing wider than the screen
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.locator('[data-testid="pick-map"]').tap()  # the map is centred on the spot: tap its middle
        page.wait_for_selector('[data-testid="report-form"][data-place]')
        page.wait_for_selector(".leaflet-marker-icon")
        page.select_option('[data-testid="category"]', "pothole")
        page.fill('[data-testid="description"]', "چاله‌ی عمیق جلوی نانوایی")
        page.set_input_files('[data-testid="photos"]', files=[
            {"name": "pothole.jpg", "mimeType": "image/jpeg", "buffer": _photo_bytes()}])
        page.wait_for_selector('[data-testid="previews"][data-count="1"] img')
        # the report itself carries the photo's token, not its bytes: uploaded beforehand (here after signing in)
        sent = []
        page.on("request", lambda r: sent.append(r.post_data_buffer or b"") if (
            r.method == "POST" and r.url.endswith("/api/reports")) else None)

        # offered the report already open nearby; submits anyway
        offered = page.wait_for_selector(f'[data-testid="nearby-item"][data-code="{first.tracking_code}"]')
        assert offered.is_visible()
        assert not page.is_visible('[data-testid="submit"]')
        assert axe_violations(page, "main", min_contrast_checks=10) == []  # WCAG 2.1 AA, the form as it stands
        page.tap('[data-testid="submit-anyway"]')

        # not signed in: the mobile code, on the form itself
        page.wait_for_selector('[data-testid="inline-signin"]', state="visible")
        page.fill('[data-testid="signin-phone"]', PHONE.translate(FA))  # typed with Persian digits
        page.tap('[data-testid="signin-send"]')
        page.wait_for_selector('[data-testid="signin-code"]', state="visible")
        with django_db_blocker.unblock():
            code = _last_code(PHONE)
        page.fill('[data-testid="signin-code"]', code)
        page.tap('[data-testid="signin-verify"]')

        done = page.wait_for_selector('[data-testid="done"]', state="visible", timeout=20000)
        assert page.get_attribute('[data-testid="previews"] figure', "data-state") == "uploaded"
        (body,) = sent
        assert b'name="photo_tokens"' in body and b"image/jpeg" not in body and len(body) < 4000
        shown = page.inner_text('[data-testid="tracking-code"]')
        assert re.fullmatch("[۰-۹]{10}", shown), shown  # Persian digits
        tracking = shown.translate(ASCII)
        assert done.get_attribute("data-code") == tracking
        with django_db_blocker.unblock():
            report = Report.objects.get(tracking_code=tracking)
            assert report.reporter_phone == PHONE and report.category.code == "pothole"
            assert report.pk != first.pk and report.geom.distance(point) < 3  # metres: where the map was tapped
            (photo,) = Photo.objects.filter(report=report)
            assert photo.state == "processing"  # taken from its header; the job makes its clean JPEG
            assert run_photo_jobs() == {photo.pk: "ready"}
            sms = Message.objects.get(event="reports.received", phone=PHONE)
            assert shown in sms.body or tracking in sms.body
            # staff resolve it
            staff = User.objects.create_superuser("report-browser-staff", password="pw-report-browser-staff")
            service.change_status(report, workflow.RESOLVED, by=staff, note="وصله شد")

        page.tap('[data-testid="report-link"]')
        page.wait_for_selector('[data-testid="report"]')
        page.tap('[data-testid="lang-en"]')  # the English switch
        page.wait_for_selector('html[lang="en"]')
        assert page.inner_text('[data-testid="report-status"]').strip() == "Resolved"
        assert page.inner_text('[data-testid="report-code"]').strip() == tracking
        page.wait_for_selector("#place-map.leaflet-container .leaflet-marker-icon")
        assert axe_violations(page, "main", min_contrast_checks=10) == []
        page.tap('label[for="star-5"]')
        page.tap('[data-testid="rate-send"]')
        page.wait_for_selector('[data-testid="report-rating"]', timeout=15000)  # the page shows the rating
        with django_db_blocker.unblock():
            report.refresh_from_db()
            assert report.status == workflow.CLOSED and report.rating == 5
        assert page.get_attribute('[data-testid="report"]', "data-status") == "closed"
        assert not [p for p in problems if "Content Security Policy" in p or "Uncaught" in p], problems
    finally:
        context.close()
