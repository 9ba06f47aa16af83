"""After a load the low-zoom tiles are warmed by a job (layers/seeding.py): an import queues one job (however many
layers it loads), a dry run none; the job asks for every tile of the seeded zooms over the city's extent at its
current version, so that the tile cache answers them without the database."""

import geopandas as gpd
import pytest
from django.db import connection
from shapely.geometry import Polygon

from layers import seeding, tiles
from layers.registry import LAYERS
from parcels.importing.core import run_import
from parcels.importing.options import ImportOptions

pytestmark = pytest.mark.django_db

X0, Y0 = 735_000, 3_135_000  # EPSG:32640, away from other tests' parcels


def _queued() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM procrastinate_jobs WHERE task_name = %s AND status = 'todo'",
                       [seeding.TASK])
        return cursor.fetchone()[0]


def _parcels_file(tmp_path, n, name):
    rows = [{"code": f"7-7-709-{i + 1:03d}-0-0-0", "geometry": Polygon.from_bounds(X0 + 30 * i, Y0, X0 + 30 * i + 20,
                                                                                  Y0 + 25)} for i in range(n)]
    path = tmp_path / name
    gpd.GeoDataFrame(rows, crs="EPSG:32640").to_file(path)
    return str(path)


def test_an_import_queues_one_seeding_job(demo_city, tmp_path, settings):
    settings.TILE_SEED_BASE_URL = ""
    assert not seeding.worth_seeding()  # the default: tiles cached per process, nothing to warm for others
    settings.TILE_SEED_BASE_URL = "http://127.0.0.1:8080"
    with connection.cursor() as cursor:  # rolled back with the test
        cursor.execute("DELETE FROM procrastinate_jobs WHERE task_name = %s", [seeding.TASK])
    opts = {"layer": "parcels", "mapping": {"renewal_code": "code"}}
    run_import(ImportOptions(path=_parcels_file(tmp_path, 3, "a.gpkg"), commit=False, **opts))
    assert _queued() == 0  # a dry run loads nothing
    run_import(ImportOptions(path=_parcels_file(tmp_path, 3, "a.gpkg"), commit=True, **opts))
    assert _queued() == 1
    run_import(ImportOptions(path=_parcels_file(tmp_path, 5, "b.gpkg"), commit=True, **opts))
    assert _queued() == 1  # one job waiting is enough


def test_the_job_makes_every_low_zoom_tile_of_the_city(demo_city, settings):
    settings.TILE_SEED_BASE_URL = ""
    wanted = seeding.tiles_to_seed()
    west, south, east, north = seeding.city_extent()["bbox"]
    parcels_z14 = [(z, x, y) for name, z, x, y in wanted if name == "parcels" and z == 14]
    # every zoom of the seeded range the layer has tiles at (its low-zoom overview from 10)
    assert {z for name, z, _, _ in wanted if name == "parcels"} == set(range(LAYERS["parcels"].tile_min_zoom, 15))
    assert {z for name, z, _, _ in wanted if name == "districts"} == set(range(10, 15))
    for lon, lat in ((west, north), (east, south), ((west + east) / 2, (south + north) / 2)):
        assert (14, *tiles.lonlat_to_tile(lon, lat, 14)) in parcels_z14
    before = [(name, z, x, y) for name, z, x, y in wanted
              if tiles.cached_answer(LAYERS[name], z, x, y, str(tiles.tile_version(LAYERS[name], z, x, y)), None)]
    assert before == []
    assert seeding.seed() == len(wanted)
    for name, z, x, y in wanted:  # answered by the tile cache alone, at the version the map asks for
        version = str(tiles.tile_version(LAYERS[name], z, x, y))
        assert tiles.cached_answer(LAYERS[name], z, x, y, version, None) is not None, (name, z, x, y)
