"""Citizens' pages (sign-in by mobile number and code, national ID, my properties, settings), the sign-in JSON API,
and the staff's two-factor enrolment. Thin: request → parameters → one service call → response. Every page works
without JavaScript."""

from django.conf import settings
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import user_has_device

from accounts import properties, service, staff
from accounts.audit import record
from accounts.decorators import citizen_required, staff_otp_required
from accounts.forms import SettingsForm
from accounts.models import AuditEvent
from common import params
from common.edge import json_response
from common.errors import BadParameter, Forbidden
from notices.service import preference_for

SESSION_PHONE = "accounts_signin_phone"
BACKEND = "django.contrib.auth.backends.ModelBackend"


def _next(request, default: str) -> str:
    """Where to go after signing in: the `next` asked for when it is on this site, else `default`."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return default


def _language() -> str:
    return (get_language() or settings.LANGUAGE_CODE)[:2]


def _with_next(url: str, request) -> str:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return f"{url}?{urlencode({'next': target})}"
    return url


def _signed_in(request, result):
    """Log the citizen in; their language becomes the page's (the language cookie)."""
    login(request, result.user, backend=BACKEND)
    request.session.pop(SESSION_PHONE, None)
    default = (reverse("accounts:national_id") if service.needs_national_id(result.citizen)
               else reverse("accounts:properties"))
    return default, result.citizen.language


def _set_language_cookie(response, language: str):
    response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, max_age=settings.LANGUAGE_COOKIE_AGE,
                        path=settings.LANGUAGE_COOKIE_PATH, samesite="Lax")
    return response


# --- Sign-in pages --------------------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def signin(request):
    """Step 1: the mobile number. The same answer whatever the number (a redirect to step 2)."""
    if request.method == "GET":
        return render(request, "accounts/signin.html", {"step": "phone", "next": _next(request, "")})
    result = service.request_code(request.POST.get("phone", ""), request=request, language=_language())
    if not result.ok:
        return render(request, "accounts/signin.html",
                      {"step": "phone", "error": result.error.message, "phone": request.POST.get("phone", "")[:40],
                       "next": _next(request, "")}, status=result.error.status)
    request.session[SESSION_PHONE] = result.phone
    return HttpResponseRedirect(_with_next(reverse("accounts:signin_code"), request))


@never_cache
@require_http_methods(["GET", "POST"])
def signin_code(request):
    """Step 2: the code sent by SMS."""
    phone = request.session.get(SESSION_PHONE)
    if not phone:
        return HttpResponseRedirect(_with_next(reverse("accounts:signin"), request))
    context = {"step": "code", "phone": phone, "digits": settings.SIGNIN_CODE_DIGITS,
               "minutes": max(1, settings.SIGNIN_CODE_TTL_SECONDS // 60), "next": _next(request, "")}
    if request.method == "GET":
        return render(request, "accounts/signin.html", context)
    result = service.verify_code(phone, request.POST.get("code", ""), request=request, language=_language())
    if not result.ok:
        return render(request, "accounts/signin.html", {**context, "error": result.error.message},
                      status=result.error.status)
    default, language = _signed_in(request, result)
    return _set_language_cookie(HttpResponseRedirect(_next(request, default)), language)


@require_POST
def signout(request):
    if request.user.is_authenticated:
        record(AuditEvent.Kind.SIGNED_OUT, request=request)
    logout(request)
    return HttpResponseRedirect(reverse("accounts:signin"))


# --- Sign-in JSON API (CSRF as every POST of the site: the csrftoken cookie and the X-CSRFToken header) ------------


def _body(request) -> dict:
    if request.content_type == "application/json":
        return params.json_object(request.body)  # parsed safely: depth, number sizes, NaN, NUL
    return request.POST


@require_POST
def api_signin_code(request):
    result = service.request_code(_body(request).get("phone", ""), request=request, language=_language())
    if not result.ok:
        raise result.error
    return json_response({"sent": True, "digits": settings.SIGNIN_CODE_DIGITS,
                          "expires_in": settings.SIGNIN_CODE_TTL_SECONDS})


@require_POST
def api_signin_verify(request):
    body = _body(request)
    result = service.verify_code(body.get("phone", ""), body.get("code", ""), request=request, language=_language())
    if not result.ok:
        raise result.error
    default, language = _signed_in(request, result)
    response = json_response({"signed_in": True, "new_account": result.created,
                              "national_id_needed": service.needs_national_id(result.citizen), "next": default,
                              "language": language})
    return _set_language_cookie(response, language)


# --- The citizen's pages --------------------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
@citizen_required
def national_id(request):
    citizen = request.citizen
    context = {"citizen": citizen, "links": citizen.links.all()}
    if request.method == "GET":
        return render(request, "accounts/national_id.html", context)
    claim = service.claim_national_id(citizen, request.POST.get("national_id", ""), request=request)
    if not claim.ok:
        return render(request, "accounts/national_id.html",
                      {**context, "error": claim.error.message,
                       "national_id": request.POST.get("national_id", "")[:20]}, status=claim.error.status)
    return render(request, "accounts/national_id.html", {**context, "outcome": claim.outcome, "link": claim.link,
                                                         "links": citizen.links.all()})


@never_cache
@require_http_methods(["GET"])
@citizen_required
def my_properties(request):
    citizen = request.citizen
    return render(request, "accounts/properties.html", {
        "citizen": citizen, "rows": properties.my_properties(citizen),
        "pending": citizen.links.filter(status="pending").exists(),
        "needs_national_id": service.needs_national_id(citizen)})


@never_cache
@require_http_methods(["GET"])
@citizen_required
def my_property(request, parcel_id):
    row = properties.my_property(request.citizen, parcel_id)
    return render(request, "accounts/property.html", {"citizen": request.citizen, "row": row})


@never_cache
@require_http_methods(["GET", "POST"])
@citizen_required
def citizen_settings(request):
    citizen = request.citizen
    if request.method == "GET":
        pref = preference_for(phone=citizen.mobile, user=citizen.user)
        initial = {"language": citizen.language, "by_sms": True, "by_email": False, "by_inbox": True,
                   "reminders": True, "email": ""}
        if pref is not None:
            initial.update(by_sms=pref.by_sms, by_email=pref.by_email, by_inbox=pref.by_inbox, email=pref.email,
                           reminders=not pref.reminders_opt_out)
        return render(request, "accounts/settings.html",
                      {"citizen": citizen, "form": SettingsForm(initial=initial),
                       "saved": request.GET.get("saved") == "1"})
    form = SettingsForm(request.POST)
    if not form.is_valid():
        return render(request, "accounts/settings.html", {"citizen": citizen, "form": form}, status=400)
    service.save_settings(citizen, **form.cleaned_data)
    response = HttpResponseRedirect(reverse("accounts:settings") + "?saved=1")
    return _set_language_cookie(response, form.cleaned_data["language"])


# --- Staff: two-factor enrolment ---------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
@login_required(login_url="admin:login")
def staff_2fa(request):
    """Set up an authenticator app: a button makes an unconfirmed device (no write on a GET), the page shows its QR
    code and secret, and a code from the app confirms it."""
    user = request.user
    if not user.is_staff:
        raise Forbidden(_("This page is for staff."))
    if not staff.may_enrol(user):
        return render(request, "accounts/staff_2fa.html", {"blocked": True, "next": _next(request, "")}, status=403)
    next_url = _next(request, reverse("admin:index"))
    device = staff.pending_device(user)
    context = {"device": device, "next": _next(request, ""), "has_device": user_has_device(user),
               "required": settings.STAFF_OTP_REQUIRED}
    if request.method == "POST":
        if request.POST.get("action") == "start":
            staff.start_enrolment(user)
            return HttpResponseRedirect(_with_next(reverse("accounts:staff_2fa"), request))
        if device is None:
            return redirect(_with_next(reverse("accounts:staff_2fa"), request))
        if staff.confirm_enrolment(request, device, request.POST.get("otp_token", "")):
            return HttpResponseRedirect(next_url)
        context["error"] = _("The code is not right. Check the time on your phone and type the code shown now.")
    if device is not None:
        context.update(qr_svg=staff.qr_svg(device), secret=staff.secret_text(device))
    return render(request, "accounts/staff_2fa.html", context, status=400 if context.get("error") else 200)


# --- Staff: personal API tokens (accounts/apitokens.py) --------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
@staff_otp_required  # a token made here after a two-factor sign-in counts as verified (accounts/apiauth.py)
def api_tokens(request):
    """A staff user's API tokens for QGIS and scripts: the list (prefix, name, last use, expiry, state), a form
    making one, shown on the answer to that form only, and revoking. No write on a GET."""
    from datetime import timedelta

    from django.utils import timezone

    from accounts import apitokens
    from accounts.models import ApiToken
    from common import params

    user = request.user
    if not user.is_staff:
        raise Forbidden(_("This page is for staff."))
    new_token = None
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            row = ApiToken.objects.filter(user=user, pk=params.integer(request.POST, "token", required=True, min=1))
            row = row.select_related("user").first()
            if row is None:
                raise BadParameter(_("No such token of yours."))
            apitokens.revoke(row, by=user, request=request)
            return redirect("accounts:api_tokens")
        name = params.text(request.POST, "name", max_length=100) or _("API token")
        days = params.integer(request.POST, "days", min=1, max=3650)
        verified = getattr(user, "is_verified", None)
        _row, new_token = apitokens.create(
            user, name, expires_at=timezone.now() + timedelta(days=days) if days else None, created_by=user,
            two_factor=bool(verified and verified()), request=request)
    rows = [(row, apitokens.status(row)) for row in ApiToken.objects.filter(user=user).select_related("user")]
    return render(request, "accounts/api_tokens.html", {"rows": rows, "new_token": new_token,
                                                          "tokens_url": request.build_absolute_uri("/ogc/")})
