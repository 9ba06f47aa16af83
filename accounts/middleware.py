"""Sessions end after a time without requests: staff after settings.STAFF_IDLE_MINUTES, citizens after
CITIZEN_IDLE_MINUTES (0 turns the limit off). The time of the last request is kept in the session and written at
most once a minute (so a session is not saved on every request). An expired session is signed out, audited, and the
page of that request says why (a message; the sign-in pages show it)."""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.utils.translation import gettext as _

from accounts import audit
from accounts.models import AuditEvent

LAST_SEEN = "accounts_last_seen"
EXPIRED = "accounts_idle_expired"
WRITE_EVERY = 60  # seconds


def idle_limit_seconds(user) -> int:
    minutes = settings.STAFF_IDLE_MINUTES if (user.is_staff or user.is_superuser) else settings.CITIZEN_IDLE_MINUTES
    return max(0, int(minutes)) * 60


class IdleTimeoutMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # Without a session cookie there is nobody signed in: neither the session nor the user is loaded (that would
        # add "Vary: Cookie" to public answers such as the map's API).
        if settings.SESSION_COOKIE_NAME not in request.COOKIES:
            return self.get_response(request)
        user = getattr(request, "user", None)
        session = getattr(request, "session", None)
        if user is not None and session is not None and user.is_authenticated:
            now = int(time.time())
            last = session.get(LAST_SEEN)
            limit = idle_limit_seconds(user)
            if limit and isinstance(last, int) and now - last > limit:
                audit.record(AuditEvent.Kind.SESSION_EXPIRED, request=request, user=user,
                             idle_minutes=(now - last) // 60, staff=user.is_staff)
                logout(request)  # flushes the session; request.user is anonymous from here
                request.session[EXPIRED] = True
            elif not isinstance(last, int) or now - last >= WRITE_EVERY:
                session[LAST_SEEN] = now
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        # the message is added here, after MessageMiddleware has set up the request's message store
        if settings.SESSION_COOKIE_NAME not in request.COOKIES:
            return None
        session = getattr(request, "session", None)
        if session is not None and session.pop(EXPIRED, False):
            messages.info(request, _("You were signed out after a while without activity. Please sign in again."))
        return None


def on_user_logged_in(sender, request, user, **kwargs):
    """A new sign-in starts its idle clock now (connected in AccountsConfig.ready)."""
    if request is not None and getattr(request, "session", None) is not None:
        request.session[LAST_SEEN] = int(time.time())
