"""One process serving several municipalities, each in its own database (README, "Many municipalities").

The code everywhere uses Django's connection "default": `django.db.connection`, `transaction.atomic()`, the ORM,
the hot reads (common.db), procrastinate's Django connector. Here "default" is made the connection of the current
municipality (common.municipality.current()), so that none of that code needs to know how many there are:

- `MunicipalConnectionHandler`: `connections["default"]` (and so `connection`, `transaction.atomic()` and every
  ORM query routed to "default") is the connection of `current().database`. `connections.all()` still lists each
  configured connection once, under its own alias (closing connections at the end of a request closes each).
  `install()` (CommonConfig.ready) swaps the class of Django's one `connections` object, which every module has
  imported, so nothing else changes.
- No database router is needed for the ORM: a query's alias is "default" unless a router says otherwise, and
  "default" is the current municipality's connection. With read replicas, common.db_router.ReplicaRouter routes
  through `primary_alias()`, the current municipality's alias (DATABASE_REPLICAS lists replicas per primary: those
  of DATABASE_REPLICA_URLS are the first municipality's; another one reads from its own primary).
- `MunicipalitySelector`: the outermost WSGI application (gis_portal/wsgi.py), in front of the tile and front
  shortcuts: each request's municipality by path prefix (moved from PATH_INFO to SCRIPT_NAME, so reverse() and the
  static URLs carry it), else by host name, else the municipality with neither (the catch-all); none: a 404 page
  listing the municipalities. It is current for the whole request, the response's iteration included, and its
  session cookie has a name of its own (`sessionid_<slug>`; the first municipality keeps Django's name), so signing
  in to one does not sign out of another on the same host.
- `cache_key`: the KEY_FUNCTION of every cache: the keys of every municipality but the first carry its slug.
"""

from html import escape

from django.db import DEFAULT_DB_ALIAS
from django.db.utils import ConnectionHandler

from common import municipality


# -- connections ----------------------------------------------------------------------------------------------------

class MunicipalConnectionHandler(ConnectionHandler):
    """Django's ConnectionHandler, with "default" the connection of the current municipality's database."""

    def __getitem__(self, alias):
        if alias == DEFAULT_DB_ALIAS:
            alias = municipality.current().database
            if alias not in self.settings:
                raise self.exception_class(f"The database of the municipality {municipality.current().slug!r} (the "
                                           f"connection {alias!r}) is not configured (DATABASES)")
        return super().__getitem__(alias)

    def all(self, initialized_only=False):
        # each connection once, under its own alias ("default" is the first municipality's)
        return [ConnectionHandler.__getitem__(self, alias) for alias in self
                if not initialized_only or hasattr(self._connections, alias)]


def install() -> None:
    """Make Django's `connections` (imported by every module as it is) follow the current municipality."""
    from django.db import connections

    if not isinstance(connections, MunicipalConnectionHandler):
        connections.__class__ = MunicipalConnectionHandler


# -- caches ---------------------------------------------------------------------------------------------------------

def cache_key(key, key_prefix, version):
    """CACHES' KEY_FUNCTION: Django's key, with the municipality's slug for every municipality but the first (whose
    keys stay as they were), so tiles, OGC pages and remembered credentials of two cities never mix."""
    current = municipality.current()
    if municipality.is_first(current):
        return f"{key_prefix}:{version}:{key}"
    return f"{key_prefix}:{version}:{current.slug}:{key}"


# -- requests ---------------------------------------------------------------------------------------------------

def request_host(environ) -> str:
    """The request's host name, lower case, without the port (X-Forwarded-Host when USE_X_FORWARDED_HOST)."""
    from django.conf import settings

    host = ""
    if getattr(settings, "USE_X_FORWARDED_HOST", False):
        host = environ.get("HTTP_X_FORWARDED_HOST", "").split(",")[-1].strip()
    host = host or environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")
    host = host.strip().lower()
    if host.startswith("["):  # [IPv6]:port
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def select(environ) -> tuple[municipality.Municipality, str] | None:
    """The municipality a WSGI request is for and the path prefix it was named by ("" by host or as the catch-all),
    or None when no municipality answers it."""
    found = municipality.registry().values()
    path = environ.get("PATH_INFO", "") or "/"
    for m in found:
        if m.path_prefix and (path == m.path_prefix or path.startswith(m.path_prefix + "/")):
            return m, m.path_prefix
    host = request_host(environ)
    for m in found:
        if host in m.hosts:
            return m, ""
    for m in found:
        if not m.hosts and not m.path_prefix:
            return m, ""
    return None


class MunicipalitySelector:
    """The outermost WSGI application: the request's municipality (see the module's docstring) made current until
    its response is closed. With one municipality, requests pass unchanged."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if not municipality.several():
            return self.app(environ, start_response)
        chosen = select(environ)
        if chosen is None:
            return not_found(environ, start_response)
        chosen, prefix = chosen
        if prefix:
            environ = {**environ, "SCRIPT_NAME": environ.get("SCRIPT_NAME", "").rstrip("/") + prefix,
                       "PATH_INFO": environ.get("PATH_INFO", "")[len(prefix):] or "/"}
        cookie = session_cookie_name(chosen)
        if cookie is not None:
            environ, start_response = own_session_cookie(environ, start_response, *cookie)
        token = municipality.set_current(chosen)
        try:
            result = self.app(environ, start_response)
        except BaseException:
            municipality.reset(token)
            raise
        return _Closing(result, token)


class _Closing:
    """The response iterable, iterated with its municipality current; reset when the server closes it."""

    def __init__(self, result, token):
        self.result, self.token = result, token

    def __iter__(self):
        return iter(self.result)

    def close(self):
        try:
            if hasattr(self.result, "close"):
                self.result.close()
        finally:
            if self.token is not None:
                token, self.token = self.token, None
                try:
                    municipality.reset(token)
                except ValueError:  # closed in another context (a server that closes elsewhere): nothing to undo
                    pass


def session_cookie_name(m: municipality.Municipality) -> tuple[str, str] | None:
    """(Django's session cookie name, the one the browser keeps for `m`), or None when they are the same (the first
    municipality)."""
    from django.conf import settings

    if municipality.is_first(m):
        return None
    return settings.SESSION_COOKIE_NAME, f"{settings.SESSION_COOKIE_NAME}_{m.slug}"


def own_session_cookie(environ, start_response, django_name: str, own_name: str):
    """The request as Django sees it: the municipality's own session cookie under Django's name (another
    municipality's cookie of that name left out); its Set-Cookie headers under the municipality's name again."""
    header = environ.get("HTTP_COOKIE", "")
    if django_name in header:
        kept = []
        for part in header.split(";"):
            name, _, value = part.strip().partition("=")
            if name == django_name:
                continue
            kept.append(f"{django_name}={value}" if name == own_name else part.strip())
        environ = {**environ, "HTTP_COOKIE": "; ".join(kept)}

    def renaming(status, headers, exc_info=None):
        prefix = django_name + "="
        headers = [(name, f"{own_name}={value[len(prefix):]}" if name.lower() == "set-cookie"
                    and value.startswith(prefix) else value) for name, value in headers]
        return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

    return environ, renaming


def not_found(environ, start_response):
    """404: no municipality is served at this host and path; a short page links to each one."""
    from django.conf import settings
    from django.utils import translation
    from django.utils.translation import gettext as _

    scheme = "https" if environ.get("wsgi.url_scheme") == "https" else "http"
    here = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")
    links = []
    for m in municipality.registry().values():
        url = f"{scheme}://{m.hosts[0]}/" if m.hosts else f"{environ.get('SCRIPT_NAME', '')}{m.path_prefix}/"
        if m.path_prefix and m.hosts:
            url = f"{scheme}://{m.hosts[0]}{m.path_prefix}/"
        links.append(f'<li><a href="{escape(url)}">{escape(m.name)}</a> ({escape(m.name_en)})</li>')
    with translation.override(settings.LANGUAGE_CODE):
        title = _("No municipality is served here")
        lead = _("This site serves these municipalities:")
    body = (f'<!doctype html><html lang="{settings.LANGUAGE_CODE}" dir="rtl"><head><meta charset="utf-8">'
            f"<title>{escape(title)}</title></head><body><h1>{escape(title)}</h1><p>{escape(lead)}</p>"
            f"<ul>{''.join(links)}</ul><p dir=\"ltr\"><small>{escape(here)}</small></p></body></html>").encode()
    start_response("404 Not Found", [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body))),
                                     ("X-Content-Type-Options", "nosniff"), ("Cache-Control", "no-store")])
    return [body]
