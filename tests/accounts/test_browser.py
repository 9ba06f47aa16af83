"""In Debian's headless Chromium against the portal server (gunicorn on the test database): a citizen signs in with
the SMS code, gives the national ID, sees their parcels and shares and changes their notice settings, all without
JavaScript being needed; a staff user needs the TOTP code for the admin when STAFF_OTP_REQUIRED is on.

No django_db mark: what these tests make must be committed for the server's connections to see it, and they delete
it afterwards."""

import re
import time

import pytest
from django.db import connection
from django_otp.oath import TOTP

from tests.accounts.conftest import last_code, owners_with_mobile

pytestmark = pytest.mark.browser

FA = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def _cleanup(phone=None, username=None):
    from django.contrib.auth.models import User

    from accounts.models import AuditEvent, Citizen, SigninCode
    from accounts.signin import mask_phone
    from notices.models import LocalSms, Message, Preference

    users = User.objects.filter(username__in=[u for u in (phone, username) if u])
    AuditEvent.objects.filter(user__in=users).delete()
    if phone:
        AuditEvent.objects.filter(phone=mask_phone(phone)).delete()
    Message.objects.filter(user__in=users).delete()
    if phone:
        Message.objects.filter(phone=phone).delete()
        LocalSms.objects.filter(phone=phone).delete()
        Preference.objects.filter(phone=phone).delete()
        SigninCode.objects.filter(phone=phone).delete()
        Citizen.objects.filter(mobile=phone).delete()
    users.delete()
    with connection.cursor() as cursor:  # this run's counters, so that runs within the hour do not add up
        cursor.execute("DELETE FROM accounts_ratecounter WHERE key LIKE 'number:%%' OR key LIKE 'address:%%' "
                       "OR key LIKE 'claim:%%'")


@pytest.fixture
def citizen_owner(demo_city, notice_templates, django_db_blocker):
    with django_db_blocker.unblock():
        owner = next(o for o in owners_with_mobile()[:200] if o.ownerships.count() >= 1)
        _cleanup(owner.phone)
    yield owner
    with django_db_blocker.unblock():
        _cleanup(owner.phone)


def test_citizen_signs_in_sees_properties_and_changes_settings(browser, portal_url, citizen_owner,
                                                               django_db_blocker):
    owner = citizen_owner
    context = browser.new_context(locale="en-US", java_script_enabled=False)  # the pages work without JavaScript
    page = context.new_page()
    try:
        page.goto(portal_url + "/accounts/signin/")
        assert page.get_attribute("html", "dir") == "rtl"
        page.fill('[data-testid="phone"]', owner.phone.translate(FA))  # typed with Persian digits
        page.click('[data-testid="send-code"]')
        page.wait_for_selector('[data-testid="code-sent"]')
        assert owner.phone.translate(FA) in page.inner_text('[data-testid="code-sent"]')
        with django_db_blocker.unblock():
            code = last_code(owner.phone)  # the queued SMS (no worker runs beside the test server)
        page.fill('[data-testid="code"]', code)
        page.click('[data-testid="verify"]')
        page.wait_for_selector('[data-testid="national-id"]')
        page.fill('[data-testid="national-id"]', owner.national_id.translate(FA))
        page.click('[data-testid="save-national-id"]')
        page.wait_for_selector('[data-testid="link-verified"]')
        page.click('[data-testid="go-properties"]')
        page.wait_for_selector('[data-testid="parcel"]')
        with django_db_blocker.unblock():
            mine = {o.parcel_id: o for o in owner.ownerships.all()}
            co_owner_names = [o.owner.last_name for o in
                              type(next(iter(mine.values()))).objects.filter(parcel_id__in=mine)
                              .exclude(owner=owner).select_related("owner") if o.owner.last_name]
        shown = {int(el.get_attribute("data-parcel-id")) for el in page.query_selector_all('[data-testid="parcel"]')}
        assert shown == set(mine)
        from accounts.properties import dang

        first_id, first_ownership = next(iter(mine.items()))
        first = page.query_selector(f'[data-parcel-id="{first_id}"]')
        assert dang(first_ownership.share_dang).translate(FA) in first.query_selector(
            '[data-testid="own-share"]').inner_text()  # the share, in Persian digits
        text = page.inner_text("main")
        assert not any(name in text for name in co_owner_names)
        assert re.search(r"/#18/[\d.]+/[\d.]+/\d+$", first.query_selector('[data-testid="map-link"]')
                         .get_attribute("href"))
        # notice settings
        page.click('[data-testid="nav-settings"]')
        page.uncheck("#id_by_sms")
        page.check("#id_by_email")
        page.fill("#id_email", "owner@example.org")
        page.uncheck("#id_reminders")
        page.click('[data-testid="save-settings"]')
        page.wait_for_selector('[data-testid="settings-saved"]')
        with django_db_blocker.unblock():
            from notices.models import Preference

            pref = Preference.objects.get(phone=owner.phone)
            assert (pref.by_sms, pref.by_email, pref.email, pref.reminders_opt_out) == \
                (False, True, "owner@example.org", True)
            assert pref.user.username == owner.phone
    finally:
        context.close()


@pytest.fixture
def otp_server(portal_url, django_db_blocker):
    """A portal server with STAFF_OTP_REQUIRED on (its own gunicorn: settings are read at start)."""
    from tests.conftest import serve_portal

    with serve_portal(django_db_blocker, gunicorn_args=("--workers", "1"), STAFF_OTP_REQUIRED="true") as base:
        yield base


@pytest.fixture
def staff_with_device(django_db_blocker):
    from django.contrib.auth.models import User
    from django_otp.plugins.otp_totp.models import TOTPDevice

    with django_db_blocker.unblock():
        User.objects.filter(username="otp-staff").delete()
        user = User.objects.create_superuser("otp-staff", password="pw-otp-staff")
        device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    yield user, device
    with django_db_blocker.unblock():
        _cleanup(username="otp-staff")


def test_staff_needs_the_totp_code_for_the_admin(browser, otp_server, staff_with_device):
    user, device = staff_with_device
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    try:
        page.goto(otp_server + "/admin/")
        page.fill("#id_username", "otp-staff")
        page.fill("#id_password", "pw-otp-staff")
        page.click('input[type="submit"]')
        page.wait_for_selector('[data-testid="login-error"]')
        assert "/admin/login/" in page.url
        t = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        t.time = time.time()
        page.fill("#id_password", "pw-otp-staff")
        page.fill("#id_otp_token", str(t.token()).zfill(6))
        page.click('input[type="submit"]')
        page.wait_for_selector("#site-name")
        assert "/admin/login/" not in page.url and page.query_selector("#user-tools") is not None
    finally:
        context.close()
