"""The public-tile shortcut in front of Django (layers/tile_app.py): the same answers and security headers as the
Django view, everything else left to Django, errors as JSON, and a connection the database dropped survived."""

import json
from wsgiref.util import setup_testing_defaults

import pytest
from django.core import signals
from django.db import close_old_connections, connection
from django.test import Client

from layers import tiles
from layers.registry import LAYERS
from layers.tile_app import TileShortcut

pytestmark = pytest.mark.django_db

CENTRE = (54.553, 28.755)  # Darab
SECURITY_HEADERS = ("X-Content-Type-Options", "Referrer-Policy", "Cross-Origin-Opener-Policy", "X-Frame-Options")


class Django:
    """A stand-in for the Django application that records what reached it."""

    def __init__(self):
        self.paths = []

    def __call__(self, environ, start_response):
        self.paths.append(environ["PATH_INFO"])
        start_response("418 I'm a teapot", [])
        return [b"django"]


def wsgi_get(app, path, query="", method="GET", **environ):
    """Call a WSGI application in the test's transaction: (status code, headers, body). As django.test.Client does,
    the request signals do not close the connection meanwhile (that would end the transaction)."""
    env = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query, "HTTP_HOST": "testserver", **environ}
    setup_testing_defaults(env)
    answer = {}

    def start_response(status, headers):
        answer["status"], answer["headers"] = int(status.split()[0]), dict(headers)
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        body = b"".join(app(env, start_response))
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
    return answer["status"], answer["headers"], body


def tile_path(z):
    x, y = tiles.lonlat_to_tile(*CENTRE, z)
    return f"/tiles/parcels/{z}/{x}/{y}.pbf"


def requests_to_compare():
    """(path, query, headers) of the kinds of tile request the map and QGIS make."""
    x, y = tiles.lonlat_to_tile(*CENTRE, 18)
    version = tiles.tile_version(LAYERS["parcels"], 18, x, y)
    current_etag = tiles.etag(LAYERS["parcels"], version, 18, x, y)
    return [
        (tile_path(14), "", {}),
        (tile_path(18), "", {}),
        (tile_path(18), f"v={version}", {}),  # as the map asks: cacheable forever
        (tile_path(18), f"v={version + 1}", {}),  # a version that is not the current one
        (tile_path(18), "", {"HTTP_IF_NONE_MATCH": current_etag}),  # 304
        (tile_path(18), "", {"HTTP_IF_NONE_MATCH": '"stale"'}),
        (tile_path(9), "", {}),  # below the layer's zoom range: 204
        (f"/tiles/streets/{18}/{x}/{y}.pbf", "", {}),
    ]


def test_public_tiles_are_answered_before_django_as_django_answers_them(demo_city):
    django = Django()
    shortcut = TileShortcut(django)
    client = Client()
    for path, query, headers in requests_to_compare():
        status, got, body = wsgi_get(shortcut, path, query, **headers)
        expected = client.get(f"{path}?{query}", headers={k[5:].replace("_", "-"): v for k, v in headers.items()})
        assert (status, body) == (expected.status_code, expected.content), (path, query, headers)
        # (Django gives a body-less 204 or 304 its default text/html type; the shortcut gives it none.)
        for name in ("Content-Type",) * (status == 200) + ("ETag", "X-Layer-Version", "Cache-Control",
                                                           *SECURITY_HEADERS):
            assert got.get(name) == expected.headers.get(name), (name, path, query, headers)
        assert int(got["Content-Length"]) == len(body)
    assert sorted({s for s, *_ in (wsgi_get(shortcut, p, q, **h) for p, q, h in requests_to_compare())}) == \
        [200, 204, 304]
    assert django.paths == []  # none of them reached Django
    assert wsgi_get(shortcut, tile_path(18))[0] == 200 and len(wsgi_get(shortcut, tile_path(16))[2]) > 1000


def test_security_headers_are_django_settings(settings, demo_city):
    settings.SECURE_REFERRER_POLICY = "no-referrer"
    settings.X_FRAME_OPTIONS = "SAMEORIGIN"
    status, headers, _ = wsgi_get(TileShortcut(Django()), tile_path(18))
    assert status == 200
    assert headers["Referrer-Policy"] == "no-referrer" and headers["X-Frame-Options"] == "SAMEORIGIN"
    assert headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path, method, environ", [
    ("/tiles/parcel_owners/18/1/1.pbf", "GET", {}),  # a protected layer: Django checks the user
    ("/tiles/parcels/18/1/1.pbf", "GET", {"HTTP_AUTHORIZATION": "Basic Zm9vOmJhcg=="}),  # QGIS signing in
    ("/tiles/parcels/23/1/1.pbf", "GET", {}),  # no such zoom: Django's clear error
    ("/tiles/parcels/2/4/1.pbf", "GET", {}),  # x out of range
    ("/tiles/nothing/18/1/1.pbf", "GET", {}),  # unknown layer
    ("/tiles/parcels/18/1/1.pbf", "POST", {}),
    ("/tiles/parcels/18/1/1.pbf", "GET", {"HTTP_HOST": "evil.example"}),  # not in ALLOWED_HOSTS
    ("/tiles/parcels.json", "GET", {}),
    ("/api/city", "GET", {}),
])
def test_everything_else_goes_to_django(path, method, environ):
    django = Django()
    status, _, body = wsgi_get(TileShortcut(django), path, method=method, **environ)
    assert (status, body, django.paths) == (418, b"django", [path])


def test_the_whole_application_answers_errors_as_before(demo_city):
    from common.tenancy import MunicipalitySelector
    from gis_portal.wsgi import application

    # the municipality selector first (common/tenancy.py), then the tile shortcut
    assert isinstance(application, MunicipalitySelector) and isinstance(application.app, TileShortcut)
    status, headers, body = wsgi_get(application, "/tiles/parcel_owners/18/1/1.pbf")
    assert status == 401 and json.loads(body)["error"] == "unauthorized" and "WWW-Authenticate" in headers
    status, _, body = wsgi_get(application, "/tiles/parcels/23/1/1.pbf", HTTP_COOKIE="django_language=en")
    assert status == 400 and "zoom 0-22" in json.loads(body)["message"]
    status, _, _ = wsgi_get(application, tile_path(18), HTTP_HOST="evil.example")
    assert status == 400


def test_a_failure_is_a_json_500_and_ends_the_request(demo_city, monkeypatch):
    finished = []
    monkeypatch.setattr(tiles, "database_answer", lambda *args: 1 / 0)

    def on_finished(**kwargs):
        finished.append(True)
    signals.request_finished.connect(on_finished)
    try:
        status, headers, body = wsgi_get(TileShortcut(Django()), tile_path(18))
    finally:
        signals.request_finished.disconnect(on_finished)
    assert status == 500 and headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"error": "server_error", "message": "The tile could not be made"}
    assert finished == [True]  # Django's end of request ran: a failed connection is closed there


def test_only_requests_that_need_the_database_go_through_its_life_cycle(demo_city):
    """A versioned URL whose tile is cached is answered from the cache without Django's request signals (they
    manage database connections, and none is touched); the first request for it, and any without a version, with."""
    started = []

    def on_started(**kwargs):
        started.append(True)
    shortcut = TileShortcut(Django())
    x, y = tiles.lonlat_to_tile(*CENTRE, 17)
    query = f"v={tiles.tile_version(LAYERS['parcels'], 17, x, y)}"
    signals.request_started.connect(on_started)
    try:
        first = wsgi_get(shortcut, tile_path(17), query)
        assert len(started) == 1
        assert wsgi_get(shortcut, tile_path(17), query) == first and len(started) == 1
        assert wsgi_get(shortcut, tile_path(17))[2] == first[2] and len(started) == 2
    finally:
        signals.request_started.disconnect(on_started)


def test_a_connection_the_database_dropped_is_replaced(django_db_blocker, demo_city):
    """A persistent connection of a running server is terminated (as by a database restart): the next tile is still
    made, on a new connection, because the tile read is retried once."""
    import urllib.request

    from tests.conftest import serve_portal

    with serve_portal(django_db_blocker, gunicorn_args=("--workers", "1"), TILE_CACHE_ENTRIES="0") as base:
        def get():
            with urllib.request.urlopen(base + tile_path(18)) as response:
                return response.status, len(response.read())

        status, size = get()
        assert status == 200 and size > 0
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                           "AND pid <> pg_backend_pid() AND backend_type = 'client backend'")
            assert cursor.rowcount >= 1
        assert get() == (200, size)
        assert get() == (200, size)


def test_an_absurd_version_is_no_version(demo_city):
    """?v= of thousands of digits (int() refuses more than 4300) is answered like any unversioned URL, not a 500."""
    status, headers, body = wsgi_get(TileShortcut(Django()), tile_path(18), query="v=" + "9" * 5000)
    assert status == 200 and body and "immutable" not in headers["Cache-Control"]
