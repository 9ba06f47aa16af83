"""Reports aggregated per grid cell, as Mapbox vector tiles made in PostGIS: what the public map draws at low zoom,
where one point per report would be far too many (a million reports in a few tiles).

A tile is cut into CELLS × CELLS cells; each cell that holds reports is one point (the mean place of its reports)
with `count` and the most frequent category (`category`, its `colour`). A report belongs to exactly one tile (the
tile's box is half-open in Web Mercator), so the counts of a tile add up to the reports whose public place lies in
it. Filters: categories, open/closed, a period of the reporting date; merged reports are never counted.

One statement per tile: the tile envelope is made once (clipped to the city's extent before the transform, like
layers/tiles.py), the reports are found through the GiST index of `public_geom` and grouped by arithmetic on their
Web Mercator coordinates (no per-report geometry is built besides the transform). Tiles are cached in the "tiles"
cache under the reports layer's data version and the filters, like the layers' tiles (layers/tiles.py)."""

import datetime as dt
import hashlib

from django.conf import settings
from django.core.cache import caches
from django.utils import timezone

from common import geo
from common.db import prepared_fetchone
from layers import tiles, versions
from reports import workflow

LAYER_NAME = "clusters"
CELLS = 8  # cells per tile side: 32 px cells on 256 px tiles
CELL = tiles.EXTENT // CELLS

OPEN = sorted(workflow.OPEN)
VISIBLE_CLOSED = sorted(set(workflow.STATUSES) - workflow.OPEN - {workflow.MERGED})


def cluster_sql(*, categories: bool, status: str | None, start: bool, end: bool) -> str:
    """The statement for one set of filters (each set is its own prepared statement: no `OR param IS NULL`)."""
    where = ["r.public_geom && env.local", "r.status <> 'merged'"]
    if categories:
        where.append("r.category_id = ANY(%(categories)s)")
    if status == "open":
        where.append("r.status = ANY(%(open)s)")
    elif status == "closed":
        where.append("r.status = ANY(%(closed)s)")
    if start:
        where.append("r.created_at >= %(start)s")
    if end:
        where.append("r.created_at < %(end)s")
    return f"""
        WITH env AS MATERIALIZED (  -- once per tile
            SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS tile,
                   ST_Transform(ST_Segmentize(ST_ClipByBox2D(
                       ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => %(margin)s), 4326),
                       ST_MakeEnvelope(%(west)s, %(south)s, %(east)s, %(north)s)::box2d), 0.05), %(srid)s) AS local
        ),
        box AS MATERIALIZED (
            SELECT ST_XMin(tile) AS x0, ST_YMax(tile) AS y0, (ST_XMax(tile) - ST_XMin(tile)) AS side FROM env
        ),
        found AS (
            SELECT ST_X(m) AS mx, ST_Y(m) AS my, category_id
            FROM (SELECT ST_Transform(r.public_geom, 3857) AS m, r.category_id
                  FROM reports_report r, env
                  WHERE {" AND ".join(where)}
                  OFFSET 0) p  -- not flattened: one transform per report, however often m is read
        ),
        per AS (  -- reports per cell and category: a hash aggregate, no sort of the reports
            SELECT floor((f.mx - box.x0) / box.side * {CELLS})::int AS cx,
                   floor((box.y0 - f.my) / box.side * {CELLS})::int AS cy,
                   f.category_id, count(*) AS n, sum(f.mx) AS sx, sum(f.my) AS sy
            FROM found f, box
            -- half-open in both directions: a report on a tile's edge is counted in one tile only
            WHERE f.mx >= box.x0 AND f.mx < box.x0 + box.side AND f.my <= box.y0 AND f.my > box.y0 - box.side
            GROUP BY 1, 2, 3
        ),
        cells AS (  -- one point per cell: its reports' mean place, their count, the most frequent category
            SELECT sum(n) AS count, sum(sx) / sum(n) AS mx, sum(sy) / sum(n) AS my,
                   (array_agg(category_id ORDER BY n DESC, category_id))[1] AS category_id
            FROM per GROUP BY cx, cy
        ),
        features AS (
            SELECT c.count::int AS count, k.code AS category, k.colour,
                   ST_AsMVTGeom(ST_SetSRID(ST_MakePoint(c.mx, c.my), 3857), env.tile, {tiles.EXTENT}, 0, false)
                       AS mvtgeom
            FROM cells c JOIN reports_category k ON k.id = c.category_id, env
        )
        SELECT ST_AsMVT(features.*, '{LAYER_NAME}', {tiles.EXTENT}, 'mvtgeom') FROM features
    """


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time()), timezone.get_default_timezone())


def cluster_params(z: int, x: int, y: int, *, categories=(), status=None, start: dt.date | None = None,
                   end: dt.date | None = None) -> dict:
    west, south, east, north = geo.city_extent()
    return {"z": z, "x": x, "y": y, "margin": tiles.BUFFER / tiles.EXTENT, "srid": settings.MUNICIPALITY_SRID,
            "west": west, "south": south, "east": east, "north": north,
            "categories": list(categories), "open": OPEN, "closed": VISIBLE_CLOSED,
            "start": _day_start(start) if start else None,
            "end": _day_start(end + dt.timedelta(days=1)) if end else None}


def render(layer, z: int, x: int, y: int, *, categories=(), status=None, start=None, end=None) -> tuple[int, bytes]:
    """The cluster tile and the reports layer's data version it was made from, in one statement."""
    sql = cluster_sql(categories=bool(categories), status=status, start=start is not None, end=end is not None)
    params = cluster_params(z, x, y, categories=categories, status=status, start=start, end=end)
    version, data = prepared_fetchone(f"SELECT {versions.version_sql(layer)}, ({sql})", params, binary=True)
    return version, bytes(data) if data is not None else b""


def filter_key(categories=(), status=None, start=None, end=None) -> str:
    return f"{','.join(map(str, sorted(categories)))}|{status or ''}|{start or ''}|{end or ''}"


def etag(version: int, z: int, x: int, y: int, filters: str) -> str:
    digest = hashlib.sha1(f"{LAYER_NAME}:{version}:{z}/{x}/{y}:{filters}".encode()).hexdigest()[:20]
    return f'"{digest}"'


def answer(layer, z: int, x: int, y: int, requested: str, if_none_match: str | None, *, categories=(),
           status=None, start=None, end=None) -> tiles.Answer:
    """Like layers.tiles.answer: a versioned URL (?v= the layer's data version) may be cached forever and is served
    from the tile cache when there; otherwise the tile and the version come from one statement, with an ETag."""
    cache = caches["tiles"]
    filters = filter_key(categories, status, start, end)
    key = lambda version: f"{LAYER_NAME}:{version}:{z}/{x}/{y}:{filters}"  # noqa: E731
    data = None
    version = None
    if requested.isdigit() and len(requested) <= 19 and not if_none_match:
        data = cache.get(key(int(requested)))
        if data is not None:
            version = int(requested)
    if data is None:
        if if_none_match:
            version = versions.layer_version(layer)
            if if_none_match == etag(version, z, x, y, filters):
                return _answer(version, None, requested, z, x, y, filters)
            data = cache.get(key(version))
        if data is None:
            version, data = render(layer, z, x, y, categories=categories, status=status, start=start, end=end)
            if len(data) <= tiles.MAX_CACHED_TILE:
                cache.set(key(version), data)
    return _answer(version, data, requested, z, x, y, filters)


def _answer(version: int, data: bytes | None, requested: str, z, x, y, filters) -> tiles.Answer:
    headers = [("ETag", etag(version, z, x, y, filters)), ("X-Layer-Version", str(version)),
               ("Cache-Control", "public, max-age=31536000, immutable" if requested == str(version)
                else "public, max-age=0, must-revalidate")]
    if data is None:
        return tiles.Answer(304, b"", headers)
    return tiles.Answer(200, data, [("Content-Type", "application/vnd.mapbox-vector-tile"), *headers])
