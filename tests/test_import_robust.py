"""The importer on files a second municipality brings (issue 16): empty values on a first load, duplicate keys,
a dry run that would be refused, years in another calendar, geometries invalid only where they are served, and a
re-import that changes nothing. Real files written here and read by GDAL, the real PostGIS, both load paths."""

import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import translation
from shapely.geometry import LineString, MultiPolygon, Polygon

from parcels.importing import ImportAborted, ImportOptions, run_import
from parcels.models import Building, Parcel, Street

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
X0, Y0 = 720_000, 3_120_000


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def truncate(*tables):
    with connection.cursor() as c:  # rolled back with the test
        c.execute(f"TRUNCATE {', '.join(tables)} CASCADE")


@pytest.fixture(params=["bulk", "merge"])
def load_path(request, db):
    """Bulk path: every layer's table empty; merge path: one unrelated row in each, so the file is merged."""
    truncate("parcels_parcel", "parcels_street", "parcels_building")
    if request.param == "merge":
        Street.objects.create(source_id="other", existing_width=5,
                              geom=_geos(LineString([(X0 - 900, Y0), (X0 - 800, Y0)])))
        Parcel.objects.create(source_id="other", geom=_geos(MultiPolygon([Polygon.from_bounds(X0 - 900, Y0,
                                                                                               X0 - 890, Y0 + 10)])))
        Building.objects.create(source_id="other", geom=_geos(MultiPolygon([Polygon.from_bounds(X0 - 900, Y0,
                                                                                                 X0 - 895, Y0 + 5)])))
    return request.param


def _geos(geom):
    from django.contrib.gis.geos import GEOSGeometry

    return GEOSGeometry(geom.wkt, srid=32640)


def assert_path(report, load_path):
    assert ("bulk_finish" in report.timings) == (load_path == "bulk"), report.timings


def write(frame, path, driver=None):
    frame.to_file(path, driver=driver, engine="pyogrio")
    return str(path)


def imp(layer, path, commit=False, **kw):
    return run_import(ImportOptions(layer=layer, path=str(path), commit=commit, **kw))


# --- 1. Field rules are the same on both paths: defaults of NOT NULL columns, required values ----------------


@pytest.mark.parametrize("suffix, driver", [("gpkg", "GPKG"), ("geojson", "GeoJSON")])
def test_empty_values_get_the_same_defaults_on_both_paths(tmp_path, load_path, suffix, driver):
    """A street without a name or kind and a building without floors: the bulk path used to COPY NULL into NOT NULL
    columns (a NotNullViolation traceback, even in a dry run); both paths now give them the column's default."""
    streets = gpd.GeoDataFrame({"sid": ["S1", "S2"], "name": ["خیابان آزادی", None], "kind": [None, "main"],
                                "w": [12.0, 8.0],
                                "geometry": [LineString([(X0, Y0), (X0 + 100, Y0)]),
                                             LineString([(X0, Y0 + 50), (X0 + 100, Y0 + 50)])]}, crs=32640)
    path = write(streets, tmp_path / f"s.{suffix}", driver)
    opts = dict(mapping={"source_id": "sid", "name": "name", "kind": "kind", "existing_width": "w"})
    dry = imp("streets", path, **opts)
    assert_path(dry, load_path)
    assert (dry.inserted, dry.issues, dry.refusal) == (2, [], "")
    imp("streets", path, commit=True, **opts)
    s1, s2 = Street.objects.get(source_id="S1"), Street.objects.get(source_id="S2")
    assert (s1.name, s1.kind) == ("خیابان آزادی", "local")  # the model's default kind
    assert (s2.name, s2.kind) == ("", "main")  # no name: the empty text, not NULL

    buildings = gpd.GeoDataFrame({"bid": ["B1", "B2"], "floors": [None, 4], "below": [None, None],
                                  "geometry": [Polygon.from_bounds(X0, Y0 + 10, X0 + 10, Y0 + 20),
                                               Polygon.from_bounds(X0 + 20, Y0 + 10, X0 + 30, Y0 + 20)]}, crs=32640)
    path = write(buildings, tmp_path / f"b.{suffix}", driver)
    opts = dict(mapping={"source_id": "bid", "floors_above": "floors", "floors_below": "below"})
    assert imp("buildings", path, **opts).issues == []
    imp("buildings", path, commit=True, **opts)
    b1, b2 = Building.objects.get(source_id="B1"), Building.objects.get(source_id="B2")
    assert (b1.floors_above, b1.floors_below) == (1, 0) and (b2.floors_above, b2.floors_below) == (4, 0)


def test_a_required_value_missing_is_reported_not_crashed(tmp_path, load_path):
    """existing_width is NOT NULL without a default: a street without it is a reported row on both paths (the
    numeric reading skipped the required check), not a database error."""
    streets = gpd.GeoDataFrame({"sid": ["S1", "S2"], "w": [12.0, None],
                                "geometry": [LineString([(X0, Y0), (X0 + 100, Y0)]),
                                             LineString([(X0, Y0 + 50), (X0 + 100, Y0 + 50)])]}, crs=32640)
    path = write(streets, tmp_path / "s.gpkg")
    report = imp("streets", path, mapping={"source_id": "sid", "existing_width": "w"})
    assert [(i.fid, i.kind, i.field, i.message) for i in report.issues] == [
        (2, "bad_value", "existing_width", "existing_width is required")]
    report = imp("streets", path, commit=True, skip_invalid=True, mapping={"source_id": "sid", "existing_width": "w"})
    assert (report.inserted, report.skipped) == (1, 1)


# --- 3. Duplicate keys: a policy, and a report of what it did ------------------------------------------------


def dup_parcels():
    """Five rows, three keys: K1 twice (the second larger), K2 three times (adjacent squares), K3 once. The copies of a
    key share their postal code, as the parts of one parcel split into rows do."""
    def sq(x, size=10):
        return Polygon.from_bounds(X0 + x, Y0, X0 + x + size, Y0 + size)

    rows = [("K1", sq(0), "1346713785"), ("K2", sq(100), "1346713786"), ("K1", sq(20, 15), "1346713785"),
            ("K2", sq(110), "1346713786"), ("K2", sq(120), "1346713786"), ("K3", sq(200), "1346713787")]
    return gpd.GeoDataFrame({"pid": [r[0] for r in rows], "postal": [r[2] for r in rows],
                             "geometry": [r[1] for r in rows]}, crs=32640)


DUP_MAP = {"source_id": "pid", "postal_code": "postal"}


def test_duplicates_refused_by_default_with_a_hint(tmp_path, load_path):
    path = write(dup_parcels(), tmp_path / "p.gpkg")
    report = imp("parcels", path, mapping=DUP_MAP)
    assert {i.fid for i in report.issues if i.kind == "duplicate_key"} == {1, 2, 3, 4, 5}  # every copy
    assert "--duplicates first, largest or merge" in report.refusal
    with pytest.raises(ImportAborted):
        imp("parcels", path, commit=True, mapping=DUP_MAP)
    report = imp("parcels", path, commit=True, skip_invalid=True, mapping=DUP_MAP, duplicates="refuse")
    assert report.inserted == 1 and Parcel.objects.filter(source_id__startswith="K").count() == 1


@pytest.mark.parametrize("policy, kept_area, dropped", [
    ("first", {"K1": 100, "K2": 100}, {3: "K1", 4: "K2", 5: "K2"}),
    ("largest", {"K1": 225, "K2": 100}, {1: "K1", 4: "K2", 5: "K2"}),  # K2's copies are equal: the first stays
    ("merge", {"K1": 325, "K2": 300}, {3: "K1", 4: "K2", 5: "K2"}),
])
def test_duplicate_policies(tmp_path, load_path, policy, kept_area, dropped):
    path = write(dup_parcels(), tmp_path / "p.gpkg")
    dry = imp("parcels", path, mapping=DUP_MAP, duplicates=policy)
    # the copies' shared postal codes are not duplicates once one row per key remains
    assert dry.issues == [] and dry.refusal == "" and dry.inserted == 3
    report = imp("parcels", path, commit=True, mapping=DUP_MAP, duplicates=policy)
    assert_path(report, load_path)
    assert (report.inserted, report.rows_ok, report.skipped) == (3, 3, 0)
    kind = "duplicate_merged" if policy == "merge" else "duplicate_dropped"
    assert {i.fid: i.key for i in report.duplicates} == dropped
    assert {i.kind for i in report.duplicates} == {kind}
    kept_fid = {"first": 1, "largest": 3, "merge": 1}[policy]
    k1 = next(i for i in report.duplicates if i.key == "K1")
    assert f"fid {kept_fid}" in k1.message and policy in k1.message
    summary = report.summary()
    assert f"--duplicates {policy}" in summary
    assert ("3 rows merged into 2" if policy == "merge" else "3 rows dropped, 2 kept") in summary
    for key, area in kept_area.items():
        parcel = Parcel.objects.get(source_id=key)
        assert parcel.geom.area == pytest.approx(area)
        assert parcel.geom.geom_type == "MultiPolygon" and parcel.geom.valid
    if policy == "merge":
        assert len(Parcel.objects.get(source_id="K1").geom) == 2  # two separate squares: one multipolygon
        assert len(Parcel.objects.get(source_id="K2").geom) == 1  # adjacent squares: one polygon
    assert Parcel.objects.filter(source_id__startswith="K").count() == 3


def _gap_that_rounding_closes():
    """A gap under a centimetre between two squares that the 7-decimal longitudes of EPSG:4326 close: the two sides
    land on the same rounded longitude (found here, not assumed: it depends on where the city lies)."""
    from pyproj import Transformer

    to_4326 = Transformer.from_crs(32640, 4326, always_xy=True)
    for step in range(1, 200):
        gap = step * 0.0001  # 0.1 mm steps
        left, right = (round(to_4326.transform(X0 + 10 + d, Y0 + 5)[0], 7) for d in (0, gap))
        if left == right:
            return gap
    raise AssertionError("no gap under 2 cm closes when rounded")


def test_merged_copies_must_be_valid_where_they_are_served(tmp_path, load_path):
    """Two copies of a key, each valid everywhere, a fraction of a millimetre apart: merged into one multipolygon
    they are valid in the city's CRS, but in EPSG:4326 with 7 decimals the two parts share an edge (invalid). The
    merge is refused, naming the key, and nothing is written; keeping the larger copy instead imports."""
    gap = _gap_that_rounding_closes()
    rows = gpd.GeoDataFrame({"pid": ["M1", "M1", "M2"], "geometry": [
        Polygon.from_bounds(X0, Y0, X0 + 10, Y0 + 10), Polygon.from_bounds(X0 + 10 + gap, Y0, X0 + 20, Y0 + 10),
        Polygon.from_bounds(X0 + 100, Y0, X0 + 110, Y0 + 10)]}, crs=32640)
    path = write(rows, tmp_path / "p.gpkg")
    before = Parcel.objects.count()
    with pytest.raises(ImportAborted) as refused:
        imp("parcels", path, commit=True, mapping={"source_id": "pid"}, duplicates="merge")
    reason = refused.value.report.abort_reason
    assert "M1: valid in EPSG:32640 but not in EPSG:4326" in reason and "M2" not in reason, reason
    assert "--duplicates" in reason and Parcel.objects.count() == before
    report = imp("parcels", path, commit=True, mapping={"source_id": "pid"}, duplicates="largest")
    assert_path(report, load_path)
    assert report.inserted == 2 and Parcel.objects.get(source_id="M1").geom.valid


def test_duplicate_policy_on_the_command_line_and_merge_needs_polygons(tmp_path, capsys):
    path = write(dup_parcels(), tmp_path / "p.gpkg")
    csv = tmp_path / "report.csv"
    call_command("import_parcels", path, "--map", "source_id=pid", "--duplicates", "largest", "--commit",
                 "--no-progress", "--report-file", str(csv))
    assert "duplicate keys (--duplicates largest): 3 rows dropped, 2 kept" in capsys.readouterr().out
    assert "duplicate_dropped" in csv.read_text()
    streets = gpd.GeoDataFrame({"sid": ["S1"], "w": [5.0], "geometry": [LineString([(X0, Y0), (X0 + 9, Y0)])]},
                               crs=32640)
    with pytest.raises(CommandError, match="not a polygon layer"):
        call_command("import_streets", write(streets, tmp_path / "s.gpkg"), "--map", "source_id=sid",
                     "--map", "existing_width=w", "--duplicates", "merge", "--no-progress")


# --- 4. A dry run fails when the commit would be refused -----------------------------------------------------


def all_bad_streets(tmp_path):
    streets = gpd.GeoDataFrame({"sid": ["S1", "S2"], "w": [500.0, -1.0],  # both out of range
                                "geometry": [LineString([(X0, Y0), (X0 + 100, Y0)]),
                                             LineString([(X0, Y0 + 50), (X0 + 100, Y0 + 50)])]}, crs=32640)
    return write(streets, tmp_path / "s.gpkg")


def test_dry_run_of_a_refused_commit_fails(tmp_path, capsys):
    path = all_bad_streets(tmp_path)
    args = ["import_streets", path, "--map", "source_id=sid", "--map", "existing_width=w", "--no-progress"]
    with pytest.raises(CommandError, match="A commit would be refused: 2 of 2 rows have problems") as info:
        call_command(*args)
    assert info.value.returncode != 0
    assert "A COMMIT WOULD BE REFUSED" in capsys.readouterr().out
    # with --skip-invalid nothing would be left to import: refused too
    with pytest.raises(CommandError, match="None of the 2 rows can be imported"):
        call_command(*args, "--skip-invalid")
    with pytest.raises(CommandError, match="None of the 2 rows can be imported"):
        call_command(*args, "--skip-invalid", "--commit")
    # a good file's dry run succeeds
    good = gpd.GeoDataFrame({"sid": ["S1"], "w": [5.0], "geometry": [LineString([(X0, Y0), (X0 + 9, Y0)])]},
                            crs=32640)
    call_command("import_streets", write(good, tmp_path / "good.gpkg"), "--map", "source_id=sid",
                 "--map", "existing_width=w", "--no-progress")


def test_dry_run_exit_code_of_the_process(tmp_path, django_db_blocker):
    """The exit status a shell script sees, from a real `manage.py` process on the test database."""
    path = all_bad_streets(tmp_path)
    db = connection.settings_dict
    url = f"postgis://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {**os.environ, "DATABASE_URL": url}
    base = [sys.executable, "manage.py", "import_streets", path, "--map", "source_id=sid", "--no-progress"]
    bad = subprocess.run([*base, "--map", "existing_width=w"], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode == 1, bad.stderr
    assert "A commit would be refused" in bad.stderr and "A COMMIT WOULD BE REFUSED" in bad.stdout


# --- 5. Years in a declared calendar -------------------------------------------------------------------------


def buildings_with_years(tmp_path, years):
    frame = gpd.GeoDataFrame({"bid": [f"B{i}" for i in range(len(years))], "year": years,
                              "geometry": [Polygon.from_bounds(X0 + 20 * i, Y0, X0 + 20 * i + 10, Y0 + 10)
                                           for i in range(len(years))]}, crs=32640)
    return write(frame, tmp_path / "b.gpkg")


def test_year_out_of_range_names_the_calendar(tmp_path):
    path = buildings_with_years(tmp_path, [1380, 1802])
    report = imp("buildings", path, mapping={"source_id": "bid", "year_built": "year"})
    [issue] = report.issues
    assert issue.fid == 2 and "year_built 1802 is out of range [1200, 1500] (Jalali years" in issue.message
    assert "--calendar" in issue.message


def test_gregorian_years_are_converted(tmp_path, load_path):
    path = buildings_with_years(tmp_path, [1990, 2024, 1300])
    opts = dict(mapping={"source_id": "bid", "year_built": "year"}, calendar="gregorian")
    report = imp("buildings", path, **opts)
    [issue] = report.issues
    assert issue.fid == 3
    assert issue.message == "year_built 1300 (Gregorian) is 679 in the Jalali calendar, out of range [1200, 1500]"
    imp("buildings", path, commit=True, skip_invalid=True, **opts)
    assert Building.objects.get(source_id="B0").year_built == 1369
    assert Building.objects.get(source_id="B1").year_built == 1403


def test_calendar_from_the_command_line(tmp_path):
    path = buildings_with_years(tmp_path, [2001])
    call_command("import_buildings", path, "--map", "source_id=bid", "--map", "year_built=year",
                 "--calendar", "gregorian", "--commit", "--no-progress")
    assert Building.objects.get(source_id="B0").year_built == 1380
    with pytest.raises(CommandError):
        call_command("import_buildings", path, "--map", "source_id=bid", "--calendar", "julian", "--no-progress")


# --- 6. Valid in every CRS the geometry is served in ----------------------------------------------------------


def spiked_square(x=0):
    """A 20 × 25 m parcel with a spike 0.2 m long and 1 mm wide on its north side: valid in UTM, but at the 7 decimals
    GeoJSON and the OGC API serve in EPSG:4326 the spike's two sides meet (Self-intersection)."""
    x0 = X0 + x
    return Polygon([(x0, Y0), (x0 + 20, Y0), (x0 + 20, Y0 + 25), (x0 + 10.001, Y0 + 25), (x0 + 10.0005, Y0 + 25.2),
                    (x0 + 10, Y0 + 25), (x0, Y0 + 25)])


def test_the_crafted_spike_is_invalid_only_where_served():
    from parcels.importing.geometry import served_invalid
    import numpy as np

    spike = spiked_square()
    assert spike.is_valid
    [(mask, srid, reasons)] = served_invalid(np.array([spike, Polygon.from_bounds(X0, Y0, X0 + 5, Y0 + 5)]), 32640)
    assert (mask.tolist(), srid) == ([True, False], 4326) and "Self-intersection" in reasons[0]


def test_geometry_invalid_in_4326_is_reported_or_repaired(tmp_path, load_path, client):
    frame = gpd.GeoDataFrame({"pid": ["G1", "G2"], "geometry": [spiked_square(), spiked_square(40)]}, crs=32640)
    frame.loc[1, "geometry"] = Polygon.from_bounds(X0 + 40, Y0, X0 + 60, Y0 + 25)
    path = write(frame, tmp_path / "p.gpkg")
    report = imp("parcels", path, mapping={"source_id": "pid"})
    [issue] = report.issues
    assert (issue.fid, issue.kind) == (1, "invalid_geometry")
    assert "valid in EPSG:32640 but not in EPSG:4326" in issue.message and "Self-intersection" in issue.message
    with pytest.raises(ImportAborted):
        imp("parcels", path, commit=True, mapping={"source_id": "pid"})
    report = imp("parcels", path, commit=True, fix=True, mapping={"source_id": "pid"})
    assert_path(report, load_path)
    assert report.issues == [] and [i.fid for i in report.fixed] == [1]
    assert "not in EPSG:4326" in report.fixed[0].message
    parcel = Parcel.objects.get(source_id="G1")
    assert parcel.geom.area == pytest.approx(500.0, abs=0.01)  # the spike is gone, the parcel is not
    with connection.cursor() as c:  # valid as PostGIS serves it (the sheet's and the OGC API's GeoJSON)
        c.execute("SELECT ST_IsValid(ST_GeomFromGeoJSON(ST_AsGeoJSON(ST_Transform(geom, 4326), 7))) "
                  "FROM parcels_parcel WHERE source_id = 'G1'")
        assert c.fetchone()[0] is True


# --- 7. A re-import that changes nothing writes nothing ------------------------------------------------------


def test_unchanged_reimport_leaves_versions_and_etags_alone(tmp_path, load_path, client):
    """An identical re-import issues no INSERT … ON CONFLICT and no post-load UPDATE, so no statement trigger bumps
    the layer's version: tile ETags and cached counts stay valid. A real change still moves them."""
    from layers import tiles
    from layers.registry import LAYERS
    from pyproj import Transformer

    layer = LAYERS["parcels"]
    frame = gpd.GeoDataFrame({"pid": [f"V{i}" for i in range(4)], "deed": [100.0, 200.0, 300.0, 400.0],
                              "geometry": [Polygon.from_bounds(X0 + 30 * i, Y0, X0 + 30 * i + 20, Y0 + 25)
                                           for i in range(4)]}, crs=32640)
    opts = dict(mapping={"source_id": "pid", "deed_area": "deed"})
    imp("parcels", write(frame, tmp_path / "p.gpkg"), commit=True, **opts)
    lon, lat = Transformer.from_crs(32640, 4326, always_xy=True).transform(X0 + 40, Y0 + 12)
    z = 16
    x, y = tiles.lonlat_to_tile(lon, lat, z)
    url = f"/tiles/parcels/{z}/{x}/{y}.pbf"
    version, first = tiles.layer_version(layer), client.get(url)
    with connection.cursor() as c:
        c.execute("SELECT coalesce(sum(version), 0) FROM layers_tableversion")
        all_versions = c.fetchone()[0]

    again = imp("parcels", write(frame, tmp_path / "same.gpkg"), commit=True, **opts)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 4)
    assert tiles.layer_version(layer) == version
    with connection.cursor() as c:
        c.execute("SELECT coalesce(sum(version), 0) FROM layers_tableversion")
        assert c.fetchone()[0] == all_versions  # no published table was written
    assert client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304

    frame.loc[1, "deed"] = 250.0
    changed = imp("parcels", write(frame, tmp_path / "changed.gpkg"), commit=True, **opts)
    assert (changed.inserted, changed.updated, changed.unchanged) == (0, 1, 3)
    assert tiles.layer_version(layer) > version
    after = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert after.status_code == 200 and after["ETag"] != first["ETag"]


# --- 2. The city's own parcel key is visible and findable ----------------------------------------------------


@pytest.fixture
def keyed_parcel(tmp_path, db):
    """A parcel imported with the city's own key (source_id) and no renewal code, as another city's file has it."""
    frame = gpd.GeoDataFrame({"PARCEL_ID": ["MA-0117-B"], "geometry": [Polygon.from_bounds(X0, Y0, X0 + 20, Y0 + 25)]},
                             crs=32640)
    imp("parcels", write(frame, tmp_path / "p.gpkg"), commit=True, mapping={"source_id": "PARCEL_ID"})
    return Parcel.objects.get(source_id="MA-0117-B")


def test_city_key_in_the_sheet_and_the_parcel_page(client, keyed_parcel):
    sheet = client.get(f"/api/parcels/{keyed_parcel.pk}").json()
    assert sheet["source_id"] == "MA-0117-B" and sheet["renewal_code"] is None
    client.cookies["django_language"] = "en"
    page = client.get(f"/parcels/{keyed_parcel.pk}/").content.decode()
    assert "<dt>City's own parcel ID</dt>" in page and "MA-0117-B" in page
    script = (ROOT / "portal/static/portal/map.js").read_text()  # the map's sheet draws it with its label
    assert 'row(T.sourceId, ltr(s.source_id))' in script


def test_city_key_found_by_the_search(client, keyed_parcel):
    for typed in ("MA-0117-B", "  MA-0117-B "):
        results = client.get("/api/search", {"q": typed}).json()["results"]
        assert [(r["type"], r["parcel_id"], r["source_id"]) for r in results] == [
            ("source_id", keyed_parcel.pk, "MA-0117-B")]


def test_city_key_in_ogc_properties_and_filters(client, keyed_parcel):
    found = client.get("/ogc/collections/parcels/items", {"source_id": "MA-0117-B"}).json()
    [feature] = found["features"]
    assert feature["id"] == keyed_parcel.pk and feature["properties"]["source_id"] == "MA-0117-B"
    one = client.get(f"/ogc/collections/parcels/items/{keyed_parcel.pk}").json()
    assert one["properties"]["source_id"] == "MA-0117-B"


def test_city_key_in_exports(keyed_parcel):
    """The SELECT every export format runs (ogr2ogr reads it from PostGIS) carries the key and filters by it."""
    from layers.exports import ExportRequest, check_request, layer_sql
    from layers.registry import LAYERS

    req = check_request(ExportRequest([LAYERS["parcels"]], "gpkg", filters={"source_id": "MA-0117-B"}))
    with connection.cursor() as c:
        c.execute(f"SELECT source_id, id FROM ({layer_sql(LAYERS['parcels'], req)}) x")
        assert c.fetchall() == [("MA-0117-B", keyed_parcel.pk)]


def test_policy_and_calendar_from_the_mapping_file(tmp_path):
    path = write(dup_parcels(), tmp_path / "p.gpkg")
    mapping = tmp_path / "map.toml"
    mapping.write_text('duplicates = "first"\ncalendar = "gregorian"\n[fields]\nsource_id = "pid"\n', encoding="utf-8")
    call_command("import_parcels", path, "--mapping", str(mapping), "--commit", "--no-progress")
    assert Parcel.objects.get(source_id="K1").geom.area == pytest.approx(100)  # the first copy
    assert Parcel.objects.filter(source_id__startswith="K").count() == 3


def test_gregorian_years_follow_the_calendar():
    """A bare Gregorian year is the Jalali year that holds most of it (from Nowruz on): checked against dates."""
    import datetime

    import jdatetime

    from common.jalali import gregorian_to_jalali_years

    years = [1850, 1921, 1979, 2000, 2024, 2100]
    expected = [jdatetime.date.fromgregorian(date=datetime.date(y, 12, 31)).year for y in years]
    assert gregorian_to_jalali_years(years) == expected == [y - 621 for y in years]
