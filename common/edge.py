"""The edge of every request for errors, in one place (pygeoapi's one exception-to-status mapping): views raise
common.errors.ApiError (or Django's Http404 / PermissionDenied) and never catch; ErrorMiddleware and the error
handlers (gis_portal/urls.py handler400/403/404/500, settings.CSRF_FAILURE_VIEW) answer with

- on API routes (the path prefixes in settings.API_PATH_PREFIXES, so a new app's API is covered without code):
  JSON {"error": stable code, "message": for people, in the user's language} with the status;
- elsewhere: a page in the user's language (templates/400.html, 403.html, 404.html, 500.html).

Unknown paths, wrong methods (require_GET's empty 405), CSRF failures, Django's own 400s and unexpected exceptions
(logged by Django, no traceback in the body) get the same treatment. Parameters are read by common.params.
"""

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.template import loader
from django.urls import Resolver404
from django.utils.translation import gettext as _

from common.errors import ApiError, Forbidden, MethodNotAllowed, NotFound, ServerError

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
        return _server_error_page(error.message)
    template = PAGES.get(error.status, "400.html")
    titles = {401: _("Sign-in needed"), 405: _("Method not allowed")}
    context = {"message": error.message, "status": error.status, "title": titles.get(error.status)}
    response = HttpResponse(loader.render_to_string(template, context, request), status=error.status)
    for name, value in error.headers.items():
        response[name] = value
    return response


def _server_error_page(message: str) -> HttpResponse:
    # Rendered without the request: its context processors read the database, which may be what failed.
    return HttpResponse(loader.render_to_string("500.html", {"message": message}), status=500)


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
        # A NUL byte reaches no view: psycopg refuses it in text, which would be a 500. (%00 is how it arrives.)
        # Here rather than in __call__ so that the answer still passes every middleware's response phase.
        if "%00" in request.META.get("QUERY_STRING", ""):
            return error_response(request, ApiError(_("Parameters must not contain NUL bytes.")))
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
        return None  # unexpected: Django logs it and answers with handler500 (server_error below)


# Django's error handlers (gis_portal/urls.py): for what happens outside a view (unknown paths, middleware errors).

def bad_request(request, exception=None):
    return error_response(request, ApiError(_("The request is not valid.")))


def permission_denied(request, exception=None):
    return error_response(request, _forbidden(exception))


def page_not_found(request, exception=None):
    return error_response(request, _not_found(request, exception))


def server_error(request):
    """An unexpected exception (already logged by Django): no traceback, nothing of the server's in the answer."""
    message = _("Something went wrong on the server. It has been recorded; please try again later.")
    if is_api(request):
        return ServerError(message).response()
    return _server_error_page(message)


def csrf_failure(request, reason=""):
    """settings.CSRF_FAILURE_VIEW: a POST without the page's security token."""
    return error_response(request, CsrfFailed(
        _("The request lacks its security token (CSRF). Reload the page and try again.")))
