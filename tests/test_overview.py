"""The land-use overview the parcels tiles read at z10-z14 (parcels/overview.py, Layer.overview, layers/tiles.py):
built right (counts and areas per block and land use are the parcels'), kept current (a deleted parcel leaves it
with the edit or the rebuild; a parcels import queues the rebuild job), read by the tiles up to z14 and not above,
every low-zoom tile of the test city under 100 KB; and in the second city's CRS (EPSG:32639)."""

import pytest
from django.contrib.gis.geos import MultiPolygon
from django.db import connection, transaction

from layers import tiles
from layers.registry import LAYERS
from parcels import overview
from parcels.models import LandUse, Parcel
from tests import test_second_city

pytestmark = pytest.mark.django_db
TILE_LIMIT = 100 * 1024
second_city = test_second_city.second_city  # the fixture: the generated town in EPSG:32639


def rows(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def detail_totals():
    """(block, land use) -> (parcels, area) as the band-14 rows of the overview hold them, and as the parcels are."""
    built = {(b, u): (n, round(a, 3)) for b, u, n, a in rows(
        f"SELECT block_id, land_use, parcels, area FROM {overview.TABLE} WHERE band = 14 AND block_id IS NOT NULL")}
    truth = {(b, u): (n, round(a, 3)) for b, u, n, a in rows(
        "SELECT block_id, land_use_id, count(*), sum(measured_area) FROM parcels_parcel WHERE block_id IS NOT NULL"
        " GROUP BY 1, 2")}
    return built, truth


def city_tiles(z):
    """Every tile (x, y) at zoom z over the parcels' extent."""
    (w, s, e, n), = rows("SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) FROM (SELECT ST_Transform("
                         "ST_SetSRID(ST_Extent(geom)::geometry, ST_SRID(min(geom))), 4326) b FROM parcels_parcel) x")
    x0, y0 = tiles.lonlat_to_tile(w, n, z)
    x1, y1 = tiles.lonlat_to_tile(e, s, z)
    return [(x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]


def covered(parcel, use=None):
    """Whether a band-14 shape of the overview (of the parcel's use, with `use`) covers a point inside the parcel."""
    return rows(f"SELECT EXISTS (SELECT 1 FROM {overview.TABLE} WHERE band = 14 AND (%s IS NULL OR land_use = %s) "
                "AND ST_Intersects(geom, ST_Transform(ST_PointOnSurface(%s::geometry), 3857)))",
                [use, use, parcel.geom.ewkt])[0][0]


def test_the_overview_holds_every_block_and_use_with_the_parcels_counts_and_areas(demo_city):
    built, truth = detail_totals()
    assert truth and built == truth
    for band in overview.MOSAIC_BANDS:  # the mosaic: every parcel counted once at most, the main uses present
        (n, uses), = rows(f"SELECT sum(parcels), array_agg(DISTINCT land_use) FROM {overview.TABLE} WHERE band = %s",
                          [band])
        assert 0 < n <= Parcel.objects.count() and "residential" in uses


def test_a_deleted_parcel_leaves_the_overview_with_the_edit_and_its_mosaic_cells_are_queued(demo_city):
    # a parcel of this test's own (other tests' committed assessments protect the city's parcels from deletion): a
    # square of 800 m² (no speck the block's largest shape absorbs: overview.SPECK_AREA) on the largest parcel of a
    # block, of a use the block has nowhere else, saved through the ORM
    host = Parcel.objects.filter(block__isnull=False).order_by("-measured_area").first()
    uses = set(Parcel.objects.filter(block=host.block).values_list("land_use_id", flat=True))
    use = LandUse.objects.exclude(code__in=uses).order_by("code").first()
    centre = host.geom.point_on_surface
    code = next(c for c in (host.renewal_code[:-1] + d for d in "987654321")
                if not Parcel.objects.filter(renewal_code=c).exists())
    parcel = Parcel.objects.create(renewal_code=code, block=host.block, district=host.district, zone=host.zone,
                                   land_use=use, geom=MultiPolygon(centre.buffer(20, quadsegs=1), srid=host.geom.srid))
    assert covered(parcel, use.code)  # made with the save
    # marks and jobs of the save and of other tests' committed edits (through the live server) are not this test's
    rows(f"DELETE FROM {overview.STALE_TABLE}")
    rows("DELETE FROM procrastinate_jobs WHERE task_name = 'parcels.refresh_overview'")
    parcel.delete()
    assert not covered(parcel, use.code) and covered(host)  # the block's shapes were rebuilt in the edit's own transaction
    built, truth = detail_totals()
    assert built == truth
    stale = rows(f"SELECT band, block_id FROM {overview.STALE_TABLE} ORDER BY band")
    assert stale == [(b, None) for b in overview.MOSAIC_BANDS] + [(14, parcel.block_id)]  # for the job, and a rebuild
    assert rows("SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'parcels.refresh_overview' "
                "AND status = 'todo'")[0][0] == 1
    assert overview.refresh_stale() == len(stale)  # what the job does
    built, truth = detail_totals()
    assert built == truth
    assert not rows(f"SELECT 1 FROM {overview.STALE_TABLE}")


class _Undo(Exception):
    """Rolls a savepoint back (before the deferred foreign keys of the parcel's owners are checked)."""


def test_a_save_that_changes_nothing_drawn_leaves_the_overview_and_its_tiles_alone(demo_city):
    parcel = Parcel.objects.filter(block__isnull=False).order_by("id")[3]
    rows(f"DELETE FROM {overview.STALE_TABLE}")
    rows("DELETE FROM procrastinate_jobs WHERE task_name = 'parcels.refresh_overview'")
    tile = (14, *tiles.lonlat_to_tile(*parcel.geom.point_on_surface.transform(4326, clone=True).coords, 14))
    before = tiles.tile_version(LAYERS["parcels"], *tile)
    parcel.postal_code = "1234567890"  # a full save(), as the admin does: nothing the overview draws changed
    parcel.save()
    assert tiles.tile_version(LAYERS["parcels"], *tile) == before
    assert not rows(f"SELECT 1 FROM {overview.STALE_TABLE}")
    parcel.land_use_id = "green_space" if parcel.land_use_id != "green_space" else "residential"
    parcel.save()
    assert tiles.tile_version(LAYERS["parcels"], *tile) > before  # its block's shapes redrawn with the edit
    assert rows(f"SELECT count(*) FROM {overview.STALE_TABLE}")[0][0] > 0


def test_a_parcel_deleted_behind_the_signals_goes_with_the_rebuild(demo_city):
    parcel = Parcel.objects.filter(block__isnull=False).order_by("-measured_area")[1]
    with pytest.raises(_Undo), transaction.atomic():
        rows("DELETE FROM parcels_parcel WHERE id = %s", [parcel.pk])  # raw SQL: no signal
        assert covered(parcel)
        overview.mark_stale([parcel.block_id], [])  # as an edit committed while a rebuild runs: applied after it
        overview.rebuild()
        assert not covered(parcel) and not rows(f"SELECT 1 FROM {overview.STALE_TABLE}")
        built, truth = detail_totals()
        assert built == truth
        raise _Undo


def test_a_parcels_import_queues_the_rebuild(demo_city, tmp_path):
    import geopandas as gpd
    from shapely.geometry import box

    from parcels.importing import ImportOptions, run_import

    (x, y), = rows("SELECT ST_XMax(ST_Extent(geom)) + 100, ST_YMax(ST_Extent(geom)) + 100 FROM parcels_parcel")
    frame = gpd.GeoDataFrame([{"pid": "overview-1", "use": "commercial", "geometry": box(x, y, x + 20, y + 25)}],
                             crs=f"EPSG:{rows('SELECT ST_SRID(geom) FROM parcels_parcel LIMIT 1')[0][0]}")
    frame.to_file(tmp_path / "p.gpkg", driver="GPKG")
    queued = "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'parcels.rebuild_overview' AND status = 'todo'"
    rows("DELETE FROM procrastinate_jobs WHERE task_name = 'parcels.rebuild_overview'")  # rolled back with the test
    run_import(ImportOptions(layer="parcels", path=str(tmp_path / "p.gpkg"), commit=False,
                             mapping={"source_id": "pid", "land_use": "use"}))
    assert rows(queued)[0][0] == 0  # a dry run queues nothing
    run_import(ImportOptions(layer="parcels", path=str(tmp_path / "p.gpkg"), commit=True,
                             mapping={"source_id": "pid", "land_use": "use"}))
    assert rows(queued)[0][0] == 1


def test_tiles_up_to_z14_come_from_the_overview_and_from_z15_from_the_parcels(demo_city, tmp_path):
    import pyogrio

    layer = LAYERS["parcels"]
    (lon, lat), = rows("SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Transform(ST_PointOnSurface(geom), 4326) c "
                       "FROM parcels_parcel ORDER BY id LIMIT 1) x")

    def tile(z):
        return tiles.render_tile(layer, z, *tiles.lonlat_to_tile(lon, lat, z))
    assert all(tile(z) for z in range(10, 17))
    uses = {u for u, in rows("SELECT DISTINCT land_use_id FROM parcels_parcel")}
    for z in (10, 13, 14):  # what GDAL's MVT driver reads: land-use shapes, with the land use and nothing else
        x, y = tiles.lonlat_to_tile(lon, lat, z)
        (tmp_path / f"{z}.pbf").write_bytes(tile(z))
        frame = pyogrio.read_dataframe(tmp_path / f"{z}.pbf", layer="parcels", X=str(x), Y=str(y), Z=str(z))
        assert len(frame) and set(frame.columns) - {"geometry", "mvt_id"} == {"land_use"}
        assert set(frame.land_use) <= uses and frame.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    rows(f"DELETE FROM {overview.TABLE}")  # rolled back with the test
    assert not any(tile(z) for z in range(10, 15))
    assert all(tile(z) for z in (15, 16))
    assert overview.TABLE in layer.sources  # its version (tile URLs, ETags, caches) follows the overview too


def test_every_low_zoom_tile_of_the_city_is_light(demo_city):
    for layer in (l for l in LAYERS.values() if l.is_public):
        for z in range(max(10, layer.tile_min_zoom), 15):
            for x, y in city_tiles(z):
                size = len(tiles.render_tile(layer, z, x, y))
                assert size < TILE_LIMIT, (layer.name, z, x, y, size)


@pytest.mark.other_city(srid=32639)
def test_the_overview_in_the_second_city(second_city):
    built, truth = detail_totals()
    assert truth and built == truth
    z = 14
    tile_sizes = [len(tiles.render_tile(LAYERS["parcels"], z, x, y)) for x, y in city_tiles(z)]
    assert any(tile_sizes) and max(tile_sizes) < TILE_LIMIT
