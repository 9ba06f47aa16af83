"""Exports read back with GDAL (pyogrio): counts against PostGIS, CRS, values, Persian text, QGIS styles; bad input
is refused before anything is written."""

import sqlite3
import zipfile

import pyogrio
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import translation

from common.errors import BadParameter
from layers.exports import ExportRequest, export
from layers.registry import LAYERS

pytestmark = pytest.mark.django_db


def count(sql, params=()):
    with connection.cursor() as c:
        c.execute(sql, params)
        return c.fetchone()[0]


def epsg_of(path, layer=None):
    crs = pyogrio.read_info(path, layer=layer)["crs"]
    return crs


def test_geopackage_of_several_layers_with_styles(demo_city, tmp_path, settings):
    out = tmp_path / "city.gpkg"
    export(ExportRequest([LAYERS["parcels"], LAYERS["streets"], LAYERS["zoning"]], "gpkg"), out)
    names = {row[0] for row in pyogrio.list_layers(out)}
    assert {"parcels", "streets", "zoning", "layer_styles"} <= names
    parcels = pyogrio.read_dataframe(out, layer="parcels")
    assert len(parcels) == count("SELECT count(*) FROM parcels_parcel")
    assert epsg_of(out, "parcels") == f"EPSG:{settings.MUNICIPALITY_SRID}"
    # values survive: one parcel compared field by field with the database
    row = parcels.sort_values("id").iloc[0]
    with connection.cursor() as c:
        c.execute("SELECT renewal_code, land_use_id, is_corner, round(measured_area::numeric, 1) FROM parcels_parcel"
                  " WHERE id = %s", [int(row["id"])])
        code, use, corner, area = c.fetchone()
    assert (row["renewal_code"], row["land_use"], bool(row["is_corner"])) == (code, use, corner)
    assert row["measured_area"] == pytest.approx(float(area))
    streets = pyogrio.read_dataframe(out, layer="streets")
    assert set(streets["name"].dropna()) == set(
        n for (n,) in _rows("SELECT DISTINCT name FROM parcels_street WHERE name IS NOT NULL"))
    assert any("\u0600" <= ch <= "\u06ff" for ch in "".join(streets["name"].dropna()))  # Persian intact
    db = sqlite3.connect(out)
    styles = db.execute("SELECT f_table_name, styleName, useAsDefault, styleQML FROM layer_styles").fetchall()
    db.close()
    defaults = {t: qml for t, _, default, qml in styles if default}
    assert set(defaults) == {"parcels", "streets", "zoning"}
    assert 'type="categorizedSymbol" attr="land_use"' in defaults["parcels"]
    assert "مسکونی" in defaults["parcels"] and "کد نوسازی" in defaults["parcels"]  # labels from the land-use table
    assert {name for t, name, default, _ in styles if t == "parcels"} == {"قطعات", "Parcels"}


def _rows(sql, params=()):
    with connection.cursor() as c:
        c.execute(sql, params)
        return c.fetchall()


def test_shapefile_zip_keeps_persian_and_crs(demo_city, tmp_path):
    out = tmp_path / "streets.zip"
    export(ExportRequest([LAYERS["streets"]], "shp", srid="4326"), out)
    with zipfile.ZipFile(out) as zf:
        members = set(zf.namelist())
        assert {"streets.shp", "streets.shx", "streets.dbf", "streets.prj", "streets.cpg"} <= members
        assert zf.read("streets.cpg").decode().strip().upper().replace("-", "") == "UTF8"
    frame = pyogrio.read_dataframe(f"/vsizip/{out}/streets.shp")
    assert len(frame) == count("SELECT count(*) FROM parcels_street")
    assert epsg_of(f"/vsizip/{out}/streets.shp") == "EPSG:4326"
    expected = {n for (n,) in _rows("SELECT name FROM parcels_street WHERE name <> ''")}
    assert set(frame["name"].dropna()) - {""} == expected
    minx, miny, maxx, maxy = frame.total_bounds
    assert -180 <= minx < maxx <= 180 and -90 <= miny < maxy <= 90


def test_filters_by_district_bbox_and_attribute(demo_city, tmp_path):
    code = _rows("SELECT code FROM parcels_district ORDER BY code LIMIT 1")[0][0]
    out = tmp_path / "p.fgb"
    export(ExportRequest([LAYERS["parcels"]], "fgb", district=code, filters={"land_use": "residential"}), out)
    frame = pyogrio.read_dataframe(out)
    expected = count(
        "SELECT count(*) FROM parcels_parcel p, parcels_district d WHERE d.code = %s AND p.land_use_id = "
        "'residential' AND ST_Within(ST_PointOnSurface(p.geom), d.geom)", [code])
    assert len(frame) == expected > 0
    assert set(frame["land_use"]) == {"residential"}
    # bbox: a small box around the city's centre
    lon0, lat0, lon1, lat1 = _rows("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT "
                                   "ST_Transform(ST_SetSRID(ST_Extent(geom)::geometry, ST_SRID(min(geom))), 4326) e"
                                   " FROM parcels_parcel) x")[0]
    box = ((lon0 + lon1) / 2 - 0.003, (lat0 + lat1) / 2 - 0.003, (lon0 + lon1) / 2 + 0.003, (lat0 + lat1) / 2 + 0.003)
    out = tmp_path / "p.geojson"
    export(ExportRequest([LAYERS["parcels"]], "geojson", bbox=",".join(map(str, box))), out)
    expected = count("SELECT count(*) FROM parcels_parcel WHERE ST_Intersects(geom, ST_Transform("
                     "ST_MakeEnvelope(%s, %s, %s, %s, 4326), ST_SRID(geom)))", list(box))
    assert len(pyogrio.read_dataframe(out)) == expected > 0


def test_csv_has_wkt_and_persian(demo_city, tmp_path):
    out = tmp_path / "zoning.csv"
    export(ExportRequest([LAYERS["zoning"]], "csv"), out)
    text = out.read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("WKT,")
    names = {n for (n,) in _rows("SELECT name FROM zoning_zone WHERE name <> ''")}
    assert names and all(n in text for n in names)


@pytest.mark.parametrize("kwargs, message", [
    ({"srid": "999999"}, "not a known"),
    ({"srid": "4978"}, "not a 2D"),  # geocentric
    ({"srid": "abc"}, "EPSG code"),
    ({"bbox": "54,28,200,29"}, "not a valid"),
    ({"bbox": "1,2,3"}, "four numbers"),
    ({"filters": {"nope": "1"}}, "no field"),
    ({"filters": {"measured_area": "big"}}, "number"),
    ({"district": "zz"}, "Unknown district"),
    ({"format": "xlsx"}, "Unknown format"),
])
def test_bad_input_writes_nothing(demo_city, tmp_path, kwargs, message):
    out = tmp_path / "x.gpkg"
    with translation.override("en"), pytest.raises(BadParameter, match=message):  # the English wording
        export(ExportRequest([LAYERS["parcels"]], **{"format": "gpkg", **kwargs}), out)
    assert list(tmp_path.iterdir()) == []


def test_forbidden_field_filter(demo_city, tmp_path):
    with translation.override("en"), pytest.raises(BadParameter, match="cannot be used"):
        export(ExportRequest([LAYERS["parcel_owners"]], "gpkg", filters={"owners": "x"}), tmp_path / "x.gpkg")


def test_command(demo_city, tmp_path):
    out = tmp_path / "b.gpkg"
    call_command("export_layer", "buildings", "-o", str(out), "--srid", "3857")
    assert len(pyogrio.read_dataframe(out, layer="buildings")) == count("SELECT count(*) FROM parcels_building")
    assert epsg_of(out, "buildings") == "EPSG:3857"
    with pytest.raises(CommandError, match="Unknown layer"):
        call_command("export_layer", "nope", "-o", str(tmp_path / "n.gpkg"))
    with pytest.raises(CommandError, match="EPSG"):
        call_command("export_layer", "parcels", "-o", str(tmp_path / "n.gpkg"), "--srid", "x")
    assert not (tmp_path / "n.gpkg").exists()


def test_download_view(client, role_users, demo_city):
    response = client.get("/api/layers/export?layers=districts&format=geojson&srid=4326")
    assert response.status_code == 200
    assert 'filename="districts.geojson"' in response["Content-Disposition"]
    body = b"".join(response.streaming_content).decode()
    assert '"FeatureCollection"' in body and int(response["Content-Length"]) == len(body.encode())
    # personal data: never anonymous, not for staff without the permission, recorded for those with it
    assert client.get("/api/layers/export?layers=parcel_owners").status_code == 401
    client.force_login(role_users["engineer"])
    assert client.get("/api/layers/export?layers=parcel_owners").status_code == 403
    client.force_login(role_users["finance"])
    response = client.get("/api/layers/export?layers=parcel_owners&format=csv")
    assert response.status_code == 200
    from parcels.models import PersonalDataAccess
    assert PersonalDataAccess.objects.filter(user=role_users["finance"], action="layer:parcel_owners").exists()
    client.cookies["django_language"] = "en"
    bad = client.get("/api/layers/export?layers=parcels&srid=12")
    assert bad.status_code == 400 and "EPSG:12" in bad.json()["message"]
    assert client.get("/api/layers/export?layers=nope").status_code == 404


def test_public_layers_carry_no_personal_data():
    for layer in LAYERS.values():
        if layer.is_public:
            text = " ".join(f.sql for f in layer.fields)
            assert "parcels_owner" not in text and "national_id" not in text and "phone" not in text, layer.name
