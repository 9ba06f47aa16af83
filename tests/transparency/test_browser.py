"""In Debian's headless Chromium against the portal server (gunicorn on the test database): a citizen opens a demo
project (its map drawn), signs in with the SMS code from the project's page, comments; the comment waits for
moderation (only they see it); staff publish it on the moderation page; the project page shows it to everyone,
under a pseudonym.

No django_db mark on the browser test: what it makes must be committed for the server's connections to see it, and it
deletes it afterwards."""

import re

import pytest
from django.db import connection

from tests.reports.test_staff_browser import _session
from tests.test_map_browser import axe_violations

pytestmark = pytest.mark.browser

PHONE = "09170007766"
STAFF = "tp-browser-staff"
FA = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
COMMENT = "نیمکت بیشتری بگذارید <b>لطفاً</b>"


def _last_code(phone: str) -> str:
    from notices.models import Message

    message = Message.objects.filter(event="accounts.signin_code", phone=phone).order_by("-id").first()
    assert message is not None, f"no sign-in code was queued for {phone}"
    return re.search(r"\b(\d{5,6})\b", message.body)[1]


def _cleanup(loaded: bool):
    from django.contrib.auth.models import User

    from accounts.models import AuditEvent, Citizen, SigninCode
    from accounts.signin import mask_phone
    from notices.models import LocalSms, Message, Preference
    from transparency.models import Comment, Decision, Follower, Project

    users = User.objects.filter(username__in=[PHONE, STAFF])
    Comment.objects.filter(author__in=users).delete()
    Follower.objects.filter(user__in=users).delete()
    AuditEvent.objects.filter(user__in=users).delete()
    AuditEvent.objects.filter(phone=mask_phone(PHONE)).delete()
    Message.objects.filter(user__in=users).delete()
    Message.objects.filter(phone=PHONE).delete()
    LocalSms.objects.filter(phone=PHONE).delete()
    Preference.objects.filter(phone=PHONE).delete()
    SigninCode.objects.filter(phone=PHONE).delete()
    Citizen.objects.filter(mobile=PHONE).delete()
    users.delete()
    with connection.cursor() as cursor:  # this run's counters, so that runs within the hour do not add up
        cursor.execute("DELETE FROM accounts_ratecounter WHERE key LIKE 'number:%%' OR key LIKE 'address:%%' "
                       "OR key LIKE 'transparency-%%'")
    if loaded and not Comment.objects.exists():
        for model in (Decision, Project):
            model.objects.filter(demo=True).delete()
            model.history.all().delete()


@pytest.fixture
def committed(demo_city, django_db_blocker):
    """The demo decisions and projects and the notice texts, committed (the server reads them)."""
    from notices import defaults
    from transparency import loader
    from transparency.models import Project

    with django_db_blocker.unblock():
        loaded = not Project.objects.exists()
        defaults.load()
        loader.load(loader.read(loader.DEMO_FILE))
        _cleanup(False)
        park = Project.objects.get(code="mehr-park")
    yield park
    with django_db_blocker.unblock():
        _cleanup(loaded)


@pytest.mark.django_db  # (also what makes pytest-django set the test database up when this module runs alone)
def test_the_demo_project_of_the_browser_test_has_a_place(demo):
    assert demo["mehr-park"].geom.geom_type == "Polygon" and demo["mehr-park"].demo


def test_a_citizen_comments_on_a_project_and_it_appears_once_published(browser, portal_url, committed,
                                                                       django_db_blocker):
    from django.contrib.auth.models import User

    from transparency.models import Comment

    park = committed
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                  locale="fa-IR")
    page = context.new_page()
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    try:
        page.goto(f"{portal_url}/transparency/projects/")
        assert page.get_attribute("html", "dir") == "rtl"
        page.wait_for_selector('#projects-map[data-features="6"] path.leaflet-interactive')   # every project drawn
        page.click(f'[data-testid="project-item"][data-id="{park.pk}"] a.name')
        page.wait_for_selector('#place-map[data-drawn="1"]')
        assert page.is_visible('[data-testid="demo-note"]')
        assert page.evaluate("document.documentElement.scrollWidth") <= 390   # fits the phone
        assert axe_violations(page, "main", min_contrast_checks=3) == []

        # not signed in: no form, a link to sign in that comes back here
        assert not page.is_visible('[data-testid="comment-form"]')
        page.click('[data-testid="signin-link"]')
        page.fill('[data-testid="phone"]', PHONE.translate(FA))  # typed with Persian digits
        page.click('[data-testid="send-code"]')
        page.wait_for_selector('[data-testid="code"]')
        with django_db_blocker.unblock():
            code = _last_code(PHONE)
        page.fill('[data-testid="code"]', code)
        page.click('[data-testid="verify"]')
        page.wait_for_selector('[data-testid="comment-form"]')
        assert page.url.rstrip("/").endswith(f"/transparency/projects/{park.pk}")

        page.fill('[data-testid="comment-input"]', COMMENT)
        page.click('[data-testid="comment-send"]')
        page.wait_for_selector('[data-testid="comment-sent"]')
        mine = page.inner_text('[data-testid="own-comment"]')
        assert COMMENT in mine   # shown to its author as text, waiting
        assert page.locator('[data-testid="comments"] [data-testid="comment"]').count() == 0
        with django_db_blocker.unblock():
            comment = Comment.objects.get(project=park)
            assert comment.state == "pending" and comment.body == COMMENT
            staff = User.objects.create_superuser(STAFF, password="pw-" + STAFF)
            session = _session(staff)

        # staff publish it on the moderation page
        staff_context = browser.new_context(locale="en-US")
        staff_context.add_cookies([{"name": "sessionid", "value": session, "url": portal_url},
                                   {"name": "django_language", "value": "en", "url": portal_url}])
        staff_page = staff_context.new_page()
        staff_page.goto(f"{portal_url}/transparency/staff/comments/")
        item = staff_page.wait_for_selector(f'[data-testid="queue-item"][data-id="{comment.pk}"]')
        assert COMMENT in item.inner_text() and PHONE not in staff_page.content()
        item.query_selector('[data-testid="publish"]').click()
        staff_page.wait_for_selector('[data-testid="queue"] .note')   # the queue is empty
        staff_context.close()

        # the project page shows it to everyone, as text, under a pseudonym
        anonymous_context = browser.new_context(locale="en-US")
        anonymous_context.add_cookies([{"name": "django_language", "value": "en", "url": portal_url}])
        anonymous = anonymous_context.new_page()
        anonymous.goto(f"{portal_url}/transparency/projects/{park.pk}/")
        shown = anonymous.wait_for_selector('[data-testid="comment"]')
        assert shown.query_selector('[data-testid="comment-body"]').inner_text() == COMMENT
        assert shown.query_selector("b") is None   # the <b> stayed text
        author = shown.query_selector('[data-testid="comment-author"]').inner_text()
        assert re.fullmatch(r"Citizen [A-Z]{6}", author) and PHONE not in anonymous.content()
        anonymous.context.close()
        page.reload()
        assert page.locator('[data-testid="comments"] [data-testid="comment"]').count() == 1
        assert not [p for p in problems if "Content Security Policy" in p or "Uncaught" in p], problems
    finally:
        context.close()
