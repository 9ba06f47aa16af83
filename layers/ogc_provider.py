"""The data side of the OGC API – Features (layers/ogc.py holds the protocol), as pygeoapi splits provider from API:
the SQL for a layer's extent, a query's count, a page of features and one feature, as functions over plain
arguments (a registry layer, a Query, numbers). Nothing here reads a request or knows a URL.

Raw SQL because pages are built in PostGIS (json_agg + ST_AsGeoJSON is 5-10× faster than serialising in Python,
PERFORMANCE.md); the bbox is transformed once to the table's CRS so the spatial index is used, never the table, and
a feature matches it when its geometry intersects it.
"""

import hashlib
import json
from dataclasses import dataclass
from typing import NamedTuple

from django.core.cache import cache

from common import geo, municipality
from common.db import prepared_fetchone, read_connection
from layers import tiles, versions
from layers.registry import Layer


@dataclass(frozen=True)
class Query:
    """What a request selects, already checked: a box (x/y order, in bbox_srid: WGS84 longitude/latitude already
    clipped to the city's extent by common.geo.clip_box, or the municipality's own CRS), or `nothing` (a box wholly
    outside the city), and field = value filters (the values in the field's type)."""

    bbox: tuple[float, float, float, float] | None = None
    bbox_srid: int = 4326
    filters: tuple[tuple[str, object], ...] = ()
    nothing: bool = False


class Page(NamedTuple):
    features: str  # a JSON array of GeoJSON features, as PostGIS made it
    returned: int
    last_id: int | None
    more: bool  # whether features follow the page
    version: int  # the layer table's data version, read in the same statement
    matched: int | None = None  # the query's count, when the statement was asked for it (count=True)


def extent(layer: Layer) -> list[float] | None:
    """The layer's extent in longitude/latitude, cached by its data version."""
    key = f"ogc-extent:{layer.name}:{tiles.layer_version(layer)}"
    value = cache.get(key)
    if value is None:
        with read_connection().cursor() as cursor:
            cursor.execute(
                f'SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Transform(ST_SetSRID('
                f'ST_Extent(geom)::geometry, %s), 4326) AS e FROM "{layer.table}") x', [municipality.current().srid])
            row = cursor.fetchone()
        value = [round(v, 6) for v in row] if row and row[0] is not None else []
        cache.set(key, value, 3600)
    return value or None


def _where(layer: Layer, query: Query) -> tuple[str, list]:
    """The SQL conditions of a query and their parameters (" WHERE ..." or "")."""
    where, params = [], []
    if query.nothing:
        where.append("FALSE")
    elif query.bbox is not None:
        # Features whose geometry intersects the box, as OGC API – Features requires (not only their bounding
        # box: an L-shaped parcel beside the box is no match); ST_Intersects makes the index test (&&) itself.
        if query.bbox_srid == municipality.current().srid:
            box, box_params = "ST_MakeEnvelope(%s, %s, %s, %s, %s)", [*query.bbox, query.bbox_srid]
        else:
            box, box_params = geo.box_sql(query.bbox)
        where.append(f"ST_Intersects(t.geom, {box})")
        params += box_params
    for name, value in query.filters:
        where.append(f"{layer.field(name).sql} = %s")
        params.append(value)
    return (" WHERE " + " AND ".join(where)) if where else "", params


def data_version_sql(layer: Layer, query: Query) -> str:
    """An SQL expression: the data version of what a query can see, for keys of cached pages and counts. For a query
    in a WGS84 box, the per-tile version (layers/versions.py) of the edit regions under the box (a feature that
    matches the box lies over one of them, before and after an edit), so an edit elsewhere in the city leaves the
    box's pages cached; otherwise the layer's version. The region numbers are written into the text (integers made
    here), so the expression also fits a statement with positional parameters (a page's)."""
    if query.nothing or query.bbox is None or query.bbox_srid != 4326:
        return versions.version_sql(layer)
    west, south, east, north = query.bbox
    zr = versions.edit_zoom()
    x0, y0 = tiles.lonlat_to_tile(west, north, zr)
    x1, y1 = tiles.lonlat_to_tile(east, south, zr)
    sql = versions.tile_version_sql(layer)
    for name, value in (("tv_x0", x0), ("tv_x1", x1), ("tv_y0", y0), ("tv_y1", y1)):
        sql = sql.replace(f"%({name})s", str(int(value)))
    return sql


def data_version(layer: Layer, query: Query) -> int:
    """The data version of what a query can see (data_version_sql), read on the server the page is read from, before
    the data it keys (a write in between gives the kept data a key that is already old: never a stale answer)."""
    return prepared_fetchone(f"SELECT {data_version_sql(layer, query)}", [], prepare=False)[0]


def _count_key(layer: Layer, query: Query, version: int) -> str:
    where, params = _where(layer, query)
    return "ogc-count:" + hashlib.sha1(f"{layer.name}:{version}:{where}:{params}".encode()).hexdigest()


def cached_count(layer: Layer, query: Query, version: int) -> int | None:
    """The query's count kept under the layer's data version `version`, if any."""
    return cache.get(_count_key(layer, query, version)) if layer.versioned else None


def number_matched(layer: Layer, query: Query, version: int, counted: int | None = None) -> int | None:
    """The exact count of a query, cached until the layer's data version changes; `counted` is the count a page
    statement made at that version (Page.matched), kept for the next pages."""
    if not layer.versioned:
        return None  # a view without a data version: a cached count could go stale
    key = _count_key(layer, query, version)
    if counted is not None:
        cache.set(key, counted, 24 * 3600)
        return counted
    count = cache.get(key)
    if count is None:
        where, params = _where(layer, query)
        with read_connection().cursor() as cursor:
            cursor.execute(f'SELECT count(*) FROM "{layer.table}" t{where}', params)
            count = cursor.fetchone()[0]
        cache.set(key, count, 24 * 3600)
    return count


def features_sql(layer: Layer, where: str, srid: int, lat_first: bool, *, after: bool = False,
                 count: bool = False, version: str | None = None) -> str:
    """A page of features as GeoJSON text made in PostGIS, ordered by id, and (returned, last id, more after it,
    the data version `version` (an SQL expression; default: the layer's), the count of the `where` or NULL): one
    round trip.
    Parameters: the where clause's, then with `after` the id the page starts after, then limit + 1, offset, limit
    (one row more than the page tells whether a next page exists without a count).

    The page's ids are chosen first and only they are read whole and encoded: the bbox test runs on each candidate
    once, and nothing of the candidates that do not make the page is read. With `count` the ids matching `where` are
    kept (MATERIALIZED) and counted in the same statement, instead of a second statement testing every candidate
    again (numberMatched of a page never asked before). Without it PostgreSQL may walk the id index instead, which is
    what a box holding most of the city wants: so the statement is planned for its values (prepare=False)."""
    digits = 7 if srid == 4326 else 2
    geom = f"ST_Transform(t.geom, {int(srid)})"
    # Named fields, not to_jsonb(row) minus the geometry: that would encode every geometry as hex only to drop it.
    properties = ", ".join(f"'{f.name}', hits.{f.name}" for f in layer.fields)
    if lat_first:
        geom = f"ST_FlipCoordinates({geom})"
    after_sql = ' WHERE "__pid" > %s' if after else ""
    if count:
        ids = f"""matched AS MATERIALIZED (SELECT t.id AS "__pid" FROM "{layer.table}" t{where}),
        ids AS (SELECT "__pid" FROM matched{after_sql} ORDER BY "__pid" LIMIT %s OFFSET %s)"""
        counted = "(SELECT count(*) FROM matched)"
    else:
        where_after = where + ((" AND" if where else " WHERE") + " t.id > %s" if after else "")
        ids = f"""ids AS (SELECT t.id AS "__pid" FROM "{layer.table}" t{where_after}
                ORDER BY t.id LIMIT %s OFFSET %s)"""
        counted = "NULL::bigint"
    return f"""
        WITH {ids},
        hits AS (
            SELECT {", ".join(layer.columns)}, t.id AS "__fid",
                   ST_AsGeoJSON({geom}, {digits}) AS "__geometry"
            FROM (SELECT "__pid" FROM ids ORDER BY "__pid" LIMIT %s) page
            JOIN "{layer.table}" t ON t.id = page."__pid"
        )
        SELECT COALESCE(json_agg(json_build_object(
            'type', 'Feature', 'id', hits."__fid",
            'geometry', hits."__geometry"::json,
            'properties', json_build_object({properties})
        ) ORDER BY hits."__fid"), '[]'::json)::text, count(*), max(hits."__fid"),
        (SELECT count(*) FROM ids) > count(*),
        {version or versions.version_sql(layer)}, {counted}
        FROM hits
    """


def page(layer: Layer, query: Query, *, srid: int, lat_first: bool, limit: int, offset: int = 0,
         after: int | None = None, count: bool = False) -> Page:
    """Up to `limit` features of the query in the CRS `srid`, after `offset` features or after the id `after`
    (keyset paging: a deep page costs what the first one does); with `count`, the query's count too (Page.matched).
    One statement, planned for its values, on the connection without Django's cursor (common.db)."""
    where, params = _where(layer, query)
    if after is not None:
        params = [*params, after]
    sql = features_sql(layer, where, srid, lat_first, after=after is not None, count=count,
                       version=data_version_sql(layer, query))
    features, returned, last_id, more, version, matched = prepared_fetchone(
        sql, [*params, limit + 1, offset, limit], prepare=False)
    return Page(features, returned, last_id, more, version or 0, matched)


def item(layer: Layer, fid: int, *, srid: int, lat_first: bool) -> dict | None:
    """One feature as a GeoJSON dict, or None."""
    with read_connection().cursor() as cursor:
        cursor.execute(features_sql(layer, " WHERE t.id = %s", srid, lat_first), [fid, 1, 0, 1])
        features, returned, *_ = cursor.fetchone()
    return json.loads(features)[0] if returned else None
