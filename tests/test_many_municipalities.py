"""One process serving two municipalities at once, each in its own database (common/tenancy.py, README "Many
municipalities"): Darab (the test database, EPSG:32640, the demo city) and a small generated town in UTM 39N
(EPSG:32639) in a database of its own, made once per test session (test_<db>_second: migrated with the town
current, the town loaded). In one process: the portal through the WSGI application by host and by path prefix,
an import, an eligibility decision and an assessment in each, what one municipality must never see of the other
(parcels, cache entries, sessions), the 404 of an unknown host, migrate_all, add_municipality, MUNICIPALITY."""

import dataclasses
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from wsgiref.util import setup_testing_defaults

import geopandas as gpd

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections
from django.test import override_settings
from shapely.geometry import Polygon

from common import municipality, tenancy
from portal.management.commands.add_municipality import server_connect
from tests.conftest import ROOT

PARCELS = 400
CENTRE = (52.53, 29.61)  # the town's lon, lat (UTM zone 39N)
DARAB_CENTRE = (54.553, 28.755)
SECOND_BOOK = "second-town-{year}"

pytestmark = pytest.mark.django_db(databases=["default", "second"])


def _cities():
    darab = dataclasses.replace(municipality._from_settings(), hosts=("darab.test",))
    second = municipality.Municipality(
        slug="second", name="شهرداری شهر دوم", name_en="Second Town", srid=32639,
        renewal_code_widths=(1, 1, 3, 3, 1, 1, 1), time_zone="Asia/Tehran", database="second",
        hosts=("second.test",), path_prefix="/second", bill_company_code="456", open311_jurisdiction="second-town")
    return darab, second


DARAB, SECOND = _cities()


def url_of(db: dict) -> str:
    return f"postgis://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.fixture(scope="session")
def second_database(django_db_setup, django_db_blocker, demo_city):
    """The town's database (the connection "second"), created, migrated under the town and loaded once per session;
    kept with --reuse-db as the default test database is (migrate brings it up to date, a loaded town is kept)."""
    from data.demo_city.generator import CityParams, generate_city
    from data.demo_city.loader import demo_loaded, load_city
    from zoning.models import Rulebook

    base = connections["default"].settings_dict
    name = f"{base['NAME']}_second"
    out = ROOT / ".local" / "test-cache" / f"second_city_{PARCELS}_32639"
    if not (out / "demo_city.gpkg").exists():
        generate_city(CityParams(parcels=PARCELS, seed=39, srid=32639, center_lon=CENTRE[0], center_lat=CENTRE[1]),
                      out_dir=out)
    with django_db_blocker.unblock():
        with connection._nodb_cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{name}"')
        connections.settings["second"] = {**base, "NAME": name, "TEST": {**base["TEST"], "NAME": name}}
        with _two_cities(), municipality.activate("second"):
            call_command("setup_municipality", verbosity=0)  # migrate and the seeds every city gets
            if not demo_loaded():
                load_city(out / "demo_city.gpkg", out / "dem.tif")
            if not Rulebook.objects.filter(code="second-town-plan").exists():
                plan = (ROOT / "data" / "rulebook" / "demo.toml").read_text(encoding="utf-8")
                plan = plan.replace('code = "demo-detailed-plan-1405"', 'code = "second-town-plan"')
                path = out / "second-plan.toml"
                path.write_text(plan, encoding="utf-8")
                call_command("load_rulebook", str(path), "--commit", verbosity=0)
        connections["second"].close()
    return name


def _two_cities():
    """The registry of Darab and the town (with their hosts) for a block; the hosts are allowed hosts."""
    return override_settings(MUNICIPALITIES=(DARAB, SECOND),
                             ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "darab.test", "second.test", "elsewhere.test"])


@pytest.fixture(autouse=True)
def two_cities(second_database):
    with _two_cities():
        yield


# --- the WSGI application, as gunicorn calls it ----------------------------------------------------------------

class Answer:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = int(status.split()[0]), headers, body

    def json(self):
        return json.loads(self.body)

    def text(self):
        return self.body.decode()

    def cookies(self):
        return [v.split(";")[0] for k, v in self.headers if k.lower() == "set-cookie"]


def wsgi(path, host="127.0.0.1", cookie="", method="GET", body=b"", content_type=""):
    """One request through gis_portal.wsgi.application (the municipality selector, the shortcuts, Django), on this
    thread's connections (inside the test's transactions, as Django's test client; like it, without closing them)."""
    import io

    from django.core import signals
    from django.db import close_old_connections

    from gis_portal.wsgi import application

    path, _, query = path.partition("?")
    environ = {}
    setup_testing_defaults(environ)
    environ.update({"PATH_INFO": path, "QUERY_STRING": query, "HTTP_HOST": host, "REQUEST_METHOD": method,
                    "HTTP_COOKIE": cookie, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body)),
                    "CONTENT_TYPE": content_type, "HTTP_ACCEPT_LANGUAGE": "en"})
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen["status"], seen["headers"] = status, headers

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        result = application(environ, start_response)
        try:
            data = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
    return Answer(seen["status"], seen["headers"], data)


def some_parcel(city):
    from parcels.models import Parcel

    with municipality.activate(city):
        return Parcel.objects.order_by("id")[10]


# --- the portal ---------------------------------------------------------------------------------------------------

def test_the_map_page_of_each_city_by_host_and_by_prefix():
    for city, ways in ((DARAB, [("/", "darab.test")]),
                       (SECOND, [("/", "second.test"), ("/second/", "127.0.0.1"), ("/second/", "elsewhere.test")])):
        for path, host in ways:
            page = wsgi(path, host, cookie="django_language=en")
            assert page.status == 200, (path, host)
            title = page.text().split("<title>")[1].split("</title>")[0]
            assert city.name_en in title, (path, host, title)
    # the prefix is the script name: the page's links carry it
    assert 'href="/second/' in wsgi("/second/", cookie="django_language=en").text()
    assert "/second/" not in wsgi("/", "darab.test").text()
    # and the scripts theirs: <html data-root> is what they put before the app's paths
    assert 'data-root="/second"' in wsgi("/second/").text() and 'data-root=""' in wsgi("/", "darab.test").text()


def test_no_script_names_an_app_path_without_the_municipality_s_prefix():
    import re

    from django.conf import settings

    pattern = re.compile(r"""(?<!ROOT \+ )["'](?:href=\\?")?/(?:api|tiles|parcels|reports|accounts|ogc|permits|jobs|"""
                         r"""documents|dues|transparency|zoning|layers|admin|open311)/""")
    found = []
    sources = [*Path(settings.BASE_DIR).glob("*/static/**/*.js"), *Path(settings.BASE_DIR).glob("**/templates/**/*.html")]
    for script in sorted(p for p in sources if ".venv" not in p.parts and "node_modules" not in p.parts):
        for number, line in enumerate(script.read_text().splitlines(), 1):
            if pattern.search(line):
                found.append(f"{script.relative_to(settings.BASE_DIR)}:{number}: {line.strip()}")
    assert not found, "paths without ROOT (the municipality's prefix):\n" + "\n".join(found)


def test_the_parcel_sheet_of_each_city_is_its_own():
    for city, centre in ((DARAB, DARAB_CENTRE), (SECOND, CENTRE)):
        parcel = some_parcel(city)
        for prefix, host in (("", city.hosts[0]),) + ((("/second", "127.0.0.1"),) if city is SECOND else ()):
            sheet = wsgi(f"{prefix}/api/parcels/{parcel.pk}", host)  # the front shortcut answers it
            assert sheet.status == 200
            assert sheet.json()["renewal_code"] == parcel.renewal_code
            lon, lat = sheet.json()["point"]["coordinates"]
            assert abs(lon - centre[0]) < 0.1 and abs(lat - centre[1]) < 0.1, (city.slug, lon, lat)
        city_info = wsgi("/api/city", city.hosts[0]).json()
        x0, y0, x1, y1 = city_info["bbox"]
        assert x0 < centre[0] < x1 and y0 < centre[1] < y1
    with municipality.activate(SECOND):
        assert connection.alias == "second" and connection.ops.geo_db_type(
            __import__("parcels.models").models.Parcel._meta.get_field("geom")) == "geometry(MULTIPOLYGON,32639)"
        with connection.cursor() as cursor:
            cursor.execute("SELECT DISTINCT ST_SRID(geom) FROM parcels_parcel")
            assert cursor.fetchall() == [(32639,)]
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT ST_SRID(geom) FROM parcels_parcel")
        assert cursor.fetchall() == [(32640,)]


def test_a_parcel_of_one_city_is_not_found_in_the_other():
    from parcels.models import Parcel

    with municipality.activate(SECOND):
        last = Parcel.objects.order_by("-id").first().pk
    darab_only = Parcel.objects.filter(pk__gt=last).order_by("id").first()
    assert darab_only is not None
    assert wsgi(f"/api/parcels/{darab_only.pk}", "darab.test").status == 200
    assert wsgi(f"/api/parcels/{darab_only.pk}", "second.test").status == 404
    assert wsgi(f"/second/api/parcels/{darab_only.pk}").status == 404
    assert wsgi(f"/parcels/{darab_only.pk}/", "second.test").status == 404  # Django's own page, not the shortcut


def test_tiles_and_cache_entries_of_one_city_are_not_served_for_the_other():
    from django.core.cache import caches

    from layers import tiles

    for cache in ("default", "tiles", "ogc"):
        with municipality.activate(DARAB):
            caches[cache].set("the-same-key", "darab")
        with municipality.activate(SECOND):
            assert caches[cache].get("the-same-key") is None
            caches[cache].set("the-same-key", "second")
        assert caches[cache].get("the-same-key") == "darab"
    # the same tile of each city twice (the second time from the tile cache): each city's parcels only
    for city, other in ((DARAB, SECOND), (SECOND, DARAB)):
        parcel = some_parcel(city)
        with municipality.activate(city), connection.cursor() as cursor:
            cursor.execute("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(ST_PointOnSurface(geom), 4326) p "
                           "FROM parcels_parcel WHERE id = %s) x", [parcel.pk])
            lon, lat = cursor.fetchone()
        x, y = tiles.lonlat_to_tile(lon, lat, 17)
        first = wsgi(f"/tiles/parcels/17/{x}/{y}.pbf", city.hosts[0])
        again = wsgi(f"/tiles/parcels/17/{x}/{y}.pbf", city.hosts[0])
        assert first.status == 200 and first.body and again.body == first.body
        assert parcel.renewal_code.encode() in first.body
        elsewhere = wsgi(f"/tiles/parcels/17/{x}/{y}.pbf", other.hosts[0])  # the other city has nothing there
        assert parcel.renewal_code.encode() not in elsewhere.body


def test_a_session_of_one_city_is_not_signed_in_at_the_other(client):
    from tests.conftest import make_user

    keys = {}
    for city in (DARAB, SECOND):
        with municipality.activate(city):
            client.cookies.clear()
            client.force_login(make_user(f"citizen-{city.slug}", "citizen"))
            keys[city.slug] = client.cookies[settings.SESSION_COOKIE_NAME].value

    def signed_in(path, host, cookie):
        """Signed in: the citizens' page answers (403: a user, not a citizen), instead of sending to sign in."""
        answer = wsgi(path, host, cookie=cookie)
        assert answer.status in (302, 403), answer.status
        return answer.status == 403

    darab_cookie = f"sessionid={keys[DARAB.slug]}"
    assert signed_in("/accounts/settings/", "darab.test", darab_cookie)
    assert not signed_in("/accounts/settings/", "second.test", darab_cookie)  # Darab's cookie is not the town's
    assert not signed_in("/second/accounts/settings/", "127.0.0.1", f"sessionid_second={keys[DARAB.slug]}")
    both = f"sessionid={keys[DARAB.slug]}; sessionid_second={keys['second']}"
    assert signed_in("/accounts/settings/", "darab.test", both)  # signed in to both at once
    assert signed_in("/second/accounts/settings/", "127.0.0.1", both)
    # a session cookie the town's pages set is the town's own
    seen = {}
    environ, start = tenancy.own_session_cookie(
        {"HTTP_COOKIE": both}, lambda status, headers: seen.update(headers=headers), "sessionid", "sessionid_second")
    assert environ["HTTP_COOKIE"] == f"sessionid={keys['second']}"
    start("200 OK", [("Set-Cookie", "sessionid=abc; Path=/"), ("Set-Cookie", "csrftoken=x; Path=/")])
    assert seen["headers"] == [("Set-Cookie", "sessionid_second=abc; Path=/"), ("Set-Cookie", "csrftoken=x; Path=/")]


def test_an_unknown_host_is_a_404_listing_the_municipalities():
    page = wsgi("/", "elsewhere.test")
    assert page.status == 404
    assert "http://darab.test/" in page.text() and "http://second.test/" in page.text()
    assert DARAB.name in page.text() and SECOND.name in page.text()
    assert wsgi("/api/parcels/1", "elsewhere.test").status == 404
    # a municipality with neither host nor prefix answers every other request (the demo's Darab at /)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(settings, "MUNICIPALITIES", (dataclasses.replace(DARAB, hosts=()), SECOND), raising=False)
        municipality._forget_registry(setting="MUNICIPALITIES")
        try:
            page = wsgi("/", "elsewhere.test", cookie="django_language=en")
            assert page.status == 200 and DARAB.name_en in page.text()
        finally:
            patch.undo()
            municipality._forget_registry(setting="MUNICIPALITIES")


def test_one_municipality_passes_every_request_unchanged(settings):
    settings.MUNICIPALITIES = None
    page = wsgi("/second/", "elsewhere.test")
    assert page.status == 404 and "No municipality" not in page.text()  # Django's 404: nothing at /second/
    assert wsgi("/api/city", "127.0.0.1").status == 200


# --- an import, an eligibility decision, an assessment in each ------------------------------------------------

def test_an_import_into_each_city_lands_in_its_database_in_its_crs(tmp_path):
    from django.utils import translation

    from parcels.importing import ImportOptions, run_import
    from parcels.models import Parcel

    for city in (DARAB, SECOND):
        with municipality.activate(city):
            x0, y0 = _corner()
            squares = [Polygon([(x0 - 300 + i * 30, y0 - 300), (x0 - 280 + i * 30, y0 - 300),
                                (x0 - 280 + i * 30, y0 - 275), (x0 - 300 + i * 30, y0 - 275)]) for i in range(3)]
            frame = gpd.GeoDataFrame([{"code": f"9-9-909-{i + 1:03d}-0-0-0", "pid": f"{city.slug}-{i}"}
                                      for i in range(3)], geometry=squares, crs=f"EPSG:{city.srid}")
            path = tmp_path / f"{city.slug}.gpkg"
            frame.to_file(path, engine="pyogrio")
            before = Parcel.objects.count()
            with translation.override("en"):
                run_import(ImportOptions(layer="parcels", path=str(path), commit=True,
                                                  mapping={"renewal_code": "code", "source_id": "pid"}))
            assert Parcel.objects.count() == before + 3
            with connection.cursor() as cursor:
                cursor.execute("SELECT DISTINCT ST_SRID(geom) FROM parcels_parcel WHERE source_id LIKE %s",
                               [f"{city.slug}-%"])
                assert cursor.fetchall() == [(city.srid,)]
    for city, other in ((DARAB, SECOND), (SECOND, DARAB)):
        with municipality.activate(city):
            assert not Parcel.objects.filter(source_id__startswith=f"{other.slug}-").exists()


def _corner():
    with connection.cursor() as cursor:
        cursor.execute("SELECT ST_XMin(e), ST_YMin(e) FROM (SELECT ST_Extent(geom) e FROM parcels_parcel) x")
        return cursor.fetchone()


def test_an_eligibility_decision_in_each_city_follows_its_rulebook():
    from zoning import api as zoning_api
    from zoning.models import ParcelOverlay

    decided = {}
    for city in (DARAB, SECOND):
        with municipality.activate(city):
            if city is DARAB:
                from zoning.models import Rulebook

                if not Rulebook.objects.filter(code="demo-detailed-plan-1405").exists():
                    call_command("load_rulebook", str(ROOT / "data" / "rulebook" / "demo.toml"), "--commit",
                                 verbosity=0)
            parcel = ParcelOverlay.objects.filter(zone_code__isnull=False).order_by("parcel_id").first().parcel
            sheet = wsgi(f"/api/parcels/{parcel.pk}/eligibility", city.hosts[0])
            assert sheet.status == 200, sheet.body[:300]
            env = sheet.json()["envelope"]
            proposal = {"land_use": "residential", "floors": 1, "units": 1, "parking_spaces": 1,
                        "gross_floor_area": round(env["max_footprint_area"] * 0.5, 1),
                        "footprint_area": round(env["max_footprint_area"] * 0.5, 1)}
            decided[city.slug] = zoning_api.decide(parcel.pk, proposal)
            assert decided[city.slug]["status"] in ("eligible", "conditional", "not_eligible")
    assert "demo-detailed-plan-1405" in json.dumps(decided[DARAB.slug]["rulebook"])
    assert "second-town-plan" in json.dumps(decided["second"]["rulebook"])


def test_an_assessment_in_each_city_uses_its_tariff_book():
    from dues import billing
    from dues.assessment import assess_year
    from dues.models import Assessment, TariffBook
    from dues.tariffs import read_file
    from parcels.models import Parcel

    year = billing.today().year
    books = sorted((ROOT / "data" / "tariffs").glob("[0-9][0-9][0-9][0-9].toml"))
    used = {}
    for city in (DARAB, SECOND):
        with municipality.activate(city):
            if city is SECOND or not TariffBook.objects.filter(year=year, status="approved").exists():
                TariffBook.objects.filter(year=year, status="approved").update(status="draft")
                book = read_file(books[-1])
                TariffBook.objects.create(**{**dataclasses.asdict(book), "year": year, "status": "approved",
                                             "name": SECOND_BOOK.format(year=year) if city is SECOND
                                             else f"darab-{year}"})
            assess_year(year)
            current = Assessment.objects.filter(year=year, is_current=True)
            assert current.count() == Parcel.objects.count() > 0 and sum(a.amount for a in current) > 0
            used[city.slug] = set(current.values_list("book__name", flat=True))
    assert used["second"] == {SECOND_BOOK.format(year=year)}
    assert SECOND_BOOK.format(year=year) not in used[DARAB.slug] and len(used[DARAB.slug]) == 1


# --- processes that are not requests ------------------------------------------------------------------------------

def _file(tmp_path, *extra):
    darab = dataclasses.replace(DARAB, database_url=url_of(connections.settings["default"]))
    second = dataclasses.replace(SECOND, database_url=url_of(connections.settings["second"]))
    text = "\n".join(municipality.toml_table(m) for m in (darab, second, *extra))
    path = tmp_path / "municipalities.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _env(**env) -> dict:
    """A subprocess's environment: the test settings, no municipality of this process's, `env` added."""
    clean = {k: v for k, v in os.environ.items() if k not in ("MUNICIPALITY", "MUNICIPALITIES_FILE")}
    return {**clean, "DJANGO_SETTINGS_MODULE": "gis_portal.settings_test", **env}


def _run(*args, **env):
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env=_env(**env))


def test_a_process_works_for_the_municipality_of_its_environment(tmp_path):
    """MUNICIPALITY=second: a command, a job worker's connector, the deferring of a job go to the town's database."""
    path = _file(tmp_path)
    script = ("import django; django.setup(); from django.db import connection; from common import municipality; "
              "from procrastinate.contrib.django import utils, app; "
              "print(municipality.current().slug, connection.alias, connection.settings_dict['NAME'], "
              "utils.connector_params('default')['dbname'], app.connector.connection.alias)")
    town = _run("-c", script, MUNICIPALITIES_FILE=str(path), MUNICIPALITY="second")
    assert town.returncode == 0, town.stderr
    name = connections.settings["second"]["NAME"]
    assert town.stdout.split() == ["second", "second", name, name, "second"]
    darab = _run("-c", script, MUNICIPALITIES_FILE=str(path))
    assert darab.stdout.split()[:3] == [DARAB.slug, "default", connections.settings["default"]["NAME"]]
    wrong = _run("-c", "import django; django.setup()", MUNICIPALITIES_FILE=str(path), MUNICIPALITY="shiraz")
    assert wrong.returncode != 0 and "MUNICIPALITY='shiraz' is not a municipality" in wrong.stderr


def test_migrate_all_migrates_each_and_stops_at_the_first_failure(tmp_path):
    broken = municipality.Municipality(slug="broken", name="خراب", name_en="Broken", srid=32639,
                                       renewal_code_widths=(1, 1, 3, 3, 1, 1, 1), time_zone="Asia/Tehran",
                                       database="broken", database_url="postgis://gis:x@127.0.0.1:1/nothing")
    done = _run("manage.py", "migrate_all", MUNICIPALITIES_FILE=str(_file(tmp_path, broken)))
    assert done.returncode != 0
    assert f"Migrating {DARAB.name_en}" in done.stdout and "Migrating Second Town (second, EPSG:32639)" in done.stdout
    assert "migrate failed for broken" in done.stderr
    only = _run("manage.py", "migrate_all", "--only", "second", MUNICIPALITIES_FILE=str(_file(tmp_path)))
    assert only.returncode == 0, only.stderr
    assert "Migrated 1 municipalities." in only.stdout and DARAB.name_en not in only.stdout


def test_add_municipality_refuses_clearly(tmp_path):
    args = ["--srid", "32639", "--name-fa", "شهرداری سوم", "--file", str(tmp_path / "m.toml")]
    with pytest.raises(CommandError, match="The slug second is taken"):
        call_command("add_municipality", "second", *args)
    with pytest.raises(CommandError, match="4326 .* is not a projected CRS"):
        call_command("add_municipality", "third", *args[:1], "4326", *args[2:])
    with pytest.raises(CommandError, match="cannot be reached"):
        call_command("add_municipality", "third", *args, "--database-url", "postgis://gis:x@127.0.0.1:1/nothing")
    with pytest.raises(CommandError, match="the host 'second.test' is given to both"):
        call_command("add_municipality", "third", *args, "--host", "second.test", "--database-url",
                     "postgis://gis:x@127.0.0.1:1/nothing")
    assert not (tmp_path / "m.toml").exists()


def test_add_municipality_creates_migrates_and_seeds_a_database(tmp_path):
    base = connections.settings["default"]
    name = f"{base['NAME']}_third"
    path = tmp_path / "municipalities.toml"  # none yet: made with the current municipality first
    try:
        done = _run("manage.py", "add_municipality", "third", "--srid", "32639", "--name-fa", "شهرداری سوم",
                    "--name-en", "Third Town", "--widths", "2,2,3,4,1,1,1", "--path-prefix", "/third",
                    "--database-url", url_of({**base, "NAME": name}), "--file", str(path),
                    DATABASE_URL=url_of(base))
        assert done.returncode == 0, done.stderr[-3000:]
        listed = municipality.read_file(path)
        assert [m.slug for m in listed] == [settings.MUNICIPALITY_SLUG, "third"]
        third = listed[1]
        assert (third.srid, third.renewal_code_widths, third.path_prefix) == (32639, (2, 2, 3, 4, 1, 1, 1), "/third")
        with server_connect(url_of(base), name) as conn:
            assert conn.execute("SELECT srid FROM geometry_columns WHERE f_table_name = 'parcels_parcel'"
                                ).fetchone() == (32639,)
            categories, case_types, templates, parcels = conn.execute(
                "SELECT (SELECT count(*) FROM reports_category), (SELECT count(*) FROM permits_casetype), "
                "(SELECT count(*) FROM notices_template), (SELECT count(*) FROM parcels_parcel)").fetchone()
            assert categories > 0 and case_types > 0 and templates > 0 and parcels == 0
        again = _run("manage.py", "add_municipality", "third", "--srid", "32639", "--name-fa", "x", "--file",
                     str(path), DATABASE_URL=url_of(base))
        assert again.returncode != 0 and "'third' is given to both" in again.stderr
    finally:
        with connection._nodb_cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_municipality_s_time_zone_is_current_with_it():
    from django.utils import timezone

    from reports import stats

    kabul = dataclasses.replace(SECOND, time_zone="Asia/Kabul")  # UTC+4:30, an hour from Tehran's +3:30
    day = dt.date(2026, 12, 3)
    with municipality.activate(DARAB):
        assert timezone.get_current_timezone_name() == "Asia/Tehran"
        tehran_midnight = stats._midnight(day)
        with municipality.activate(kabul):
            assert timezone.get_current_timezone_name() == "Asia/Kabul"
            assert municipality.time_zone().key == "Asia/Kabul"
            assert tehran_midnight - stats._midnight(day) == dt.timedelta(hours=1)
            assert timezone.localtime(dt.datetime(2026, 12, 3, 20, 0, tzinfo=dt.UTC)).hour == 0  # 00:30 next day
        assert timezone.get_current_timezone_name() == "Asia/Tehran"


# --- files and signing keys ---------------------------------------------------------------------------------------

@pytest.fixture
def own_files(tmp_path, settings):
    """A VAR_DIR and MEDIA_ROOT of the test's own, and no configured signing key (each city's demo key)."""
    from documents import signing

    settings.VAR_DIR = tmp_path / "var"
    settings.MEDIA_ROOT = tmp_path / "var" / "media"
    settings.DOCUMENTS_SIGNING_KEY = settings.DOCUMENTS_SIGNING_CERT = ""
    signing._cache.clear()
    yield tmp_path / "var"
    signing._cache.clear()


def test_each_city_s_uploads_job_results_and_rasters_are_in_folders_of_its_own(own_files):
    from types import SimpleNamespace

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from jobs.runner import result_dir
    from layers.rasters import raster_dir

    names, places = {}, {}
    for city in (DARAB, SECOND):
        with municipality.activate(city):
            names[city.slug] = default_storage.save("reports/photos/p.jpg", ContentFile(city.slug.encode()))
            places[city.slug] = (Path(default_storage.path(names[city.slug])), result_dir(SimpleNamespace(pk=7)),
                                 raster_dir())
    assert places["darab-municipality"] == (own_files / "media" / names["darab-municipality"],
                                            own_files / "jobs" / "7", own_files / "rasters")
    town = own_files / "municipalities" / "second"
    assert places["second"] == (town / "media" / names["second"], town / "jobs" / "7", town / "rasters")
    # the same name is another file in each city; each reads its own
    assert names["second"] == names["darab-municipality"] == "reports/photos/p.jpg"
    for city in (DARAB, SECOND):
        with municipality.activate(city), default_storage.open(names[city.slug]) as fh:
            assert fh.read() == city.slug.encode()
    with municipality.activate(SECOND):
        default_storage.delete(names["second"])
        assert not default_storage.exists(names["second"])
    with municipality.activate(DARAB):
        assert default_storage.exists(names["darab-municipality"])


def test_each_city_signs_its_documents_with_its_own_key_and_backs_up_its_own_files(own_files, tmp_path):
    from asn1crypto import pem, x509
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko_certvalidator import ValidationContext

    from documents import api, kinds, rendering, signing
    from portal import backup
    from tests.documents.conftest import validate_pdf_signature

    kind = kinds.DocumentKind(code="test_note", name="Test note", prefix="TN", supersedes=False,
                              html=lambda doc: f"<html><body><p>{doc.number}</p></body></html>".encode())
    kinds.KINDS[kind.code] = kind
    try:
        subjects, files = {}, {}
        for city in (DARAB, SECOND):
            with municipality.activate(city):
                doc = api.issue("test_note", parcel=some_parcel(city))
                rendering.render(doc.pk)
                doc.refresh_from_db()
                key = signing.key()
                assert key.demo and city.name_en in key.subject
                assert Path(key.cert_path).is_relative_to(municipality.var_dir() / "signing")
                assert doc.file.path.startswith(str(municipality.media_root()))
                with doc.file.open("rb") as fh:
                    signature = PdfFileReader(fh).embedded_signatures[0]
                    own = ValidationContext(trust_roots=[x509.Certificate.load(
                        pem.unarmor(key.cert_path.read_bytes())[2])])
                    assert validate_pdf_signature(signature, own).bottom_line
                    subjects[city.slug] = signature.signer_cert.subject.human_friendly
                files[city.slug] = doc.file.path
        for city in (DARAB, SECOND):  # a city's backup takes its own files, not the other's
            with municipality.activate(city):  # the test's transaction: the rows are not committed
                connection.ensure_connection()
                referenced = backup.referenced_files(connection.connection)
            other = (SECOND if city is DARAB else DARAB).slug
            assert files[city.slug] in referenced and files[other] not in referenced
        assert subjects["second"] != subjects["darab-municipality"]
        assert "Second Town" in subjects["second"]

        # a key of its own, named in the municipalities file, signs the town's documents
        key_path, cert_path = tmp_path / "town-key.pem", tmp_path / "town-cert.pem"
        with municipality.activate(SECOND):
            signing.make_self_signed(key_path, cert_path, "Second Town registry office")
        configured = dataclasses.replace(SECOND, signing_key=str(key_path), signing_cert=str(cert_path))
        with municipality.activate(configured):
            used = signing.key()
            assert not used.demo and "Second Town registry office" in used.subject
        with municipality.activate(DARAB):
            assert "Second Town" not in signing.key().subject
    finally:
        kinds.KINDS.pop(kind.code, None)


def test_each_city_s_object_storage_keys_are_under_its_own_prefix():
    from django.core.exceptions import SuspiciousOperation

    from common.storage_s3 import MunicipalS3Storage

    storage = MunicipalS3Storage(bucket_name="files", location="portal/", access_key="a", secret_key="b",
                                 region_name="ir-1", endpoint_url="http://127.0.0.1:9")  # nothing is sent
    with municipality.activate(DARAB):
        assert storage._normalize_name("reports/photos/p.jpg") == "portal/reports/photos/p.jpg"
    with municipality.activate(SECOND):
        assert storage._normalize_name("reports/photos/p.jpg") == "portal/municipalities/second/reports/photos/p.jpg"
        with pytest.raises(SuspiciousOperation, match="denied"):  # a name cannot climb into another city's keys
            storage._normalize_name("../../reports/photos/p.jpg")


_DEFER_EXPORTS = """
import json, django
django.setup()
from common import municipality
from jobs import service
from layers.jobs import KIND
ids = {}
for slug in municipality.registry():
    with municipality.activate(slug):
        ids[slug] = str(service.start(KIND, {"layers": ["districts"], "format": "geojson", "srid": 4326,
                                             "district": None, "bbox": None, "filters": {}}).pk)
print(json.dumps(ids))
"""

_READ_AND_REMOVE = """
import json, sys, django
django.setup()
from common import municipality
from jobs.models import Job
from procrastinate.contrib.django.models import ProcrastinateJob
out = {}
for slug, pk in json.loads(sys.argv[1]).items():
    with municipality.activate(slug):
        job = Job.objects.get(pk=pk)
        out[slug] = {"status": job.status, "path": job.result_path, "error": job.error}
        ProcrastinateJob.objects.filter(id=job.procrastinate_id).delete()
        job.delete()
print(json.dumps(out))
"""


def test_one_process_works_the_job_queues_of_every_city(tmp_path):
    """manage.py work_all: a worker per municipality in one process, each job run in its own city's database,
    context and files (an export of the districts, deferred in each city, committed: the worker sees only those)."""
    import pyogrio

    env = {"MUNICIPALITIES_FILE": str(_file(tmp_path)), "VAR_DIR": str(tmp_path / "var")}
    deferred = _run("-c", _DEFER_EXPORTS, **env)
    assert deferred.returncode == 0, deferred.stderr
    ids = json.loads(deferred.stdout.strip().splitlines()[-1])
    try:
        worked = _run("manage.py", "work_all", "--one-shot", "--queues", "jobs", **env)
        assert worked.returncode == 0, worked.stderr[-3000:]
        assert f"Job workers for {DARAB.slug}, second in one process." in worked.stdout
    finally:
        ended = _run("-c", _READ_AND_REMOVE, json.dumps(ids), **env)
    assert ended.returncode == 0, ended.stderr
    jobs = json.loads(ended.stdout.strip().splitlines()[-1])
    for city, (lon, lat) in ((DARAB, DARAB_CENTRE), (SECOND, CENTRE)):
        job = jobs[city.slug]
        assert job["status"] == "done", job
        path = Path(job["path"])
        with municipality.activate(city), override_settings(VAR_DIR=tmp_path / "var"):
            assert path.is_relative_to(municipality.var_dir() / "jobs" / ids[city.slug])
        west, south, east, north = pyogrio.read_info(path)["total_bounds"]
        assert west - 0.5 < lon < east + 0.5 and south - 0.5 < lat < north + 0.5, (city.slug, west, south)


def test_work_all_refuses_an_unknown_municipality(tmp_path):
    refused = _run("manage.py", "work_all", "--only", "shiraz", MUNICIPALITIES_FILE=str(_file(tmp_path)))
    assert refused.returncode != 0 and "No municipality 'shiraz'" in refused.stderr


def test_work_all_stops_every_worker_on_sigterm(tmp_path):
    import signal
    import time

    process = subprocess.Popen(
        [sys.executable, "manage.py", "work_all", "--queues", "jobs", "--shutdown-graceful-timeout", "5"], cwd=ROOT,
        env=_env(MUNICIPALITIES_FILE=str(_file(tmp_path)), VAR_DIR=str(tmp_path / "var")),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        listening = 0
        while listening < 2 and time.monotonic() < deadline:  # both workers connected: a worker row in each database
            listening = 0
            for alias in ("default", "second"):
                with connections[alias].cursor() as cursor:
                    cursor.execute("SELECT count(*) FROM procrastinate_workers WHERE last_heartbeat > now() - "
                                   "interval '30 seconds'")
                    listening += cursor.fetchone()[0] > 0
            time.sleep(0.3)
        assert listening == 2 and process.poll() is None
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
        assert process.returncode == 0, err[-2000:]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
