"""The audit log: one function writes an AuditEvent; the handlers of Django's sign-in signals record staff sign-ins
and failures (connected in AccountsConfig.ready)."""

import ipaddress

from django.conf import settings

from accounts.models import AuditEvent
from accounts.signin import client_address, is_mobile, mask_phone

Kind = AuditEvent.Kind


def request_address(request) -> str:
    """The client's address: REMOTE_ADDR, or with settings.ACCOUNTS_TRUSTED_PROXIES > 0 the entry of
    X-Forwarded-For that our nearest trusted proxy wrote."""
    if request is None:
        return ""
    return client_address(request.META.get("REMOTE_ADDR", ""), request.META.get("HTTP_X_FORWARDED_FOR"),
                          getattr(settings, "ACCOUNTS_TRUSTED_PROXIES", 0))


def _ip_or_none(address: str):
    try:
        return str(ipaddress.ip_address(address)) if address else None
    except ValueError:
        return None


def record(kind: str, *, request=None, user=None, phone: str = "", address: str | None = None, **detail) -> AuditEvent:
    """Write one audit event. The number is masked here, whatever the caller passes."""
    if user is None and request is not None and getattr(request, "user", None) is not None \
            and request.user.is_authenticated:
        user = request.user
    if address is None:
        address = request_address(request)
    return AuditEvent.objects.create(kind=kind, user=user if user is not None and user.pk else None,
                                     phone=mask_phone(phone) if phone else "", address=_ip_or_none(address),
                                     detail=detail)


# --- Django's sign-in signals (the admin's password sign-in) ---------------------------------------------


def on_user_logged_in(sender, request, user, **kwargs):
    if user.is_staff or user.is_superuser:
        record(Kind.STAFF_SIGNIN, request=request, user=user,
               otp=bool(getattr(user, "otp_device", None)))


def on_user_login_failed(sender, credentials, request=None, **kwargs):
    username = str(credentials.get("username", ""))[:150]
    # a mobile number typed as a username is masked like any other; other usernames are kept (staff accounts)
    record(Kind.STAFF_SIGNIN_FAILED, request=request, user=None,
           username=mask_phone(username) if is_mobile(username) else username)
