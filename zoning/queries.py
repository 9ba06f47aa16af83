"""Land-use queries for engineers and planners: parcels by zone, land use, district, area; non-conforming uses;
losing land to road widening; steep or flood-prone; and development capacity by district.

One set-based SQL statement per question over parcels_parcel and the maintained zoning_parceloverlay. The rules a
query needs (each zone's permitted uses, FAR) are resolved once with zoning.rulebook.rules_in_force and passed to
the statement as JSON, so the database does the city-wide work. Results: counted, paginated JSON with geometry, CSV
and GeoJSON downloads (GeoJSON capped: the map never receives a whole table)."""

from __future__ import annotations

from common.i18n import is_persian

import datetime as dt
import json
from dataclasses import dataclass

from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from common.errors import BadParameter, json_errors
from parcels import identifiers
from zoning.rulebook import rules_in_force
from zoning.rules import ALL_ZONES

PAGE_SIZE, MAX_PAGE_SIZE = 50, 500
GEOJSON_CAP = 5000
FORMATS = ("json", "csv", "geojson")


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
                raise BadParameter("steep: no slope threshold (give min_slope, or a rulebook with steep_slope_pct)")
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


def _csv(query: ParcelQuery) -> HttpResponse:
    """Every matching row as CSV, written by PostgreSQL itself (COPY … TO STDOUT): a city-wide download costs about
    what the query costs."""
    body, params = query.sql()
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="parcels.csv"'
    response.write("\ufeff")   # Excel opens UTF-8 (Persian) correctly with a BOM
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY (SELECT {COLUMNS} {body} ORDER BY p.id) TO STDOUT WITH (FORMAT csv, HEADER)",
                                params) as copy:
            for chunk in copy:
                response.write(bytes(chunk))
    return response


# -- HTTP ---------------------------------------------------------------------------------------------------------

def _flag(request, name) -> bool:
    value = request.GET.get(name, "").lower()
    if value in ("", "0", "false", "no"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise BadParameter(f"{name} must be true or false, not {value!r}")


def _number(request, name, low=0.0, high=1e9, kind=float):
    raw = request.GET.get(name)
    if raw in (None, ""):
        return None
    try:
        value = kind(identifiers.to_ascii_digits(raw))
    except ValueError:
        raise BadParameter(f"{name} {raw!r} is not a number") from None
    if not low <= value <= high:
        raise BadParameter(f"{name} must be between {low:g} and {high:g}")
    return value


def query_from_request(request) -> ParcelQuery:
    date = request.GET.get("date")
    try:
        on_date = dt.date.fromisoformat(date) if date else None
    except ValueError:
        raise BadParameter(f"date {date!r} is not a date (YYYY-MM-DD)") from None
    query = ParcelQuery(
        zone=request.GET.get("zone") or None, land_use=request.GET.get("land_use") or None,
        district=request.GET.get("district") or None,
        area_min=_number(request, "area_min"), area_max=_number(request, "area_max"),
        non_conforming=_flag(request, "non_conforming"), widening=_flag(request, "widening"),
        steep=_flag(request, "steep"), min_slope=_number(request, "min_slope", 0, 1000),
        floodplain=_flag(request, "floodplain"), on_date=on_date,
    )
    if query.area_min is not None and query.area_max is not None and query.area_min > query.area_max:
        raise BadParameter("area_min is larger than area_max")
    return query


@require_GET
@json_errors
def query_api(request):
    """GET /api/zoning/parcels?zone=&land_use=&district=&area_min=&area_max=&non_conforming=&widening=&steep=
    &floodplain=&page=&page_size=&format=json|csv|geojson ; report=capacity for capacity by district."""
    fmt = request.GET.get("format", "json")
    if fmt not in FORMATS:
        raise BadParameter(f"format must be one of {', '.join(FORMATS)}")
    if request.GET.get("report"):
        if request.GET["report"] != "capacity":
            raise BadParameter("report must be capacity")
        query = query_from_request(request)
        return JsonResponse({"districts": capacity_by_district(query.on_date)}, json_dumps_params={"ensure_ascii": False})
    query = query_from_request(request)
    if fmt == "csv":
        return _csv(query)
    if fmt == "geojson":
        total, found = rows(query, GEOJSON_CAP, geometry=True)
        response = JsonResponse({"type": "FeatureCollection", "features": [
            {"type": "Feature", "id": r["id"], "geometry": r.pop("geometry"), "properties": r} for r in found]},
            json_dumps_params={"ensure_ascii": False})
        response["Content-Disposition"] = 'attachment; filename="parcels.geojson"'
        response["X-Total-Count"] = str(total)
        response["X-Features-Truncated"] = "true" if total > GEOJSON_CAP else "false"
        return response
    page = _number(request, "page", 1, 1e7, int) or 1
    size = _number(request, "page_size", 1, MAX_PAGE_SIZE, int) or PAGE_SIZE
    total, found = rows(query, size, (page - 1) * size, geometry=_flag(request, "geometry"))
    return JsonResponse({"count": total, "page": page, "page_size": size, "results": found},
                        json_dumps_params={"ensure_ascii": False})


def query_page(request):
    """The planners' page: a filter form, the count, a page of results on a map, downloads."""

    from parcels.models import District, LandUse

    return render(request, "zoning/queries.html", {
        "fa": is_persian(),
        "zones": ParcelQuery().zone_codes(), "uses": LandUse.objects.order_by("code"),
        "districts": District.objects.order_by("code"), "form": request.GET,
    })
