"""The land-use overview: what the parcels layer's tiles show at zooms 10 to 14 (layers/tiles.py, Layer.overview).

A z14 tile of the city centre held ~10,000 parcels (330 KB and 220 ms at 100k parcels, 214 KB and 310 ms at 1M);
below z14 the parcels were not drawn at all. At those scales a parcel is a few pixels or less: what the map can show
is the land-use colours by area and the shapes of the blocks. So the tiles read this derived table instead, in
EPSG:3857 (the tile's CRS: no transform per row; 1.6x faster than a copy in the city's CRS at 1M parcels) and
already simplified for their zoom, one band of rows per zoom:

- band 14 (z14): the parcels of one block and one land use merged into one shape, simplified to half a screen
  pixel; the shapes of a block tile the block, so its outline shows (a shape of under SPECK_AREA is drawn as part of
  the block's largest). Parcels outside any block are merged per z14 tile instead. `parcels` and `area` are the
  count and measured area of the parcels merged (the sheet's figures).
- bands 10-13 (z10-z13): a land-use mosaic. Each parcel's centroid falls into a cell of two screen pixels at the
  band's zoom (128 cells a tile side); a cell takes the land use with the largest parcel area in it; cells of one
  use are merged per tile of the band's zoom (region_x, region_y). `parcels`/`area`: the parcels of the winning use
  in those cells.

Kept current: run_import queues a rebuild (a procrastinate job, parcels/tasks.py) after every committed load of
parcels or blocks, and the demo loader builds it. A single edit of a parcel (admin, API; parcels/signals.py)
rebuilds the band-14 shapes of its old and new block in the same transaction (a few milliseconds), so a deleted
parcel leaves z14 with the edit itself; the mosaic cells it touched are marked stale and rebuilt by the same job,
queued when the edit commits (a parcel is at most one mosaic cell there: the worker's queue delay, about a second).

Raw SQL: set-based unions and grid arithmetic the ORM cannot express; one module, as parcels/derived.py.
"""

from django.db import connection, transaction

from common import municipality

SOURCE_TABLE = "parcels_parcel"
TABLE = "parcels_landuse_overview"
STALE_TABLE = "parcels_landuse_overview_stale"
DETAIL_BAND = 14  # block-level shapes
MOSAIC_BANDS = (10, 11, 12, 13)
BANDS = (*MOSAIC_BANDS, DETAIL_BAND)
HALF_WORLD = 20037508.342789244  # EPSG:3857
CELLS_PER_TILE = 128  # a mosaic cell is two pixels of a 256-pixel tile
# At z14 a block's shapes of other uses smaller than this (m², about 2x2 screen pixels) are drawn as part of the
# block's largest shape: half the shapes of the densest z14 tile at 100k parcels (93 KB before), invisible there.
# Their rows stay, with their counts and areas and an empty geometry.
SPECK_AREA = 365.0


def tile_size(z: int) -> float:
    return 2 * HALF_WORLD / 2**z


def cell_size(z: int) -> float:
    return tile_size(z) / CELLS_PER_TILE


def detail_tolerance() -> float:
    """Half a screen pixel at z14, in metres of EPSG:3857."""
    return tile_size(DETAIL_BAND) / 512


# --- band 14: parcels merged by block and land use --------------------------------------------------------------

_DETAIL = f"""
INSERT INTO {TABLE} (band, block_id, region_x, region_y, land_use, parcels, area, geom)
WITH piece AS (
    SELECT block_id, rx, ry, land_use_id, count(*) AS n, sum(measured_area) AS a, ST_Buffer(ST_Collect(geom), 0) AS g
    FROM (
        SELECT p.block_id, p.land_use_id, p.measured_area, p.geom,
               -- parcels outside any block: merged per z14 tile instead
               CASE WHEN p.block_id IS NULL
                    THEN floor((ST_X(ST_Transform(ST_Centroid(p.geom), 3857)) + {HALF_WORLD}) / %(tile)s)::int END AS rx,
               CASE WHEN p.block_id IS NULL
                    THEN floor((ST_Y(ST_Transform(ST_Centroid(p.geom), 3857)) + {HALF_WORLD}) / %(tile)s)::int END AS ry
        FROM parcels_parcel p
        WHERE %(all)s OR p.block_id = ANY(%(blocks)s) OR (p.block_id IS NULL AND p.geom && %(area)s)
    ) s
    WHERE %(all)s OR block_id = ANY(%(blocks)s) OR (rx, ry) IN (SELECT * FROM unnest(%(rx)s::int[], %(ry)s::int[]))
    GROUP BY block_id, rx, ry, land_use_id
),
ranked AS (
    SELECT *, row_number() OVER (PARTITION BY block_id, rx, ry ORDER BY a DESC, land_use_id) AS rank FROM piece
),
absorbed AS (  -- the specks of a block, drawn as part of its largest shape
    SELECT block_id, rx, ry, ST_Collect(g) AS g FROM ranked WHERE rank > 1 AND a < %(speck)s GROUP BY 1, 2, 3
)
SELECT {DETAIL_BAND}, r.block_id, r.rx, r.ry, r.land_use_id, r.n, r.a,
       CASE WHEN r.rank > 1 AND r.a < %(speck)s THEN ST_SetSRID('MULTIPOLYGON EMPTY'::geometry, 3857)
            ELSE ST_Multi(ST_CollectionExtract(ST_SimplifyPreserveTopology(ST_Transform(
                     CASE WHEN x.g IS NULL THEN r.g ELSE ST_Buffer(ST_Collect(r.g, x.g), 0) END, 3857), %(tol)s), 3))
       END
FROM ranked r
LEFT JOIN absorbed x  -- equality on non-null keys, so that it is a hash join (IS NOT DISTINCT FROM: a nested loop)
       ON r.rank = 1 AND coalesce(x.block_id, -1) = coalesce(r.block_id, -1)
      AND coalesce(x.rx, -1) = coalesce(r.rx, -1) AND coalesce(x.ry, -1) = coalesce(r.ry, -1)
"""

_DETAIL_DELETE = f"""
DELETE FROM {TABLE} WHERE band = {DETAIL_BAND} AND (
    block_id = ANY(%(blocks)s) OR (region_x, region_y) IN (SELECT * FROM unnest(%(rx)s::int[], %(ry)s::int[])))
"""

# --- bands 10-13: the land-use mosaic ---------------------------------------------------------------------------

_POINTS = f"""
CREATE TEMP TABLE overview_point ON COMMIT DROP AS
SELECT p.land_use_id AS land_use, p.measured_area AS area,
       ST_X(c) + {HALF_WORLD} AS x, ST_Y(c) + {HALF_WORLD} AS y
FROM parcels_parcel p, LATERAL (SELECT ST_Transform(ST_Centroid(p.geom), 3857) AS c) c
WHERE %(all)s OR p.geom && %(area)s
"""

# cells -> the dominant use of each -> runs of cells along a row inside one region -> runs merged per region. Each
# region's most common use is drawn first as the region's whole footprint (every cell that holds a parcel), the
# other uses' cells on top of it: the shapes have few holes, where a hole-riddled shape per use cost ST_AsMVTGeom's
# validity check 85 ms for one z13 tile at 1M parcels. The tile SQL draws rows in id order: footprints first.
_MOSAIC_CELLS = f"""
CREATE TEMP TABLE overview_cell ON COMMIT DROP AS
WITH cell AS (
    SELECT floor(x / %(cell)s)::int AS cx, floor(y / %(cell)s)::int AS cy, land_use, count(*) AS n, sum(area) AS a
    FROM overview_point GROUP BY 1, 2, 3
),
dominant AS (
    SELECT DISTINCT ON (cx, cy) cx, cy, land_use, n, a FROM cell ORDER BY cx, cy, a DESC, land_use
)
SELECT d.*, d.cx / {CELLS_PER_TILE} AS rx, d.cy / {CELLS_PER_TILE} AS ry FROM dominant d
WHERE %(all)s OR (d.cx / {CELLS_PER_TILE}, d.cy / {CELLS_PER_TILE}) IN (SELECT * FROM unnest(%(rx)s::int[], %(ry)s::int[]));
CREATE TEMP TABLE overview_base ON COMMIT DROP AS
SELECT DISTINCT ON (rx, ry) rx, ry, land_use FROM overview_cell GROUP BY rx, ry, land_use
ORDER BY rx, ry, count(*) DESC, land_use;
"""

_RUNS = f"""
INSERT INTO {TABLE} (band, block_id, region_x, region_y, land_use, parcels, area, geom)
SELECT %(band)s, NULL, rx, ry, land_use, sum(n), sum(a),
       ST_Multi({{shape}}(ST_Union(ST_MakeEnvelope(x0 * %(cell)s - {HALF_WORLD}, cy * %(cell)s - {HALF_WORLD},
                                  (x1 + 1) * %(cell)s - {HALF_WORLD}, (cy + 1) * %(cell)s - {HALF_WORLD}, 3857))))
FROM (
    SELECT rx, ry, cy, land_use, min(cx) AS x0, max(cx) AS x1, sum(n) AS n, sum(a) AS a
    FROM (SELECT c.rx, c.ry, c.cx, c.cy, c.n, c.a, {{use}} AS land_use,
                 c.cx - row_number() OVER (PARTITION BY c.rx, c.ry, c.cy, {{use}} ORDER BY c.cx) AS run
          FROM overview_cell c JOIN overview_base b USING (rx, ry)
          WHERE {{which}}) d
    GROUP BY rx, ry, cy, land_use, run
) runs
GROUP BY rx, ry, land_use
"""
# the footprints (every cell, under the region's base use; its count and area those of the base use's cells), holes
# (cells without a parcel: a wide street, an empty lot) filled: a footprint with holes cost twice as much to draw ...
_FILLED = "(SELECT ST_Union(ST_MakePolygon(ST_ExteriorRing(d.geom))) FROM ST_Dump"
_MOSAIC_BASE = _RUNS.replace("{shape}", _FILLED).replace("3857))))\nFROM (", "3857))) d))\nFROM (").replace("{use}", "b.land_use").replace("{which}", "true").replace(
    "c.n, c.a,", "CASE WHEN c.land_use IS NOT DISTINCT FROM b.land_use THEN c.n ELSE 0 END AS n, "
                 "CASE WHEN c.land_use IS NOT DISTINCT FROM b.land_use THEN c.a ELSE 0 END AS a,")
# ... then the other uses' cells
_MOSAIC_OTHERS = _RUNS.replace("{shape}", "").replace("{use}", "c.land_use").replace("{which}", "c.land_use IS DISTINCT FROM b.land_use")

_MOSAIC_DELETE = f"""
DELETE FROM {TABLE} WHERE band = %(band)s AND (region_x, region_y) IN (SELECT * FROM unnest(%(rx)s::int[], %(ry)s::int[]))
"""

# The parcels' extent in the city's CRS of a set of regions (EPSG:3857 boxes), for the index: 500 m wider, as a
# parcel's centroid (inside a region) may lie outside the parcel itself.
_REGIONS_AREA = f"""
SELECT ST_Transform(ST_Expand(ST_SetSRID(ST_Extent(ST_MakeEnvelope(
           rx * %(tile)s - {HALF_WORLD}, ry * %(tile)s - {HALF_WORLD},
           (rx + 1) * %(tile)s - {HALF_WORLD}, (ry + 1) * %(tile)s - {HALF_WORLD}))::geometry, 3857), 500), %(srid)s)
FROM unnest(%(rx)s::int[], %(ry)s::int[]) AS r(rx, ry)
"""


def rebuild() -> dict:
    """Build the whole overview afresh (after a load or import); returns rows per band. One transaction, built aside
    and swapped in at the end, so tiles keep reading the previous overview meanwhile (no TRUNCATE: its lock would
    stop them for the minutes of a 1M-parcel build) and edits are not held up. Edits committed while it was being
    built are applied again on top (their stale marks), so none is lost to the older snapshot."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS overview_new")
        cursor.execute(f"CREATE TEMP TABLE overview_new (LIKE {TABLE} INCLUDING IDENTITY) ON COMMIT DROP")
        cursor.execute(_DETAIL.replace(f"INSERT INTO {TABLE}", "INSERT INTO overview_new"), _detail_params(all_=True))
        cursor.execute("DROP TABLE IF EXISTS overview_point")
        cursor.execute(_POINTS, {"all": True, "area": None})
        for band in MOSAIC_BANDS:
            _mosaic(cursor, _mosaic_params(band, all_=True), target="overview_new")
        cursor.execute("DROP TABLE overview_point")
        cursor.execute(f"DELETE FROM {TABLE}")
        cursor.execute(f"INSERT INTO {TABLE} (band, block_id, region_x, region_y, land_use, parcels, area, geom) "
                       "SELECT band, block_id, region_x, region_y, land_use, parcels, area, geom FROM overview_new "
                       "ORDER BY id")  # the id order is the drawing order
        cursor.execute("DROP TABLE overview_new")
        refresh_stale()
        cursor.execute(f"ANALYZE {TABLE}")
        cursor.execute(f"SELECT band, count(*) FROM {TABLE} GROUP BY band ORDER BY band")
        return dict(cursor.fetchall())


def refresh_blocks(block_ids=(), regions=()) -> None:
    """Rebuild the band-14 shapes of these blocks and of these z14 tiles (rx, ry) of parcels outside blocks, in the
    caller's transaction."""
    blocks = sorted({b for b in block_ids if b is not None})
    regions = sorted(set(regions))
    if not blocks and not regions:
        return
    params = _detail_params(blocks=blocks, regions=regions)
    params["area"] = _regions_area(DETAIL_BAND, regions) if regions else None
    with connection.cursor() as cursor:
        cursor.execute(_DETAIL_DELETE, params)
        cursor.execute(_DETAIL, params)


def refresh_stale() -> int:
    """Rebuild what single edits marked stale: blocks, mosaic regions, z14 tiles of parcels outside blocks; returns
    how many."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {STALE_TABLE} RETURNING band, block_id, region_x, region_y")
        stale = cursor.fetchall()
        blocks = [block for _, block, _, _ in stale if block is not None]
        by_band: dict[int, list[tuple[int, int]]] = {}
        for band, block, rx, ry in stale:
            if block is None:
                by_band.setdefault(band, []).append((rx, ry))
        refresh_blocks(blocks, by_band.pop(DETAIL_BAND, ()))
        for band, regions in sorted(by_band.items()):
            params = _mosaic_params(band, regions=regions)
            cursor.execute("DROP TABLE IF EXISTS overview_point")
            cursor.execute(_POINTS, {"all": False, "area": _regions_area(band, regions)})
            cursor.execute(_MOSAIC_DELETE, params)
            _mosaic(cursor, params)
            cursor.execute("DROP TABLE overview_point")
    return len(stale)


def mark_stale(block_ids, points_3857, detail_regions=False) -> int:
    """Mark stale these blocks, the mosaic regions holding these points (x, y in EPSG:3857: centroids of parcels
    before and after an edit) and, with detail_regions (a parcel outside any block), their z14 tiles. The job
    (queue_refresh) rebuilds them; a rebuild running meanwhile applies them again after its swap. Returns how many."""
    rows = {(DETAIL_BAND, block, None, None) for block in block_ids if block is not None}
    for x, y in points_3857:
        for band in (*MOSAIC_BANDS, DETAIL_BAND) if detail_regions else MOSAIC_BANDS:
            size = tile_size(band)
            rows.add((band, None, int((x + HALF_WORLD) // size), int((y + HALF_WORLD) // size)))
    if rows:
        with connection.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {STALE_TABLE} (band, block_id, region_x, region_y) "
                               "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING", sorted(rows, key=str))
    return len(rows)


def centroid_3857(geom) -> tuple[float, float] | None:
    """The centroid of a parcel's geometry (GEOS, in the city's CRS) in EPSG:3857."""
    if geom is None or geom.empty:
        return None
    point = geom.centroid.transform(3857, clone=True)
    return point.x, point.y


def _mosaic(cursor, params, target=TABLE) -> None:
    cursor.execute("DROP TABLE IF EXISTS overview_cell; DROP TABLE IF EXISTS overview_base")
    cursor.execute(_MOSAIC_CELLS, params)
    for sql in (_MOSAIC_BASE, _MOSAIC_OTHERS):
        cursor.execute(sql.replace(f"INSERT INTO {TABLE}", f"INSERT INTO {target}"), params)
    cursor.execute("DROP TABLE overview_cell; DROP TABLE overview_base")


def _detail_params(all_=False, blocks=(), regions=()) -> dict:
    return {"all": all_, "blocks": list(blocks), "tol": detail_tolerance(), "tile": tile_size(DETAIL_BAND),
            "speck": SPECK_AREA,
            "rx": [r[0] for r in regions], "ry": [r[1] for r in regions], "area": None}


def _mosaic_params(band, all_=False, regions=()) -> dict:
    return {"all": all_, "band": band, "cell": cell_size(band),
            "rx": [r[0] for r in regions], "ry": [r[1] for r in regions]}


def _regions_area(band, regions) -> str:
    from django.conf import settings

    with connection.cursor() as cursor:
        cursor.execute(_REGIONS_AREA, {"tile": tile_size(band), "srid": municipality.current().srid,
                                       "rx": [r[0] for r in regions], "ry": [r[1] for r in regions]})
        return cursor.fetchone()[0]


def queue_rebuild() -> None:
    """Queue the whole rebuild (after a load or import), in the caller's transaction: it runs once that commits."""
    _queue("parcels.rebuild_overview")


def queue_refresh() -> None:
    """Queue the rebuild of the stale regions, in the caller's transaction."""
    _queue("parcels.refresh_overview")


def _queue(task: str) -> None:
    from procrastinate.contrib.django import app
    from procrastinate.exceptions import AlreadyEnqueued

    try:
        with transaction.atomic():  # a savepoint: the lock's unique violation must not break the caller's transaction
            app.configure_task(task, queueing_lock=task).defer()
    except AlreadyEnqueued:
        pass
