"""The zoning app's read SQL, in one module: the facts of one stored parcel for the eligibility engine, and the
land-use queries for engineers and planners (parcels by zone, land use, district, area; non-conforming uses; losing
land to road widening; steep or flood-prone; development capacity by district).

Raw SQL because each answer is one statement PostGIS plans as a whole (a parcel's frontage lines cut from its
boundary, window counts, COPY for downloads), which the ORM cannot say. The land-use queries run over
parcels_parcel and the maintained zoning_parceloverlay; the rules a query needs (each zone's permitted uses, FAR)
are resolved once with zoning.rulebook.rules_in_force and passed to the statement as parameters, so the database
does the city-wide work. No HTTP here: zoning/views.py parses requests and renders. The overlay rows themselves are
written by zoning/overlays.py, never by a read."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.utils.translation import gettext as _
from shapely import wkb

from common import geo, municipality
from common.errors import ApiError, BadParameter
from zoning.eligibility import ParcelFacts
from zoning.rulebook import rules_in_force
from zoning.rules import ALL_ZONES


class OverlaysNotComputed(ApiError):
    """A parcel without its overlay row: a database loaded before the zoning app, or written by a path that skipped
    the refresh. A read does not compute and store it (GET writes nothing); the administrator runs the command."""

    status = 503
    code = "overlays_not_computed"


# -- one parcel's facts ------------------------------------------------------------------------------------------

# The maintained overlay row (zoning_parceloverlay) gives zone, widening strip, hazards and terrain; the frontage
# lines and the widest street fronted come from parcels_frontage; existing buildings are summed. Everything else the
# engine needs is in the parcel row itself. One statement: it is the eligibility API's hot read.
PARCEL_FACTS_SQL = """
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
_EMPTY = wkb.loads(bytes.fromhex("010700000000000000"))  # GEOMETRYCOLLECTION EMPTY


def _geom(raw):
    return wkb.loads(bytes(raw)) if raw is not None else None


def parcel_facts(parcel_id: int) -> ParcelFacts | None:
    """The facts of a stored parcel, or None when there is no such parcel; OverlaysNotComputed when the parcel has
    no overlay row yet."""
    with connection.cursor() as cursor:
        cursor.execute(PARCEL_FACTS_SQL, {"id": parcel_id, "tol": settings.FRONTAGE_TOLERANCE})
        row = cursor.fetchone()
    if row is None:
        return None
    (geom, deed_area, land_use, zone_code, widening, historic, flood, fault, slope, frontage, width, floor_area,
     footprint, has_overlay) = row
    if not has_overlay:
        raise OverlaysNotComputed(_("The zoning facts of parcel %(id)s are not computed yet: an administrator runs "
                                    "manage.py refresh_overlays.") % {"id": parcel_id})
    return ParcelFacts(
        parcel_id=parcel_id, zone_code=zone_code or "", geometry=_geom(geom),
        deed_area=float(deed_area) if deed_area is not None else None,
        frontage_lines=_geom(frontage) or _EMPTY, street_width=width, widening=_geom(widening) or _EMPTY,
        current_use=land_use, existing_floor_area=float(floor_area), existing_footprint_area=float(footprint),
        in_historic_core=bool(historic), in_floodplain=bool(flood), fault_distance=fault, slope_mean=slope,
    )


# -- land-use queries --------------------------------------------------------------------------------------------

@dataclass
class ParcelQuery:
    zone: str | None = None
    land_use: str | None = None
    district: str | None = None
    area_min: float | None = None
    area_max: float | None = None
    non_conforming: bool = False
    widening: bool = False
    steep: bool = False
    min_slope: float | None = None
    floodplain: bool = False
    on_date: dt.date | None = None

    def zone_codes(self) -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT DISTINCT code FROM zoning_zone ORDER BY code")
            return [r[0] for r in cursor.fetchall()]

    def permitted_uses(self) -> dict[str, list[str]]:
        """Each zone's allowed and conditional uses in force on the date (zones without rules are left out)."""
        out = {}
        for code in self.zone_codes():
            rules = rules_in_force(code, self.on_date)
            if rules is not None and "allowed_uses" in rules:
                out[code] = list(rules.get("allowed_uses", [])) + list(rules.get("conditional_uses", []))
        return out

    def slope_threshold(self) -> float | None:
        if self.min_slope is not None:
            return self.min_slope
        rules = rules_in_force(ALL_ZONES, self.on_date)
        return None if rules is None else rules.get("steep_slope_pct")

    def sql(self) -> tuple[str, dict]:
        """FROM … WHERE … for the matching parcels (aliases p: parcel, o: overlay, d: district, z: permitted uses)."""
        where, params = ["true"], {}
        joins = ["JOIN zoning_parceloverlay o ON o.parcel_id = p.id",
                 "LEFT JOIN parcels_district d ON d.id = p.district_id"]
        if self.zone:
            where.append("o.zone_code = %(zone)s")
            params["zone"] = self.zone
        if self.land_use:
            where.append("p.land_use_id = %(land_use)s")
            params["land_use"] = self.land_use
        if self.district:
            where.append("d.code = %(district)s")
            params["district"] = self.district
        if self.area_min is not None:
            where.append("p.measured_area >= %(area_min)s")
            params["area_min"] = self.area_min
        if self.area_max is not None:
            where.append("p.measured_area <= %(area_max)s")
            params["area_max"] = self.area_max
        if self.non_conforming:
            # A current use (vacant land is none) outside the zone's allowed and conditional uses: an anti-join on
            # the (zone, use) pairs the rules permit, for the zones that have rules.
            permitted = self.permitted_uses()
            where.append("p.land_use_id IS NOT NULL AND p.land_use_id <> 'vacant' AND o.zone_code = ANY(%(ruled)s) "
                         "AND NOT EXISTS (SELECT 1 FROM unnest(%(pz)s::text[], %(pu)s::text[]) a(zone_code, use) "
                         "WHERE a.zone_code = o.zone_code AND a.use = p.land_use_id)")
            params["ruled"] = list(permitted)
            params["pz"] = [z for z, uses in permitted.items() for _u in uses]
            params["pu"] = [u for uses in permitted.values() for u in uses]
        if self.widening:
            where.append("o.widening_area > 0")
        if self.steep:
            threshold = self.slope_threshold()
            if threshold is None:
                raise BadParameter(_("steep: there is no slope threshold (give min_slope, or load a rulebook with "
                                     "steep_slope_pct)."))
            where.append("o.slope_mean > %(min_slope)s")
            params["min_slope"] = threshold
        if self.floodplain:
            where.append("o.in_floodplain")
        return "FROM parcels_parcel p " + " ".join(joins) + " WHERE " + " AND ".join(where), params


COLUMNS = """p.id, p.renewal_code, d.code AS district, o.zone_code, p.land_use_id AS land_use,
             round(p.measured_area::numeric, 1) AS area, round(o.widening_area::numeric, 1) AS widening_area,
             round(o.widening_depth::numeric, 2) AS widening_depth, o.in_floodplain, o.in_historic_core,
             round(o.slope_mean::numeric, 1) AS slope_mean"""
COLUMN_NAMES = ["id", "renewal_code", "district", "zone_code", "land_use", "area", "widening_area", "widening_depth",
                "in_floodplain", "in_historic_core", "slope_mean"]


def count(query: ParcelQuery) -> int:
    body, params = query.sql()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) " + body, params)
        return cursor.fetchone()[0]


def rows(query: ParcelQuery, limit: int | None, offset: int = 0, geometry: bool = False) -> tuple[int | None, list]:
    """(total, rows): the matching parcels ordered by id, one page of them when limit is given; the total comes
    from the same pass (a window count), so a page costs one scan, not a count and a scan."""
    body, params = query.sql()
    geom = ", ST_AsGeoJSON(ST_Transform(p.geom, 4326), 7) AS geom" if geometry else ""
    sql = f"SELECT {COLUMNS}, count(*) OVER () AS total{geom} {body} ORDER BY p.id"
    if limit is not None:
        sql += " LIMIT %(limit)s OFFSET %(offset)s"
        params = {**params, "limit": limit, "offset": offset}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = COLUMN_NAMES + ["total"] + (["geometry"] if geometry else [])
        out, total = [], None
        for row in cursor.fetchall():
            item = dict(zip(names, row))
            total = item.pop("total")
            for key in ("area", "widening_area", "widening_depth", "slope_mean"):
                item[key] = None if item[key] is None else float(item[key])
            if geometry:
                item["geometry"] = json.loads(item["geometry"])
            out.append(item)
    if total is None:                        # an empty page: past the end, or nothing matches
        total = count(query) if offset else 0
    return total, out


_CAPACITY = """
WITH far AS (SELECT key AS zone_code, value::text::float AS far FROM jsonb_each(%(far)s::jsonb)),
built AS (SELECT parcel_id, sum(COALESCE(gross_floor_area, ST_Area(geom) * floors_above)) AS gfa
          FROM parcels_building WHERE parcel_id IS NOT NULL GROUP BY parcel_id)
SELECT d.code, d.name, count(*) AS parcels,
       round(sum(f.far / 100.0 * GREATEST(COALESCE(p.deed_area::float, p.measured_area) - o.widening_area, 0))::numeric)
           AS allowed_floor_area,
       round(sum(COALESCE(b.gfa, 0))::numeric) AS built_floor_area,
       round(sum(GREATEST(f.far / 100.0 * GREATEST(COALESCE(p.deed_area::float, p.measured_area) - o.widening_area, 0)
                          - COALESCE(b.gfa, 0), 0))::numeric) AS remaining_floor_area
FROM parcels_parcel p
JOIN zoning_parceloverlay o ON o.parcel_id = p.id
JOIN far f ON f.zone_code = o.zone_code
LEFT JOIN parcels_district d ON d.id = p.district_id
LEFT JOIN built b ON b.parcel_id = p.id
GROUP BY d.code, d.name
ORDER BY d.code
"""


def capacity_by_district(on_date: dt.date | None = None) -> list[dict]:
    """Development capacity (FAR × lot area net of widening, minus built floor area; never below zero per parcel)
    by district. FAR alone bounds it here; the envelope of one parcel may allow less."""
    far = {}
    for code in ParcelQuery().zone_codes():
        rules = rules_in_force(code, on_date)
        if rules is not None and rules.get("max_far") is not None:
            far[code] = rules.get("max_far")
    with connection.cursor() as cursor:
        cursor.execute(_CAPACITY, {"far": json.dumps(far)})
        names = ["district", "name", "parcels", "allowed_floor_area", "built_floor_area", "remaining_floor_area"]
        return [{k: (float(v) if hasattr(v, "as_integer_ratio") and not isinstance(v, int) else v)
                 for k, v in zip(names, row)} for row in cursor.fetchall()]


def write_csv(query: ParcelQuery, out) -> None:
    """Every matching row as CSV into `out` (anything with write(bytes)), written by PostgreSQL itself
    (COPY … TO STDOUT): a city-wide download costs about what the query costs."""
    body, params = query.sql()
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY (SELECT {COLUMNS} {body} ORDER BY p.id) TO STDOUT WITH (FORMAT csv, HEADER)",
                                params) as copy:
            for chunk in copy:
                out.write(bytes(chunk))


# -- the parcels a change of the rules reaches (the public rulebook pages, zoning/public_pages.py) ------------------
# By the maintained overlay row's zone (the zone covering most of the parcel), as the rules apply to it.

# the parcels' zone codes come from the zones (zoning/overlays.py), so the small zone table names them all: no scan
# of a million overlay rows on every map move
_ZONE_CODES_SQL = "SELECT DISTINCT code FROM zoning_zone"
_AFFECTED_COUNTS_SQL = """
SELECT zone_code, count(*) FROM zoning_parceloverlay WHERE zone_code = ANY(%(codes)s) GROUP BY zone_code
"""
_AFFECTED_EXTENT_SQL = """
SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
FROM (SELECT ST_Transform(ST_SetSRID(ST_Extent(geom), %(srid)s), 4326) AS e FROM zoning_zone WHERE code = ANY(%(codes)s)) x
"""


def city_zone_codes() -> list[str]:
    """Every zone code of the city (of the zones drawn, which the parcels' zones are)."""
    with connection.cursor() as cursor:
        cursor.execute(_ZONE_CODES_SQL)
        return sorted(r[0] for r in cursor.fetchall())


def parcels_by_zone(codes: list[str]) -> dict[str, int]:
    """How many parcels each of these zones holds (one statement over the overlay rows, by their zone index)."""
    if not codes:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(_AFFECTED_COUNTS_SQL, {"codes": list(codes)})
        return dict(cursor.fetchall())


def zones_extent(codes: list[str]) -> list[float] | None:
    """The WGS84 box [west, south, east, north] of the zones of these codes (None when none is drawn)."""
    if not codes:
        return None
    with connection.cursor() as cursor:
        cursor.execute(_AFFECTED_EXTENT_SQL, {"codes": list(codes), "srid": municipality.current().srid})
        row = cursor.fetchone()
    return None if row is None or row[0] is None else [round(v, 6) for v in row]


def parcels_in_zones(codes: list[str], box, after: int, limit: int) -> list[dict]:
    """Up to `limit` parcels of these zones with an id above `after` (keyset paging: every page one index range
    scan, however far it is), inside the WGS84 `box` (already clipped to the city) if one is given; with their
    WGS84 geometry."""
    if not codes:
        return []
    where, params = "", {"codes": list(codes), "after": after, "limit": limit}
    if box is not None:
        sql, box_params = geo.box_sql(box)
        names = [f"box{i}" for i in range(len(box_params))]      # the box's %s as named parameters
        where = "AND ST_Intersects(p.geom, " + sql % tuple(f"%({n})s" for n in names) + ")"
        params.update(zip(names, box_params))
    with connection.cursor() as cursor:
        cursor.execute(f"""
            SELECT p.id, o.zone_code, p.renewal_code, ST_AsGeoJSON(ST_Transform(p.geom, 4326), 7)
            FROM zoning_parceloverlay o JOIN parcels_parcel p ON p.id = o.parcel_id
            WHERE o.zone_code = ANY(%(codes)s) AND p.id > %(after)s {where}
            ORDER BY p.id LIMIT %(limit)s""", params)
        return [{"id": r[0], "zone_code": r[1], "renewal_code": r[2], "geometry": json.loads(r[3])}
                for r in cursor.fetchall()]
