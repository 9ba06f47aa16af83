"""The lean front path (common/front.py): anonymous GETs of the parcel sheet and of public OGC API items pages are
answered before Django's request cycle with the same status, body and headers as Django's own answer, errors in the
request's language included; everything else is left to Django."""

import json
import re

import pytest
from django.core import signals
from django.test import Client
from django.urls import resolve

from common.front import ROUTES, FrontShortcut
from layers import ogc
from parcels import api
from parcels.models import Parcel
from tests.test_tile_app import Django, wsgi_get

pytestmark = pytest.mark.django_db

NOT_COMPARED = {"Date", "Content-Security-Policy"}  # the CSP differs by its per-request nonce only


@pytest.fixture(scope="module")
def spots(django_db_blocker, demo_city):
    """A parcel (its id, renewal code and a point on it) and a box around it, in the demo city."""
    with django_db_blocker.unblock():
        parcel = Parcel.objects.order_by("id").first()
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(ST_PointOnSurface(geom), 4326) p "
                           "FROM parcels_parcel WHERE id = %s) s", [parcel.pk])
            lon, lat = cursor.fetchone()
    box = f"{lon - 0.003:.6f},{lat - 0.003:.6f},{lon + 0.003:.6f},{lat + 0.003:.6f}"
    return {"id": parcel.pk, "code": parcel.renewal_code, "lon": f"{lon:.7f}", "lat": f"{lat:.7f}", "box": box}


def requests_to_compare(s):
    """(path, query, environ) of what the map and QGIS ask, answers and errors alike."""
    items = "/ogc/collections/parcels/items"
    en = {"HTTP_COOKIE": "django_language=en"}
    return [
        ("/api/parcels/at", f"lon={s['lon']}&lat={s['lat']}", {}),
        ("/api/parcels/at", f"lon={s['lon']}&lat={s['lat']}", en),
        ("/api/parcels/at", "lon=54.0&lat=10.0", en),  # outside the city: 404 outside_city
        ("/api/parcels/at", "lon=abc&lat=28", {}),  # 400, in Persian
        ("/api/parcels/at", "lat=28", en),  # lon missing
        ("/api/parcels/at", f"lon={s['lon']}&lat={s['lat']}&x=%00", en),  # unstorable: the edge's 400
        (f"/api/parcels/{s['id']}", "", {}),
        ("/api/parcels/999999999", "", en),  # 404
        (f"/api/parcels/code/{s['code']}", "", {}),
        ("/api/parcels/code/not-a-code", "", en),  # 400
        (items, f"bbox={s['box']}&limit=5", {}),
        (items, f"bbox={s['box']}&limit=5&offset=5", {}),
        (items, f"bbox={s['box']}&limit=3&crs=http://www.opengis.net/def/crs/EPSG/0/4326", {}),
        (items, "limit=2&after=10", {}),
        (items, "limit=2", {"HTTP_ACCEPT": "application/geo+json"}),
        ("/ogc/collections/streets/items", "limit=2", {}),
        (items, "limit=0", en),  # 400
        (items, "bbox=1,2,3", en),  # 400
        (items, "nonsense=1", en),  # 400: unknown parameter
    ]


def without_time(body: bytes) -> bytes:
    return re.sub(rb'"timeStamp": "[^"]+"', b'"timeStamp": ""', body)


def test_anonymous_sheet_and_ogc_pages_are_answered_before_django_as_django_answers_them(spots):
    django = Django()
    front = FrontShortcut(django)
    client = Client()
    statuses = set()
    for path, query, environ in requests_to_compare(spots):
        status, got, body = wsgi_get(front, path, query, **environ)
        headers = {k[5:].replace("_", "-"): v for k, v in environ.items()}
        expected = client.get(f"{path}?{query}", headers=headers)
        case = (path, query, environ)
        assert (status, without_time(body)) == (expected.status_code, without_time(expected.content)), case
        assert {k: v for k, v in got.items() if k not in NOT_COMPARED} == \
               {k: v for k, v in expected.headers.items() if k not in NOT_COMPARED}, case
        assert got["Content-Security-Policy"].split("'nonce-")[0] == \
               expected.headers["Content-Security-Policy"].split("'nonce-")[0]
        statuses.add(status)
    assert statuses == {200, 400, 404}
    assert django.paths == []  # none of them reached Django


def test_an_ogc_page_counts_its_matches_in_its_one_statement(spots, english):
    """A page never asked before (a box no count is kept for) carries numberMatched, equal to what a separate count
    finds, and the next page of the same box reuses it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    front = FrontShortcut(Django())
    query = f"bbox={spots['box']}&limit=2"
    with CaptureQueriesContext(connection) as queries:  # Django's cursor: the version check, never a count
        status, _, body = wsgi_get(front, "/ogc/collections/parcels/items", query)
    assert not any("count(*)" in q["sql"] for q in queries.captured_queries)
    page = json.loads(body)
    assert status == 200 and page["numberReturned"] == 2
    with connection.cursor() as cursor:
        west, south, east, north = (float(v) for v in spots["box"].split(","))
        cursor.execute("SELECT count(*) FROM parcels_parcel WHERE ST_Intersects(geom, ST_Transform("
                       "ST_Segmentize(ST_MakeEnvelope(%s, %s, %s, %s, 4326), %s), ST_SRID(geom)))",
                       [west, south, east, north, max(east - west, north - south) / 64])
        assert page["numberMatched"] == cursor.fetchone()[0] > 2
    following = next(link["href"] for link in page["links"] if link["rel"] == "next")
    with CaptureQueriesContext(connection) as queries:
        status, _, body = wsgi_get(front, "/ogc/collections/parcels/items", following.split("?", 1)[1])
    assert status == 200 and json.loads(body)["numberMatched"] == page["numberMatched"]
    assert not any("count(*)" in q["sql"] for q in queries.captured_queries)


@pytest.mark.parametrize("path, query, environ", [
    ("/api/parcels/1", "", {"HTTP_COOKIE": "sessionid=abc"}),  # a session: the user, idle timers
    ("/api/parcels/1", "", {"HTTP_AUTHORIZATION": "Basic Zm9vOmJhcg=="}),  # QGIS or a script signing in
    ("/api/parcels/1", "", {"REQUEST_METHOD": "POST"}),
    ("/api/parcels/1", "", {"HTTP_HOST": "evil.example"}),  # not in ALLOWED_HOSTS: Django's 400
    ("/ogc/collections/parcel_owners/items", "", {}),  # a protected layer: Django asks who it is
    ("/ogc/collections/nothing/items", "", {}),  # an unknown layer
    ("/ogc/collections/parcels/items", "f=html", {}),  # a page for people
    ("/ogc/collections/parcels/items", "", {"HTTP_ACCEPT": "text/html"}),
    ("/ogc/collections/parcels", "", {}),
    ("/ogc/collections/" + "لایه".encode().decode("latin-1") + "/items", "", {}),  # as a server gives UTF-8
    ("/api/parcels/1/", "", {}),
    ("/api/search", "q=1", {}),
])
def test_everything_else_goes_to_django(path, query, environ, demo_city):
    django = Django()
    environ = dict(environ)
    method = environ.pop("REQUEST_METHOD", "GET")
    status, _, body = wsgi_get(FrontShortcut(django), path, query, method=method, **environ)
    assert (status, body, django.paths) == (418, b"django", [path])


def test_a_plain_http_request_goes_to_django_when_https_is_required(settings, demo_city):
    settings.SECURE_SSL_REDIRECT, settings.SECURE_HSTS_SECONDS = True, 3600
    assert wsgi_get(FrontShortcut(Django()), "/api/parcels/1")[0] == 418  # Django redirects it
    status, headers, _ = wsgi_get(FrontShortcut(Django()), "/api/parcels/999999999", **{"wsgi.url_scheme": "https"})
    assert status == 404 and headers["Strict-Transport-Security"] == "max-age=3600"  # as Django adds on HTTPS


def test_routes_are_the_views_django_routes_to(spots):
    """Each front route's paths resolve, in Django's URLconf, to the view whose answers it copies."""
    expected = {"/api/parcels/at": api.parcel_at, f"/api/parcels/{spots['id']}": api.parcel_by_id,
                f"/api/parcels/code/{spots['code']}": api.parcel_by_code,
                "/ogc/collections/parcels/items": ogc.items}
    for path, view in expected.items():
        assert resolve(path).func is view
        assert any(route.pattern.fullmatch(path) for route in ROUTES), path
    assert len(ROUTES) == len(expected)


def test_a_failure_is_the_edges_json_500_and_ends_the_request(spots, monkeypatch):
    finished = []
    monkeypatch.setattr(api, "sheet_json", lambda *args: 1 / 0)

    def on_finished(**kwargs):
        finished.append(True)
    signals.request_finished.connect(on_finished)
    try:
        status, headers, body = wsgi_get(FrontShortcut(Django()), f"/api/parcels/{spots['id']}",
                                         HTTP_COOKIE="django_language=en")
    finally:
        signals.request_finished.disconnect(on_finished)
    assert status == 500 and headers["Content-Type"] == "application/json"
    assert json.loads(body)["error"] == "server_error" and "went wrong" in json.loads(body)["message"]
    assert finished == [True]


def test_the_whole_application_has_the_front_path(spots):
    from gis_portal.wsgi import application

    status, headers, body = wsgi_get(application, "/api/parcels/at", f"lon={spots['lon']}&lat={spots['lat']}")
    assert status == 200 and json.loads(body)["id"] == spots["id"] and headers["Content-Language"] == "fa"
    assert "owner" not in body.decode().lower()  # the sheet is public: never its owners
