"""Anonymous public GETs of the JSON API answered in front of Django's request cycle (the map click's parcel sheet,
OGC API items pages): the lean cold path.

Django's middleware stack, URL resolving and request set-up cost more CPU than the parcel sheet's statement itself
(bench/cold.py). An app registers a route here (`register`, from its AppConfig.ready()): a path pattern and a handler
that takes a Django request and returns an `Answer`, or None to leave the request to Django. gis_portal/wsgi.py wraps
the Django application in FrontShortcut, which answers a matching request itself when it is
- a GET without an Authorization header and without a session cookie (an anonymous client: nobody's personal data,
  sessions or staff idle timers are involved; everything else goes to Django),
- for a host Django accepts (ALLOWED_HOSTS), and not a plain-HTTP request that SECURE_SSL_REDIRECT would redirect.
It adds what the middleware adds to such an answer: the security headers (taken from Django's own middleware), the
Content-Security-Policy, Content-Language (the language cookie, Persian first, as common.middleware), and renders
errors as the edge does on API paths (common.edge): an ApiError as its JSON, a database that cannot be reached as a
503 with Retry-After, anything else logged and a 500, each message in the request's language. Text PostgreSQL cannot
store is refused with the edge's 400. Database connections keep Django's life cycle (request_started and
request_finished around the handler), as layers/tile_app.py does for tiles.

Every route must be under settings.API_PATH_PREFIXES (errors there are JSON), and a handler must only answer what is
the same for every anonymous client; tests/test_front.py compares each route's answers with Django's.
"""

import logging
import re
import secrets
from http import HTTPStatus
from typing import Callable, NamedTuple

from django.conf import settings
from django.core import signals
from django.core.exceptions import DisallowedHost
from django.core.handlers.wsgi import WSGIRequest, get_script_name
from django.http import HttpRequest, HttpResponse
from django.urls import set_script_prefix
from django.utils import translation

logger = logging.getLogger("django.request")


class Answer(NamedTuple):
    status: int
    body: bytes
    headers: list[tuple[str, str]]  # Content-Type and the route's own; the shortcut adds the rest


class Route(NamedTuple):
    pattern: re.Pattern
    handler: Callable  # (request, **the pattern's groups) -> Answer | None (None: Django answers)


ROUTES: list[Route] = []


def register(pattern: str, handler: Callable) -> None:
    """Answer GETs whose path matches `pattern` (a regular expression, matched whole; named groups become keyword
    arguments) with `handler` in front of Django. Called from an app's AppConfig.ready()."""
    if any(route.pattern.pattern == pattern for route in ROUTES):
        return  # ready() ran again (tests)
    ROUTES.append(Route(re.compile(pattern), handler))


def json_answer(text: str, content_type: str = "application/json", headers=()) -> Answer:
    """A 200 with JSON text as it is (made by PostgreSQL)."""
    return Answer(200, text.encode(), [("Content-Type", content_type), *headers])


def security_headers(secure: bool) -> list[tuple[str, str]]:
    """The headers Django's SecurityMiddleware and XFrameOptionsMiddleware add to a response, taken from those
    middlewares themselves so they follow the same settings (HSTS on HTTPS requests)."""
    from django.middleware.clickjacking import XFrameOptionsMiddleware
    from django.middleware.security import SecurityMiddleware

    request, response = HttpRequest(), HttpResponse()
    request.is_secure = lambda: secure
    plain = set(response.headers)
    for middleware in (SecurityMiddleware, XFrameOptionsMiddleware):
        response = middleware(lambda request: None).process_response(request, response)
    return [(name, value) for name, value in response.items() if name not in plain]


class FrontShortcut:
    def __init__(self, django_app, routes: list[Route] | None = None):
        self.django_app = django_app
        self.routes = ROUTES if routes is None else routes
        self.headers = {secure: security_headers(secure) for secure in (False, True)}
        self.languages = {code for code, _ in settings.LANGUAGES}

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") != "GET" or "HTTP_AUTHORIZATION" in environ:
            return self.django_app(environ, start_response)
        path = environ.get("PATH_INFO", "")
        for route in self.routes:
            match = route.pattern.fullmatch(path)
            if match is not None:
                break
        else:
            return self.django_app(environ, start_response)
        if settings.SESSION_COOKIE_NAME + "=" in environ.get("HTTP_COOKIE", ""):
            return self.django_app(environ, start_response)  # a session: Django's cycle (the user, idle timers)
        try:
            # a copy: WSGIRequest writes the decoded path into its META, which Django, if it answers after all,
            # would take for the server's ISO-8859-1 text (a Persian layer name would then fail there)
            request = WSGIRequest(dict(environ))
            request.GET  # noqa: B018  (read now: its encoding is checked here)
        except UnicodeError:  # a path or query no WSGI server sends (not ISO-8859-1), on which Django fails: a 400
            from common.errors import ApiError

            with translation.override(settings.LANGUAGE_CODE):
                response = ApiError(translation.gettext("The request is not valid.")).response()
            start_response("400 Bad Request", [*response.items(), ("Content-Language", settings.LANGUAGE_CODE),
                                               *self.headers[False]])
            return [response.content]
        match = route.pattern.fullmatch(request.path_info)  # its groups as Django decodes the path (UTF-8)
        if match is None:
            return self.django_app(environ, start_response)
        try:
            request.get_host()
        except DisallowedHost:
            return self.django_app(environ, start_response)  # Django's 400
        secure = request.is_secure()
        if settings.SECURE_SSL_REDIRECT and not secure:
            return self.django_app(environ, start_response)  # Django's redirect to HTTPS
        answer = self.answer(request, route, match)
        if answer is None:
            return self.django_app(environ, start_response)
        status, body, headers = answer
        from common.csp import HEADER, REPORT_ONLY_HEADER, policy

        csp = REPORT_ONLY_HEADER if getattr(settings, "CSP_REPORT_ONLY", False) else HEADER
        start_response(f"{status} {HTTPStatus(status).phrase}", [
            *headers, ("Content-Length", str(len(body))), ("Content-Language", request.LANGUAGE_CODE),
            (csp, policy(request.csp_nonce)), *self.headers[secure]])
        return [body]

    def answer(self, request, route: Route, match) -> Answer | None:
        from django.contrib.auth.models import AnonymousUser

        from common import db_router
        from common.db import database_unavailable
        from common.edge import database_unavailable_error, unstorable_input
        from common.errors import ApiError, BadParameter, ServerError

        set_script_prefix(get_script_name(request.environ))
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        request.LANGUAGE_CODE = chosen if chosen in self.languages else settings.LANGUAGE_CODE
        request.csp_nonce = secrets.token_urlsafe(18)
        request.user = AnonymousUser()
        with translation.override(request.LANGUAGE_CODE):
            signals.request_started.send(sender=self.__class__, environ=request.environ)
            try:
                raw = request.environ.get("QUERY_STRING", "") + request.environ.get("PATH_INFO", "")
                if not (raw.isascii() and "%" not in raw and "\x00" not in raw):  # else nothing unstorable in it
                    problem = unstorable_input(request)
                    if problem is not None:
                        raise BadParameter(problem)
                with db_router.reads_for(request.environ):  # a replica's, unless this client wrote a moment ago
                    return route.handler(request, **match.groupdict())
            except ApiError as error:
                if error.status >= 500:
                    logger.error("%s: %s", error.message, request.path, exc_info=error)
                response = error.response()
            except Exception as exc:
                if not database_unavailable(exc):
                    logger.exception("%s failed", request.path)
                    from django.utils.translation import gettext as _

                    response = ServerError(_("Something went wrong on the server. It has been recorded; please try "
                                             "again later.")).response()
                else:  # a restart or failover: the client tries again (Retry-After)
                    logger.warning("database unavailable: %s: %s", request.path, exc)
                    response = database_unavailable_error().response()
            finally:
                signals.request_finished.send(sender=self.__class__)
        headers = [(name, value) for name, value in response.items() if name != "Content-Length"]
        return Answer(response.status_code, response.content, headers)
