"""Gathering the facts of one stored parcel for the eligibility engine: one query.

The maintained overlay row (zoning_parceloverlay) gives zone, widening strip, hazards and terrain; the frontage lines
and the widest street fronted come from parcels_frontage; existing buildings are summed. Everything else the engine
needs is in the parcel row itself."""

from django.conf import settings
from django.db import connection
from shapely import wkb

from zoning import overlays
from zoning.eligibility import ParcelFacts

_FACTS = """
SELECT p.geom::bytea, p.deed_area, p.land_use_id, o.zone_code, o.widening_geom::bytea, o.in_historic_core,
       o.in_floodplain, o.fault_distance, o.slope_mean,
       (SELECT ST_Union(ST_CollectionExtract(ST_Intersection(ST_Boundary(p.geom),
                   street_corridor(s.geom, s.existing_width, %(tol)s)), 2))::bytea
        FROM parcels_frontage f JOIN parcels_street s ON s.id = f.street_id WHERE f.parcel_id = p.id),
       (SELECT max(GREATEST(s.planned_width, s.existing_width))
        FROM parcels_frontage f JOIN parcels_street s ON s.id = f.street_id WHERE f.parcel_id = p.id),
       built.floor_area, built.footprint, o.parcel_id IS NOT NULL
FROM parcels_parcel p LEFT JOIN zoning_parceloverlay o ON o.parcel_id = p.id
CROSS JOIN LATERAL (
    SELECT COALESCE(sum(COALESCE(b.gross_floor_area, ST_Area(b.geom) * b.floors_above)), 0) AS floor_area,
           COALESCE(sum(ST_Area(b.geom)), 0) AS footprint
    FROM parcels_building b WHERE b.parcel_id = p.id) built
WHERE p.id = %(id)s
"""


def _geom(raw):
    return wkb.loads(bytes(raw)) if raw is not None else None


def parcel_facts(parcel_id: int) -> ParcelFacts | None:
    """The facts of a parcel, or None when there is no such parcel."""
    with connection.cursor() as cursor:
        cursor.execute(_FACTS, {"id": parcel_id, "tol": settings.FRONTAGE_TOLERANCE})
        row = cursor.fetchone()
        if row is not None and not row[-1]:
            overlays.refresh([parcel_id])     # a parcel written by a path that skipped the refresh
            cursor.execute(_FACTS, {"id": parcel_id, "tol": settings.FRONTAGE_TOLERANCE})
            row = cursor.fetchone()
    if row is None:
        return None
    (geom, deed_area, land_use, zone_code, widening, historic, flood, fault, slope, frontage, width, floor_area,
     footprint, _has_overlay) = row
    empty = wkb.loads(bytes.fromhex("010700000000000000"))  # GEOMETRYCOLLECTION EMPTY
    return ParcelFacts(
        parcel_id=parcel_id, zone_code=zone_code or "", geometry=_geom(geom),
        deed_area=float(deed_area) if deed_area is not None else None,
        frontage_lines=_geom(frontage) or empty, street_width=width, widening=_geom(widening) or empty,
        current_use=land_use, existing_floor_area=float(floor_area), existing_footprint_area=float(footprint),
        in_historic_core=bool(historic), in_floodplain=bool(flood), fault_distance=fault, slope_mean=slope,
    )
