"""The shared import core on files written here with GDAL in every supported format, against the real PostGIS."""

import zipfile

import geopandas as gpd
import pytest
import shapely
from django.core.management import CommandError, call_command
from django.utils import translation
from shapely.geometry import LineString, Polygon

from parcels.importing import ImportAborted, ImportError_, ImportOptions, run_import
from parcels.models import Building, ImportRun, Parcel, Street
from zoning.models import Zone

pytestmark = pytest.mark.django_db

X0, Y0 = 720_000, 3_120_000


@pytest.fixture(autouse=True)
def english():
    """The messages asserted here are the English ones; outside a request or a command the language is Persian."""
    with translation.override("en"):
        yield


def parcels_frame(n=6, bad=(), crs="EPSG:32640"):
    rows = []
    for i in range(n):
        x = X0 + i * 30
        geom = Polygon([(x, Y0), (x + 20, Y0), (x + 20, Y0 + 25), (x, Y0 + 25)])
        if i in bad:
            geom = Polygon([(x, Y0), (x + 20, Y0 + 25), (x + 20, Y0), (x, Y0 + 25)])  # bow-tie
        rows.append({"code": f"7-7-701-{i + 1:03d}-0-0-0", "pid": f"P{i}", "deed": 500.0 + i, "use": "residential",
                     "note": f"یادداشت {i}", "geometry": geom})
    return gpd.GeoDataFrame(rows, crs=crs)


MAP = {"renewal_code": "code", "source_id": "pid", "deed_area": "deed", "land_use": "use"}


@pytest.fixture(params=["bulk", "merge"])
def load_path(request, db):
    """Run a test through both paths: the bulk path (first load, empty table) and the merge path."""
    if request.param == "bulk":
        from django.db import connection

        with connection.cursor() as c:  # rolled back with the test
            c.execute("TRUNCATE parcels_parcel CASCADE")
    elif not Parcel.objects.exists():
        Parcel.objects.create(source_id="other", geom=shapely_to_geos(Polygon.from_bounds(0, 0, 1, 1)))
    return request.param


def shapely_to_geos(polygon):
    from django.contrib.gis.geos import GEOSGeometry, MultiPolygon

    return MultiPolygon(GEOSGeometry(polygon.wkt, srid=32640))


def assert_path(report, load_path):
    assert ("bulk_finish" in report.timings) == (load_path == "bulk"), report.timings


def imp(path, commit=False, **kw):
    kw.setdefault("mapping", MAP)
    return run_import(ImportOptions(layer="parcels", path=str(path), commit=commit, **kw))


def write(frame, path, driver=None):
    frame.to_file(path, driver=driver, engine="pyogrio")
    return path


@pytest.mark.parametrize("name, driver", [
    ("p.gpkg", "GPKG"), ("p.shp", "ESRI Shapefile"), ("p.geojson", "GeoJSON"), ("p.fgb", "FlatGeobuf"),
])
def test_formats_commit(tmp_path, name, driver, load_path):
    path = write(parcels_frame(), tmp_path / name, driver)
    report = imp(path, commit=True)
    assert_path(report, load_path)
    assert (report.inserted, report.updated, report.issues) == (6, 0, [])
    p = Parcel.objects.get(renewal_code="7-7-701-002-0-0-0")
    assert p.source_id == "P1" and float(p.deed_area) == 501.0 and p.land_use_id == "residential"
    assert p.measured_area == pytest.approx(500.0)
    assert p.attributes["note"] == "یادداشت 1"  # unmapped fields kept, Persian intact
    assert p.import_run.layer == "parcels" and p.import_run.committed


def test_zipped_shapefile(tmp_path):
    write(parcels_frame(), tmp_path / "p.shp", "ESRI Shapefile")
    archive = tmp_path / "parcels.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for part in tmp_path.glob("p.*"):
            z.write(part, part.name)
    assert imp(archive, commit=True).inserted == 6


def test_csv_with_wkt(tmp_path):
    frame = parcels_frame()
    csv = tmp_path / "p.csv"
    frame.assign(WKT=frame.geometry.to_wkt()).drop(columns="geometry").to_csv(csv, index=False)
    with pytest.raises(ImportError_, match="declares no coordinate reference system"):
        imp(csv)
    report = imp(csv, commit=True, srs="EPSG:32640")
    assert report.inserted == 6


def test_reprojection_from_lonlat(tmp_path):
    path = write(parcels_frame().to_crs(4326), tmp_path / "p.gpkg")
    imp(path, commit=True)
    assert Parcel.objects.get(source_id="P0").measured_area == pytest.approx(500.0, rel=1e-4)


def test_dry_run_writes_nothing(tmp_path, load_path):
    runs = ImportRun.objects.count()
    indexes = _index_names()
    report = imp(write(parcels_frame(), tmp_path / "p.gpkg"))
    assert_path(report, load_path)
    assert report.dry_run and report.inserted == 6
    assert not Parcel.objects.filter(source_id__startswith="P").exists()
    assert ImportRun.objects.count() == runs
    assert _index_names() == indexes  # the bulk path's dropped indexes are back (rolled back with the rest)


def _index_names():
    from django.db import connection

    with connection.cursor() as c:
        c.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'parcels_parcel' ORDER BY 1")
        return [r[0] for r in c.fetchall()]


def test_commit_is_all_or_nothing(tmp_path, load_path):
    indexes = _index_names()
    path = write(parcels_frame(bad={2}), tmp_path / "p.gpkg")
    with pytest.raises(ImportAborted) as info:
        imp(path, commit=True)
    report = info.value.report
    assert [(i.fid, i.key, i.kind) for i in report.issues] == [(3, "7-7-701-003-0-0-0", "invalid_geometry")]
    assert "Self-intersection" in report.issues[0].message
    assert not Parcel.objects.filter(source_id__startswith="P").exists()
    assert _index_names() == indexes
    # --skip-invalid imports the rest and says which row was left out
    report = imp(path, commit=True, skip_invalid=True)
    assert (report.inserted, report.skipped) == (5, 1)
    # --fix repairs it instead (a bow-tie becomes two triangles)
    report = imp(path, commit=True, fix=True)
    assert (report.inserted, len(report.fixed)) == (1, 1)
    assert Parcel.objects.get(source_id="P2").geom.valid


def test_reimport_updates_in_place_with_history(tmp_path, load_path):
    path = write(parcels_frame(), tmp_path / "p.gpkg")
    imp(path, commit=True)
    again = imp(path, commit=True)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 6)
    frame = parcels_frame()
    frame.loc[1, "deed"] = 999.0
    frame.loc[1, "geometry"] = shapely.affinity.translate(frame.loc[1, "geometry"], 1, 0)
    changed = imp(write(frame, tmp_path / "p2.gpkg"), commit=True)
    assert (changed.inserted, changed.updated, changed.unchanged) == (0, 1, 5)
    assert Parcel.objects.filter(source_id__startswith="P").count() == 6
    parcel = Parcel.objects.get(source_id="P1")
    history = list(parcel.history.order_by("history_date", "history_id").values_list("history_type", "deed_area"))
    assert [(t, float(d)) for t, d in history] == [("+", 501.0), ("~", 999.0)]  # before and after


def test_bad_values_reported_with_row_and_reason(tmp_path, load_path):
    frame = parcels_frame()
    frame.loc[0, "deed"] = -3
    frame.loc[1, "code"] = "7-7-701"
    frame.loc[2, "use"] = "casino"
    frame.loc[3, "pid"] = "P4"  # duplicate key with row 4
    report = imp(write(frame, tmp_path / "p.gpkg"), key="source_id")
    got = {(i.fid, i.kind, i.field) for i in report.issues}
    assert got == {(1, "bad_value", "deed_area"), (2, "bad_value", "renewal_code"), (3, "bad_value", "land_use"),
                   (4, "duplicate_key", "source_id"), (5, "duplicate_key", "source_id")}
    messages = " ".join(i.message for i in report.issues)
    assert "out of range" in messages and "casino" in messages and "segments" in messages


def test_postal_code_and_plate_duplicates_in_file(tmp_path):
    frame = parcels_frame(3)
    frame["postal"] = ["1346713785", "1346713785", "1234567890"]
    report = imp(write(frame, tmp_path / "p.gpkg"), mapping={**MAP, "postal_code": "postal"})
    kinds = sorted((i.fid, i.kind) for i in report.issues)
    assert kinds == [(1, "duplicate_value"), (2, "duplicate_value"), (3, "bad_value")]


def test_wrong_crs_is_caught(tmp_path):
    lonlat = parcels_frame().to_crs(4326).set_crs(32640, allow_override=True)  # degrees labelled as UTM
    with pytest.raises(ImportError_, match="look like longitude/latitude"):
        imp(write(lonlat, tmp_path / "p.gpkg"))
    far = parcels_frame().to_crs(4326)
    far["geometry"] = far.geometry.translate(-120, 0)  # somewhere over the Pacific
    with pytest.raises(ImportError_, match="outside the area"):
        imp(write(far, tmp_path / "far.gpkg"))
    with pytest.raises(ImportError_, match="declares EPSG:32640 but --srs"):
        imp(tmp_path / "p.gpkg", srs="EPSG:4326")


def test_malformed_file_and_bad_mapping(tmp_path):
    broken = tmp_path / "broken.geojson"
    broken.write_text('{"type": "FeatureCollection", "features": [ {"type": ')
    with pytest.raises(ImportError_, match="GDAL"):
        imp(broken)
    with pytest.raises(ImportError_, match="not a file|File not found"):
        imp(tmp_path / "missing.gpkg")
    path = write(parcels_frame(), tmp_path / "p.gpkg")
    with pytest.raises(ImportError_, match="has no field"):
        imp(path, mapping={"renewal_code": "nope"})
    with pytest.raises(ImportError_, match="Unknown parcels field"):
        imp(path, mapping={"colour": "code"})


def test_wrong_geometry_type(tmp_path):
    frame = gpd.GeoDataFrame({"pid": ["L1"], "geometry": [LineString([(X0, Y0), (X0 + 5, Y0)])]}, crs=32640)
    report = imp(write(frame, tmp_path / "l.gpkg"), mapping={"source_id": "pid"})
    assert report.issues[0].kind == "wrong_geometry_type" and "LineString" in report.issues[0].message


def test_empty_geometry(tmp_path):
    frame = parcels_frame(2)
    frame.loc[1, "geometry"] = None
    report = imp(write(frame, tmp_path / "p.gpkg"))
    assert [(i.fid, i.kind) for i in report.issues] == [(2, "empty_geometry")]


def test_join_csv(tmp_path):
    path = write(parcels_frame(3), tmp_path / "p.gpkg")
    (tmp_path / "tax.csv").write_text("pid,area_tax,use2\nP0,100,x\nP0,101,y\nP1,200,z\n", encoding="utf-8")
    report = imp(path, commit=True, join_csv=str(tmp_path / "tax.csv"), join_on="pid")
    assert report.join["keys with several rows (first used)"] == 1
    assert report.join["features matched"] == 2 and report.join["features without a CSV row"] == 1
    assert Parcel.objects.get(source_id="P0").attributes["area_tax"] == "100"


def test_streets_and_buildings_share_the_core(tmp_path):
    streets = gpd.GeoDataFrame({"sid": ["S1"], "w": [12.0], "pw": [16.0], "name": ["خیابان آزادی"],
                                "geometry": [LineString([(X0 - 50, Y0 - 6), (X0 + 250, Y0 - 6)])]}, crs=32640)
    report = run_import(ImportOptions(layer="streets", path=str(write(streets, tmp_path / "s.gpkg")), commit=True,
                                      mapping={"source_id": "sid", "existing_width": "w", "planned_width": "pw"}))
    assert report.inserted == 1 and Street.objects.get(source_id="S1").name == "خیابان آزادی"
    imp(write(parcels_frame(), tmp_path / "p.gpkg"), commit=True)
    assert Parcel.objects.get(source_id="P0").frontage_length == pytest.approx(20.0)  # derived after import
    buildings = gpd.GeoDataFrame({"bid": ["B1", "B2"], "code": ["7-7-701-001-0-0-0", None], "floors": [3, 2],
                                  "geometry": [Polygon.from_bounds(X0 + 2, Y0 + 10, X0 + 18, Y0 + 23),
                                               Polygon.from_bounds(X0 + 32, Y0 + 10, X0 + 48, Y0 + 23)]}, crs=32640)
    run_import(ImportOptions(layer="buildings", path=str(write(buildings, tmp_path / "b.gpkg")), commit=True,
                             mapping={"source_id": "bid", "parcel": "code", "floors_above": "floors"}))
    b1, b2 = Building.objects.get(source_id="B1"), Building.objects.get(source_id="B2")
    assert b1.parcel.source_id == "P0" and b1.floors_above == 3
    assert b2.parcel.source_id == "P1"  # no parcel code: linked by location


def test_management_command_and_mapping_file(tmp_path, capsys):
    path = write(parcels_frame(), tmp_path / "p.gpkg")
    mapping = tmp_path / "map.toml"
    mapping.write_text('[fields]\nrenewal_code = "code"\nsource_id = "pid"\nland_use = "use"\n'
                       '[values.land_use]\nresidential = "commercial"\n', encoding="utf-8")
    call_command("import_parcels", str(path), "--mapping", str(mapping), "--no-progress")
    assert "DRY RUN" in capsys.readouterr().out and not Parcel.objects.filter(source_id="P0").exists()
    call_command("import_parcels", str(path), "--mapping", str(mapping), "--commit", "--no-progress")
    assert Parcel.objects.get(source_id="P0").land_use_id == "commercial"
    report_file = tmp_path / "problems.csv"
    bad = write(parcels_frame(bad={0}), tmp_path / "bad.gpkg")
    with pytest.raises(CommandError, match="1 of 6 rows have problems"):
        call_command("import_layer", "parcels", str(bad), "--mapping", str(mapping), "--commit",
                     "--report-file", str(report_file), "--no-progress")
    assert "invalid_geometry" in report_file.read_text()


def test_dry_run_report_in_persian(tmp_path, capsys):
    """--language fa: the summary, the issue kinds and each row's reason (written in the reader thread) in Persian."""
    frame = parcels_frame(3, bad={2})
    frame.loc[0, "deed"] = -3
    path = write(frame, tmp_path / "p.gpkg")
    args = ["import_parcels", str(path), "--no-progress", "--no-attributes"]
    for target, source in MAP.items():
        args += ["--map", f"{target}={source}"]
    with pytest.raises(CommandError, match="A commit would be refused"):  # a dry run of a refused commit fails
        call_command(*args)
    english = capsys.readouterr().out
    assert "DRY RUN: nothing written" in english and "is out of range" in english
    assert "unmapped source fields (dropped): note" in english
    with pytest.raises(CommandError):
        call_command(*args, "--language", "fa")
    persian = capsys.readouterr().out
    assert "اجرای آزمایشی: چیزی نوشته نشد" in persian and "DRY RUN" not in persian
    assert "مقدار نادرست" in persian and "هندسهٔ نامعتبر" in persian  # the kinds of problem
    assert "deed_area -3 خارج از بازهٔ مجاز" in persian  # the row's reason, from the reader thread
    assert "is out of range" not in persian
    assert translation.get_language() == "en"  # the caller's language is back


def test_zoning_layer_with_fid_key(tmp_path):
    zones = gpd.GeoDataFrame({"ZONE": ["R121", "C2"], "geometry": [Polygon.from_bounds(X0, Y0, X0 + 100, Y0 + 100),
                                                                   Polygon.from_bounds(X0 + 100, Y0, X0 + 200, Y0 + 100)]},
                             crs=32640)
    path = write(zones, tmp_path / "z.geojson", "GeoJSON")
    call_command("import_zoning", str(path), "--map", "code=ZONE", "--map", "source_id=@fid", "--commit", "--no-progress")
    run = ImportRun.objects.filter(layer="zoning").latest("started_at")
    assert sorted(Zone.objects.filter(import_run=run).values_list("code", flat=True)) == ["C2", "R121"]


def test_duplicates_skipped_in_both_paths(tmp_path, load_path):
    frame = parcels_frame(4)
    frame.loc[3, "code"] = frame.loc[2, "code"]
    report = imp(write(frame, tmp_path / "p.gpkg"), commit=True, skip_invalid=True)
    assert_path(report, load_path)
    assert (report.inserted, report.skipped) == (2, 2)
    assert not Parcel.objects.filter(renewal_code="7-7-701-003-0-0-0").exists()
    assert Parcel.objects.filter(source_id__in=["P0", "P1"]).count() == 2


def test_bulk_path_keeps_every_constraint(tmp_path, load_path):
    """After a bulk load the table has exactly the constraints it had, validated (not NOT VALID)."""
    from django.db import connection

    def constraints():
        with connection.cursor() as c:
            c.execute("SELECT conname, contype, convalidated, pg_get_constraintdef(oid) FROM pg_constraint "
                      "WHERE conrelid = 'parcels_parcel'::regclass ORDER BY conname")
            return c.fetchall()

    before = constraints()
    imp(write(parcels_frame(), tmp_path / "p.gpkg"), commit=True)
    assert constraints() == before
    assert all(validated for _, _, validated, _ in before)
    assert any("st_isvalid" in d for *_, d in before)


def test_reimported_street_that_moved_away_releases_its_parcels(tmp_path):
    def street_file(y_offset, name):
        frame = gpd.GeoDataFrame({"sid": ["S-move"], "w": [12.0],
                                  "geometry": [LineString([(X0 - 50, Y0 - 6 + y_offset), (X0 + 250, Y0 - 6 + y_offset)])]},
                                 crs=32640)
        return write(frame, tmp_path / name)

    opts = dict(layer="streets", commit=True, mapping={"source_id": "sid", "existing_width": "w"})
    run_import(ImportOptions(path=str(street_file(0, "s1.gpkg")), **opts))
    imp(write(parcels_frame(), tmp_path / "p.gpkg"), commit=True)
    assert Parcel.objects.get(source_id="P0").frontage_length == pytest.approx(20.0)
    moved = run_import(ImportOptions(path=str(street_file(-500, "s2.gpkg")), **opts))  # 500 m south
    assert moved.updated == 1
    parcel = Parcel.objects.get(source_id="P0")
    assert parcel.frontage_length is None and not parcel.frontages.exists()
