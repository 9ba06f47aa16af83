"""Mapbox vector tiles made in PostGIS (ST_AsMVT) for the registered layers.

Raw SQL because the ORM cannot express ST_AsMVT. The tile envelope is transformed into the municipality's CRS once
per tile (never the table, whose spatial index must stay usable; PERFORMANCE.md); geometry is simplified to the
tile's resolution below zoom 17, and every tile carries at most the layer's tile_max_features features.
"""

import hashlib
import math

from django.conf import settings
from django.db import connection

from gis_portal.db import prepared_fetchone
from layers.registry import Layer

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
    cols = "".join(f"{c}, " for c in layer.tile_columns(z))
    return f"""
        WITH env AS (
            SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS tile,
                   ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => %(margin)s), %(srid)s) AS local
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


def tile_params(layer: Layer, z: int, x: int, y: int) -> dict:
    return {
        "z": z, "x": x, "y": y, "margin": BUFFER / EXTENT, "srid": settings.MUNICIPALITY_SRID,
        "tol": simplify_tolerance(z), "cap": layer.tile_max_features, "name": layer.name, "table": layer.table,
    }


def render_tile(layer: Layer, z: int, x: int, y: int) -> bytes:
    data = prepared_fetchone(tile_sql(layer, z), tile_params(layer, z, x, y))[0]
    return bytes(data) if data is not None else b""


def render_tile_with_version(layer: Layer, z: int, x: int, y: int) -> tuple[int, bytes]:
    """The tile and the data version it was made from, in one statement (one round trip, one snapshot)."""
    sql = (f"SELECT coalesce((SELECT version FROM layers_tableversion WHERE table_name = %(table)s), 0), "
           f"({tile_sql(layer, z)})")
    version, data = prepared_fetchone(sql, tile_params(layer, z, x, y))
    return version, bytes(data) if data is not None else b""


def cache_key(layer: Layer, version: int | str, z: int, x: int, y: int) -> str:
    return f"{layer.name}:{version}:{z}/{x}/{y}"


def layer_version(layer: Layer) -> int:
    """The layer table's data version, bumped by a statement trigger on every write (layers migration 0002)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT version FROM layers_tableversion WHERE table_name = %s", [layer.table])
        row = cursor.fetchone()
    return row[0] if row else 0


def layer_versions(layers) -> dict[str, int]:
    """The data version of every given layer, in one query."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_name, version FROM layers_tableversion")
        by_table = dict(cursor.fetchall())
    return {layer.name: by_table.get(layer.table, 0) for layer in layers}


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
