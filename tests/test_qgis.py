"""QGIS itself (Debian's python3-qgis, headless) opens the exported GeoPackage styled, and the OGC API layers,
including a protected one with HTTP basic credentials."""

import json
import os
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from layers.exports import ExportRequest, export
from layers.registry import LAYERS

pytestmark = pytest.mark.django_db
QGIS_PYTHON = "/usr/bin/python3"


@pytest.fixture
def committed_finance_user(demo_city):
    """A finance user committed for real (the served portal has its own connection and cannot see this test's
    transaction), removed afterwards."""
    import psycopg
    from django.contrib.auth.hashers import make_password

    db = connection.settings_dict
    conninfo = dict(dbname=db["NAME"], user=db["USER"], password=db["PASSWORD"], host=db["HOST"], port=db["PORT"])
    with psycopg.connect(**conninfo, autocommit=True) as conn:
        conn.execute("DELETE FROM auth_user_groups WHERE user_id IN (SELECT id FROM auth_user WHERE username='qgisfin')")
        conn.execute("DELETE FROM auth_user WHERE username = 'qgisfin'")
        uid = conn.execute(
            "INSERT INTO auth_user (username, password, is_staff, is_active, is_superuser, first_name, last_name, email,"
            " date_joined) VALUES ('qgisfin', %s, true, true, false, '', '', '', now()) RETURNING id",
            [make_password("pw-qgisfin")]).fetchone()[0]
        conn.execute("INSERT INTO auth_user_groups (user_id, group_id) SELECT %s, id FROM auth_group"
                     " WHERE name = 'finance'", [uid])
    yield "qgisfin", "pw-qgisfin"
    with psycopg.connect(**conninfo, autocommit=True) as conn:
        conn.execute("DELETE FROM parcels_personaldataaccess WHERE user_id = %s", [uid])
        conn.execute("DELETE FROM auth_user_groups WHERE user_id = %s", [uid])
        conn.execute("DELETE FROM auth_user WHERE id = %s", [uid])


def test_qgis_opens_geopackage_with_styles_and_ogc_api(demo_city, portal_url, committed_finance_user, tmp_path):
    probe = subprocess.run([QGIS_PYTHON, "-c", "import qgis.core"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.fail(f"PyQGIS missing ({probe.stderr.strip()[-200:]}): scripts/setup.sh installs python3-qgis")
    gpkg = tmp_path / "city.gpkg"
    export(ExportRequest([LAYERS["parcels"], LAYERS["streets"]], "gpkg"), gpkg)
    with connection.cursor() as c:
        c.execute("SELECT count(*), (SELECT count(*) FROM parcels_street) FROM parcels_parcel")
        parcels, streets = c.fetchone()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(tmp_path)}
    env.pop("PYTHONPATH", None)
    script = Path(__file__).with_name("qgis_check.py")
    import urllib.request
    tilejson = json.load(urllib.request.urlopen(f"{portal_url}/tiles/parcels.json"))
    result = subprocess.run([QGIS_PYTHON, str(script), str(gpkg), f"{portal_url}/ogc", *committed_finance_user,
                             tilejson["tiles"][0], str(tilejson["minzoom"]), str(tilejson["maxzoom"])],
                            capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    p = found["parcels"]
    assert p["valid"] and p["count"] == parcels
    assert p["renderer"] == "categorizedSymbol" and p["categories"] >= 5  # the style came from layer_styles
    assert p["aliases"]["renewal_code"] == "کد نوسازی"
    assert found["streets"]["valid"] and found["streets"]["count"] == streets
    assert found["streets"]["renderer"] == "singleSymbol"
    project = found["project"]  # the QGIS project stored in the GeoPackage, with both layers styled
    assert project["opened"] and project["crs"] == f"EPSG:{settings.MUNICIPALITY_SRID}"
    assert project["layers"]["parcels"] == {"valid": True, "count": parcels, "renderer": "categorizedSymbol"}
    assert project["layers"]["streets"]["valid"] and project["layers"]["streets"]["count"] == streets
    assert found["oapif"]["valid"] and found["oapif"]["count"] == parcels
    assert "renewal_code" in found["oapif"]["fields"]
    assert found["vector_tiles"] == {"valid": True, "zmin": 10, "zmax": 18}  # from the TileJSON
    assert found["protected"]["valid"] and found["protected"]["count"] == parcels  # HTTP basic from the URI
