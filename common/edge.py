"""The edge of every request for errors, in one place (pygeoapi's one exception-to-status mapping): views raise
common.errors.ApiError (or Django's Http404 / PermissionDenied) and never catch; ErrorMiddleware and the error
handlers (gis_portal/urls.py handler400/403/404/500, settings.CSRF_FAILURE_VIEW) answer with

- on API routes (the path prefixes in settings.API_PATH_PREFIXES, so a new app's API is covered without code):
  JSON {"error": stable code, "message": for people, in the user's language} with the status;
- elsewhere: a page in the user's language (templates/400.html, 403.html, 404.html, 500.html).

Unknown paths, wrong methods (require_GET's empty 405), CSRF failures, Django's own 400s and unexpected exceptions
(logged by Django, no traceback in the body) get the same treatment. A database that cannot be reached (a restart,
a failover) is a 503 with Retry-After, not a 500 (common.db.database_unavailable). Parameters are read by
common.params.
"""

import base64
import binascii
import logging
import sys

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.template import loader
from django.urls import Resolver404
from django.utils.translation import gettext as _

from common.db import database_unavailable
from common.errors import ApiError, BadParameter, Forbidden, MethodNotAllowed, NotFound, ServerError, ServiceUnavailable
from common.params import storable

DEFAULT_API_PATH_PREFIXES = ("/api/", "/ogc/", "/tiles/")
logger = logging.getLogger("django.request")
PAGES = {401: "403.html", 403: "403.html", 404: "404.html"}  # other 4xx: 400.html, 5xx: 500.html


class CsrfFailed(Forbidden):
    code = "csrf_failed"


def json_response(data, status: int = 200) -> JsonResponse:
    """A JSON answer as people read it: Persian text as it is, not as \\u escapes."""
    return JsonResponse(data, status=status, safe=False, json_dumps_params={"ensure_ascii": False})


def is_api(request) -> bool:
    """Whether the request is for an API route, whose answers (errors included) are JSON."""
    prefixes = tuple(getattr(settings, "API_PATH_PREFIXES", DEFAULT_API_PATH_PREFIXES))
    path = request.path_info
    return path.startswith(prefixes) or path + "/" in prefixes  # /ogc as well as /ogc/


def error_response(request, error: ApiError) -> HttpResponse:
    """An ApiError as JSON on API routes, as a page in the user's language elsewhere."""
    if is_api(request):
        return error.response()
    if error.status >= 500:
        return _server_error_page(error.message, error.status, error.headers)
    template = PAGES.get(error.status, "400.html")
    titles = {401: _("Sign-in needed"), 405: _("Method not allowed")}
    context = {"message": error.message, "status": error.status, "title": titles.get(error.status)}
    response = HttpResponse(loader.render_to_string(template, context, request), status=error.status)
    for name, value in error.headers.items():
        response[name] = value
    return response


def _server_error_page(message: str, status: int = 500, headers=None) -> HttpResponse:
    # Rendered without the request: its context processors read the database, which may be what failed.
    response = HttpResponse(loader.render_to_string("500.html", {"message": message}), status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def database_unavailable_error() -> ServiceUnavailable:
    return ServiceUnavailable(_("The database cannot be reached at the moment. Please try again in a few seconds."))


def _not_found(request, exception) -> NotFound:
    message = exception.args[0] if exception is not None and exception.args else None
    if isinstance(exception, Resolver404) or not isinstance(message, str) or not message:
        # An unknown path (Django's message is the list of patterns tried: not for people).
        return NotFound(_("There is nothing at %(path)s.") % {"path": request.path})
    return NotFound(message)


def _forbidden(exception) -> Forbidden:
    return Forbidden(str(exception) if exception is not None and str(exception) else
                     _("You are not allowed to do this."))


class ErrorMiddleware:
    """Renders what views raise (ApiError, Http404, PermissionDenied) and turns require_GET's empty 405 into a
    message. Installed right after the locale middleware, so every answer is in the user's language."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if isinstance(response, HttpResponseNotAllowed) and not response.content:
            allowed = response["Allow"]
            error = MethodNotAllowed(_("%(method)s is not allowed here; allowed: %(allowed)s")
                                     % {"method": request.method, "allowed": allowed})
            response = error_response(request, error)
            response["Allow"] = allowed
        return response

    def process_view(self, request, view, args, kwargs):
        # Text PostgreSQL cannot store (a NUL byte: psycopg refuses it; %00 is how it arrives) reaches no view, from
        # any part of the request a view reads: a 400 here, not a 500 wherever it would meet the database.
        # Here rather than in __call__ so that the answer still passes every middleware's response phase.
        problem = unstorable_input(request)
        if problem is not None:
            return error_response(request, BadParameter(problem))
        return None

    def process_exception(self, request, exception):
        if isinstance(exception, ApiError):
            if exception.status >= 500:  # the server's fault: kept in the log with its traceback
                logger.error("%s: %s", exception.message, request.path, exc_info=exception)
            return error_response(request, exception)
        if isinstance(exception, Http404):
            return error_response(request, _not_found(request, exception))
        if isinstance(exception, PermissionDenied):
            return error_response(request, _forbidden(exception))
        if database_unavailable(exception):  # logged as a warning: an outage, not a bug
            logger.warning("database unavailable: %s: %s", request.path, exception)
            return error_response(request, database_unavailable_error())
        return None  # unexpected: Django logs it and answers with handler500 (server_error below)


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def unstorable_input(request) -> str | None:
    """What of the request holds text PostgreSQL cannot store (NUL bytes, lone surrogates), as a message; None if
    nothing does. Read: the path (its segments become view arguments), every query parameter (names too), every
    form field of a form POST, and the user name and password of HTTP basic authentication. JSON bodies are checked
    where they are parsed (common.params.json_value)."""
    check = storable
    try:
        check(request.path_info, _("path"))
        for name, values in request.GET.lists():
            check(name, _("parameter name"))
            for value in values:
                check(value, name)
        if request.method == "POST" and request.content_type in FORM_TYPES:
            for name, values in request.POST.lists():
                check(name, _("field name"))
                for value in values:
                    check(value, name)
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header[:6].lower() == "basic ":
            try:
                credentials = base64.b64decode(header[6:].strip()).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                credentials = ""  # not basic authentication at all: refused where it is read (401)
            check(credentials, "Authorization")
    except BadParameter as exc:
        return exc.message
    return None


# Django's error handlers (gis_portal/urls.py): for what happens outside a view (unknown paths, middleware errors).

def bad_request(request, exception=None):
    return error_response(request, ApiError(_("The request is not valid.")))


def permission_denied(request, exception=None):
    return error_response(request, _forbidden(exception))


def page_not_found(request, exception=None):
    return error_response(request, _not_found(request, exception))


def server_error(request):
    """An unexpected exception (already logged by Django): no traceback, nothing of the server's in the answer."""
    if database_unavailable(sys.exc_info()[1]):  # raised outside a view (a middleware reading the session)
        return error_response(request, database_unavailable_error())
    message = _("Something went wrong on the server. It has been recorded; please try again later.")
    if is_api(request):
        return ServerError(message).response()
    return _server_error_page(message)


def csrf_failure(request, reason=""):
    """settings.CSRF_FAILURE_VIEW: a POST without the page's security token."""
    return error_response(request, CsrfFailed(
        _("The request lacks its security token (CSRF). Reload the page and try again.")))
