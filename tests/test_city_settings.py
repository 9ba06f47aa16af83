"""What a municipality other than Darab sets: the CRS every geometry column follows (migrations, the system check and
the migration that mends a column an older migration left in Darab's CRS), the time zone, zone colours from the
zones loaded (map legend and QGIS styles), the query page's start view, and a DEM that hides missing data as 0."""

import dataclasses
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import rasterio
from affine import Affine
from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.gis.db.models import GeometryField
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations import RunSQL
from django.test import override_settings

from gis_portal import checks
from tests.conftest import ROOT

OTHER_SRID = 32639


def rows(sql, params=()):
    with connection.cursor() as c:
        c.execute(sql, params)
        return c.fetchall()


# --- every geometry column follows the municipality's CRS -------------------------------------------------------

def migrations_with(srid):
    """The project's migrations and the state they make while a municipality in EPSG:srid is current (as `migrate`
    of its database runs)."""
    from common import municipality

    other = dataclasses.replace(municipality.first(), slug="other", srid=srid)
    with municipality.activate(other):
        loader = MigrationLoader(None, ignore_no_migrations=True)
        state = loader.project_state()
        fields = {(m.app_label, m.name_lower, name): f.srid for m in state.models.values()
                  for name, f in m.fields.items() if isinstance(f, GeometryField)}
    return loader, fields


# the land-use overview of the tiles, kept in their CRS on purpose (parcels/overview.py; gis_portal.checks allows it)
TILE_COPIES = {("parcels", "0007_landuse_overview", 3857)}


def test_every_migration_follows_the_current_municipality():
    loader, fields = migrations_with(OTHER_SRID)
    assert ("zoning", "parceloverlay", "widening_geom") in fields and ("parcels", "parcel", "geom") in fields
    assert {key: srid for key, srid in fields.items() if srid != OTHER_SRID} == {}
    # and no SRID written into raw SQL of a migration (views, functions): geometry(Type, N), ST_SetSRID(.., N)
    written = re.compile(r"geometry\(\s*\w+\s*,\s*(\d+)\s*\)|ST_SetSRID\([^;]*?,\s*(\d+)\s*\)|srid\s*=\s*(\d+)", re.I)
    found = []
    for (app, name), migration in loader.disk_migrations.items():
        for op in migration.operations:
            if isinstance(op, RunSQL):
                sql = op.sql if isinstance(op.sql, str) else " ".join(map(str, op.sql))
                found += [(app, name, n) for m in written.finditer(sql) for n in m.groups()
                          if n and int(n) != OTHER_SRID and (app, name, int(n)) not in TILE_COPIES]
    assert found == []


@pytest.mark.django_db
def test_the_check_passes_on_a_database_that_follows_the_setting():
    assert [m for m in checks.geometry_columns_follow_srid(None, databases=["default"])] == []
    assert checks.geometry_fields_follow_srid(None) == []
    call_command("check", "--database", "default", "--fail-level", "ERROR", verbosity=0)  # raises on an error


def test_the_check_catches_a_model_field_in_another_crs():
    from django.test.utils import isolate_apps

    with isolate_apps("tests"):
        class Declared(models.Model):
            geom = models.MultiPolygonField(srid=OTHER_SRID)

            class Meta:
                app_label = "tests"

    found = checks.fixed_srid_fields([Declared])
    assert {m.id for m in found} == {"gis_portal.E020"}
    assert any("tests.Declared.geom" in m.msg for m in found)


@pytest.mark.django_db
def test_the_check_catches_a_changed_setting():
    with override_settings(MUNICIPALITY_SRID=OTHER_SRID):
        found = checks.geometry_columns_follow_srid(None, databases=["default"])
    assert [m.id for m in found] == ["gis_portal.E021"]
    assert f"EPSG:{settings.MUNICIPALITY_SRID}" in found[0].msg and found[0].hint


@pytest.mark.django_db
def test_a_column_left_in_another_crs_is_caught_and_mended_by_the_migration(demo_city):
    """A database migrated by the old zoning 0002 (widening_geom in Darab's CRS while the city is in another): the
    check names the column; while zoning 0003 is not applied it is a warning (migrate, which runs the checks, must
    still run), and 0003 changes the column to the setting with its values transformed."""
    import importlib

    mend = importlib.import_module("zoning.migrations.0003_widening_geom_follows_municipality_srid")
    srid = settings.MUNICIPALITY_SRID
    (parcel,), = rows("SELECT min(parcel_id) FROM zoning_parceloverlay")
    with connection.cursor() as c:
        c.execute("ALTER TABLE zoning_parceloverlay ALTER COLUMN widening_geom TYPE "
                  f"geometry(MultiPolygon, {OTHER_SRID}) USING ST_Transform(widening_geom, {OTHER_SRID})")
        strip = MultiPolygon(Polygon.from_bbox((0, 0, 10, 10)), srid=srid)
        strip.transform(OTHER_SRID)
        c.execute("UPDATE zoning_parceloverlay SET widening_geom = ST_GeomFromEWKB(%s) WHERE parcel_id = %s",
                  [bytes(strip.ewkb), parcel])
        c.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the deferred foreign-key checks of the UPDATE, before an ALTER
    assert [m.id for m in checks.geometry_columns_follow_srid(None, databases=["default"])] == ["gis_portal.E022"]
    with connection.cursor() as c:
        c.execute("DELETE FROM django_migrations WHERE app = 'zoning' AND name LIKE '0003_%%'")
    assert [m.id for m in checks.geometry_columns_follow_srid(None, databases=["default"])] == ["gis_portal.W022"]
    with connection.schema_editor() as editor:
        mend.follow_setting(None, editor)
    assert checks.geometry_columns_follow_srid(None, databases=["default"]) == []
    (srid_now, area, xmin), = rows("SELECT ST_SRID(widening_geom), ST_Area(widening_geom), ST_XMin(widening_geom) "
                                   "FROM zoning_parceloverlay WHERE parcel_id = %s", [parcel])
    assert srid_now == srid and area == pytest.approx(100, rel=1e-3) and abs(xmin) < 0.01


# --- time zone ---------------------------------------------------------------------------------------------------

def _settings_value(env_changes, expr="s.TIME_ZONE"):
    env = {**os.environ, "DEBUG": "true", **env_changes}
    return subprocess.run([sys.executable, "-c", f"import gis_portal.settings as s; print({expr})"], cwd=ROOT, env=env,
                          capture_output=True, text=True)


def test_time_zone_from_the_environment():
    assert _settings_value({"TIME_ZONE": "Europe/Berlin"}).stdout.strip() == "Europe/Berlin"
    env = {k: v for k, v in os.environ.items() if k != "TIME_ZONE"}
    default = subprocess.run([sys.executable, "-c", "import gis_portal.settings as s; print(s.TIME_ZONE)"], cwd=ROOT,
                             env={**env, "DEBUG": "true"}, capture_output=True, text=True)
    assert default.stdout.strip() == "Asia/Tehran"


def test_unknown_time_zone_is_refused_clearly():
    result = _settings_value({"TIME_ZONE": "Asia/Darab"})
    assert result.returncode != 0 and "TIME_ZONE 'Asia/Darab' is not a known time zone" in result.stderr


# --- zone colours come from the zones loaded ---------------------------------------------------------------------

@pytest.mark.django_db
def test_zoning_legend_and_qgis_style_come_from_the_zones_loaded(client):
    from layers import qml
    from layers.registry import LAYERS
    from tests.test_second_city import qml_fill_colours
    from zoning.layers import fallback_colour
    from zoning.models import Zone

    far = 500_000  # far from every parcel: no overlay changes
    def square(i):
        return MultiPolygon(Polygon.from_bbox((far + i * 100, far, far + i * 100 + 50, far + 50)),
                            srid=settings.MUNICIPALITY_SRID)
    Zone.objects.create(code="ZZ-7", name="پهنه آزمون", name_en="Test zone", colour="#12AB34", geom=square(0))
    Zone.objects.create(code="ZZ-7", name="پهنه آزمون", name_en="Test zone", colour="#12ab34", geom=square(1))
    Zone.objects.create(code="QQ", geom=square(2))  # no colour, no name: the palette and the code
    codes = {code for (code,) in rows("SELECT DISTINCT code FROM zoning_zone")}
    legend = {e["value"]: e for e in qml.legend(LAYERS["zoning"], english=True)}
    assert set(legend) == codes  # one entry per zone code loaded, whatever the city's codes are
    assert legend["ZZ-7"]["colour"] == "#12ab34" and legend["ZZ-7"]["label"] == "Test zone"
    assert legend["QQ"]["colour"] == fallback_colour("QQ") and legend["QQ"]["label"] == "QQ"
    assert qml.legend(LAYERS["zoning"])[sorted(codes).index("ZZ-7")]["label"] == "پهنه آزمون"
    fills = qml_fill_colours(qml.qml(LAYERS["zoning"]))
    assert fills["ZZ-7"] == "18,171,52" and set(fills) == codes
    # the portal's map page carries the same legend for the map's zoning style and legend
    client.cookies["django_language"] = "en"
    page = client.get("/").content.decode()
    assert '"value": "ZZ-7", "colour": "#12ab34"' in page


def test_fallback_palette_is_deterministic_and_valid():
    from zoning.layers import COLOUR, fallback_colour

    codes = ["R1", "R2", "C-1", "SD-3", "B", "O-2", "IA-1", "مسکونی"]
    colours = [fallback_colour(c) for c in codes]
    assert colours == [fallback_colour(c) for c in codes] and all(COLOUR.match(c) for c in colours)
    assert len(set(colours)) == len(codes)


# --- the query page opens on the loaded city ---------------------------------------------------------------------

@pytest.mark.django_db
def test_query_page_carries_the_city_extent(client, demo_city):
    import json

    from layers.geojson import city_extent

    page = client.get("/zoning/queries/").content.decode()
    start = json.loads(re.search(r'<script id="map-start" type="application/json">(.*?)</script>', page, re.S)[1])
    assert start["bbox"] == pytest.approx(city_extent()["bbox"])
    script = (ROOT / "zoning" / "static" / "zoning" / "queries.js").read_text()
    assert not re.search(r"setView\(\[\s*\d", script)  # no centre written into the code


# --- a DEM that hides missing data as 0 --------------------------------------------------------------------------

def write_dem(path, data, nodata=None):
    srid = settings.MUNICIPALITY_SRID
    with rasterio.open(path, "w", driver="GTiff", width=data.shape[1], height=data.shape[0], count=1,
                       dtype=data.dtype, crs=f"EPSG:{srid}", transform=Affine(10, 0, 640000, 0, -10, 3180000),
                       nodata=nodata) as dst:
        dst.write(data, 1)
    return path


@pytest.fixture
def dems(tmp_path, settings):
    settings.VAR_DIR = tmp_path / "var"
    heights = (1100 + np.add.outer(np.arange(120), np.arange(100)) * 0.5).astype("float32")
    holes = heights.copy()
    holes[:, :40] = 0  # 40 % of the grid: missing data written as 0 m
    framed = heights.astype("int16")
    framed[:15], framed[-15:], framed[:, :15], framed[:, -15:] = -32768, -32768, -32768, -32768
    return {"clean": write_dem(tmp_path / "clean.tif", heights),
            "holes": write_dem(tmp_path / "holes.tif", holes),
            "framed": write_dem(tmp_path / "framed.tif", framed),
            "declared": write_dem(tmp_path / "declared.tif", holes, nodata=0)}


def load(*args):
    from io import StringIO

    out, err = StringIO(), StringIO()
    call_command("load_raster", *args, stdout=out, stderr=err)
    return err.getvalue()


@pytest.mark.django_db
def test_dem_with_undeclared_zeros_is_warned_and_nodata_can_be_given(dems):
    from layers.models import Raster

    warning = load("holes", str(dems["holes"]), "--kind", "dem")
    assert "declares no NoData value and 40% of its pixels are exactly 0" in warning and "--nodata 0" in warning
    with rasterio.open(Raster.objects.get(slug="holes").path) as cog:
        assert cog.nodata is None  # loaded as it is: the warning tells, the user decides
    assert load("holes", str(dems["holes"]), "--kind", "dem", "--nodata", "0") == ""
    with rasterio.open(Raster.objects.get(slug="holes").path) as cog:
        band = cog.read(1, masked=True)
        assert cog.nodata == 0 and band.mask[:, :40].all() and not band.mask[:, 40:].any()


@pytest.mark.django_db
def test_dem_with_a_fill_value_around_it_is_warned(dems):
    warning = load("framed", str(dems["framed"]), "--kind", "dem")
    assert "its border is mostly -32768" in warning and "--nodata -32768" in warning


@pytest.mark.django_db
def test_clean_or_declared_dems_are_not_warned(dems):
    assert load("clean", str(dems["clean"]), "--kind", "dem") == ""
    assert load("declared", str(dems["declared"]), "--kind", "dem") == ""


@pytest.mark.django_db
def test_the_upload_api_warns_and_takes_nodata(dems, client, role_users, english):
    """The upload API (POST /api/rasters) does what load_raster does: it warns of a DEM hiding missing data as
    heights (naming its own nodata parameter), takes `nodata`, and refuses one the file's pixels cannot hold."""
    from layers.models import Raster

    client.force_login(role_users["admin"])
    client.cookies["django_language"] = "en"

    def upload(name, **extra):
        with open(dems[name], "rb") as fh:
            return client.post("/api/rasters", {"file": fh, "slug": f"up-{name}", "kind": "dem", **extra})

    warned = upload("holes")
    assert warned.status_code == 201, warned.content
    (warning,) = warned.json()["warnings"]
    assert "40% of its pixels are exactly 0" in warning and "nodata=0" in warning and "--nodata" not in warning
    taken = upload("holes", nodata="0")
    assert taken.status_code == 201 and taken.json()["warnings"] == []
    with rasterio.open(Raster.objects.get(slug="up-holes").path) as cog:
        assert cog.nodata == 0 and cog.read(1, masked=True).mask[:, :40].all()
    framed = upload("framed", nodata="0.5")  # int16 pixels: no half values
    assert framed.status_code == 400 and "int16" in framed.json()["message"]
    assert upload("framed", nodata="40000").status_code == 400  # beyond int16
    assert upload("framed", nodata="nan").status_code == 400
    assert not Raster.objects.filter(slug="up-framed").exists()
