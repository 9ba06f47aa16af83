"""GeoJSON of a layer inside a bounding box, built in PostGIS (ST_AsGeoJSON + json_agg is 5-10× faster than
serialising in Python, PERFORMANCE.md). The bbox is clipped to the city's extent (common.geo) and transformed once to
the municipality's CRS so the spatial index is used; the table is never transformed. Every response is capped."""


from common import geo, municipality
from common.db import read_connection
from layers.registry import Layer


EMPTY = '{"type" : "FeatureCollection", "features" : []}'


def features_in_bbox(layer: Layer, bbox: tuple[float, float, float, float], limit: int) -> tuple[str, bool]:
    """A FeatureCollection (JSON text) of at most `limit` features whose geometry intersects the WGS84 box (not only
    its bounding box), and whether more were left out. A box outside the city's extent finds nothing."""
    bbox = geo.clip_box(bbox)
    if bbox is None:
        return EMPTY, False
    box, box_params = geo.box_sql(bbox)
    cols = ", ".join(layer.columns)
    # properties named one by one: to_jsonb(row) - 'geom' would encode every geometry only to drop it
    props = ", ".join(f"'{f.name}', hits.\"{f.name}\"" for f in layer.fields)
    sql = f"""
        WITH env AS (SELECT {box} AS g),
        hits AS (
            SELECT {cols}, t.geom FROM "{layer.table}" t, env WHERE ST_Intersects(t.geom, env.g) LIMIT %s
        )
        SELECT json_build_object(
            'type', 'FeatureCollection',
            'features', COALESCE(json_agg(json_build_object(
                'type', 'Feature',
                'geometry', ST_AsGeoJSON(ST_Transform(hits.geom, 4326), 6)::json,
                'properties', json_build_object({props})
            )), '[]'::json)
        )::text, count(*)
        FROM hits
    """
    with read_connection().cursor() as cursor:
        cursor.execute(sql, [*box_params, limit + 1])
        text, count = cursor.fetchone()
    if count > limit:
        # One feature too many was fetched to know the answer was cut; fetch exactly `limit`.
        with read_connection().cursor() as cursor:
            cursor.execute(sql, [*box_params, limit])
            text, _ = cursor.fetchone()
        return text, True
    return text, False


def city_extent() -> dict:
    """The extent of the loaded city (longitude/latitude) and its counts, for the map's first view.

    Every page load asks for it, so it is kept in the cache under the parcels' data version: a full ST_Extent of a
    million parcels takes half a second."""
    from django.core.cache import cache

    from layers.registry import LAYERS
    from layers.tiles import layer_version

    key = f"city_extent:{municipality.current().srid}:{layer_version(LAYERS['parcels'])}"
    found = cache.get(key)
    if found is not None:
        return found
    with read_connection().cursor() as cursor:
        cursor.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM ("
            " SELECT ST_Transform(ST_SetSRID(ST_Extent(geom)::geometry, %s), 4326) AS e FROM parcels_parcel) x",
            [municipality.current().srid],
        )
        row = cursor.fetchone()
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = 'parcels_parcel'::regclass"
        )
        estimate = cursor.fetchone()[0]
    bbox = list(row) if row and row[0] is not None else None
    found = {"bbox": bbox, "parcels_estimate": max(int(estimate), 0)}
    cache.set(key, found, timeout=None)
    return found
