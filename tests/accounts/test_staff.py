"""Staff: the admin's password sign-in with TOTP (django-otp) — required with STAFF_OTP_REQUIRED, and for anyone with a
device —, enrolment with a QR code, staff_otp_required, the staff_totp command, idle sessions, the audit log."""

import io
import time

import pytest
from django.core.management import call_command
from django.http import HttpResponse
from django.test import RequestFactory
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.decorators import staff_otp_required
from accounts.middleware import LAST_SEEN
from accounts.models import AuditEvent
from tests.accounts.conftest import signed_in
from tests.conftest import make_user

pytestmark = pytest.mark.django_db
Kind = AuditEvent.Kind


def token(device, steps_ahead=0):
    """The code the authenticator app shows (steps_ahead=1: the next one; a code is accepted once)."""
    t = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    t.time = time.time() + steps_ahead * device.step
    return str(t.token()).zfill(device.digits)


@pytest.fixture
def boss(db):
    return make_user("boss", "admin", is_staff=True)


def admin_login(client, user, otp=""):
    return client.post("/admin/login/?next=/admin/", {"username": user.username, "password": "pw-" + user.username,
                                                      "otp_token": otp, "next": "/admin/"})


def test_without_the_rule_and_without_a_device_the_password_is_enough(client, boss):
    response = admin_login(client, boss)
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    assert AuditEvent.objects.filter(kind=Kind.STAFF_SIGNIN, user=boss).exists()


def test_wrong_password_is_audited(client, boss):
    response = client.post("/admin/login/", {"username": "boss", "password": "wrong", "otp_token": ""})
    assert response.status_code == 200
    assert AuditEvent.objects.filter(kind=Kind.STAFF_SIGNIN_FAILED, detail__username="boss").exists()


def test_required_otp_admin_needs_a_real_totp_code(client, boss, settings):
    settings.STAFF_OTP_REQUIRED = True
    device = TOTPDevice.objects.create(user=boss, name="phone", confirmed=True)
    # the password alone: refused, the form asks for the code
    no_code = admin_login(client, boss)
    assert no_code.status_code == 200 and 'name="otp_token"' in no_code.content.decode()
    assert client.get("/admin/").status_code == 302
    wrong = admin_login(client, boss, otp=str((int(token(device)) + 1) % 1_000_000).zfill(6))
    assert wrong.status_code == 200 and client.get("/admin/").status_code == 302
    assert AuditEvent.objects.filter(kind=Kind.OTP_FAILED, user=boss).exists()
    device.refresh_from_db()
    device.throttle_reset()
    ok = admin_login(client, boss, otp=token(device))
    assert ok.status_code == 302 and client.get("/admin/").status_code == 200
    event = AuditEvent.objects.filter(kind=Kind.STAFF_SIGNIN, user=boss).latest("id")
    assert event.detail["otp"] is True


def test_a_device_is_asked_for_even_without_the_rule(client, boss):
    device = TOTPDevice.objects.create(user=boss, name="phone", confirmed=True)
    assert admin_login(client, boss).status_code == 200
    assert client.get("/admin/").status_code == 302
    assert admin_login(client, boss, otp=token(device)).status_code == 302
    assert client.get("/admin/").status_code == 200


def test_required_otp_without_a_device_goes_to_enrolment(client, boss, settings):
    settings.STAFF_OTP_REQUIRED = True
    assert admin_login(client, boss).status_code == 302  # the password is right
    to_login = client.get("/admin/")
    assert to_login.status_code == 302
    to_enrol = client.get(to_login["Location"])
    assert to_enrol.status_code == 302 and to_enrol["Location"].startswith("/accounts/staff/2fa/")
    page = client.get(to_enrol["Location"])
    assert page.status_code == 200 and 'data-testid="otp-start"' in page.content.decode()
    client.post("/accounts/staff/2fa/", {"action": "start", "next": "/admin/"})
    device = TOTPDevice.objects.get(user=boss)
    assert not device.confirmed
    page = client.get("/accounts/staff/2fa/?next=/admin/").content.decode()
    assert "<svg" in page and 'data-testid="otp-secret"' in page
    bad = client.post("/accounts/staff/2fa/", {"action": "confirm", "otp_token": "000000", "next": "/admin/"})
    assert bad.status_code in (200, 400)
    device.refresh_from_db()
    device.throttle_reset()
    done = client.post("/accounts/staff/2fa/", {"action": "confirm", "otp_token": token(device), "next": "/admin/"})
    assert done.status_code == 302 and done["Location"] == "/admin/"
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/admin/").status_code == 200  # the session is verified by the new device
    assert AuditEvent.objects.filter(kind=Kind.OTP_ENROLLED, user=boss).exists()


def test_password_alone_cannot_add_a_second_device(client, boss):
    TOTPDevice.objects.create(user=boss, name="phone", confirmed=True)
    client.force_login(boss)  # the password, not the code
    assert client.get("/accounts/staff/2fa/").status_code == 403
    assert client.post("/accounts/staff/2fa/", {"action": "start"}).status_code == 403
    assert TOTPDevice.objects.filter(user=boss).count() == 1


def test_enrolment_is_for_staff(client):
    signed_in(client, "09121234567")
    assert client.get("/accounts/staff/2fa/").status_code == 403


def _decorated(request):
    return staff_otp_required(lambda r: HttpResponse("ok"))(request)


def _request(user, path="/dues/finance/", verified=False):
    request = RequestFactory().get(path)
    request.user = user
    user.is_verified = lambda: verified
    return request


def test_staff_otp_required_decorator(boss, settings):
    from django.contrib.auth.models import AnonymousUser

    anonymous = _request(AnonymousUser())
    assert _decorated(anonymous)["Location"].startswith("/admin/login/?next=")
    assert _decorated(_request(boss)).status_code == 200  # not required, no device
    settings.STAFF_OTP_REQUIRED = True
    assert _decorated(_request(boss))["Location"].startswith("/accounts/staff/2fa/?next=")
    TOTPDevice.objects.create(user=boss, name="phone", confirmed=True)
    assert _decorated(_request(boss))["Location"].startswith("/admin/login/?next=")
    assert _decorated(_request(boss, verified=True)).status_code == 200
    from accounts.decorators import SignInNeeded
    from common.errors import Forbidden

    with pytest.raises(SignInNeeded):
        _decorated(_request(AnonymousUser(), "/api/dues/finance"))
    with pytest.raises(Forbidden):
        _decorated(_request(boss, "/api/dues/finance"))


def test_staff_totp_command(boss):
    out = io.StringIO()
    call_command("staff_totp", "boss", "--no-qr", stdout=out)
    text = out.getvalue()
    device = TOTPDevice.objects.get(user=boss)
    assert device.confirmed and device.config_url in text and "otpauth://totp/" in text
    out = io.StringIO()
    call_command("staff_totp", "boss", "--replace", stdout=out)
    assert TOTPDevice.objects.filter(user=boss).count() == 1
    assert "otpauth://" in out.getvalue() and "█" in out.getvalue() or "▀" in out.getvalue() or "▄" in out.getvalue()


# --- Idle sessions ---------------------------------------------------------------------------------------------


def _age_session(client, seconds):
    session = client.session
    session[LAST_SEEN] = int(time.time()) - seconds
    session.save()


def test_staff_session_ends_after_staff_idle_minutes(client, boss, settings, english):
    settings.STAFF_IDLE_MINUTES = 1
    client.force_login(boss)
    client.cookies["django_language"] = "en"  # the page's language (the fixture only sets the test's own)
    assert client.get("/admin/").status_code == 200
    _age_session(client, 30)
    assert client.get("/admin/").status_code == 200  # within the minute
    _age_session(client, 61)
    expired = client.get("/admin/", follow=True)
    assert expired.redirect_chain and expired.redirect_chain[-1][0].startswith("/admin/login/")
    assert "signed out after a while without activity" in expired.content.decode()
    assert AuditEvent.objects.filter(kind=Kind.SESSION_EXPIRED, user=boss).exists()


def test_citizen_session_ends_after_citizen_idle_minutes(client, settings, english):
    settings.STAFF_IDLE_MINUTES = 1
    settings.CITIZEN_IDLE_MINUTES = 5
    signed_in(client, "09121234567")
    client.cookies["django_language"] = "en"
    _age_session(client, 120)  # past the staff limit, within the citizens'
    assert client.get("/accounts/properties/").status_code == 200
    _age_session(client, 301)
    gone = client.get("/accounts/properties/", follow=True)
    assert gone.redirect_chain[-1][0].startswith("/accounts/signin/")
    assert "signed out after a while without activity" in gone.content.decode()


def test_zero_minutes_turns_the_limit_off(client, boss, settings):
    settings.STAFF_IDLE_MINUTES = 0
    client.force_login(boss)
    client.get("/admin/")
    _age_session(client, 10 * 24 * 3600)
    assert client.get("/admin/").status_code == 200


def test_last_activity_written_at_most_once_a_minute(client, boss):
    client.force_login(boss)
    client.get("/admin/")
    first = client.session[LAST_SEEN]
    _age_session(client, 10)
    written = client.session[LAST_SEEN]
    client.get("/admin/")
    assert client.session[LAST_SEEN] == written  # not rewritten within the minute
    _age_session(client, 70)
    client.get("/admin/")
    assert client.session[LAST_SEEN] >= first


def test_audit_log_readable_with_the_permission(client, role_users):
    AuditEvent.objects.create(kind=Kind.CODE_REQUESTED, phone="0912***4567")
    client.force_login(role_users["admin"])
    page = client.get("/admin/accounts/auditevent/")
    assert page.status_code == 200 and "0912***4567" in page.content.decode()
    assert client.get("/admin/accounts/auditevent/add/").status_code == 403
    client.force_login(role_users["engineer"])
    assert client.get("/admin/accounts/auditevent/").status_code == 403
