"""The parcel sheet: everything public about one parcel, gathered in a few set-based queries.

Raw SQL where the ORM would need many queries (frontages with their streets, the road-widening strip computed
from the streets' planned widths). Owners are never part of the sheet: the sheet is public.
"""

import json
from dataclasses import dataclass
from typing import Callable

from django.conf import settings
from django.db import connection
from django.db.models import Count, Max, Min, Sum

from parcels.models import Building, Parcel

# The strip of a parcel inside the planned width of a street it fronts (road widening, عقب‌نشینی), computed
# on the fly from the streets; the zoning issue keeps it as a maintained overlay.
_FRONTAGES = """
SELECT s.id, s.name, s.name_en, s.kind, s.existing_width, s.planned_width, f.length,
       CASE WHEN s.planned_width > s.existing_width THEN
           ST_Area(ST_Intersection(p.geom, ST_Buffer(s.geom, s.planned_width / 2.0, 'endcap=flat join=mitre')))
       END AS widening_area
FROM parcels_frontage f
JOIN parcels_street s ON s.id = f.street_id
JOIN parcels_parcel p ON p.id = f.parcel_id
WHERE f.parcel_id = %s
ORDER BY s.existing_width DESC, f.length DESC
"""

_ZONES = """
SELECT z.code, z.name, z.name_en, ST_Area(ST_Intersection(z.geom, p.geom)) / NULLIF(ST_Area(p.geom), 0) AS share
FROM parcels_parcel p JOIN zoning_zone z ON ST_Intersects(z.geom, p.geom)
WHERE p.id = %s
ORDER BY share DESC
"""

_GEOMETRY = """
SELECT ST_AsGeoJSON(ST_Transform(p.geom, 4326), 7)::json,
       ST_AsGeoJSON(ST_Transform(ST_PointOnSurface(p.geom), 4326), 7)::json,
       (SELECT ST_AsGeoJSON(ST_Transform(ST_Multi(ST_CollectionExtract(ST_Union(
            ST_Intersection(p.geom, ST_Buffer(s.geom, s.planned_width / 2.0, 'endcap=flat join=mitre'))), 3)),
            4326), 7)::json
        FROM parcels_frontage f JOIN parcels_street s ON s.id = f.street_id
        WHERE f.parcel_id = p.id AND s.planned_width > s.existing_width)
FROM parcels_parcel p WHERE p.id = %s
"""


@dataclass(frozen=True)
class SheetSection:
    """A section another app plugs into the parcel sheet (eligibility, dues, permits, ...).

    The sheet JSON lists each section with its own URL; the portal fetches it after the base sheet has opened (so a
    click stays fast and a failing section cannot break the sheet) and draws it with the JavaScript renderer the
    app ships in `script`, which registers itself as ``window.PortalSections[key] = function (data, h, el) {...}``.
    The text-only parcel page calls `build` and renders `template` with ``data`` in its context.
    """

    key: str
    title_fa: str
    title_en: str
    url_name: str                                  # reversed with the parcel id: the section's JSON endpoint
    build: Callable[[Parcel, object], dict]        # (parcel, request) -> JSON-ready data
    template: str                                  # text-page template, gets `data` and `parcel`
    script: str                                    # static path of the portal's renderer
    order: int = 100


SECTIONS: dict[str, SheetSection] = {}


def register_section(section: SheetSection) -> None:
    """Called from an app's AppConfig.ready()."""
    SECTIONS[section.key] = section


def sections() -> list[SheetSection]:
    return sorted(SECTIONS.values(), key=lambda s: (s.order, s.key))


def section_links(parcel_id: int) -> list[dict]:
    from django.urls import reverse

    return [{"key": s.key, "title_fa": s.title_fa, "title_en": s.title_en,
             "url": reverse(s.url_name, args=[parcel_id])} for s in sections()]


def parcel_sheet(parcel: Parcel) -> dict:
    """The public facts of a parcel as JSON-ready data."""
    with connection.cursor() as cursor:
        cursor.execute(_FRONTAGES, [parcel.pk])
        frontages = [
            {"street_id": r[0], "name": r[1], "name_en": r[2], "kind": r[3], "existing_width": r[4],
             "planned_width": r[5], "frontage_length": round(r[6], 2),
             "widening_area": None if r[7] is None else round(r[7], 2)}
            for r in cursor.fetchall()
        ]
        cursor.execute(_GEOMETRY, [parcel.pk])
        geometry, point, widening = cursor.fetchone()
        # The zoning zone(s) the parcel lies in, largest share first (the rulebook plugs its rules in here).
        cursor.execute(_ZONES, [parcel.pk])
        zones = [{"code": r[0], "name": r[1], "name_en": r[2], "share": round(r[3], 3)} for r in cursor.fetchall()]
    buildings = Building.objects.filter(parcel=parcel).aggregate(
        count=Count("id"), floors_above_max=Max("floors_above"), floors_below_max=Max("floors_below"),
        gross_floor_area=Sum("gross_floor_area"), units=Sum("units"), oldest=Min("year_built"),
    )
    structure_types = sorted(
        Building.objects.filter(parcel=parcel, structure_type__isnull=False)
        .values_list("structure_type__name_fa", "structure_type__name_en").distinct()
    )
    land_use = parcel.land_use
    widening_area = sum(f["widening_area"] or 0 for f in frontages)
    return {
        "id": parcel.pk,
        "renewal_code": parcel.renewal_code,
        "registered_plate": {"section": parcel.plate_section, "main": parcel.plate_main, "sub": parcel.plate_sub},
        "postal_code": parcel.postal_code,
        "addresses": [{"street": a.street.name if a.street else None, "plaque": a.plaque}
                      for a in parcel.addresses.select_related("street")],
        "district": _named(parcel.district), "zone": _named(parcel.zone),
        "block": {"code": parcel.block.code, "land_price": parcel.block.land_price} if parcel.block else None,
        "zoning": [z for z in zones if z["share"] and z["share"] >= 0.01],
        "land_use": {"code": land_use.code, "name_fa": land_use.name_fa, "name_en": land_use.name_en}
        if land_use else None,
        "deed_area": None if parcel.deed_area is None else float(parcel.deed_area),
        "measured_area": round(parcel.measured_area, 2),
        "area_mismatch": parcel.area_mismatch,
        "area_mismatch_tolerance": settings.AREA_MISMATCH_TOLERANCE,
        "frontage_length": parcel.frontage_length,
        "widest_street_width": parcel.widest_street_width,
        "is_corner": parcel.is_corner,
        "frontages": frontages,
        "road_widening": {"area": round(widening_area, 2), "geometry": widening} if widening else None,
        "buildings": {**buildings, "structure_types": [{"name_fa": a, "name_en": b} for a, b in structure_types]},
        "geometry": geometry,
        "point": point,
        "is_demo_data": bool(parcel.import_run and parcel.import_run.is_demo),
        "sections": section_links(parcel.pk),
    }


def _named(obj):
    return {"code": obj.code, "name": obj.name, "name_en": obj.name_en} if obj else None


def dumps(data) -> str:
    return json.dumps(data, ensure_ascii=False)
