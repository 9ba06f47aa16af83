"""The eligibility API, envelope downloads, subdivision and land-use queries on the demo city with the demo
rulebook. Expected values are recomputed here from the stored data and the rulebook file (read with tomllib, not
through the loader)."""

import csv
import io
import json
import math
import re
import tomllib

import ezdxf
import numpy as np
import pytest
import shapely
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from pyproj import Transformer
from shapely import wkb
from shapely.geometry import LineString, shape

from parcels.models import LandUse, Parcel
from zoning.models import ParcelOverlay
from zoning.service import RuleWords, figure

from tests.zoning_fixtures import demo_rulebook  # noqa: F401,E402  (fixture)

pytestmark = pytest.mark.django_db


def fetch(sql, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall()


def to_municipal(geom):
    t = Transformer.from_crs(4326, settings.MUNICIPALITY_SRID, always_xy=True)
    return shapely.transform(geom, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))


def to_wgs84(geom):
    t = Transformer.from_crs(settings.MUNICIPALITY_SRID, 4326, always_xy=True)
    return shapely.transform(geom, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))


@pytest.fixture
def plain_parcel(demo_city, demo_rulebook):
    """A residential-zone parcel with a street frontage, outside every hazard overlay, with widening."""
    return (ParcelOverlay.objects.filter(zone_code="R121", in_floodplain=False, in_historic_core=False,
                                         fault_distance__gt=60, widening_area__gt=5, zone_share=1.0,
                                         parcel__measured_area__gt=200)
            .order_by("parcel_id").first().parcel)


def test_envelope_and_headline_rules(client, plain_parcel):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/api/parcels/{plain_parcel.pk}/eligibility")
    assert response.status_code == 200
    assert len(queries) <= 3
    data = response.json()
    assert data["zone_code"] == "R121" and data["is_demo_rulebook"] and "replaces" in data["notice"]["en"]
    book = tomllib.loads((settings.BASE_DIR / "data" / "rulebook" / "demo.toml").read_text())
    far = {r["key"]: r for r in data["rules"]}["max_far"]
    assert far["value"] == book["zones"]["R121"]["max_far"][-1]["value"]          # today: the amendment
    assert far["citation"]["article"] == book["zones"]["R121"]["max_far"][-1]["article"]
    env = data["envelope"]
    footprint = to_municipal(shape(env["footprint"]))
    assert footprint.area > 0
    assert footprint.difference(wkb.loads(bytes(plain_parcel.geom.wkb)).buffer(0.01)).area < 0.01
    widening = ParcelOverlay.objects.get(parcel=plain_parcel).widening_geom
    assert footprint.intersection(wkb.loads(bytes(widening.wkb))).area < 0.05   # nothing built on the widening
    net = float(plain_parcel.deed_area or plain_parcel.measured_area) - data["widening_area"]
    assert env["net_area"] == pytest.approx(net, abs=0.01)
    assert env["max_gross_floor_area"] <= far["value"] / 100 * net + 0.01


def test_proposal_decisions(client, plain_parcel):
    env = client.get(f"/api/parcels/{plain_parcel.pk}/eligibility").json()["envelope"]
    modest = {"land_use": "residential", "floors": 1, "gross_floor_area": round(env["max_footprint_area"] * 0.5, 1),
              "footprint_area": round(env["max_footprint_area"] * 0.5, 1), "units": 1, "parking_spaces": 1}
    ok = client.get(f"/api/parcels/{plain_parcel.pk}/eligibility", modest).json()
    assert ok["status"] == "eligible", ok["checks"]
    assert all(c["citation"] for c in ok["checks"])
    too_high = client.post(f"/api/parcels/{plain_parcel.pk}/eligibility",
                           {**modest, "floors": env["max_floors"] + 1}, content_type="application/json").json()
    assert too_high["status"] == "not_eligible"
    assert {c["key"]: c["status"] for c in too_high["checks"]}["floors_by_street_width"] == "fail"
    shop = client.get(f"/api/parcels/{plain_parcel.pk}/eligibility", {**modest, "land_use": "commercial"}).json()
    assert shop["status"] == "conditional"
    # A footprint drawn in WGS84 over the widening strip is placed wrongly.
    widening = wkb.loads(bytes(ParcelOverlay.objects.get(parcel=plain_parcel).widening_geom.wkb))
    on_strip = json.loads(shapely.to_geojson(to_wgs84(widening)))
    placed = client.post(f"/api/parcels/{plain_parcel.pk}/eligibility",
                         {**modest, "footprint": on_strip, "footprint_area": None, "gross_floor_area": widening.area},
                         content_type="application/json").json()
    assert {c["key"]: c["status"] for c in placed["checks"]}["coverage_band"] == "fail"
    # Rules of another date: before the demo amendment R121's FAR was lower.
    old = client.get(f"/api/parcels/{plain_parcel.pk}/eligibility", {**modest, "date": "2026-05-01"}).json()
    assert {c["key"]: c["limit"] for c in old["checks"]}["max_far"] == 180


@pytest.mark.parametrize("change,field", [
    ({"floors": "-2"}, "floors"), ({"land_use": "spaceport"}, "land_use"), ({"gross_floor_area": "۱e12"}, None),
    ({"footprint": {"type": "Polygon", "coordinates": [[[0, 0], [0, 1], [1, 1], [0, 0]]]}}, "footprint"),
])
def test_bad_proposals(client, plain_parcel, change, field):
    body = {"land_use": "residential", "floors": 2, "gross_floor_area": 200, "footprint_area": 100, **change}
    response = client.post(f"/api/parcels/{plain_parcel.pk}/eligibility", body, content_type="application/json")
    assert response.status_code == 400
    data = response.json()
    assert data["error"] in ("bad_proposal", "bad_parameter") and data["message"]
    if field:
        assert field in data["fields"]


def test_errors(client, demo_city, demo_rulebook):
    missing = client.get("/api/parcels/987654321/eligibility")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    pid = Parcel.objects.order_by("id").first().pk
    assert client.get(f"/api/parcels/{pid}/eligibility", {"date": "yesterday"}).status_code == 400
    none_in_force = client.get(f"/api/parcels/{pid}/eligibility?date=2020-01-01")
    assert none_in_force.status_code == 404 and none_in_force.json()["error"] == "not_found"
    client.cookies["django_language"] = "en"
    assert "No rulebook in force" in client.get(f"/api/parcels/{pid}/eligibility?date=2020-01-01").json()["message"]


def test_rules_of_a_jalali_date(client, plain_parcel):
    """?date= is read as Jalali too (with Persian digits), as the engineer's date picker sends it."""
    iso = client.get(f"/api/parcels/{plain_parcel.pk}/eligibility", {"date": "2026-05-01"}).json()
    jalali = client.get(f"/api/parcels/{plain_parcel.pk}/eligibility", {"date": "۱۴۰۵/۰۲/۱۱"}).json()
    assert jalali["on_date"] == iso["on_date"] == "2026-05-01"
    assert {r["key"]: r["value"] for r in jalali["rules"]}["max_far"] == 180


def test_a_parcel_without_overlay_facts_is_answered_not_computed_on_a_get(client, plain_parcel):
    """A read never writes: a parcel whose overlay row is missing gets a clear 503, and no row is made."""
    ParcelOverlay.objects.filter(parcel=plain_parcel).delete()
    rows = ParcelOverlay.objects.count()
    client.cookies["django_language"] = "en"
    response = client.get(f"/api/parcels/{plain_parcel.pk}/eligibility")
    assert response.status_code == 503 and response.json()["error"] == "overlays_not_computed"
    assert "refresh_overlays" in response.json()["message"]
    section = client.get(f"/api/parcels/{plain_parcel.pk}/eligibility/section").json()
    assert "refresh_overlays" in section["unavailable"]
    assert ParcelOverlay.objects.count() == rows and not ParcelOverlay.objects.filter(parcel=plain_parcel).exists()


def test_envelope_downloads(client, plain_parcel):
    data = client.get(f"/api/parcels/{plain_parcel.pk}/envelope.geojson").json()
    kinds = {f["properties"]["kind"]: f for f in data["features"]}
    assert set(kinds) == {"envelope", "parcel", "road_widening"}
    response = client.get(f"/api/parcels/{plain_parcel.pk}/envelope.dxf")
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    doc = ezdxf.read(io.StringIO(response.content.decode()))
    envelope = [e for e in doc.modelspace().query("LWPOLYLINE") if e.dxf.layer == "ENVELOPE"]
    assert envelope
    area = sum(shapely.Polygon([p[:2] for p in e.get_points()]).area for e in envelope)
    assert area == pytest.approx(kinds["envelope"]["properties"]["footprint_polygon_area"], rel=1e-3)
    parcel = [e for e in doc.modelspace().query("LWPOLYLINE") if e.dxf.layer == "PARCEL"]
    assert sum(shapely.Polygon([p[:2] for p in e.get_points()]).area for e in parcel) == pytest.approx(
        plain_parcel.measured_area, rel=1e-6)


def test_subdivision(client, plain_parcel):
    geom = wkb.loads(bytes(plain_parcel.geom.wkb))
    x0, y0, x1, y1 = geom.bounds
    cx = (x0 + x1) / 2
    line = to_wgs84(LineString([(cx, y0 - 5), (cx, y1 + 5)]))
    data = client.post(f"/api/parcels/{plain_parcel.pk}/subdivision", {"lines": [json.loads(shapely.to_geojson(line))]},
                       content_type="application/json").json()
    assert len(data["parts"]) >= 2
    assert sum(p["area"] for p in data["parts"]) == pytest.approx(geom.area, rel=1e-4)
    assert data["ok"] == all(p["area"] >= data["min_lot_area"] and p["frontage"] >= data["min_frontage"]
                             for p in data["parts"])
    bad = client.post(f"/api/parcels/{plain_parcel.pk}/subdivision", {"lines": "nonsense"},
                      content_type="application/json")
    assert bad.status_code == 400


# -- land-use queries ----------------------------------------------------------------------------------------

def permitted_from_file():
    book = tomllib.loads((settings.BASE_DIR / "data" / "rulebook" / "demo.toml").read_text())
    return {code: set(z["allowed_uses"]["value"]) | set(z["conditional_uses"]["value"])
            for code, z in book["zones"].items() if "allowed_uses" in z}


def test_non_conforming_query_matches_the_rulebook_file(client, demo_city, demo_rulebook):
    permitted = permitted_from_file()
    expected = {pid for pid, use, zone in fetch(
        "SELECT p.id, p.land_use_id, o.zone_code FROM parcels_parcel p JOIN zoning_parceloverlay o ON o.parcel_id = p.id")
        if use and use != "vacant" and zone in permitted and use not in permitted[zone]}
    assert expected
    first = client.get("/api/zoning/parcels", {"non_conforming": "true", "page_size": 500}).json()
    assert first["count"] == len(expected)
    ids = set()
    page = 1
    while True:
        res = client.get("/api/zoning/parcels", {"non_conforming": "true", "page_size": 500, "page": page}).json()
        ids |= {r["id"] for r in res["results"]}
        if len(res["results"]) < 500:
            break
        page += 1
    assert ids == expected
    body = client.get("/api/zoning/parcels", {"non_conforming": "true", "format": "csv"}).content.decode("utf-8-sig")
    assert {int(r["id"]) for r in csv.DictReader(io.StringIO(body))} == expected


def test_filters_count_and_geojson(client, demo_city, demo_rulebook):
    rows = fetch("""SELECT p.id, o.zone_code, p.measured_area, o.widening_area, o.in_floodplain
                    FROM parcels_parcel p JOIN zoning_parceloverlay o ON o.parcel_id = p.id""")
    expected = {r[0] for r in rows if r[1] == "R121" and 200 <= r[2] <= 400}
    res = client.get("/api/zoning/parcels", {"zone": "R121", "area_min": "۲۰۰", "area_max": 400}).json()
    assert res["count"] == len(expected) > 0
    widened = {r[0]: r[3] for r in rows if r[3] > 0}
    fc = client.get("/api/zoning/parcels", {"widening": "true", "format": "geojson"})
    assert int(fc["X-Total-Count"]) == len(widened)
    features = fc.json()["features"]
    assert {f["id"] for f in features} <= set(widened)
    assert all(f["properties"]["widening_area"] == pytest.approx(widened[f["id"]], abs=0.05) for f in features)
    assert client.get("/api/zoning/parcels", {"floodplain": "true"}).json()["count"] == sum(r[4] for r in rows)
    assert client.get("/api/zoning/parcels", {"area_min": 5, "area_max": 1}).status_code == 400
    assert client.get("/api/zoning/parcels", {"format": "xls"}).status_code == 400


def test_capacity_by_district(client, demo_city, demo_rulebook):
    districts = client.get("/api/zoning/parcels", {"report": "capacity"}).json()["districts"]
    assert districts and all(d["remaining_floor_area"] >= 0 for d in districts)
    far = {code: z["max_far"][-1]["value"] if isinstance(z["max_far"], list) else z["max_far"]["value"]
           for code, z in tomllib.loads((settings.BASE_DIR / "data" / "rulebook" / "demo.toml").read_text())["zones"].items()
           if "max_far" in z}
    # Independently, parcel by parcel in Python: floor area built (a building's stated gross floor area, else its
    # footprint × floors above), allowed (FAR × lot net of widening), remaining (never below zero per parcel).
    from parcels.models import Building
    built = {}
    for b in Building.objects.filter(parcel__isnull=False).only("parcel_id", "gross_floor_area", "floors_above", "geom"):
        built[b.parcel_id] = built.get(b.parcel_id, 0) + (
            b.gross_floor_area if b.gross_floor_area is not None else b.geom.area * b.floors_above)
    expected = {}
    for pid, district, zone, deed, area, widening in fetch(
            "SELECT p.id, d.code, o.zone_code, p.deed_area, p.measured_area, o.widening_area FROM parcels_parcel p "
            "JOIN zoning_parceloverlay o ON o.parcel_id = p.id LEFT JOIN parcels_district d ON d.id = p.district_id"):
        if zone not in far:
            continue
        allowed = far[zone] / 100 * max(float(deed or area) - widening, 0)
        row = expected.setdefault(district, {"parcels": 0, "allowed": 0, "built": 0, "remaining": 0})
        row["parcels"] += 1
        row["allowed"] += allowed
        row["built"] += built.get(pid, 0)
        row["remaining"] += max(allowed - built.get(pid, 0), 0)
    assert sum(r["built"] for r in expected.values()) > 0  # the demo city has buildings on zoned parcels
    assert {d["district"] for d in districts} == set(expected)
    for d in districts:
        want = expected[d["district"]]
        assert d["parcels"] == want["parcels"], d["district"]
        assert d["allowed_floor_area"] == pytest.approx(want["allowed"], abs=1), d["district"]
        assert d["built_floor_area"] == pytest.approx(want["built"], abs=1), d["district"]
        assert d["remaining_floor_area"] == pytest.approx(want["remaining"], abs=1), d["district"]


def test_sheet_lists_the_section_and_the_text_page_renders_it(client, plain_parcel):
    sheet = client.get(f"/api/parcels/{plain_parcel.pk}").json()
    (section,) = [s for s in sheet["sections"] if s["key"] == "eligibility"]
    data = client.get(section["url"]).json()
    assert data["zone_code"] == "R121" and data["envelope"]["footprint"]["type"] in ("Polygon", "MultiPolygon")
    page = client.get(f"/parcels/{plain_parcel.pk}/").content.decode()
    assert 'id="section-eligibility"' in page and "جدول ۲، ردیف R121" in page
    assert f"/zoning/parcels/{plain_parcel.pk}/" in page


def test_pages_past_the_end_still_count(client, demo_city, demo_rulebook):
    first = client.get("/api/zoning/parcels", {"zone": "R121", "page_size": 500}).json()
    beyond = client.get("/api/zoning/parcels", {"zone": "R121", "page_size": 500, "page": 10_000}).json()
    assert beyond["count"] == first["count"] > 0 and beyond["results"] == []
    assert client.get("/api/zoning/parcels", {"zone": "NO-SUCH-ZONE"}).json()["count"] == 0


def test_engineer_page_reads_a_jalali_date(client, plain_parcel):
    modest = {"land_use": "residential", "floors": 1, "gross_floor_area": 50, "footprint_area": 50, "units": 1,
              "parking_spaces": 1}
    old = client.get(f"/zoning/parcels/{plain_parcel.pk}/", {**modest, "date": "۱۴۰۵/۰۲/۱۱"}).content.decode()
    today = client.get(f"/zoning/parcels/{plain_parcel.pk}/", modest).content.decode()
    far = 'data-rule="max_far"'
    assert far in old and far in today and 'role="alert"' not in old
    row = old[old.index(far):].split("</tr>")[0]
    assert row != today[today.index(far):].split("</tr>")[0]          # the rules of 1405/02/11, not today's
    client.cookies["django_language"] = "en"
    bad = client.get(f"/zoning/parcels/{plain_parcel.pk}/", {"date": "1405/13/40"})
    assert bad.status_code == 200 and 'role="alert"' in bad.content.decode() and "date" in bad.content.decode()


# -- what people read: the decision, the rules and the query results in the request's language -------------------

LATIN = re.compile(r"[A-Za-z]")
PERSIAN_LETTER = re.compile(r"[\u0600-\u06EF\u06FA-\u06FF]")
SHOP = {"land_use": "commercial", "floors": 2, "gross_floor_area": 120, "footprint_area": 60, "parking_spaces": 1}


def test_decision_is_worded_in_the_request_language(client, plain_parcel):
    """Each check keeps its raw limit and proposed value for programs and carries them as text beside them, with its
    note, in the request's language: land-use names, %, metres, verdicts; Persian digits on a Persian answer."""
    names = {u.code: u for u in LandUse.objects.all()}
    fa = {c["key"]: c for c in client.get(f"/api/parcels/{plain_parcel.pk}/eligibility", SHOP).json()["checks"]}
    uses = fa["conditional_uses"]
    assert uses["limit"] == ["commercial", "education", "religious", "health", "cultural"]      # data, as before
    assert uses["limit_text"] == "، ".join(names[code].name_fa for code in uses["limit"])
    assert uses["proposed_text"] == names["commercial"].name_fa
    assert fa["max_far"]["limit_text"] == figure(fa["max_far"]["limit"]) + "٪" == "۲۰۰٪"
    assert fa["historic_core"]["limit_text"] == "مشروط" and fa["historic_core"]["proposed_text"] == "خیر"
    texts = [c[k] for c in fa.values() for k in ("limit_text", "proposed_text", "note")]
    assert all(isinstance(t, str) for t in texts) and not [t for t in texts if LATIN.search(t)]
    assert re.search("[۰-۹]", fa["max_far"]["note"]) and not re.search("[0-9]", fa["max_far"]["note"])

    client.cookies["django_language"] = "en"
    en = {c["key"]: c for c in client.get(f"/api/parcels/{plain_parcel.pk}/eligibility", SHOP).json()["checks"]}
    assert en["conditional_uses"]["proposed_text"] == names["commercial"].name_en
    assert en["max_far"]["limit_text"] == "200%"
    assert re.fullmatch(r"street width \d+(\.\d+)? m", en["floors_by_street_width"]["note"])
    assert en["fault_buffer"]["limit"] == "prohibited" and en["fault_buffer"]["limit_text"] == "prohibited"
    assert en["fault_buffer"]["note"] == "the parcel is not within 50 m of a fault line"
    texts = [c[k] for c in en.values() for k in ("limit_text", "proposed_text", "note")]
    assert not [t for t in texts if PERSIAN_LETTER.search(t)]


def test_rules_are_worded_beside_their_values(client, plain_parcel):
    client.cookies["django_language"] = "en"
    data = client.get(f"/api/parcels/{plain_parcel.pk}/eligibility").json()
    rules = {r["key"]: r for r in data["rules"]}
    assert rules["coverage_band"]["value"] == {"share": 0.6, "extra_m": 2, "side": "north"}
    assert rules["coverage_band"]["value_text"] == "the northern 60% of the lot's depth plus 2 m"
    assert rules["floors_by_street_width"]["value_text"].startswith(
        "streets narrower than 8 m: 2 floors; streets of 8 m or wider: 3 floors; ")
    assert rules["parking_by_unit_area"]["value"][-1] == [None, 3]
    assert rules["parking_by_unit_area"]["value_text"].endswith("; larger units: 3 parking spaces a unit")
    assert [r["value_text"] for r in data["headline"]] == [rules[r["key"]]["value_text"] for r in data["headline"]]
    client.cookies["django_language"] = "fa"
    fa = {r["key"]: r for r in client.get(f"/api/parcels/{plain_parcel.pk}/eligibility").json()["rules"]}
    assert fa["coverage_band"]["value_text"] == "۶۰٪ شمالی عمق قطعه به‌علاوهٔ ۲ متر"
    assert not [r["key"] for r in fa.values() if LATIN.search(r["value_text"])]


def test_rule_words_for_every_kind_of_value():
    words = RuleWords(land_uses={})          # no land-use table needed: codes without a name stay codes
    with translation.override("en"):
        assert words.value("floors_by_street_width", [(0, 2), (8.5, 3)]) == (
            "streets narrower than 8.5 m: 2 floors; streets of 8.5 m or wider: 3 floors")
        assert words.value("floors_by_street_width", [(0, 1)]) == "any street: 1 floor"
        assert words.value("parking_by_unit_area", [(150, 1), (math.inf, 1.5)]) == (
            "units up to 150 m²: 1 parking space a unit; larger units: 1.5 parking spaces a unit")
        assert words.value("coverage_band", {"share": 0.5, "extra_m": 0, "side": "south"}) == (
            "the southern 50% of the lot's depth")
        assert words.value("floodplain", "prohibited") == "prohibited"
        assert words.value("floodplain", True, proposed=True) == "yes"
        assert words.value("fault_buffer", 12.345, proposed=True) == "12.35 m"
        assert words.value("coverage_band", 3.0, proposed=True) == "3 m² outside the envelope"
        assert words.value("setback_front", 3.0) == "3 m"
        assert words.value("min_lot_area", 200.0) == "200 m²"
        assert words.value("steep_slope", None, proposed=True) == "—"
        assert words.value("allowed_uses", ["spaceport"]) == "spaceport"
    with translation.override("fa"):
        assert figure(1234.5) == "۱۲۳۴.۵" and words.value("max_coverage", 60.0) == "۶۰٪"


def test_bad_proposal_is_worded_with_the_form_labels(client, plain_parcel):
    body = {**SHOP, "floors": 2.5}
    data = client.post(f"/api/parcels/{plain_parcel.pk}/eligibility", body, content_type="application/json").json()
    assert set(data["fields"]) == {"floors"}                        # keyed by the field, for programs
    assert "۲.۵" in data["fields"]["floors"] and not LATIN.search(data["fields"]["floors"])
    assert "تعداد طبقات: " in data["message"]                       # the form's label, not the field's name
    client.cookies["django_language"] = "en"
    data = client.post(f"/api/parcels/{plain_parcel.pk}/eligibility", body, content_type="application/json").json()
    assert data["fields"]["floors"] == "must be a whole number, not 2.5"
    assert data["message"] == "The proposal cannot be judged: Floors: must be a whole number, not 2.5"
    page = client.get(f"/zoning/parcels/{plain_parcel.pk}/", body).content.decode()
    assert '<li data-field="floors">Floors: must be a whole number, not 2.5</li>' in page


def test_engineer_page_shows_values_as_words(client, plain_parcel):
    commercial = LandUse.objects.get(code="commercial")
    page = client.get(f"/zoning/parcels/{plain_parcel.pk}/", SHOP).content.decode()
    row = page[page.index('data-rule="conditional_uses"'):].split("</tr>")[0]
    assert f"<td>{commercial.name_fa}</td>" in row and "['" not in row
    table = page[page.index('data-testid="decision-table"'):].split("</table>")[0]
    assert "{'share'" not in table and "False" not in table and "prohibited" not in table
    assert "ممنوع" in table and "۶۰٪ شمالی عمق قطعه" in table


def test_query_results_name_the_land_use_in_the_request_language(client, demo_city, demo_rulebook):
    names = {u.code: u for u in LandUse.objects.all()}
    found = client.get("/api/zoning/parcels", {"zone": "R121", "page_size": 50}).json()["results"]
    assert found and all(r["land_use_name"] == (names[r["land_use"]].name_fa if r["land_use"] else None)
                         for r in found)
    client.cookies["django_language"] = "en"
    fc = client.get("/api/zoning/parcels", {"zone": "R121", "format": "geojson"}).json()
    assert all(f["properties"]["land_use_name"] == names[f["properties"]["land_use"]].name_en
               for f in fc["features"] if f["properties"]["land_use"])
