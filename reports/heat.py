"""The heat map of reports at the lowest zooms of the public map: the reports per heat cell, as points with a weight
(JSON for Leaflet.heat), read from the same sums as the cluster tiles.

A heat cell is HEAT_CELL_PIXELS screen pixels wide at the asked zoom, rounded to whole squares of
reports_cluster_cell (clusters.GRID metres of the city's CRS), so the whole city is one aggregate of those squares'
sums (a few tens of thousands of rows for a million reports) and one transform per heat cell (its reports' mean
place to WGS84). With a period, the period's whole UTC months come from reports_cluster_month and its partial months'
reports one by one (reports/clusters.py month_split), as for the tiles: every count is exact. Cached in the "tiles"
cache under the reports layer's data version, the zoom and the filters."""

import datetime as dt
import math

from django.core.cache import caches
from django.db import connection

from common import municipality
from layers import versions
from reports import clusters

HEAT_CELL_PIXELS = 8  # a heat cell on screen: well under Leaflet.heat's radius, so the heat looks continuous
MIN_ZOOM, MAX_ZOOM = 3, 14  # zooms the endpoint answers (the map draws the heat up to HEAT_MAX_ZOOM)
HEAT_MAX_ZOOM = 12  # the public map offers the heat map up to this zoom (clusters above, points from 15)
POINTS_MAX = 20000  # a city's heat cells at the lowest zoom are a few thousand: the answer is bounded anyway


def squares_per_cell(zoom: int, latitude: float) -> int:
    """How many GRID-metre squares make a heat cell's side at `zoom` (Web Mercator's metres per pixel at the
    city's latitude)."""
    metres_per_pixel = 2 * math.pi * clusters.R * math.cos(math.radians(latitude)) / (256 * 2**zoom)
    return max(1, round(HEAT_CELL_PIXELS * metres_per_pixel / clusters.GRID))


def heat_sql(*, categories: bool, status: str | None, months: bool, has_end: bool, period: bool) -> str:
    """One statement: the squares' sums (and the period's partial months' reports) per heat cell, with its mean
    place in WGS84. Parameters: k (squares per cell), srid, and the filters'. `months`: the period's whole months
    from reports_cluster_month (up to m1 when `has_end`), its partial months report by report; a period without a
    whole month is counted report by report (to `end` when `has_end`)."""
    square_where, report_where = ["c.n > 0"], ["r.status <> 'merged'"]
    if categories:
        square_where.append("c.category_id = ANY(%(categories)s)")
        report_where.append("r.category_id = ANY(%(categories)s)")
    if status in ("open", "closed"):
        square_where.append("c.open" if status == "open" else "NOT c.open")
        report_where.append("r.status = ANY(%(open)s)" if status == "open" else "r.status = ANY(%(closed)s)")
    grid = clusters.GRID
    rows = []
    if not period or months:
        table = "reports_cluster_cell"
        if months:
            table = "reports_cluster_month"
            square_where.append("c.month >= %(m0)s")
            if has_end:
                square_where.append("c.month < %(m1)s")
        rows.append(f"SELECT c.gx, c.gy, c.n, c.sx, c.sy FROM {table} c WHERE {' AND '.join(square_where)}")
    if period:
        if months:  # the partial months before and after the whole ones
            when = "r.created_at >= %(start)s AND r.created_at < %(m0ts)s"
            if has_end:
                when = f"({when}) OR (r.created_at >= %(m1ts)s AND r.created_at < %(end)s)"
            report_where.append(f"({when})")
        else:
            report_where += ["r.created_at >= %(start)s", *(["r.created_at < %(end)s"] if has_end else [])]
        rows.append(f"""SELECT floor(ST_X(r.public_geom) / {grid})::int, floor(ST_Y(r.public_geom) / {grid})::int, 1,
                               ST_X(r.public_geom), ST_Y(r.public_geom)
                        FROM reports_report r WHERE {' AND '.join(report_where)}""")
    union = " UNION ALL ".join(rows)
    return f"""
        SELECT ST_Y(p), ST_X(p), n FROM (
            SELECT ST_Transform(ST_SetSRID(ST_MakePoint(sum(sx) / sum(n), sum(sy) / sum(n)), %(srid)s), 4326) AS p,
                   sum(n)::int AS n
            FROM ({union}) s (gx, gy, n, sx, sy)
            GROUP BY floor(s.gx::float8 / %(k)s), floor(s.gy::float8 / %(k)s)
            HAVING sum(n) > 0
            ORDER BY sum(n) DESC
            LIMIT {POINTS_MAX}
        ) q"""


def compute(zoom: int, *, categories=(), status=None, start: dt.date | None = None,
            end: dt.date | None = None) -> dict:
    """The heat points of the whole city at `zoom`: {"zoom", "cell_metres", "max", "total", "points": [[lat, lon,
    count], ...]} (the densest cells first)."""
    from reports.public import map_center

    k = squares_per_cell(zoom, map_center()[0])  # the loaded city's middle latitude
    period = start is not None or end is not None
    months = clusters.month_split(start or (dt.date(1970, 1, 2) if end else None), end)
    params = {"k": k, "srid": municipality.current().srid, "categories": list(categories), "open": clusters.OPEN,
              "closed": clusters.VISIBLE_CLOSED,
              "start": clusters._day_start(start) if start else dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc),
              "end": clusters._day_start(end + dt.timedelta(days=1)) if end else None}
    if months:
        params.update(months)
    has_end = months["m1"] is not None if months else end is not None
    sql = heat_sql(categories=bool(categories), status=status, months=months is not None, has_end=has_end,
                   period=period)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    points = [[round(lat, 6), round(lon, 6), n] for lat, lon, n in rows]
    return {"zoom": zoom, "cell_metres": k * clusters.GRID, "max": max((p[2] for p in points), default=0),
            "total": sum(p[2] for p in points), "points": points}


def cached(layer, zoom: int, *, categories=(), status=None, start=None, end=None) -> tuple[int, dict]:
    """compute(), kept in the "tiles" cache under the reports layer's data version: (version, doc)."""
    version = versions.layer_version(layer)
    key = f"heat:{version}:{zoom}:{clusters.filter_key(categories, status, start, end)}"
    cache = caches["tiles"]
    doc = cache.get(key)
    if doc is None:
        doc = compute(zoom, categories=categories, status=status, start=start, end=end)
        cache.set(key, doc)
    return version, doc
