"""A second municipality in another CRS, with no outside data: the demo generator's town placed in UTM zone 39N
(EPSG:32639, the zone west of Darab's, e.g. Shiraz), a few hundred parcels, loaded through the same import as a real
city's files. The second run of `./run test` (MUNICIPALITY_SRID=32639) runs these: streets with planned widths give
widening strips stored in the city's CRS, and the sheet, an eligibility decision, an assessment, a tile, an export,
the zoning legend and the query page's map work there; the SRID system check passes."""

import sqlite3

import pyogrio
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from gis_portal.checks import TILE_COPIES_3857
from tests.conftest import ROOT, SECOND_CITY_SRID, serve_portal

pytestmark = [pytest.mark.other_city(srid=SECOND_CITY_SRID), pytest.mark.django_db]

PARCELS = 400
CENTRE = (52.53, 29.61)  # lon, lat: a town in UTM zone 39N


def rows(sql, params=()):
    with connection.cursor() as c:
        c.execute(sql, params)
        return c.fetchall()


@pytest.fixture(scope="session")
def second_city(django_db_setup, django_db_blocker):
    """The generated town in EPSG:32639 (cached in .local/test-cache), its rulebook and this year's tariff book,
    loaded once into the test database (committed)."""
    from data.demo_city.generator import CityParams, generate_city
    from data.demo_city.loader import demo_loaded, load_city
    from dues import billing
    from dataclasses import asdict

    from dues.loader import load_files
    from dues.models import TariffBook
    from dues.tariffs import read_file
    from zoning.models import Rulebook

    out = ROOT / ".local" / "test-cache" / f"second_city_{PARCELS}_{settings.MUNICIPALITY_SRID}"
    if not (out / "demo_city.gpkg").exists():
        generate_city(CityParams(parcels=PARCELS, seed=39, srid=settings.MUNICIPALITY_SRID, center_lon=CENTRE[0],
                                 center_lat=CENTRE[1]), out_dir=out)
    with django_db_blocker.unblock():
        if not demo_loaded():
            load_city(out / "demo_city.gpkg", out / "dem.tif")
        if not Rulebook.objects.filter(code="demo-detailed-plan-1405").exists():
            call_command("load_rulebook", str(ROOT / "data" / "rulebook" / "demo.toml"), "--commit", verbosity=0)
        books = sorted((ROOT / "data" / "tariffs").glob("*.toml"))
        load_files(books)
        year = billing.today().year
        if not TariffBook.objects.filter(year=year, status="approved").exists():  # past the demo books' last year
            book = read_file([p for p in books if "draft" not in p.name][-1])
            TariffBook.objects.create(**{**asdict(book), "year": year, "name": f"test-copy-{year}",
                                         "status": "approved"})
    return {"gpkg": out / "demo_city.gpkg", "year": year}


@pytest.fixture
def widened(second_city):
    from zoning.models import ParcelOverlay

    return ParcelOverlay.objects.filter(widening_area__gt=5).order_by("parcel_id").first().parcel


def test_every_geometry_column_is_in_the_citys_crs_and_the_check_passes(second_city):
    assert settings.MUNICIPALITY_SRID == SECOND_CITY_SRID
    # every column but the tiles' own copies in EPSG:3857 (gis_portal.checks.TILE_COPIES_3857)
    other = rows("SELECT f_table_name, f_geometry_column, srid FROM geometry_columns WHERE f_table_schema = "
                 "current_schema() AND srid NOT IN (0, %s)", [SECOND_CITY_SRID])
    assert [row for row in other if not (row[2] == 3857 and tuple(row[:2]) in TILE_COPIES_3857)] == []
    call_command("check", "--database", "default", "--fail-level", "ERROR", verbosity=0)  # raises on an error


def test_streets_with_planned_widths_give_widening_strips_in_the_citys_crs(second_city):
    # the streets the generator planned wider, read from the file, not from the database
    streets = pyogrio.read_dataframe(second_city["gpkg"], layer="streets")
    assert (streets["planned_width"] > streets["existing_width"]).sum() > 0
    (strips, srids, mismatched), = rows(
        "SELECT count(*), array_agg(DISTINCT ST_SRID(widening_geom)), "
        "count(*) FILTER (WHERE abs(ST_Area(widening_geom) - widening_area) > 0.01) "
        "FROM zoning_parceloverlay WHERE widening_geom IS NOT NULL")
    assert strips > 0 and srids == [SECOND_CITY_SRID] and mismatched == 0
    # the same strips as the published road-widening layer computes from the streets' planned widths
    (layer_area,), = rows("SELECT sum(ST_Area(geom)) FROM layers_road_widening")
    (overlay_area,), = rows("SELECT sum(widening_area) FROM zoning_parceloverlay")
    assert overlay_area == pytest.approx(layer_area, rel=1e-6)


def test_sheet_draws_the_widening(client, widened):
    sheet = client.get(f"/api/parcels/{widened.pk}").json()
    assert sheet["renewal_code"] == widened.renewal_code
    assert sheet["road_widening"]["area"] > 5
    lon, lat = sheet["point"]["coordinates"]
    assert abs(lon - CENTRE[0]) < 0.05 and abs(lat - CENTRE[1]) < 0.05  # placed where the town is, in WGS84
    assert client.get("/api/parcels/at", {"lon": lon, "lat": lat}).json()["id"] == widened.pk


def test_eligibility_decision(client, widened):
    url = f"/api/parcels/{widened.pk}/eligibility"
    data = client.get(url).json()
    env = data["envelope"]
    assert data["widening_area"] > 5 and env["max_footprint_area"] > 0
    assert env["net_area"] == pytest.approx(float(widened.deed_area or widened.measured_area) - data["widening_area"],
                                            abs=0.01)
    modest = {"land_use": "residential", "floors": 1, "gross_floor_area": round(env["max_footprint_area"] * 0.5, 1),
              "footprint_area": round(env["max_footprint_area"] * 0.5, 1), "units": 1, "parking_spaces": 1}
    decided = client.post(url, modest, content_type="application/json").json()
    assert decided["status"] in ("eligible", "conditional", "not_eligible") and decided["checks"]
    too_high = client.post(url, {**modest, "floors": env["max_floors"] + 1}, content_type="application/json").json()
    assert too_high["status"] == "not_eligible"


def test_assessment(second_city):
    from dues.assessment import assess_year
    from dues.models import Assessment
    from parcels.models import Parcel

    year = second_city["year"]
    assess_year(year)
    current = Assessment.objects.filter(year=year, is_current=True)
    assert current.count() == Parcel.objects.count() > 0
    assert sum(a.amount for a in current) > 0


def test_tile(client, widened, tmp_path):
    from layers import tiles

    (lon, lat), = rows("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(ST_PointOnSurface(geom), 4326) p "
                       "FROM parcels_parcel WHERE id = %s) x", [widened.pk])
    x, y = tiles.lonlat_to_tile(lon, lat, 17)
    response = client.get(f"/tiles/parcels/17/{x}/{y}.pbf")
    assert response.status_code == 200
    path = tmp_path / "t.pbf"
    path.write_bytes(response.content)
    frame = pyogrio.read_dataframe(path, layer="parcels", X=str(x), Y=str(y), Z="17", CLIP="NO")
    assert widened.renewal_code in set(frame["renewal_code"])


def test_export_with_the_zones_own_colours(second_city, tmp_path):
    out = tmp_path / "city.gpkg"
    call_command("export_layer", "parcels", "zoning", "-o", str(out), verbosity=0)
    assert pyogrio.read_info(out, layer="parcels")["crs"] == f"EPSG:{SECOND_CITY_SRID}"
    assert pyogrio.read_info(out, layer="parcels")["features"] == rows("SELECT count(*) FROM parcels_parcel")[0][0]
    db = sqlite3.connect(out)
    (qml,), = db.execute("SELECT styleQML FROM layer_styles WHERE f_table_name = 'zoning' AND useAsDefault").fetchall()
    db.close()
    # every zone code of the file, coloured as the file says (the generator's colours, carried by the import)
    zones = pyogrio.read_dataframe(second_city["gpkg"], layer="zoning", read_geometry=False)
    expected = {code: "{},{},{}".format(*(int(colour[i:i + 2], 16) for i in (1, 3, 5)))
                for code, colour in zones[["code", "colour"]].drop_duplicates().itertuples(index=False)}
    assert len(expected) == zones["code"].nunique()
    assert qml_fill_colours(qml) == expected


def qml_fill_colours(qml: str) -> dict[str, str]:
    """{category value: "r,g,b" of its symbol's fill} of a categorized QGIS style (the catch-all category left out)."""
    import xml.etree.ElementTree as ET

    root = ET.fromstring(qml.split("\n", 1)[1])
    fills = {s.get("name"): s.find(".//prop[@k='color']").get("v").rsplit(",", 1)[0]
             for s in root.find(".//symbols").findall("symbol")}
    return {c.get("value"): fills[c.get("symbol")] for c in root.iter("category") if c.get("value")}


def test_query_page_map_opens_on_the_city(browser, second_city, django_db_blocker):
    """The planners' query page's map starts on the loaded city, not on Darab (no results drawn: the query answer
    is held back, so only the start view counts)."""
    hook = """Object.defineProperty(window, "L", {configurable: true, get() { return this._leaflet; },
        set(v) { this._leaflet = v; v.Map.addInitHook(function () { window.testMap = this; }); }});"""
    with serve_portal(django_db_blocker, gunicorn_args=("--workers", "1")) as base:
        context = browser.new_context(locale="en-US")
        page = context.new_page()
        page.add_init_script(hook)
        page.route("**/api/zoning/parcels?*", lambda route: None)  # never answered
        page.goto(base + "/zoning/queries/")
        page.wait_for_function("() => window.testMap && window.testMap._loaded")
        lat, lon = page.evaluate("() => { const c = window.testMap.getCenter(); return [c.lat, c.lng]; }")
        context.close()
    (x0, y0, x1, y1), = rows("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Transform("
                             "ST_SetSRID(ST_Extent(geom)::geometry, %s), 4326) e FROM parcels_parcel) x",
                             [SECOND_CITY_SRID])
    assert x0 <= lon <= x1 and y0 <= lat <= y1


def test_reports_in_the_citys_crs(client, second_city, widened):
    """The 137 line in the second city: a report at a parcel is stored in the city's CRS, routed, shown to the public
    where the town is (a home's report at its block), counted by the cluster tiles and the statistics."""
    from django.contrib.gis.geos import Point

    from notices import defaults
    from reports import loader, service
    from reports.models import Category, Report
    from reports.public import public_doc

    defaults.load()
    loader.load(loader.read(loader.DEFAULT_FILE))
    point = widened.geom.point_on_surface
    point = Point(point.x, point.y, srid=SECOND_CITY_SRID)
    pothole = service.submit(category=Category.objects.get(code="pothole"), point=point, description="چاله",
                             reporter=service.Reporter(phone="09171110039"))
    home = service.submit(category=Category.objects.get(code="illegal-construction"), point=point,
                          description="طبقه‌ی اضافه", reporter=service.Reporter(phone="09171110039"))
    assert Report.objects.get(pk=pothole.pk).geom.srid == SECOND_CITY_SRID and pothole.parcel_id == widened.pk
    doc = public_doc(pothole)
    assert abs(doc["lon"] - CENTRE[0]) < 0.05 and abs(doc["lat"] - CENTRE[1]) < 0.05
    assert not home.public_geom.equals(home.geom) and public_doc(home)["description"] is None
    assert [r.pk for r in service.nearby(pothole.category, point)] == [pothole.pk]
    stats = client.get("/api/reports/stats").json()
    assert stats and client.get("/reports/map/").status_code == 200
    # the cluster tile holding the town's centre counts both reports
    import math

    z = 12
    x = int((doc["lon"] + 180) / 360 * 2 ** z)
    y = int((1 - math.asinh(math.tan(math.radians(doc["lat"]))) / math.pi) / 2 * 2 ** z)
    tile = client.get(f"/tiles/reports/clusters/{z}/{x}/{y}.pbf")
    assert tile.status_code == 200 and len(tile.content) > 0


def test_a_permit_case_in_the_citys_crs(second_city, widened):
    """A building-permit case on a parcel of the town: the frozen decision is the town's rules (its widening), the
    fees follow the workflow, the payment step issues a bill of the national standard."""
    from dues import api as dues_api
    from notices import defaults
    from parcels.models import Ownership
    from permits import loader, service
    from permits.models import Case, CaseType, Desk
    from tests.conftest import make_user
    from tests.permits.conftest import a_proposal, citizen_owning
    from tests.permits.test_core import attach

    defaults.load()
    loader.load(loader.read(loader.DEFAULT_DIR))
    ownership = Ownership.objects.filter(parcel=widened, owner__national_id__isnull=False).first()
    if ownership is None:
        pytest.skip("the town's widened parcel has no owner with a national ID")
    user = citizen_owning(ownership.owner, "09171110040")
    case = service.start(CaseType.objects.get(code="planning_inquiry"), widened, user)
    service.save_proposal(case, a_proposal(widened), by=user)
    case = service.submit(case, by=user)
    assert case.status == Case.Status.AWAITING_PAYMENT and case.decision["zone_code"]
    assert case.decision["envelope"]["net_area"] < float(widened.deed_area or widened.measured_area)
    bill = dues_api.fee_bill(service.fee_reference(case))
    assert bill["amount"] > 0 and len(bill["bill_id"]) <= 13
    service.payment_recorded(service.fee_reference(case), bill["id"], bill["amount"])
    planner = make_user("town-planner", "permits", is_staff=True)
    Desk.objects.get(code="planning").staff.add(planner)
    case.refresh_from_db()
    case = service.act(case, "approve", by=planner, revision=case.revision,
                       fields={"plan_position": "residential", "frontage_m": 10, "setback_m": 2})
    assert case.status == Case.Status.ISSUED and case.issued.valid_until
