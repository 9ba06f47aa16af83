"""API clients' authentication (accounts/apiauth.py, accounts/apitokens.py): personal API tokens (made on the staff
page and in the admin, shown once, stored as SHA-256, revocable, expiring) sent as Bearer/Token headers or as basic
auth's password (as QGIS sends them); HTTP basic with a password remembered after one check (the password hasher is
counted by a wrapper, not timed); failures limited per address and per user name (429 + Retry-After, until the window
ends); wrong credentials on a public resource cost no hash; finance JSON and raster upload by token/basic, without a
CSRF cookie, and with the two-factor rule."""

import base64
import hashlib
import time

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.core.cache import caches
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import apiauth, apitokens
from accounts.models import ApiToken, AuditEvent
from tests.accounts.test_staff import admin_login, token as totp
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

PROTECTED = "/ogc/collections/parcel_owners/items?limit=1"  # needs the personal-data permission (role finance)
PUBLIC_TILE = "/tiles/parcels/14/10000/6000.pbf"
PUBLIC_ITEMS = "/ogc/collections/parcels/items?limit=1"


class CountingHasher(MD5PasswordHasher):
    """The tests' fast hasher, counting how often a password is hashed (a check hashes the given password once)."""

    calls = 0

    def encode(self, password, salt):
        type(self).calls += 1
        return super().encode(password, salt)


@pytest.fixture(autouse=True)
def _auth_settings(settings):
    settings.PASSWORD_HASHERS = ["tests.accounts.test_api_auth.CountingHasher"]
    settings.API_BASIC_CACHE_SECONDS = 300
    settings.API_AUTH_FAILURES_PER_ADDRESS = ["100/300"]
    settings.API_AUTH_FAILURES_PER_USER = ["100/300"]
    caches[settings.API_AUTH_CACHE].clear()
    yield
    caches[settings.API_AUTH_CACHE].clear()


@pytest.fixture
def fin(db):
    user = make_user("fin", "finance", is_staff=True)
    CountingHasher.calls = 0
    return user


def basic(username, password):
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def hashes_during(fn):
    before = CountingHasher.calls
    fn()
    return CountingHasher.calls - before


# --- Tokens -------------------------------------------------------------------------------------------------------


def test_a_token_made_on_the_staff_page_is_shown_once_and_only_its_sha256_is_kept(client, fin):
    client.force_login(fin)
    made = client.post("/accounts/staff/api-tokens/", {"action": "create", "name": "QGIS laptop", "days": "30"})
    assert made.status_code == 200 and "no-store" in made["Cache-Control"]
    secret = made.context["new_token"]
    assert apitokens.looks_like_token(secret) and secret in made.content.decode()
    row = ApiToken.objects.get(user=fin)
    assert row.digest == hashlib.sha256(secret.encode()).hexdigest()
    assert row.prefix == secret[:12] and row.name == "QGIS laptop" and row.expires_at > timezone.now()
    stored = [str(getattr(row, f.attname)) for f in ApiToken._meta.fields]
    assert not any(secret[12:] in value for value in stored)  # the secret part is nowhere in the row
    listed = client.get("/accounts/staff/api-tokens/").content.decode()
    assert row.prefix in listed and secret not in listed  # shown once: the list has the prefix only
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.API_TOKEN_CREATED, user=fin).exists()


def test_the_token_page_is_for_staff(client, db):
    citizen = make_user("someone")
    client.force_login(citizen)
    assert client.get("/accounts/staff/api-tokens/").status_code == 403


def test_a_token_works_as_bearer_token_and_as_basic_password_without_the_hasher(client, fin):
    assert client.get(PROTECTED).status_code == 401
    row, secret = apitokens.create(fin, "qgis")
    for header in (f"Bearer {secret}", f"Token {secret}", basic("fin", secret), basic("anything", secret),
                   basic("", secret)):
        assert hashes_during(lambda: _ok(client.get(PROTECTED, HTTP_AUTHORIZATION=header))) == 0, header
    row.refresh_from_db()
    assert row.last_used_at is not None and timezone.now() - row.last_used_at < timezone.timedelta(minutes=1)


def _ok(response):
    assert response.status_code == 200, response.content[:300]


def test_revoked_expired_and_unknown_tokens_are_refused(client, fin):
    row, secret = apitokens.create(fin, "qgis")
    assert client.get(PROTECTED, HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 200
    # revoked on the staff page (the token owner's own)
    client.force_login(fin)
    assert client.post("/accounts/staff/api-tokens/", {"action": "revoke", "token": row.pk}).status_code == 302
    client.logout()
    refused = client.get(PROTECTED, HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert refused.status_code == 401 and refused["WWW-Authenticate"].startswith("Basic")
    assert client.get(PROTECTED, HTTP_AUTHORIZATION=basic("fin", secret)).status_code == 401
    row.refresh_from_db()
    assert row.revoked_at is not None
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.API_TOKEN_REVOKED, user=fin).exists()

    soon, secret2 = apitokens.create(fin, "short", expires_at=timezone.now() + timezone.timedelta(hours=1))
    assert client.get(PROTECTED, HTTP_AUTHORIZATION=f"Bearer {secret2}").status_code == 200
    ApiToken.objects.filter(pk=soon.pk).update(expires_at=timezone.now() - timezone.timedelta(seconds=1))
    expired = client.get(PROTECTED, HTTP_AUTHORIZATION=f"Bearer {secret2}")
    assert expired.status_code == 401 and expired.json()["error"] == "unauthorized"

    forged = secret2[:12] + "_" + "A" * 43  # the right shape and prefix, not the right secret
    assert client.get(PROTECTED, HTTP_AUTHORIZATION=f"Bearer {forged}").status_code == 401
    assert client.get(PROTECTED, HTTP_AUTHORIZATION="Bearer nonsense").status_code == 401


def test_the_admin_makes_a_token_and_shows_it_once(client, fin):
    boss = make_user("root", is_staff=True, is_superuser=True)
    client.force_login(boss)
    page = client.post("/admin/accounts/apitoken/add/", {"user": fin.pk, "name": "GDAL script", "expires_at_0": "",
                                                         "expires_at_1": ""})
    assert page.status_code == 200, page.content[:500]
    secret = page.context["token"]
    assert secret in page.content.decode() and "no-store" in page["Cache-Control"]
    row = ApiToken.objects.get(user=fin)
    assert row.created_by == boss and row.digest == apitokens.digest(secret) and not row.two_factor
    listed = client.get("/admin/accounts/apitoken/").content.decode()
    assert row.prefix in listed and secret not in listed
    assert Client().get(PROTECTED, HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 200


def test_an_admin_who_is_not_a_superuser_makes_tokens_only_for_themselves(client, fin):
    admin_user = make_user("boss", "admin", is_staff=True)
    client.force_login(admin_user)
    refused = client.post("/admin/accounts/apitoken/add/", {"user": fin.pk, "name": "as fin", "expires_at_0": "",
                                                            "expires_at_1": ""})
    assert refused.status_code == 200 and "token" not in refused.context  # the form's error: not a valid choice
    assert not ApiToken.objects.filter(user=fin).exists()
    own = client.post("/admin/accounts/apitoken/add/", {"user": admin_user.pk, "name": "mine", "expires_at_0": "",
                                                        "expires_at_1": ""})
    assert own.status_code == 200 and ApiToken.objects.filter(user=admin_user).exists()


# --- Basic auth with a password -----------------------------------------------------------------------------------


def test_verified_basic_credentials_are_remembered_until_the_password_changes(client, fin):
    header = basic("fin", "pw-fin")
    assert hashes_during(lambda: _ok(client.get(PROTECTED, HTTP_AUTHORIZATION=header))) == 1
    assert hashes_during(lambda: [_ok(client.get(PROTECTED, HTTP_AUTHORIZATION=header)) for _ in range(5)]) == 0
    fin.set_password("new-password-1")
    fin.save()
    CountingHasher.calls = 0
    assert client.get(PROTECTED, HTTP_AUTHORIZATION=header).status_code == 401  # the old one is forgotten at once
    assert CountingHasher.calls == 1
    header = basic("fin", "new-password-1")
    assert hashes_during(lambda: [_ok(client.get(PROTECTED, HTTP_AUTHORIZATION=header)) for _ in range(3)]) == 1


def test_the_cache_keeps_no_password_or_plain_hash(fin):
    key = apiauth.cache_key("fin", "pw-fin", fin.password)
    plain = hashlib.sha256("\x00".join(("fin", "pw-fin", fin.password)).encode()).hexdigest()
    assert "pw-fin" not in key and plain not in key  # keyed by the site's secret


def test_wrong_credentials_on_a_public_resource_run_no_hasher(client, fin):
    bogus = basic("fin", "not-the-password")
    for url in (PUBLIC_TILE, PUBLIC_ITEMS):
        response = []
        assert hashes_during(lambda: response.append(client.get(url, HTTP_AUTHORIZATION=bogus))) == 0
        assert response[0].status_code in (200, 204), url
    # a protected one does check them
    assert hashes_during(lambda: client.get(PROTECTED, HTTP_AUTHORIZATION=bogus)) == 1


def test_failures_lock_a_user_name_out_until_the_window_ends(client, fin, settings, monkeypatch):
    settings.API_AUTH_FAILURES_PER_USER = ["3/300"]
    now = 1_800_000_000 + 10  # 10 s into a 300 s window
    monkeypatch.setattr(apiauth, "clock", lambda: now)
    wrong = basic("fin", "wrong")
    for _ in range(3):
        assert client.get(PROTECTED, HTTP_AUTHORIZATION=wrong).status_code == 401
    assert CountingHasher.calls == 3
    locked = client.get(PROTECTED, HTTP_AUTHORIZATION=basic("fin", "pw-fin"))  # even the right password waits
    assert locked.status_code == 429 and locked.json()["error"] == "too_many_tries"
    assert int(locked["Retry-After"]) == 290
    assert CountingHasher.calls == 3  # refused without the hasher
    assert client.get(PROTECTED, HTTP_AUTHORIZATION=basic("FIN", "x")).status_code == 429  # the same name
    # a token of that user still works during the lock-out
    _row, secret = apitokens.create(fin, "qgis")
    assert client.get(PROTECTED, HTTP_AUTHORIZATION=basic("fin", secret)).status_code == 200
    now += 300  # the next window: the lock is over
    assert client.get(PROTECTED, HTTP_AUTHORIZATION=basic("fin", "pw-fin")).status_code == 200


def test_failures_lock_an_address_out_whatever_the_user_name(client, fin, settings):
    settings.API_AUTH_FAILURES_PER_ADDRESS = ["3/300"]
    for name in ("a", "b", "c"):
        assert client.get(PROTECTED, HTTP_AUTHORIZATION=basic(name, "x")).status_code == 401
    calls = CountingHasher.calls
    locked = client.get(PROTECTED, HTTP_AUTHORIZATION=basic("d", "x"))
    assert locked.status_code == 429 and int(locked["Retry-After"]) > 0 and CountingHasher.calls == calls
    other_address = client.get(PROTECTED, HTTP_AUTHORIZATION=basic("fin", "pw-fin"), REMOTE_ADDR="10.9.9.9")
    assert other_address.status_code == 200


def test_right_passwords_are_not_counted_as_failures(client, fin, settings):
    settings.API_AUTH_FAILURES_PER_USER = ["2/300"]
    settings.API_BASIC_CACHE_SECONDS = 0  # nothing remembered: every request checks the password
    for _ in range(5):
        _ok(client.get(PROTECTED, HTTP_AUTHORIZATION=basic("fin", "pw-fin")))
    assert CountingHasher.calls == 5


def test_a_nul_byte_or_a_broken_header_is_a_401_not_a_500(client, fin):
    for header in ("Basic !!!", "Basic " + base64.b64encode(b"no-colon").decode(), "Negotiate abc"):
        response = client.get(PROTECTED, HTTP_AUTHORIZATION=header)
        assert response.status_code == 401 and response.json()["error"] == "unauthorized", header
    # a NUL byte in the user name (which PostgreSQL cannot take): refused before the database, on any method
    for method in (client.get, client.post):
        response = method(PROTECTED, HTTP_AUTHORIZATION=basic("fin\x00", "x"))
        assert response.status_code in (400, 401) and CountingHasher.calls == 0
    with pytest.raises(apiauth.Unauthorized):
        apiauth.parse_basic(base64.b64encode(b"fin\x00:x").decode())


# --- Every API endpoint: finance JSON, raster upload (CSRF), the two-factor rule ----------------------------------


def test_finance_json_accepts_basic_auth_and_tokens(client, fin):
    assert client.get("/api/dues/finance").status_code == 401
    _ok(client.get("/api/dues/finance", HTTP_AUTHORIZATION=basic("fin", "pw-fin")))
    _row, secret = apitokens.create(fin, "script")
    _ok(client.get("/api/dues/finance", HTTP_AUTHORIZATION=f"Bearer {secret}"))
    assert client.get("/api/dues/finance", HTTP_AUTHORIZATION=basic("fin", "wrong")).status_code == 401


def test_with_two_factor_required_only_a_token_made_after_a_two_factor_sign_in_opens_finance(client, fin, settings):
    settings.STAFF_OTP_REQUIRED = True
    device = TOTPDevice.objects.create(user=fin, name="phone", confirmed=True)
    # a password alone is one factor, as for a session
    assert client.get("/api/dues/finance", HTTP_AUTHORIZATION=basic("fin", "pw-fin")).status_code == 403
    # a token made without the second factor (e.g. by an admin for someone else) does not count as verified
    _row, unverified = apitokens.create(fin, "by admin")
    assert client.get("/api/dues/finance", HTTP_AUTHORIZATION=f"Bearer {unverified}").status_code == 403
    # signed in with password and TOTP code, the staff page makes a verified token
    browser = Client()
    assert admin_login(browser, fin, otp=totp(device)).status_code == 302
    made = browser.post("/accounts/staff/api-tokens/", {"action": "create", "name": "finance script"})
    secret = made.context["new_token"]
    assert ApiToken.objects.get(digest=apitokens.digest(secret)).two_factor
    _ok(Client().get("/api/dues/finance", HTTP_AUTHORIZATION=f"Bearer {secret}"))


def test_the_token_page_needs_the_second_factor_when_it_is_required(client, fin, settings):
    settings.STAFF_OTP_REQUIRED = True
    TOTPDevice.objects.create(user=fin, name="phone", confirmed=True)
    client.force_login(fin)  # a session without the code
    assert client.get("/accounts/staff/api-tokens/").status_code == 302


def test_raster_upload_by_token_or_basic_needs_no_csrf_cookie_but_a_session_does(db):
    boss = make_user("root", is_staff=True, is_superuser=True)  # has layers.add_raster
    _row, secret = apitokens.create(boss, "uploads")
    api = Client(enforce_csrf_checks=True)
    # past CSRF and the permission, the view itself answers: no file given
    for header in (f"Bearer {secret}", basic("root", "pw-root")):
        response = api.post("/api/rasters", {"slug": "x"}, HTTP_AUTHORIZATION=header)
        assert response.status_code == 400 and "file" in response.json()["message"], header
    # wrong credentials on a POST: refused before the view
    assert api.post("/api/rasters", {"slug": "x"}, HTTP_AUTHORIZATION=basic("root", "no")).status_code == 401
    # a cookie session still needs the CSRF token
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(boss)
    refused = browser.post("/api/rasters", {"slug": "x"})
    assert refused.status_code == 403 and refused.json()["error"] == "csrf_failed"
    # a browser's cross-site request replaying remembered basic credentials keeps the CSRF check
    cross = browser.post("/api/rasters", {"slug": "x"}, HTTP_AUTHORIZATION=basic("root", "pw-root"),
                         HTTP_ORIGIN="https://evil.example", HTTP_SEC_FETCH_SITE="cross-site")
    assert cross.status_code == 403 and cross.json()["error"] == "csrf_failed"


def test_the_header_is_only_read_on_api_paths(client, fin):
    """Pages keep the session: a token is no way into the admin."""
    boss = make_user("root", is_staff=True, is_superuser=True)
    _row, secret = apitokens.create(boss, "x")
    assert client.get("/admin/", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 302


def test_lockout_retry_after_counts_down_with_the_real_clock(client, fin, settings):
    settings.API_AUTH_FAILURES_PER_USER = ["1/3600"]
    client.get(PROTECTED, HTTP_AUTHORIZATION=basic("fin", "wrong"))
    locked = client.get(PROTECTED, HTTP_AUTHORIZATION=basic("fin", "wrong"))
    window_end = int(time.time() // 3600) * 3600 + 3600
    assert locked.status_code == 429 and abs(int(locked["Retry-After"]) - (window_end - time.time())) <= 2
