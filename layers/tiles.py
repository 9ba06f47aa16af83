"""Mapbox vector tiles made in PostGIS (ST_AsMVT) for the registered layers.

Raw SQL because the ORM cannot express ST_AsMVT. The tile envelope is clipped to the city's extent (common.geo: a
tile anywhere on Earth is answered, empty far from the city) and transformed into the municipality's CRS once
per tile (never the table, whose spatial index must stay usable; PERFORMANCE.md); geometry is simplified to the
tile's resolution below zoom 17, and every tile carries at most the layer's tile_max_features features.
"""

import hashlib
import math
from typing import NamedTuple

from django.core.cache import caches

from common import geo, municipality
from common.db import prepared_fetchone, read_connection
from layers import versions
from layers.registry import Layer

MAX_CACHED_TILE = 1_000_000  # bytes; the cache holds TILE_CACHE_ENTRIES tiles per process
EXTENT = 4096  # tile coordinate grid
BUFFER = 64  # grid units drawn beyond the tile edge, so lines and outlines join across tiles
WEB_MERCATOR_WIDTH = 40075016.685578488
MAX_ZOOM = 22


def tile_in_range(z: int, x: int, y: int) -> bool:
    return 0 <= z <= MAX_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z


def simplify_tolerance(z: int) -> float:
    """Half a tile-grid cell in metres at zoom z (details smaller than that vanish in the tile anyway); none from
    zoom 17, where parcels are drawn as surveyed."""
    if z >= 17:
        return 0.0
    return WEB_MERCATOR_WIDTH / (EXTENT * 2**z) / 2


def tile_sql(layer: Layer, z: int) -> str:
    if layer.overview is not None and (band := layer.overview.band(z)) is not None:
        return overview_tile_sql(layer, z, band)
    cols = "".join(f"{c}, " for c in layer.tile_columns(z))
    return f"""
        WITH env AS MATERIALIZED (  -- made once per tile: inlined, a generic plan would remake it per row
            SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS tile,
                   -- clipped to the city's extent before the transform (common.geo): a tile far from the city is an
                   -- empty box, not "Point outside of projection domain"
                   ST_Transform(ST_ClipByBox2D(
                       ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => %(margin)s), 4326),
                       ST_MakeEnvelope(%(west)s, %(south)s, %(east)s, %(north)s)::box2d), %(srid)s) AS local
        ),
        features AS (
            SELECT * FROM (
                SELECT {cols}ST_AsMVTGeom(
                           ST_Transform(CASE WHEN %(tol)s > 0 THEN ST_Simplify(t.geom, %(tol)s, true) ELSE t.geom END,
                                        3857),
                           env.tile, {EXTENT}, {BUFFER}, true) AS mvtgeom
                FROM "{layer.table}" t, env
                WHERE t.geom && env.local
            ) clipped
            WHERE mvtgeom IS NOT NULL  -- a box that overlaps but a shape that does not: not a feature of the tile
            LIMIT %(cap)s
        )
        SELECT ST_AsMVT(features.*, %(name)s, {EXTENT}, 'mvtgeom') FROM features
    """


def overview_tile_sql(layer: Layer, z: int, band: int) -> str:
    """The tile from the layer's generalised copy (registry.Overview): already in EPSG:3857 and simplified for the
    band, so nothing is transformed or simplified per row, and no clipping to the city is needed (the copy holds
    only the city). The band is written into the SQL, so its partial spatial index serves a generic plan too. Rows
    are found with the tile's box narrowed by two grid cells (the index compares single-precision boxes): a copy cut
    along the tiles of its band (the land-use mosaic) gives no row of a neighbouring tile; rows are drawn in id
    order (the copy decides what lies under what)."""
    overview = layer.overview
    cols = "".join(f't."{c}", ' for c in overview.columns)
    return f"""
        WITH env AS MATERIALIZED (
            SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS tile,
                   ST_Expand(ST_TileEnvelope(%(z)s, %(x)s, %(y)s), -2 * {WEB_MERCATOR_WIDTH} / 2^%(z)s / {EXTENT}) AS inner
        ),
        features AS (
            SELECT * FROM (
                SELECT {cols}ST_AsMVTGeom(t.geom, env.tile, {EXTENT}, {BUFFER}, true) AS mvtgeom
                FROM "{overview.table}" t, env
                WHERE t.band = {int(band)} AND t.geom && env.inner
                ORDER BY t.id
            ) clipped
            WHERE mvtgeom IS NOT NULL
            LIMIT %(cap)s
        )
        SELECT ST_AsMVT(features.*, %(name)s, {EXTENT}, 'mvtgeom') FROM features
    """


def tile_params(layer: Layer, z: int, x: int, y: int) -> dict:
    west, south, east, north = geo.city_extent()
    return {
        "z": z, "x": x, "y": y, "margin": BUFFER / EXTENT, "srid": municipality.current().srid,
        "west": west, "south": south, "east": east, "north": north,
        "tol": simplify_tolerance(z), "cap": layer.tile_max_features, "name": layer.name, "table": layer.table,
    }


def render_tile(layer: Layer, z: int, x: int, y: int) -> bytes:
    data = prepared_fetchone(tile_sql(layer, z), tile_params(layer, z, x, y), binary=True)[0]
    return bytes(data) if data is not None else b""


def render_tile_with_version(layer: Layer, z: int, x: int, y: int) -> tuple[int, bytes]:
    """The tile and the tile's data version it was made from, in one statement (one round trip, one snapshot)."""
    sql = f"SELECT {versions.tile_version_sql(layer, z)}, ({tile_sql(layer, z)})"
    params = {**tile_params(layer, z, x, y), **versions.tile_version_params(z, x, y)}
    version, data = prepared_fetchone(sql, params, binary=True)
    return version, bytes(data) if data is not None else b""


def cache_key(layer: Layer, version: int | str, z: int, x: int, y: int) -> str:
    return f"{layer.name}:{version}:{z}/{x}/{y}"


def layer_version(layer: Layer) -> int:
    """The layer's data version: it follows every table the layer reads (layers/versions.py)."""
    return versions.layer_version(layer, read_connection().alias)  # the server the tile is read from


def tile_version(layer: Layer, z: int, x: int, y: int) -> int:
    """The data version of one tile: it changes only with edits that touch the tile (layers/versions.py)."""
    return versions.tile_version(layer, z, x, y, read_connection().alias)  # the server the tile is read from


def layer_versions(layers) -> dict[str, int]:
    """The data version of every given layer, in one query."""
    return versions.layer_versions(layers, read_connection().alias)


def etag(layer: Layer, version: int, z: int, x: int, y: int) -> str:
    digest = hashlib.sha1(f"{layer.name}:{version}:{z}/{x}/{y}".encode()).hexdigest()[:20]
    return f'"{digest}"'


def lonlat_to_tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The tile (x, y) containing a point, in the XYZ scheme."""
    n = 2**z
    x = int((lon + 180.0) / 360.0 * n)
    lat_r = math.radians(lat)
    y = int((1.0 - math.asinh(math.tan(lat_r)) / math.pi) / 2.0 * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


class Answer(NamedTuple):
    """What to send for a tile request: status (200, 204 above the layer's zoom range, 304), body, headers."""
    status: int
    body: bytes
    headers: list[tuple[str, str]]


def answer(layer: Layer, z: int, x: int, y: int, requested: str, if_none_match: str | None) -> Answer:
    """The answer to a request for tile z/x/y of a layer the request may see (the caller checks access and range).

    `requested` is the ?v= of the URL: with the tile's current data version (layers/versions.py: it changes only
    with edits that touch the tile) the response may be cached forever, by browsers and by the shared cache in front
    (deploy/nginx); the map builds such URLs from /api/layers/tile-versions. Any other ?v= (none, an old one, the
    layer's version) is answered with the current tile, revalidated with its ETag, which changes when the tile's data
    does: no redirect, which would cost every such client (QGIS, TileJSON readers) a second round trip per tile.
    Tiles made are kept in the "tiles" cache under (layer, tile version, z/x/y): an edit over the tile bumps its
    version, so a cached tile is never served for data that changed since. A versioned URL whose tile is cached is
    answered without touching the database (cached_answer); otherwise the tile and its version come from one
    statement. Tiles of layers that are not public are `private`: no shared cache keeps them."""
    return cached_answer(layer, z, x, y, requested, if_none_match) or \
        database_answer(layer, z, x, y, requested, if_none_match)


def cached_answer(layer: Layer, z: int, x: int, y: int, requested: str, if_none_match: str | None) -> Answer | None:
    """The answer from the tile cache alone, for a versioned URL whose tile is cached; None if it needs the database."""
    # a version is a bigint: a longer ?v= is no version (and int() of thousands of digits would raise)
    if z < layer.tile_min_zoom or not layer.versioned or not requested.isdigit() or len(requested) > 19 \
            or if_none_match:
        return None
    data = caches["tiles"].get(cache_key(layer, int(requested), z, x, y))
    return None if data is None else _answer(layer, z, x, y, int(requested), data, requested)


def database_answer(layer: Layer, z: int, x: int, y: int, requested: str, if_none_match: str | None) -> Answer:
    """The answer that needs the layer's current data version (and the tile, unless the cache or the client has it)."""
    cache = caches["tiles"]
    if z < layer.tile_min_zoom:
        return _answer(layer, z, x, y, tile_version(layer, z, x, y), None, requested)
    version = tile_version(layer, z, x, y) if if_none_match else None
    if version is not None and if_none_match == etag(layer, version, z, x, y):
        data = None  # 304: the client has it
    elif version is not None and (hit := cache.get(cache_key(layer, version, z, x, y))) is not None:
        data = hit
    else:
        version, data = render_tile_with_version(layer, z, x, y)
        if layer.versioned and len(data) <= MAX_CACHED_TILE:  # a view has no data version: never cached
            cache.set(cache_key(layer, version, z, x, y), data)
    return _answer(layer, z, x, y, version, data, requested)


def _answer(layer: Layer, z: int, x: int, y: int, version: int, data: bytes | None, requested: str) -> Answer:
    headers = [("ETag", etag(layer, version, z, x, y)), ("X-Layer-Version", str(version)),
               ("Cache-Control", ("public" if layer.is_public else "private")
                + (", max-age=31536000, immutable" if requested == str(version) else ", max-age=0, must-revalidate"))]
    if z < layer.tile_min_zoom:
        return Answer(204, b"", headers)
    if data is None:
        return Answer(304, b"", headers)
    return Answer(200, data, [("Content-Type", "application/vnd.mapbox-vector-tile"), *headers])
