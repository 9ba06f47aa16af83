"""Raster layers: a GeoTIFF in another CRS kept as a COG and served as PNG tiles that line up with the parcels;
the demo hillshade; TileJSON for the vector tiles; bad uploads refused with nothing kept; the portal shows the
hillshade and downloads a layer through its dialog."""

import subprocess

import numpy as np
import pytest
import rasterio
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from rasterio.io import MemoryFile

from layers import rasters, tiles
from layers.exports import pg_source
from layers.models import Raster
from tests.test_map_browser import new_page

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def own_var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"


def city_centre():
    with connection.cursor() as c:
        c.execute("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(ST_SetSRID(ST_Centroid(ST_Extent(geom)::geometry),"
                  " %s), 4326) p FROM parcels_parcel) x", [settings.MUNICIPALITY_SRID])
        return c.fetchone()


def rasterize(out, srs, extent, size=None, resolution=None, transform_to=None):
    """Parcels burnt as 255 on 0 by gdal_rasterize, straight from PostGIS (independent of the tile code)."""
    source, env = pg_source()
    geom = f"ST_Transform(geom, {transform_to})" if transform_to else "geom"
    cmd = ["gdal_rasterize", "-q", "-burn", "255", "-ot", "Byte", "-init", "0", "-a_srs", srs,
           "-te", *map(str, extent), source, "-sql", f"SELECT {geom} AS geom FROM parcels_parcel", str(out)]
    cmd[1:1] = ["-ts", *map(str, size)] if size else ["-tr", *map(str, resolution)]
    subprocess.run(cmd, check=True, env=env, capture_output=True)


def png_grey(data: bytes) -> np.ndarray:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    with MemoryFile(data) as mem, mem.open() as img:
        assert img.driver == "PNG" and (img.width, img.height) == (256, 256)
        return img.read(1)


def test_tiles_of_a_geotiff_in_another_crs_line_up_with_parcels(client, demo_city, tmp_path):
    lon, lat = city_centre()
    src = tmp_path / "parcels_4326.tif"  # an "orthophoto" in longitude/latitude, not the city's CRS
    rasterize(src, "EPSG:4326", (lon - 0.006, lat - 0.006, lon + 0.006, lat + 0.006), resolution=(0.00001, 0.00001),
              transform_to=4326)
    raster = rasters.ingest(src, "burnt", "قطعات", "Parcels", "orthophoto")
    from rio_cogeo.cogeo import cog_validate
    assert cog_validate(raster.path)[0] and raster.srid == 4326
    z = 17
    x, y = tiles.lonlat_to_tile(lon, lat, z)
    response = client.get(f"/tiles/raster/burnt/{z}/{x}/{y}.png")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    got = png_grey(response.content) > 127
    # The reference: the same parcels rasterised straight into the tile's Web Mercator bounds.
    half = tiles.WEB_MERCATOR_WIDTH / 2
    size = tiles.WEB_MERCATOR_WIDTH / 2**z
    extent = (-half + x * size, half - (y + 1) * size, -half + (x + 1) * size, half - y * size)
    ref_path = tmp_path / "ref.tif"
    rasterize(ref_path, "EPSG:3857", extent, size=(256, 256), transform_to=3857)
    with rasterio.open(ref_path) as ref:
        want = ref.read(1) > 127
    assert 0.2 < want.mean() < 0.98  # the tile shows parcels and streets between them
    agreement = (got == want).mean()
    shifted = (got == np.roll(want, 6, axis=1)).mean()  # what 6 px (≈7 m) of misalignment would look like
    assert agreement > 0.97 and agreement - shifted > 0.02, (agreement, shifted)
    far = client.get("/tiles/raster/burnt/17/0/0.png")
    assert far.status_code == 204
    assert client.get("/tiles/raster/nope/1/0/0.png").status_code == 404


def test_demo_hillshade_from_dem(client, demo_city):
    call_command("load_raster", "hillshade", "--hillshade-of", "demo-dem")
    raster = Raster.objects.get(slug="hillshade")
    assert raster.kind == "hillshade"
    with rasterio.open(raster.path) as src:
        assert src.crs.to_epsg() == settings.MUNICIPALITY_SRID and src.dtypes[0] == "uint8"
    from rio_cogeo.cogeo import cog_validate
    assert cog_validate(raster.path)[0]
    lon, lat = city_centre()
    x, y = tiles.lonlat_to_tile(lon, lat, 15)
    grey = png_grey(client.get(f"/tiles/raster/hillshade/15/{x}/{y}.png").content)
    assert grey.std() > 1  # relief, not a flat image
    listed = client.get("/api/rasters").json()["rasters"]
    assert {"demo-dem", "hillshade"} <= {r["slug"] for r in listed}


def test_bad_uploads_keep_nothing(client, role_users, demo_city, tmp_path):
    url = "/api/rasters"
    good = tmp_path / "g.tif"
    with rasterio.open(good, "w", driver="GTiff", width=4, height=4, count=1, dtype="uint8", crs="EPSG:4326",
                       transform=rasterio.transform.from_origin(54.5, 28.8, 0.001, 0.001)) as dst:
        dst.write(np.full((1, 4, 4), 9, dtype="uint8"))
    assert client.post(url, {"slug": "a", "file": SimpleUploadedFile("a.tif", good.read_bytes())}).status_code == 401
    client.force_login(role_users["engineer"])
    assert client.post(url, {"slug": "a", "file": SimpleUploadedFile("a.tif", good.read_bytes())}).status_code == 403
    client.force_login(role_users["admin"])
    client.cookies["django_language"] = "en"  # the English wording of the messages (Persian by default)
    corrupt = client.post(url, {"slug": "c", "file": SimpleUploadedFile("c.tif", b"II*\x00" + b"\x07" * 500)})
    assert corrupt.status_code == 400 and "not a readable GeoTIFF" in corrupt.json()["message"]
    bare = tmp_path / "bare.tif"
    with rasterio.open(bare, "w", driver="GTiff", width=4, height=4, count=1, dtype="uint8") as dst:
        dst.write(np.zeros((1, 4, 4), dtype="uint8"))
    unprojected = client.post(url, {"slug": "u", "file": SimpleUploadedFile("u.tif", bare.read_bytes())})
    assert unprojected.status_code == 400 and "no coordinate reference system" in unprojected.json()["message"]
    assert not Raster.objects.filter(slug__in=["c", "u"]).exists()
    assert sorted(p.name for p in rasters.raster_dir().iterdir()) == []
    ok = client.post(url, {"slug": "ortho", "title": "عکس هوایی", "kind": "orthophoto",
                           "file": SimpleUploadedFile("o.tif", good.read_bytes())})
    assert ok.status_code == 201 and ok.json()["tiles"].endswith("/tiles/raster/ortho/{z}/{x}/{y}.png")
    assert [p.name for p in rasters.raster_dir().iterdir()] == ["ortho.tif"]


def test_tilejson(client, demo_city):
    doc = client.get("/tiles/parcels.json").json()
    version = client.get("/api/layers/versions").json()["parcels"]
    assert doc["tilejson"] == "3.0.0" and doc["tiles"][0].endswith(f"/tiles/parcels/{{z}}/{{x}}/{{y}}.pbf?v={version}")
    assert doc["vector_layers"][0]["id"] == "parcels" and doc["minzoom"] == 10  # z10-z14 from the overview
    assert doc["vector_layers"][0]["fields"]["measured_area"] == "Number"
    minx, miny, maxx, maxy = doc["bounds"]
    assert minx < doc["center"][0] < maxx and miny < doc["center"][1] < maxy
    assert client.get("/tiles/parcel_owners.json").status_code == 401
    assert client.get("/tiles/nope.json").status_code == 404


@pytest.fixture(scope="session")
def committed_hillshade(demo_city, django_db_blocker):
    """The demo hillshade made for real (committed), as `./run demo` makes it, for the served portal."""
    with django_db_blocker.unblock():
        call_command("load_raster", "demo-hillshade", "--hillshade-of", "demo-dem", "--if-absent")


@pytest.mark.browser
def test_portal_shows_hillshade_and_downloads(browser, portal_url, committed_hillshade, django_db_blocker):
    from tests.jobs.workers import running_worker

    pg = new_page(browser, portal_url)
    # the download runs as a job (jobs/): a worker on the jobs queue, as `./run demo` starts beside the web server
    with running_worker(django_db_blocker, plain=True, queues=["jobs"]):
        _hillshade_and_download(pg)


def _hillshade_and_download(pg):
    try:
        pg.wait_for_function("() => Number(document.body.dataset.rasterTiles || 0) > 0", timeout=30000)
        assert pg.locator(".leaflet-control-layers-overlays label", has_text="سایه‌روشن").count() == 1
        pg.wait_for_function("() => document.body.dataset.downloadReady", timeout=10000)
        pg.click("a.download")
        pg.select_option("dialog.layer-download select[name=layers]", "districts")
        pg.select_option("dialog.layer-download select[name=format]", "geojson")
        pg.fill("dialog.layer-download input[name=srid]", "4326")
        with pg.expect_download() as info:
            pg.click("dialog.layer-download button[type=submit]")
        assert info.value.suggested_filename == "districts.geojson"
        text = open(info.value.path(), encoding="utf-8").read()
        assert '"FeatureCollection"' in text and '"code"' in text
        assert "districts.geojson" in pg.text_content("dialog.layer-download output")
        pg.fill("dialog.layer-download input[name=srid]", "12")
        pg.click("dialog.layer-download button[type=submit]")
        pg.wait_for_function("() => document.querySelector('dialog.layer-download output').textContent"
                             ".includes('EPSG:12')", timeout=10000)
    finally:
        pg.context.close()
