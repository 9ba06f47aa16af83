"""Facts derived from geometry, computed in PostGIS: which streets a parcel fronts and over what length, the
widest of them, and whether the parcel is a corner parcel.

Raw SQL because these are set-based spatial joins the ORM cannot express well, and the same statements serve a
single edited parcel and a whole city after an import.

A parcel fronts a street segment when part of its boundary lies within the street's corridor: the centerline
buffered by half the existing width plus settings.FRONTAGE_TOLERANCE (flat ends, so a crossing street's
corridor does not count), for at least settings.FRONTAGE_MIN_LENGTH metres. A corner parcel fronts two segments
whose directions differ by at least settings.CORNER_MIN_ANGLE degrees (segments of one straight street don't).
"""

from django.conf import settings
from django.db import connection

# Other apps' facts that depend on frontages (zoning's road-widening strip): each is called with the same parcel ids
# (None for the whole city) after every refresh, in the same transaction. Registered from AppConfig.ready().
AFTER_REFRESH: list = []

_CORRIDORS = """
CREATE TEMP TABLE tmp_corridor ON COMMIT DROP AS
SELECT s.id AS street_id, s.existing_width,
       street_corridor(s.geom, s.existing_width, %(tol)s) AS geom,  -- parcels migration 0003
       degrees(ST_Azimuth(ST_StartPoint(s.geom), ST_EndPoint(s.geom))) AS azimuth
FROM parcels_street s
WHERE %(all)s OR EXISTS (
    SELECT 1 FROM parcels_parcel p
    WHERE p.id = ANY(%(ids)s) AND ST_DWithin(p.geom, s.geom, %(reach)s)
);
CREATE INDEX ON tmp_corridor USING gist (geom);
ANALYZE tmp_corridor;
"""

_DELETE = "DELETE FROM parcels_frontage WHERE %(all)s OR parcel_id = ANY(%(ids)s)"

# Only boundary segments running along the street count (within 45° of its direction): the side lot lines that
# reach into the corridor tolerance are not frontage.
_ANGLE = "LEAST(mod(abs({a} - {b})::numeric, 180), 180 - mod(abs({a} - {b})::numeric, 180))"

_INSERT = """
INSERT INTO parcels_frontage (parcel_id, street_id, length)
SELECT p.id, c.street_id, sum(ST_Length(seg.geom)) AS length
FROM parcels_parcel p
JOIN tmp_corridor c ON ST_Intersects(p.geom, c.geom)
CROSS JOIN LATERAL ST_DumpSegments(
    ST_CollectionExtract(ST_Intersection(ST_Boundary(p.geom), c.geom), 2)) seg
WHERE (%(all)s OR p.id = ANY(%(ids)s))
  AND """ + _ANGLE.format(a="degrees(ST_Azimuth(ST_StartPoint(seg.geom), ST_EndPoint(seg.geom)))", b="c.azimuth") + """ < 45
GROUP BY p.id, c.street_id
HAVING sum(ST_Length(seg.geom)) >= %(min_length)s
"""

_SUMMARY = """
WITH f AS (
    SELECT fr.parcel_id, fr.street_id, fr.length, c.existing_width, c.azimuth
    FROM parcels_frontage fr JOIN tmp_corridor c ON c.street_id = fr.street_id
    WHERE %(all)s OR fr.parcel_id = ANY(%(ids)s)
),
agg AS (
    SELECT parcel_id, sum(length) AS total, max(existing_width) AS widest FROM f GROUP BY parcel_id
),
corner AS (
    SELECT DISTINCT a.parcel_id
    FROM f a JOIN f b ON b.parcel_id = a.parcel_id AND a.street_id < b.street_id
    WHERE """ + _ANGLE.format(a="a.azimuth", b="b.azimuth") + """ >= %(corner_angle)s
),
target AS (
    -- only parcels that front something now or did before: the rest keep their empty values
    SELECT t.id, agg.total, agg.widest, corner.parcel_id IS NOT NULL AS is_corner
    FROM parcels_parcel t
    LEFT JOIN agg ON agg.parcel_id = t.id
    LEFT JOIN corner ON corner.parcel_id = t.id
    WHERE (%(all)s OR t.id = ANY(%(ids)s))
      AND (agg.parcel_id IS NOT NULL OR t.frontage_length IS NOT NULL OR t.is_corner)
)
UPDATE parcels_parcel p
SET frontage_length = s.total, widest_street_width = s.widest, is_corner = s.is_corner
FROM target s
WHERE p.id = s.id
  AND (p.frontage_length, p.widest_street_width, p.is_corner) IS DISTINCT FROM (s.total, s.widest, s.is_corner)
"""


def refresh_frontages(parcel_ids=None) -> None:
    """Recompute frontages, widest street and corner flag for the given parcels, or for all when None.
    Must run inside a transaction (the temp table lives until commit)."""
    max_width = _max_street_width()
    params = {
        "all": parcel_ids is None,
        "ids": list(parcel_ids or []),
        "tol": settings.FRONTAGE_TOLERANCE,
        "reach": max_width / 2.0 + settings.FRONTAGE_TOLERANCE,
        "min_length": settings.FRONTAGE_MIN_LENGTH,
        "corner_angle": settings.CORNER_MIN_ANGLE,
    }
    if parcel_ids is not None and not params["ids"]:
        return
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS tmp_corridor")
        cursor.execute(_CORRIDORS, params)
        cursor.execute(_DELETE, params)
        cursor.execute(_INSERT, params)
        if parcel_ids is None:
            cursor.execute("ANALYZE parcels_frontage")
        cursor.execute(_SUMMARY, params)
        cursor.execute("DROP TABLE tmp_corridor")
    for hook in AFTER_REFRESH:
        hook(parcel_ids)


_NEAR_STREETS = """
SELECT p.id FROM parcels_parcel p JOIN parcels_street s
  ON ST_DWithin(p.geom, s.geom, %(reach)s)                             -- index-usable bound
 AND ST_DWithin(p.geom, s.geom, s.existing_width / 2.0 + %(tol)s)       -- the frontage rule itself
WHERE s.id = ANY(%(ids)s)
UNION
SELECT parcel_id FROM parcels_frontage WHERE street_id = ANY(%(ids)s)   -- fronted them before (moved away?)
"""


def parcels_near_streets(street_ids) -> list[int]:
    """Parcels whose frontage may change when these streets changed: those within reach of the streets' current
    centerlines, and those that fronted them before the change (frontages are not refreshed yet)."""
    ids = list(street_ids)
    if not ids:
        return []
    params = {"ids": ids, "tol": settings.FRONTAGE_TOLERANCE,
              "reach": _max_street_width() / 2.0 + settings.FRONTAGE_TOLERANCE}
    with connection.cursor() as cursor:
        cursor.execute(_NEAR_STREETS, params)
        return [row[0] for row in cursor.fetchall()]


def parcels_near_street(street_geom_wkb: bytes | None, width: float) -> list[int]:
    """Parcels whose frontage may change when a street with this geometry and width changes."""
    if street_geom_wkb is None:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM parcels_parcel WHERE ST_DWithin(geom, ST_GeomFromEWKB(%s), %s)",
            [street_geom_wkb, width / 2.0 + settings.FRONTAGE_TOLERANCE],
        )
        return [row[0] for row in cursor.fetchall()]


def _max_street_width() -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(max(existing_width), 0) FROM parcels_street")
        return float(cursor.fetchone()[0])
