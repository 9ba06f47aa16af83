"""View decorators: pages for signed-in citizens, and staff pages that need the second factor.

    from accounts.decorators import citizen_required, staff_otp_required

    @staff_otp_required          # (dues' finance page) signed in, and two-factor verified when the rule asks it
    @permission_required("dues.view_collections", raise_exception=True)
    def finance_page(request): ...

    @citizen_required            # a citizen's own pages; the view gets request.citizen
    def my_page(request): ...
"""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django_otp import user_has_device

from accounts.models import Citizen
from accounts.staff import enrolment_url, otp_satisfied
from common.edge import is_api
from common.errors import ApiError, Forbidden


class SignInNeeded(ApiError):
    status = 401
    code = "signin_needed"


def staff_otp_required(view):
    """Signed in, and (when settings.STAFF_OTP_REQUIRED is on, or the user has a device) verified by a TOTP code in
    this session. Pages: anonymous users go to the admin's sign-in, staff without a device to the enrolment page,
    staff not yet verified to the sign-in with the code; the JSON API answers 401/403 instead."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated:
            if is_api(request):
                raise SignInNeeded(_("Sign in as staff first."))
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        if not otp_satisfied(user):
            if is_api(request):
                raise Forbidden(_("This needs a staff sign-in with a two-factor code."))
            if user.is_staff and not user_has_device(user):
                return redirect(enrolment_url(request.get_full_path()))
            if user_has_device(user):
                return redirect_to_login(request.get_full_path(), reverse("admin:login"))
            raise Forbidden(_("This needs a staff sign-in with a two-factor code."))
        return view(request, *args, **kwargs)

    return wrapped


def citizen_of(user) -> Citizen | None:
    """The user's citizen profile; None for anonymous users and staff without one."""
    if user is None or not user.is_authenticated:
        return None
    try:
        return user.citizen
    except Citizen.DoesNotExist:
        return None


def citizen_required(view):
    """A signed-in citizen (a user with a Citizen profile); others are sent to the sign-in page. Sets
    request.citizen."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        user = request.user
        citizen = citizen_of(user)
        if citizen is None:
            if is_api(request):
                raise SignInNeeded(_("Sign in with your mobile number first."))
            if user.is_authenticated:
                raise Forbidden(_("These pages are for citizens signed in with their mobile number."))
            return redirect_to_login(request.get_full_path(), reverse("accounts:signin"))
        request.citizen = citizen
        return view(request, *args, **kwargs)

    return wrapped
