"""Reports aggregated per grid cell, as Mapbox vector tiles made in PostGIS: what the public map draws at low zoom,
where one point per report would be far too many (a million reports in a few tiles).

A tile is cut into CELLS × CELLS cells; each cell that holds reports is one point (the mean place of its reports)
with `count` and the most frequent category (`category`, its `colour`). A report belongs to exactly one tile (the
tile's box is half-open in Web Mercator), so the counts of a tile add up to the reports whose public place lies in
it. Filters: categories, open/closed, a period of the reporting date; merged reports are never counted.

One statement per tile, with no transform per report (a z12 tile of the city centre holds ~800k of a million):
- the tile's box is turned into the city's CRS in Python (tile_frame: a grid of points transformed once with pyproj),
  with an affine map from the city's CRS to Web Mercator fitted on it and a bound `eps` of its error; each report's
  Web Mercator place is that map applied to ST_X/ST_Y of its stored `public_geom` (plain arithmetic), and only the
  few reports within `eps` of the tile's edge (or outside the fitted box) are transformed exactly, so which tile a
  report counts in is exact while its cell is placed to within `eps` (a metre or two at z12: an approximation that
  is fine for clusters, whose cells are over a kilometre wide there);
- up to SQUARES_MAX_ZOOM (the zooms the map draws clusters at), the part of the tile made of whole 100 m squares of
  the city's CRS is read from reports_cluster_cell (reports migration 0003: counts and coordinate sums per square,
  category and open/closed, kept by a trigger on reports_report), and only the reports in four strips along the
  tile's edges from reports_report itself. A square goes wholly to the cell of its reports' mean place (again an
  approximation fine for clusters: cells are 300 m and more at z14). The table has no dates: with a period
  (`from`/`to`) every zoom counts report by report (exact to the day, slower at low zoom);
- count per cell and category, then per cell (a second aggregate over at most 64 × categories rows) the total, the
  mean place and the most frequent category; the tile's numbers are parameters: of an unprepared statement below
  PREPARED_MIN_ZOOM, so the planner sees the real box (no CTE-hidden envelope guessed at 97 rows), and of a prepared
  one from it, where the generic plan is the same and planning would be a fixed cost of every tile.
Tiles are cached in the "tiles" cache under the reports layer's data version and the filters, like the layers' tiles
(layers/tiles.py). bench/reports.py measures them."""

import datetime as dt
import functools
import hashlib
import math
import time

from django.core.cache import caches
from django.db import connection
from django.utils import timezone
import numpy as np

from common import geo, municipality
from common.db import prepared_fetchone
from layers import tiles, versions
from reports import workflow

LAYER_NAME = "clusters"
CELLS = 8  # cells per tile side: 32 px cells on 256 px tiles
CELL = tiles.EXTENT // CELLS

OPEN = sorted(workflow.OPEN)
VISIBLE_CLOSED = sorted(set(workflow.STATUSES) - workflow.OPEN - {workflow.MERGED})


@functools.lru_cache(maxsize=128)  # a few dozen texts (one per set of filters), made once each
def cluster_sql(*, categories: bool, status: str | None, start: bool, end: bool, cells: bool = False,
                months: bool = False, months_end: bool = False) -> str:
    """The statement for one set of filters (each set is its own statement text: no `OR param IS NULL`); `cells`:
    read the tile's inner part from reports_cluster_cell (cluster_params says when: its "cells" parameter);
    `months` (with a period): from reports_cluster_month instead, the period's whole UTC months (from "m0", to
    "m1" when `months_end`) as sums and its partial months' reports one by one.

    Every number of the tile (its box, the search box in the city's CRS, the affine map and the band width) comes
    from cluster_params as a parameter; below PREPARED_MIN_ZOOM the statement is unprepared, so PostgreSQL plans it
    with the real values (the GiST index's estimate of the reports in the box: a hash aggregate for a city of
    reports, no sort); from it, prepared (render)."""
    filters = ["r.status <> 'merged'"]
    if categories:
        filters.append("r.category_id = ANY(%(categories)s)")
    if status == "open":
        filters.append("r.status = ANY(%(open)s)")
    elif status == "closed":
        filters.append("r.status = ANY(%(closed)s)")
    period = []
    if start:
        period.append("r.created_at >= %(start)s")
    if end:
        period.append("r.created_at < %(end)s")
    inner = (f"floor(ST_X(r.public_geom) / {GRID})::int BETWEEN %(gx0)s AND %(gx1)s"
             f" AND floor(ST_Y(r.public_geom) / {GRID})::int BETWEEN %(gy0)s AND %(gy1)s")
    if cells:  # only the reports outside the inner squares: four strips around them, through the GiST index
        strips = " OR ".join(f"r.public_geom && ST_MakeEnvelope(%(s{i}x0)s, %(s{i}y0)s, %(s{i}x1)s, %(s{i}y1)s, "
                             f"%(srid)s)" for i in range(4))
        branches = [[f"({strips})", f"NOT ({inner})", *filters, *period]]
        if months:  # and in the inner squares, the reports of the period's partial months (its first and last days)
            partial = "r.created_at >= %(start)s AND r.created_at < %(m0ts)s"
            if months_end:
                partial = f"({partial}) OR (r.created_at >= %(m1ts)s AND r.created_at < %(end)s)"
            branches.append(["r.public_geom && ST_MakeEnvelope(%(ix0)s, %(iy0)s, %(ix1)s, %(iy1)s, %(srid)s)",
                             inner, *filters, f"({partial})"])
    else:
        branches = [["r.public_geom && ST_MakeEnvelope(%(lx0)s, %(ly0)s, %(lx1)s, %(ly1)s, %(srid)s)", *filters,
                     *period]]
    near = ("a.u < %(x0)s + %(eps)s OR a.u >= %(x1)s - %(eps)s OR a.v <= %(y0)s + %(eps)s OR "
            "a.v > %(y1)s - %(eps)s")
    outside = ("a.u < %(x0)s - %(eps)s OR a.u >= %(x1)s + %(eps)s OR a.v <= %(y0)s - %(eps)s OR "
               "a.v > %(y1)s + %(eps)s")
    affine = ("%(u0)s + %(ux)s * ({x} - %(cx)s) + %(uy)s * ({y} - %(cy)s)",
              "%(v0)s + %(vx)s * ({x} - %(cx)s) + %(vy)s * ({y} - %(cy)s)")
    squares = ""
    if cells:
        cell_where = ["c.gx BETWEEN %(gx0)s AND %(gx1)s", "c.gy BETWEEN %(gy0)s AND %(gy1)s", "c.n > 0"]
        if categories:
            cell_where.append("c.category_id = ANY(%(categories)s)")
        if status in ("open", "closed"):
            cell_where.append("c.open" if status == "open" else "NOT c.open")
        table = "reports_cluster_cell"
        if months:
            table = "reports_cluster_month"
            cell_where.append("c.month >= %(m0)s")
            if months_end:
                cell_where.append("c.month < %(m1)s")
        mean = {"x": "(c.sx / c.n)", "y": "(c.sy / c.n)"}
        source = f"{table} c WHERE {' AND '.join(cell_where)}"
        if months:  # a square's months summed first: the affine map and the cells then see one row per square
            source = (f"(SELECT c.category_id, sum(c.n) AS n, sum(c.sx) AS sx, sum(c.sy) AS sy FROM {source} "
                      f"GROUP BY c.gx, c.gy, c.category_id) c")
        squares = f"""
            UNION ALL  -- the inner squares, wholly inside the tile: their sums (mean place by the affine map)
            SELECT c.category_id, {affine[0].format(**mean)}, {affine[1].format(**mean)}, c.n
            FROM {source}"""
    place = {"x": "ST_X(r.public_geom)", "y": "ST_Y(r.public_geom)"}
    reports = " UNION ALL ".join(f"""
            SELECT r.category_id, r.public_geom AS g,
                   {affine[0].format(**place)} AS u, {affine[1].format(**place)} AS v,
                   NOT (ST_X(r.public_geom) BETWEEN %(fx0)s AND %(fx1)s
                        AND ST_Y(r.public_geom) BETWEEN %(fy0)s AND %(fy1)s)
                       AS unfitted  -- outside the box the map was fitted on: transformed exactly
            FROM reports_report r
            WHERE {" AND ".join(where)}""" for where in branches)
    return f"""
        WITH approx AS (  -- Web Mercator by an affine map of the stored coordinates: no transform per report
            {reports}
            OFFSET 0  -- not flattened: u and v computed once per report
        ),
        found AS (
            -- within `eps` of the tile's edge the affine map may put a report on the wrong side: those few are
            -- transformed exactly; the rest keep the affine place (its error is far below a cell, and whether a
            -- report is in the tile is decided by exact coordinates)
            SELECT b.category_id, coalesce(ST_X(b.m), b.u) AS mx, coalesce(ST_Y(b.m), b.v) AS my, 1 AS n
            FROM (SELECT a.category_id, a.u, a.v,
                         CASE WHEN a.unfitted OR (NOT ({outside}) AND ({near})) THEN ST_Transform(a.g, 3857)
                         END AS m
                  FROM approx a
                  OFFSET 0) b{squares}
        ),
        per AS (  -- reports per cell and category (cell NULL: not in the tile): a hash aggregate, no sort
            SELECT CASE WHEN inside THEN floor((f.mx - %(x0)s) * %(scale)s)::int END AS cx,
                   CASE WHEN inside THEN floor((%(y1)s - f.my) * %(scale)s)::int END AS cy,
                   f.category_id, sum(f.n) AS n, sum(f.mx * f.n) AS sx, sum(f.my * f.n) AS sy
            -- half-open in both directions: a report on a tile's edge is counted in one tile only
            FROM (SELECT f.*, (f.mx >= %(x0)s AND f.mx < %(x1)s AND f.my <= %(y1)s AND f.my > %(y0)s) AS inside
                  FROM found f) f
            GROUP BY 1, 2, 3
        ),
        cells AS (  -- one point per cell: its reports' mean place, their count, the most frequent category
            SELECT sum(n) AS count, sum(sx) / sum(n) AS mx, sum(sy) / sum(n) AS my,
                   (array_agg(category_id ORDER BY n DESC, category_id))[1] AS category_id
            FROM per WHERE cx IS NOT NULL GROUP BY cx, cy
        ),
        features AS (
            SELECT c.count::int AS count, k.code AS category, k.colour,
                   ST_AsMVTGeom(ST_SetSRID(ST_MakePoint(c.mx, c.my), 3857),
                                ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 3857), {tiles.EXTENT}, 0, false)
                       AS mvtgeom
            FROM cells c JOIN reports_category k ON k.id = c.category_id
        )
        SELECT ST_AsMVT(features.*, '{LAYER_NAME}', {tiles.EXTENT}, 'mvtgeom') FROM features
    """


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time()), municipality.time_zone())


R = 6378137.0  # Web Mercator's sphere
HALF = math.pi * R  # ST_TileEnvelope's bounds
SAMPLES = 9  # per side of the grid the affine map is fitted on
EDGE_SAMPLES = 33  # per edge of a tile, transformed to find its box in the city's CRS
GRID = 100.0  # metres: the squares of reports_cluster_cell (reports migration 0003: the same number)
SQUARES_MAX_ZOOM = 14  # up to this zoom (the map draws clusters below z15) the inner squares come from the table


def _mercator(lon: float, lat: float) -> tuple[float, float]:
    return R * math.radians(lon), R * math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


_BOX_SECONDS = 300
_box_cache: dict[tuple[str, int], tuple[float, tuple | None]] = {}


def _reports_box(srid: int) -> tuple[float, float, float, float] | None:
    """The reports' extent in Web Mercator, from the planner's statistics (ST_EstimatedExtent: cheap, may be a
    little out of date, None before the table was ever analysed), 2 km wider; kept for _BOX_SECONDS."""
    now = time.monotonic()
    key = (municipality.current().database, srid)  # each municipality's reports
    cached = _box_cache.get(key)
    if cached is not None and now - cached[0] < _BOX_SECONDS:
        return cached[1]
    with connection.cursor() as cursor:
        cursor.execute("SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) FROM (SELECT ST_Transform(ST_SetSRID("
                       "ST_Expand(ST_EstimatedExtent('reports_report', 'public_geom')::box2d, 2000), %s)::geometry, "
                       "3857) AS b) q", [srid])
        row = cursor.fetchone()
    box = tuple(row) if row and row[0] is not None else None
    _box_cache[key] = (now, box)
    return box


def tile_frame(z: int, x: int, y: int, *, squares: bool = False) -> dict | None:
    """_frame (below) for the tile, kept per tile and reports' extent: the same numbers every time the tile is asked
    (a few hundred points transformed and two least-squares fits, ~0.5 ms, are not redone); a copy."""
    srid = municipality.current().srid
    frame = _frame(z, x, y, squares, srid, geo.city_extent(), _reports_box(srid))
    return dict(frame) if frame is not None else None


@functools.lru_cache(maxsize=4096)
def _frame(z: int, x: int, y: int, squares: bool, srid: int, extent: tuple, known: tuple | None) -> dict | None:
    """The tile's box in Web Mercator and, over its part inside the city's extent, an affine map from the city's
    CRS to Web Mercator fitted on a grid of exactly transformed points, with `eps`: a bound on its error there
    (twice the largest error on the grid, plus a metre). None when the tile lies outside the city's extent (no
    report can be in it). `squares`: also the range of reports_cluster_cell squares wholly inside the tile (none:
    "cells" False) and four strips of the city's CRS that cover the rest of the search box.

    The map is what lets the statement place a million reports without a million transforms: between the tile's
    corners the two projections differ by a smooth, almost affine map (metres over a z12 tile, millimetres at z16),
    so the cell of a report comes from arithmetic on its stored coordinates; only the reports within `eps` of the
    tile's edge are transformed, so which tile a report counts in is exact."""
    side = 2 * HALF / 2**z
    x0, y1 = -HALF + x * side, HALF - y * side
    x1, y0 = x0 + side, y1 - side
    west, south, east, north = extent
    (ew, es), (ee, en) = _mercator(west, south), _mercator(east, north)
    dx0, dx1, dy0, dy1 = max(x0, ew), min(x1, ee), max(y0, es), min(y1, en)
    if dx0 >= dx1 or dy0 >= dy1:
        return None
    to_city = geo.transformer(3857, srid)
    # the map is fitted where the reports are (their estimated extent, with a margin), not over a whole CRS's area
    # (a z6 tile): reports outside the fitted box are transformed exactly
    fx0, fx1, fy0, fy1 = dx0, dx1, dy0, dy1
    if known is not None:
        fx0, fx1, fy0, fy1 = max(fx0, known[0]), min(fx1, known[2]), max(fy0, known[1]), min(fy1, known[3])
        if fx0 >= fx1 or fy0 >= fy1:
            fx0, fx1, fy0, fy1 = dx0, dx1, dy0, dy1
    grid = np.linspace(0.0, 1.0, SAMPLES)
    mu = (fx0 + (fx1 - fx0) * grid)[:, None].repeat(SAMPLES, 1).ravel()
    mv = (fy0 + (fy1 - fy0) * grid)[None, :].repeat(SAMPLES, 0).ravel()
    lx, ly = (np.asarray(c) for c in to_city.transform(mu, mv))
    cx, cy = float(lx.mean()), float(ly.mean())
    design = np.column_stack([np.ones_like(lx), lx - cx, ly - cy])
    (u0, ux, uy), *_ = np.linalg.lstsq(design, mu, rcond=None)
    (v0, vx, vy), *_ = np.linalg.lstsq(design, mv, rcond=None)
    error = float(np.max(np.hypot(design @ (u0, ux, uy) - mu, design @ (v0, vx, vy) - mv)))
    eps = 2 * error + 1.0

    def edges(shrink: float, box=(dx0, dx1, dy0, dy1)):
        """A Web Mercator box less `shrink`, its four edges in the city's CRS (EDGE_SAMPLES points each)."""
        t = np.linspace(0.0, 1.0, EDGE_SAMPLES)
        a0, a1, b0, b1 = box[0] + shrink, box[1] - shrink, box[2] + shrink, box[3] - shrink
        along_x, along_y = a0 + (a1 - a0) * t, b0 + (b1 - b0) * t
        return [tuple(np.asarray(c) for c in to_city.transform(*xy)) for xy in (
            (np.full_like(t, a0), along_y), (np.full_like(t, a1), along_y),
            (along_x, np.full_like(t, b0)), (along_x, np.full_like(t, b1)))]

    outer = edges(0.0)
    # the curvature of an edge between its samples: far below a metre on a city's tiles; a thousandth of the
    # sample spacing covers it on the tiles of a whole CRS's area (z6) too
    pad = eps + 1.0 + 1e-3 * max(dx1 - dx0, dy1 - dy0) / (EDGE_SAMPLES - 1)
    frame = {"x0": x0, "y0": y0, "x1": x1, "y1": y1, "scale": CELLS / side, "srid": srid,
             "cx": cx, "cy": cy, "u0": float(u0), "ux": float(ux), "uy": float(uy),
             "v0": float(v0), "vx": float(vx), "vy": float(vy), "eps": eps,
             # the search box in the city's CRS
             "lx0": min(float(e[0].min()) for e in outer) - pad, "ly0": min(float(e[1].min()) for e in outer) - pad,
             "lx1": max(float(e[0].max()) for e in outer) + pad, "ly1": max(float(e[1].max()) for e in outer) + pad,
             # the fitted box in the city's CRS, less eps
             "fx0": float(lx.min()) + eps, "fy0": float(ly.min()) + eps,
             "fx1": float(lx.max()) - eps, "fy1": float(ly.max()) - eps,
             "cells": False}
    if not squares:
        return frame
    # the largest box of the city's CRS inside the tile less eps (the image of a box turned by a small angle: its
    # left edge's largest x, its right edge's smallest x...), then the squares wholly inside it
    bend = 1e-3 * max(fx1 - fx0, fy1 - fy0) / (EDGE_SAMPLES - 1)  # as for `pad`
    left, right, bottom, top = edges(min(eps + 1.0 + bend, (fx1 - fx0) / 4, (fy1 - fy0) / 4), (fx0, fx1, fy0, fy1))
    gx0, gx1 = math.ceil(float(left[0].max()) / GRID), math.floor(float(right[0].min()) / GRID) - 1
    gy0, gy1 = math.ceil(float(bottom[1].max()) / GRID), math.floor(float(top[1].min()) / GRID) - 1
    if gx0 > gx1 or gy0 > gy1:
        return frame
    ax0, ax1, ay0, ay1 = gx0 * GRID + 1, (gx1 + 1) * GRID - 1, gy0 * GRID + 1, (gy1 + 1) * GRID - 1
    lx0, lx1, ly0, ly1 = frame["lx0"], frame["lx1"], frame["ly0"], frame["ly1"]
    strips = ((lx0, ly0, ax0, ly1), (ax1, ly0, lx1, ly1), (lx0, ly0, lx1, ay0), (lx0, ay1, lx1, ly1))
    for i, (sx0, sy0, sx1, sy1) in enumerate(strips):
        frame.update({f"s{i}x0": sx0, f"s{i}y0": sy0, f"s{i}x1": sx1, f"s{i}y1": sy1})
    frame.update(cells=True, gx0=gx0, gx1=gx1, gy0=gy0, gy1=gy1)
    return frame


def month_split(start: dt.date | None, end: dt.date | None) -> dict | None:
    """A period (local days, `end` included) split at UTC month starts: {"m0": the first whole month, "m1": the
    month after the last whole one (None: no end), "m0ts"/"m1ts": when they start}. None when the period holds no
    whole month (or there is no period): then it is counted report by report."""
    if start is None:
        return None
    start_ts = _day_start(start)
    utc = start_ts.astimezone(dt.timezone.utc)
    m0 = dt.date(utc.year, utc.month, 1)
    if utc != dt.datetime(m0.year, m0.month, 1, tzinfo=dt.timezone.utc):
        m0 = _next_month(m0)
    m1 = None
    if end is not None:
        end_utc = _day_start(end + dt.timedelta(days=1)).astimezone(dt.timezone.utc)
        m1 = dt.date(end_utc.year, end_utc.month, 1)
        if m1 <= m0:
            return None
    at = lambda month: dt.datetime(month.year, month.month, 1, tzinfo=dt.timezone.utc)  # noqa: E731
    return {"m0": m0, "m1": m1, "m0ts": at(m0), "m1ts": at(m1) if m1 else None}


def _next_month(month: dt.date) -> dt.date:
    return dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)


def cluster_params(z: int, x: int, y: int, *, categories=(), status=None, start: dt.date | None = None,
                   end: dt.date | None = None) -> dict | None:
    """The statement's parameters, or None when the tile is outside the city's extent (an empty tile). At zoom
    SQUARES_MAX_ZOOM and below, "cells" is True where the tile holds whole squares of reports_cluster_cell
    (cluster_sql(cells=...)); with a period, "months" where it also holds a whole UTC month (reports_cluster_month:
    month_split), else the period is counted report by report. A period without a start (`to` only) counts from the
    first month of the table."""
    months = month_split(start or (dt.date(1970, 1, 2) if end else None), end)
    period = start is not None or end is not None
    frame = tile_frame(z, x, y, squares=z <= SQUARES_MAX_ZOOM and (not period or months is not None))
    if frame is None:
        return None
    params = {**frame, "categories": list(categories), "open": OPEN, "closed": VISIBLE_CLOSED,
              "start": _day_start(start) if start else None,
              "end": _day_start(end + dt.timedelta(days=1)) if end else None, "months": False, "months_end": False}
    if frame["cells"] and months is not None:
        params.update(months, months=True, months_end=months["m1"] is not None,
                      ix0=frame["gx0"] * GRID, iy0=frame["gy0"] * GRID, ix1=(frame["gx1"] + 1) * GRID,
                      iy1=(frame["gy1"] + 1) * GRID)
        if params["start"] is None:
            params["start"] = months["m0ts"]  # `to` only: the partial month before m0 is none (1970)
    elif period:
        params["cells"] = False
    return params


def statement(params: dict, *, categories: bool, status: str | None) -> str:
    """cluster_sql for the parameters cluster_params made."""
    return cluster_sql(categories=categories, status=status, start=params["start"] is not None,
                       end=params["end"] is not None, cells=params["cells"], months=params["months"],
                       months_end=params["months_end"])


# From this zoom the tile's statement is a server-side prepared statement (common.db.prepared_fetchone) and runs
# its generic plan: its few thousand reports are aggregated by the same plan PostgreSQL makes for the real numbers
# (bitmap scans of the strips and squares, a sort of a few thousand rows), and planning it (1-2 ms, measured on the
# 1M-parcel city) was a fixed cost of every tile, 2-4 % of a z14 tile. Below it a tile holds tens of thousands of
# squares and reports and the plan made for its real box counts them in a hash aggregate, where the generic plan
# (the box's rows guessed at a few hundred) would sort them: planning is under 1 % of such a tile.
PREPARED_MIN_ZOOM = 13


def render(layer, z: int, x: int, y: int, *, categories=(), status=None, start=None, end=None) -> tuple[int, bytes]:
    """The cluster tile and the reports layer's data version it was made from, in one statement: prepared from
    PREPARED_MIN_ZOOM, planned for the tile's own numbers below it."""
    params = cluster_params(z, x, y, categories=categories, status=status, start=start, end=end)
    if params is None:
        return versions.layer_version(layer), b""
    sql = f"SELECT {versions.version_sql(layer)}, ({statement(params, categories=bool(categories), status=status)})"
    # below PREPARED_MIN_ZOOM the values are bound on the client: sent as parameters, even unprepared, the statement
    # would get the generic plan the serving connections force (plan_cache_mode), which sorts the box's squares
    version, data = prepared_fetchone(sql, params, binary=True, prepare=z >= PREPARED_MIN_ZOOM)
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
