"""The documents app's SQL: the shapes of a parcel certificate's map.

Raw SQL because the road-widening strip is the SQL function road_widening_strip (parcels migration 0003, the one
definition the sheet, the overlay and the layer share), and the neighbours are a bounding-box search that PostGIS
answers from the parcels' spatial index."""

from __future__ import annotations

import json

from django.db import connection

# The parcel, the parcels around it (nearest first, at most %(limit)s) and the strip of it inside the planned width
# of the streets it fronts, in the municipality's CRS (metres), 2 decimals (a centimetre). Streets are their centre
# lines, cut to the frame. The frame is the parcel's box widened by %(pad)s of its larger side (at least %(min_pad)s m).
_MAP = """
WITH p AS (
    SELECT id, geom FROM parcels_parcel WHERE id = %(id)s
), frame AS (
    SELECT ST_Expand(geom, GREATEST(%(min_pad)s, %(pad)s * GREATEST(ST_XMax(geom) - ST_XMin(geom),
                                                                     ST_YMax(geom) - ST_YMin(geom)))) AS box
    FROM p
)
SELECT 'parcel', ST_AsGeoJSON(geom, 2) FROM p
UNION ALL
(SELECT 'neighbour', ST_AsGeoJSON(n.geom, 2)
 FROM p, frame, parcels_parcel n
 WHERE n.geom && frame.box AND n.id <> p.id
 ORDER BY ST_Distance(n.geom, p.geom), n.id LIMIT %(limit)s)
UNION ALL
(SELECT 'street', ST_AsGeoJSON(ST_Intersection(s.geom, frame.box), 2)
 FROM frame, parcels_street s
 WHERE s.geom && frame.box AND ST_GeometryType(s.geom) IN ('ST_LineString', 'ST_MultiLineString')
 ORDER BY s.id LIMIT %(limit)s)
UNION ALL
SELECT 'road_widening', ST_AsGeoJSON(ST_Multi(ST_CollectionExtract(ST_Union(strip), 3)), 2)
FROM (SELECT road_widening_strip(p.geom, s.geom, s.planned_width, s.existing_width) AS strip
      FROM p JOIN parcels_frontage f ON f.parcel_id = p.id JOIN parcels_street s ON s.id = f.street_id) strips
HAVING sum(ST_Area(strip)) >= 0.01
"""


def map_features(parcel_id: int, *, pad: float = 1.0, min_pad: float = 25.0, limit: int = 80) -> dict:
    """The shapes of the parcel's map as a GeoJSON FeatureCollection in the municipality's CRS (metres); features
    carry `kind`: parcel, neighbour, street, road_widening."""
    with connection.cursor() as cursor:
        cursor.execute(_MAP, {"id": parcel_id, "pad": pad, "min_pad": min_pad, "limit": limit})
        rows = cursor.fetchall()
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"kind": kind}, "geometry": json.loads(geometry)}
        for kind, geometry in rows if geometry]}
