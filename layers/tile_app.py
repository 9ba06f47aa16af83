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

import json
import logging
import re
from urllib.parse import parse_qs

from django.conf import settings
from django.core import signals
from django.http.request import split_domain_port, validate_host

from layers import tiles
from layers.registry import LAYERS

TILE_PATH = re.compile(r"/tiles/(?P<layer>\w+)/(?P<z>\d{1,2})/(?P<x>\d{1,7})/(?P<y>\d{1,7})\.pbf")
REASONS = {200: "200 OK", 204: "204 No Content", 304: "304 Not Modified", 500: "500 Internal Server Error"}
logger = logging.getLogger("django.request")


def security_headers() -> list[tuple[str, str]]:
    """The headers Django's SecurityMiddleware and XFrameOptionsMiddleware put on a plain-HTTP response, from the
    same settings (HSTS is left to the HTTPS responses Django itself sends; browsers apply it to the whole host)."""
    headers = []
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append(("X-Content-Type-Options", "nosniff"))
    policy = settings.SECURE_REFERRER_POLICY
    if policy:
        headers.append(("Referrer-Policy", policy if isinstance(policy, str) else ",".join(policy)))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append(("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY))
    headers.append(("X-Frame-Options", getattr(settings, "X_FRAME_OPTIONS", "DENY").upper()))
    return headers


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
                    answer = tiles.database_answer(layer, z, x, y, requested, if_none_match)
                finally:
                    signals.request_finished.send(sender=self.__class__)
            status, body, headers = answer
        except Exception:
            logger.exception("Tile %s/%d/%d/%d failed", layer.name, z, x, y)
            status, headers = 500, [("Content-Type", "application/json")]
            body = json.dumps({"error": "server_error", "message": "The tile could not be made"}).encode()
        start_response(REASONS[status], [*headers, ("Content-Length", str(len(body))), *self.security_headers])
        return [body]

    @staticmethod
    def host_allowed(environ) -> bool:
        """Whether Django would accept the request's host (as HttpRequest.get_host checks it). If not, or if a
        proxy's X-Forwarded-Host is to be trusted, the request goes to Django, which answers it."""
        if settings.USE_X_FORWARDED_HOST and "HTTP_X_FORWARDED_HOST" in environ:
            return False
        domain, _port = split_domain_port(environ.get("HTTP_HOST") or environ.get("SERVER_NAME", ""))
        allowed = settings.ALLOWED_HOSTS
        if settings.DEBUG and not allowed:
            allowed = [".localhost", "127.0.0.1", "[::1]"]
        return bool(domain) and validate_host(domain, allowed)
