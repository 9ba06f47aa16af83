"""Staff two-factor (TOTP, django-otp): who must give a code, the admin's sign-in form with the code, the admin
site's permission check, and enrolment of an authenticator app.

- When settings.STAFF_OTP_REQUIRED is on, every staff page (the admin, pages under staff_otp_required) needs a
  session verified by a TOTP code; a staff user without a device is sent to the enrolment page after the password.
- When it is off, staff who have a confirmed device still give its code (a device is never optional once set up).
"""

import base64

import segno
from django import forms
from django.conf import settings
from django.contrib.admin import AdminSite
from django.contrib.admin.forms import AdminAuthenticationForm
from django.db import transaction
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_otp import user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import audit
from accounts.models import AuditEvent
from parcels.identifiers import to_ascii_digits


def otp_required_for(user) -> bool:
    """Whether the user must give a two-factor code: always when it is mandatory, else when they have a device."""
    return bool(settings.STAFF_OTP_REQUIRED) or user_has_device(user)


def otp_satisfied(user) -> bool:
    """A signed-in user whose session meets the two-factor rule."""
    if not user.is_authenticated:
        return False
    verified = getattr(user, "is_verified", None)
    return bool(verified and verified()) or not otp_required_for(user)


def enrolment_url(next_url: str = "") -> str:
    url = reverse("accounts:staff_2fa")
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


def verify_token(user, token: str, request=None):
    """The user's confirmed TOTP device that accepts the token, or None (the failure is audited). django-otp throttles
    a device after wrong codes and refuses a code used before (replay)."""
    token = to_ascii_digits(str(token or "")).strip().replace(" ", "")
    with transaction.atomic():
        for device in TOTPDevice.objects.devices_for_user(user, confirmed=True).select_for_update():
            allowed, _info = device.verify_is_allowed()
            if allowed and device.verify_token(token):
                return device
    audit.record(AuditEvent.Kind.OTP_FAILED, request=request, user=user)
    return None


class StaffAuthenticationForm(AdminAuthenticationForm):
    """The admin's sign-in: username and password, and the authenticator's code when the user has a device."""

    otp_token = forms.CharField(
        label=gettext_lazy("Two-factor code"), required=False, max_length=12,
        help_text=gettext_lazy("The 6-digit code of your authenticator app, if you have set one up."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "dir": "ltr"}),
    )

    def clean(self):
        cleaned = super().clean()  # the password (user_login_failed on a wrong one) and is_staff
        user = self.get_user()
        if user is not None and user_has_device(user):
            token = cleaned.get("otp_token")
            if not token:
                raise forms.ValidationError(_("Type the code of your authenticator app."), code="token_required")
            device = verify_token(user, token, self.request)
            if device is None:
                raise forms.ValidationError(_("The two-factor code is not right (or was used already)."),
                                            code="invalid_token")
            user.otp_device = device  # django_otp's user_logged_in handler keeps it in the session
        return cleaned


class StaffAdminSite(AdminSite):
    """The admin with the two-factor rule. Installed over the default site's class (AccountsConfig.ready), so every
    app's ModelAdmin registered on admin.site stays where it is."""

    login_form = StaffAuthenticationForm
    login_template = "accounts/admin_login.html"

    def has_permission(self, request):
        return super().has_permission(request) and otp_satisfied(request.user)

    def login(self, request, extra_context=None):
        user = request.user
        if (request.method == "GET" and user.is_authenticated and user.is_active and user.is_staff
                and settings.STAFF_OTP_REQUIRED and not user_has_device(user)):
            # signed in with the password; two-factor is mandatory and there is no device yet: set one up
            return redirect(enrolment_url(request.GET.get("next") or reverse("admin:index")))
        return super().login(request, extra_context)


def install_admin_site(site) -> None:
    """Give the default admin site the two-factor rule (keeps its registry)."""
    site.__class__ = StaffAdminSite


# --- Enrolment -----------------------------------------------------------------------------------------------------


def pending_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()


def may_enrol(user) -> bool:
    """A staff user may add a device when they have none, or when this session was verified with one (someone who
    knows only the password must not add their own authenticator)."""
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return False
    verified = getattr(user, "is_verified", None)
    return not user_has_device(user) or bool(verified and verified())


def start_enrolment(user) -> TOTPDevice:
    """An unconfirmed device for the user (the one waiting, else a new one)."""
    device = pending_device(user)
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=_("Authenticator app"), confirmed=False)
    return device


def confirm_enrolment(request, device: TOTPDevice, token: str) -> bool:
    """Confirm the device with a code it shows; the session counts as verified by it."""
    from django_otp import login as otp_login

    token = to_ascii_digits(str(token or "")).strip().replace(" ", "")
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        if not device.verify_token(token):
            audit.record(AuditEvent.Kind.OTP_FAILED, request=request, user=request.user, enrolment=True)
            return False
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        audit.record(AuditEvent.Kind.OTP_ENROLLED, request=request, user=request.user, device=device.pk)
    otp_login(request, device)
    return True


def secret_text(device: TOTPDevice) -> str:
    """The device's secret as authenticator apps take it typed: base32, in groups of four."""
    raw = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(raw[i:i + 4] for i in range(0, len(raw), 4))


def qr_svg(device: TOTPDevice) -> str:
    """The otpauth:// URL as an inline SVG QR code."""
    return segno.make(device.config_url, error="m").svg_inline(scale=5, dark="#000", light="#fff")
