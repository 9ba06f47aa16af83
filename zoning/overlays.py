"""Per-parcel overlay facts kept in zoning_parceloverlay, computed set-based in PostGIS.

- zone: the planning zone covering the largest share of the parcel;
- road widening (عقب‌نشینی): the strip of the parcel inside the planned width of the streets it fronts, its area and
  depth (how far the planned street edge reaches into the lot);
- hazards and heritage: in the historic core, in the floodplain (any overlap beyond touching), distance to the
  nearest fault line (the buffer distance is a rule parameter, applied when deciding).

Raw SQL because the same set-based statements serve one edited parcel and a whole city after an import. They run
after the frontages (parcels.derived.refresh_frontages calls `refresh_after_frontages`), after zoning and overlay
imports (post-load steps registered in zoning.apps) and after zone or overlay edits (zoning.signals).
Terrain columns come from `zoning.terrain` and are left alone here.
"""

from django.db import connection

_ENSURE = """
INSERT INTO zoning_parceloverlay (parcel_id, zone_code, widening_area, widening_depth, in_historic_core,
                                  in_floodplain)
SELECT id, '', 0, 0, false, false FROM parcels_parcel WHERE %(all)s OR id = ANY(%(ids)s)
ON CONFLICT (parcel_id) DO NOTHING
"""

# A parcel wholly inside a zone (most of them) needs no intersection.
_ZONE = """
WITH share AS (
    SELECT DISTINCT ON (p.id) p.id, z.code,
           CASE WHEN ST_Within(p.geom, z.geom) THEN 1.0
                ELSE ST_Area(ST_Intersection(z.geom, p.geom)) / NULLIF(ST_Area(p.geom), 0) END AS share
    FROM parcels_parcel p JOIN zoning_zone z ON ST_Intersects(z.geom, p.geom)
    WHERE %(all)s OR p.id = ANY(%(ids)s)
    ORDER BY p.id, share DESC NULLS LAST, z.code
)
UPDATE zoning_parceloverlay o
SET zone_code = COALESCE(s.code, ''), zone_share = s.share
FROM parcels_parcel p LEFT JOIN share s ON s.id = p.id
WHERE o.parcel_id = p.id AND (%(all)s OR p.id = ANY(%(ids)s))
  AND (o.zone_code, o.zone_share) IS DISTINCT FROM (COALESCE(s.code, ''), s.share)
"""

_HAZARDS = """
WITH h AS (
    SELECT p.id,
           EXISTS (SELECT 1 FROM zoning_overlay x WHERE x.kind = 'historic_core'
                   AND ST_Intersects(x.geom, p.geom) AND NOT ST_Touches(x.geom, p.geom)) AS historic,
           EXISTS (SELECT 1 FROM zoning_overlay x WHERE x.kind = 'floodplain'
                   AND ST_Intersects(x.geom, p.geom) AND NOT ST_Touches(x.geom, p.geom)) AS flood,
           (SELECT min(ST_Distance(x.geom, p.geom)) FROM zoning_overlay x WHERE x.kind = 'fault_line') AS fault
    FROM parcels_parcel p
    WHERE %(all)s OR p.id = ANY(%(ids)s)
)
UPDATE zoning_parceloverlay o
SET in_historic_core = h.historic, in_floodplain = h.flood, fault_distance = h.fault
FROM h
WHERE o.parcel_id = h.id
  AND (o.in_historic_core, o.in_floodplain, o.fault_distance) IS DISTINCT FROM (h.historic, h.flood, h.fault)
"""

# The strip inside the planned corridor of each street the parcel fronts whose planned width exceeds the existing
# (road_widening_strip, parcels migration 0003: one definition for the sheet, this overlay and the layer).
_WIDENING = """
WITH strip AS (
    SELECT f.parcel_id,
           ST_Multi(ST_CollectionExtract(ST_Union(
               road_widening_strip(p.geom, s.geom, s.planned_width, s.existing_width)), 3)) AS geom,
           max(GREATEST(s.planned_width / 2.0 - ST_Distance(s.geom, p.geom), 0)) AS depth
    FROM parcels_frontage f
    JOIN parcels_street s ON s.id = f.street_id
    JOIN parcels_parcel p ON p.id = f.parcel_id
    WHERE s.planned_width > s.existing_width AND (%(all)s OR f.parcel_id = ANY(%(ids)s))
    GROUP BY f.parcel_id
),
target AS (
    SELECT p.id, NULLIF(s.geom, 'MULTIPOLYGON EMPTY'::geometry) AS geom, s.depth
    FROM parcels_parcel p LEFT JOIN strip s ON s.parcel_id = p.id
    WHERE %(all)s OR p.id = ANY(%(ids)s)
)
UPDATE zoning_parceloverlay o
SET widening_geom = CASE WHEN ST_IsEmpty(t.geom) OR ST_Area(t.geom) < 0.01 THEN NULL ELSE t.geom END,
    widening_area = CASE WHEN ST_Area(t.geom) < 0.01 THEN 0 ELSE COALESCE(ST_Area(t.geom), 0) END,
    widening_depth = CASE WHEN ST_Area(t.geom) < 0.01 THEN 0 ELSE COALESCE(t.depth, 0) END
FROM target t
WHERE o.parcel_id = t.id
  AND (o.widening_area, o.widening_depth) IS DISTINCT FROM
      (CASE WHEN ST_Area(t.geom) < 0.01 THEN 0 ELSE COALESCE(ST_Area(t.geom), 0) END,
       CASE WHEN ST_Area(t.geom) < 0.01 THEN 0 ELSE COALESCE(t.depth, 0) END)
"""

PARTS = {"zone": _ZONE, "hazards": _HAZARDS, "widening": _WIDENING}


def refresh(parcel_ids=None, parts=("zone", "hazards", "widening")) -> None:
    """Recompute the chosen overlay facts for these parcels (all when None); run inside a transaction."""
    params = {"all": parcel_ids is None, "ids": list(parcel_ids or [])}
    if parcel_ids is not None and not params["ids"]:
        return
    with connection.cursor() as cursor:
        cursor.execute(_ENSURE, params)
        for part in parts:
            cursor.execute(PARTS[part], params)
        if parcel_ids is None:
            cursor.execute("ANALYZE zoning_parceloverlay")


def refresh_after_frontages(parcel_ids) -> None:
    """Hook of parcels.derived.refresh_frontages: frontages changed, so widening (and, for edited parcels, zone
    and hazards) may have."""
    refresh(parcel_ids)


def post_load_zoning(cursor, report=None) -> dict:
    refresh(None, parts=("zone",))
    return {"parcel zones refreshed": "all"}


def post_load_overlays(cursor, report=None) -> dict:
    """After an overlay import: a fault line moves every parcel's distance; a historic core or floodplain only the
    parcels under the imported geometry and those flagged before; a river changes no parcel fact."""
    cursor.execute("SELECT DISTINCT kind FROM zoning_overlay WHERE id IN (SELECT id FROM import_touched)")
    kinds = {row[0] for row in cursor.fetchall()}
    if "fault_line" in kinds:
        refresh(None, parts=("hazards",))
        return {"parcel hazard facts refreshed": "all"}
    if not kinds & {"historic_core", "floodplain"}:
        return {}
    cursor.execute("""
        SELECT p.id FROM parcels_parcel p JOIN zoning_overlay x ON ST_Intersects(x.geom, p.geom)
        WHERE x.id IN (SELECT id FROM import_touched)
        UNION SELECT parcel_id FROM zoning_parceloverlay WHERE in_historic_core OR in_floodplain
    """)
    ids = [row[0] for row in cursor.fetchall()]
    refresh(ids, parts=("hazards",))
    return {"parcel hazard facts refreshed": len(ids)}


def parcels_touching(geom_ewkb_list, extra_sql: str = "", params=None) -> list[int]:
    """Parcels intersecting any of these geometries (EWKB), plus those an extra condition names."""
    geoms = [g for g in geom_ewkb_list if g is not None]
    sql = "SELECT p.id FROM parcels_parcel p WHERE EXISTS (SELECT 1 FROM unnest(%s::bytea[]) g " \
          "WHERE ST_DWithin(p.geom, ST_GeomFromEWKB(g), 0))"
    args = [geoms]
    if extra_sql:
        sql += " UNION " + extra_sql
        args += list(params or [])
    with connection.cursor() as cursor:
        cursor.execute(sql, args)
        return [row[0] for row in cursor.fetchall()]
