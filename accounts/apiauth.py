"""Who an API request is, from its `Authorization` header: one mechanism for every API endpoint (the paths of
settings.API_PATH_PREFIXES: /api/, /ogc/, /tiles/). ApiAuthMiddleware (settings.MIDDLEWARE) sets request.user from the
header, so the views, and the apps below accounts that cannot import it (layers/), only read request.user.

Accepted:
- a personal API token (accounts/apitokens.py): `Authorization: Bearer <token>`, `Authorization: Token <token>`, or
  as HTTP basic auth's password with any user name (how QGIS's "Basic" authentication configuration sends it). A
  token costs one indexed look-up of its SHA-256;
- HTTP basic auth with a user name and password. The password hasher costs about half a second of CPU on purpose,
  so it must not run for every request:
  * credentials once verified are remembered for API_BASIC_CACHE_SECONDS in Django's cache (settings.API_AUTH_CACHE),
    under an HMAC (keyed by the site's secret) of the user name, the password and the user's stored password hash:
    a password change forgets them at once, and the cache holds nothing that gives a password away;
  * a try that needs the hasher is first counted against the failure limits per client address and per user name
    (API_AUTH_FAILURES_PER_ADDRESS, API_AUTH_FAILURES_PER_USER; accounts/ratelimit.py, in PostgreSQL, exact across
    processes) and given back when the password was right. Past a limit the answer is 429 with Retry-After and the
    hasher does not run until the limit's window ends (the lock-out); remembered credentials and tokens still work;
  * the header is checked lazily, when something first asks for request.user: a public resource (a public layer's
    tiles, its OGC items) asked with wrong credentials is answered as it is to anyone, without a hash at all.
    Requests with unsafe methods (POST ...) are checked before their view runs: wrong credentials are a 401 before
    anything happens.

With an Authorization header the session cookie is not used for the user, so such a request cannot be forged by
another site, and it is exempt from CSRF: API clients (QGIS, scripts) can POST without a CSRF cookie. A browser may
replay basic credentials typed into its dialog, so a request a browser marks as coming from elsewhere (an Origin
header, unless Sec-Fetch-Site says same-origin) keeps the CSRF check. Cookie sessions keep CSRF as before.

Two-factor (staff_otp_required asks user.is_verified()): a token counts as verified when its owner made it in a session
verified by a TOTP code (ApiToken.two_factor: the second factor was given when the token was made; the token page is
itself behind staff_otp_required). Basic auth with a password is one factor: it passes the rule only where a
password-only session would (STAFF_OTP_REQUIRED off and no device).
"""

import base64
import binascii
import hmac
import time

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.cache import caches
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _

from accounts import apitokens, ratelimit
from accounts.audit import request_address
from accounts.signin import address_key, derive_key, parse_limits
from common.edge import error_response, is_api
from common.errors import ApiError

SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}
MAX_USERNAME = 150
MAX_PASSWORD = 1024
clock = time.time  # the rate limits' clock (tests move it)


class Unauthorized(ApiError):
    """Credentials missing or wrong; the challenge makes QGIS, GDAL and curl answer from their settings."""

    status = 401
    code = "unauthorized"
    headers = {"WWW-Authenticate": 'Basic realm="api", charset="UTF-8"'}


class TooManyTries(ApiError):
    """Too many wrong passwords from this address or for this user name: wait (Retry-After)."""

    status = 429
    code = "too_many_tries"

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.headers = {"Retry-After": str(retry_after)}


# --- The header ---------------------------------------------------------------------------------------------------


def parse_basic(value: str) -> tuple[str, str]:
    """The user name and password of a basic-auth header's value (the base64 after `Basic `); 401 if it is not
    one, or carries what no user name or password can (NUL bytes, absurd lengths)."""
    try:
        text = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise Unauthorized(_("The Authorization header is not valid HTTP basic authentication.")) from None
    username, colon, password = text.partition(":")
    if not colon or "\x00" in text or len(username) > MAX_USERNAME or len(password) > MAX_PASSWORD:
        raise Unauthorized(_("The Authorization header is not valid HTTP basic authentication."))
    return username, password


def _verified(user, *, two_factor: bool, token=None):
    """The user as staff_otp_required sees them (django-otp's attributes, which its middleware sets for sessions)."""
    user.otp_device = None
    user.is_verified = lambda: two_factor
    user.api_token = token
    return user


def token_user(request, token: str):
    row = apitokens.find(token)
    reason = apitokens.refusal(row)
    if reason:
        messages = {"revoked": _("This API token has been revoked."), "expired": _("This API token has expired."),
                    "inactive": _("The account of this API token is disabled.")}
        raise Unauthorized(messages.get(reason, _("The API token is not valid.")))
    apitokens.touch(row)
    return _verified(row.user, two_factor=row.two_factor, token=row)


def _cache():
    return caches[getattr(settings, "API_AUTH_CACHE", "default")]


def cache_key(username: str, password: str, password_hash: str) -> str:
    key = derive_key(settings.SECRET_KEY, "accounts.api-basic-cache")
    mac = hmac.new(key, "\x00".join((username, password, password_hash)).encode(), "sha256").hexdigest()
    return f"apiauth:{mac}"


def failure_scopes(request, username: str) -> dict:
    return {"api-addr": (address_key(request_address(request)), parse_limits(settings.API_AUTH_FAILURES_PER_ADDRESS)),
            "api-user": (username.strip().lower()[:64], parse_limits(settings.API_AUTH_FAILURES_PER_USER))}


def password_user(request, username: str, password: str):
    """Basic auth with a password: remembered credentials, else a try counted against the failure limits, then the
    password hasher (Django's authenticate(), which also sends user_login_failed: the audit log)."""
    model = get_user_model()
    user = model._default_manager.filter(**{model.USERNAME_FIELD: username}).first()
    if user is not None and user.password and user.is_active:
        if _cache().get(cache_key(username, password, user.password)) == user.pk:
            return _verified(user, two_factor=False)
    scopes, now = failure_scopes(request, username), clock()
    decision = ratelimit.hit(scopes, now)
    if not decision.allowed:
        raise TooManyTries(_("Too many wrong passwords; try again in %(seconds)s seconds, or use an API token.")
                           % {"seconds": decision.retry_after}, decision.retry_after)
    user = authenticate(request, username=username, password=password)
    if user is None or not user.is_active:
        raise Unauthorized(_("Wrong user name or password."))
    ratelimit.give_back(scopes, now)  # a right password is not a failure
    _cache().set(cache_key(username, password, user.password), user.pk, settings.API_BASIC_CACHE_SECONDS)
    return _verified(user, two_factor=False)


def header_user(request):
    """The user the Authorization header names (401 when it is wrong, 429 when the failure limits are reached)."""
    scheme, _space, value = request.META.get("HTTP_AUTHORIZATION", "").strip().partition(" ")
    scheme, value = scheme.lower(), value.strip()
    if scheme in ("bearer", "token"):
        return token_user(request, value)
    if scheme == "basic":
        username, password = parse_basic(value)
        if apitokens.looks_like_token(password):
            return token_user(request, password)  # QGIS's basic configuration with the token as password
        return password_user(request, username, password)
    raise Unauthorized(_("Sign in with an API token (Authorization: Bearer <token>) or HTTP basic authentication."))


class _Resolution:
    """The header's user, worked out once per request: the outcome (a user or the error) is kept, so a second look
    (an error page, the audit log) neither runs the hasher again nor counts another failure."""

    def __init__(self, request):
        self.request = request
        self.user = None
        self.error = None

    def __call__(self):
        if self.user is None and self.error is None:
            # while it is worked out, request.user is nobody (the audit of a failed sign-in reads it)
            lazy, self.request.user = self.request.user, AnonymousUser()
            try:
                self.user = header_user(self.request)
            except ApiError as exc:
                self.error = exc
            finally:
                self.request.user = lazy
        if self.error is not None:
            raise self.error
        return self.user


def browser_cross_site(request) -> bool:
    """A browser's request from another page's origin (which may carry basic credentials the browser remembers)."""
    return "HTTP_ORIGIN" in request.META and request.META.get("HTTP_SEC_FETCH_SITE") != "same-origin"


class ApiAuthMiddleware:
    """Sets request.user from the Authorization header on API paths (after the session's middlewares, whose user it
    replaces for such requests). See the module's description."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "HTTP_AUTHORIZATION" not in request.META or not is_api(request):
            return self.get_response(request)
        resolution = _Resolution(request)
        request.user = SimpleLazyObject(resolution)

        async def auser():
            return resolution()

        request.auser = auser
        if request.method not in SAFE_METHODS:
            try:
                resolution()
            except ApiError as exc:
                return error_response(request, exc)
            if not browser_cross_site(request):
                request._dont_enforce_csrf_checks = True  # noqa: SLF001 (Django's own switch for this)
        return self.get_response(request)
