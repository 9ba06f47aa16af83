"""Public vector tiles answered in front of Django's request cycle.

A map view asks for dozens of tiles, and at high zoom PostGIS makes one in well under a millisecond, less than
Django's request cycle costs (middleware, sessions, URL resolving: bench/tiles.py). So gis_portal/wsgi.py wraps the
Django application in TileShortcut. A GET of a public layer's tile without credentials is answered here by
layers/tiles.answer, the function the Django view uses, with the headers Django's security middleware would add.
Everything else goes to Django: protected layers, requests with HTTP basic credentials, unknown layers, tile
numbers out of range, other methods, hosts not in ALLOWED_HOSTS. Django answers those and their errors as before.

Database connections keep Django's life cycle: a request that needs the database is wrapped in the request_started
and request_finished signals as Django wraps it, so persistent connections are renewed after CONN_MAX_AGE or after an
error. A tile found in the tile cache touches no connection and is sent without them.
"""

import logging
import re
from urllib.parse import parse_qs

from django.core import signals
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse

from common import db_router
from common.db import database_unavailable
from common.errors import ServerError, ServiceUnavailable
from layers import tiles
from layers.registry import LAYERS

TILE_PATH = re.compile(r"/tiles/(?P<layer>\w+)/(?P<z>\d{1,2})/(?P<x>\d{1,7})/(?P<y>\d{1,7})\.pbf")
REASONS = {200: "200 OK", 204: "204 No Content", 304: "304 Not Modified", 500: "500 Internal Server Error",
           503: "503 Service Unavailable"}
logger = logging.getLogger("django.request")


def security_headers() -> list[tuple[str, str]]:
    """The headers Django's SecurityMiddleware and XFrameOptionsMiddleware add to a plain-HTTP response, taken from
    those middlewares themselves, so they follow the same settings (HSTS is left to the HTTPS responses Django itself
    sends; browsers apply it to the whole host)."""
    from django.middleware.clickjacking import XFrameOptionsMiddleware
    from django.middleware.security import SecurityMiddleware

    request, response = HttpRequest(), HttpResponse()
    plain = set(response.headers)
    for middleware in (SecurityMiddleware, XFrameOptionsMiddleware):
        response = middleware(lambda request: None).process_response(request, response)
    return [(name, value) for name, value in response.items() if name not in plain]


class TileShortcut:
    def __init__(self, django_app):
        self.django_app = django_app
        self.security_headers = security_headers()

    def __call__(self, environ, start_response):
        match = TILE_PATH.fullmatch(environ.get("PATH_INFO", ""))
        if match is None or environ.get("REQUEST_METHOD") != "GET" or "HTTP_AUTHORIZATION" in environ:
            return self.django_app(environ, start_response)
        layer = LAYERS.get(match["layer"])
        z, x, y = int(match["z"]), int(match["x"]), int(match["y"])
        if layer is None or not layer.is_public or not tiles.tile_in_range(z, x, y) or not self.host_allowed(environ):
            return self.django_app(environ, start_response)

        requested = parse_qs(environ.get("QUERY_STRING", "")).get("v", [""])[-1]
        if_none_match = environ.get("HTTP_IF_NONE_MATCH")
        try:
            answer = tiles.cached_answer(layer, z, x, y, requested, if_none_match)
            if answer is None:  # the database is needed: Django's request life cycle for its connection
                signals.request_started.send(sender=self.__class__, environ=environ)
                try:
                    with db_router.reads_for(environ):  # a replica's, unless this client wrote a moment ago
                        answer = tiles.database_answer(layer, z, x, y, requested, if_none_match)
                finally:
                    signals.request_finished.send(sender=self.__class__)
            status, body, headers = answer
        except Exception as exc:
            if database_unavailable(exc):  # a restart or failover: the client tries again (Retry-After)
                logger.warning("Tile %s/%d/%d/%d: database unavailable: %s", layer.name, z, x, y, exc)
                error = ServiceUnavailable("The database cannot be reached at the moment").response()
            else:
                logger.exception("Tile %s/%d/%d/%d failed", layer.name, z, x, y)
                error = ServerError("The tile could not be made").response()
            status, body = error.status_code, error.content
            headers = [(name, value) for name, value in error.items() if name in ("Content-Type", "Retry-After")]
        start_response(REASONS[status], [*headers, ("Content-Length", str(len(body))), *self.security_headers])
        return [body]

    @staticmethod
    def host_allowed(environ) -> bool:
        """Whether Django accepts the request's host (HttpRequest.get_host, X-Forwarded-Host and ALLOWED_HOSTS
        included). If not, the request goes to Django, which answers it with its 400."""
        # get_host reads only META and the settings; HttpRequest() would also build empty QueryDicts, which is
        # three times the cost of the check itself on this hot path.
        request = HttpRequest.__new__(HttpRequest)
        request.META = environ
        try:
            request.get_host()
        except DisallowedHost:
            return False
        return True
