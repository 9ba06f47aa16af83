"""Named parcel facts a tariff formula may use, each defined once as SQL over the cadastre.

The city-wide assessment selects them for every parcel; the bill of one parcel selects them with the same SQL for
that parcel and hands them to the pure calculator. So the facts are the same on both paths by construction.

Fixed facts (every city has them):

| fact | meaning |
|---|---|
| land_area | deed area, else the measured area (m², 2 decimals) |
| measured_area | area of the parcel's geometry (m², 2 decimals) |
| land_price | the block's regional land price (rials per m²; 0 when the block has none) |
| street_land_price | highest `land_price` attribute of the streets the parcel fronts, else land_price |
| frontage_length, widest_street_width, is_corner | derived from geometry (parcels/derived.py) |
| land_use | the land-use code (compare with == "code") |
| floor_area | gross floor area of the parcel's buildings (m²; footprint × floors where a building has none) |
| floor_area_<type> | the same for one structure type (one fact per row of parcels.StructureType) |

A tariff book adds facts from the parcel's `attributes` JSON in its `[attributes]` table (name = default), e.g.
``piped_water = 1``: a number, a boolean (1/0) or a numeric string in the parcel's attributes, else the default.
"""

import re

from django.db import connection

from parcels.models import StructureType

_BUILDING_AREA = "COALESCE(b.gross_floor_area, ST_Area(b.geom) * GREATEST(b.floors_above, 1))"

FIXED = {
    "land_area": "round(COALESCE(p.deed_area::float8, p.measured_area)::numeric, 2)",
    "measured_area": "round(p.measured_area::numeric, 2)",
    "land_price": "COALESCE(blk.land_price, 0)::numeric",
    "street_land_price": "COALESCE(slp.street_land_price, blk.land_price, 0)::numeric",
    "frontage_length": "round(COALESCE(p.frontage_length, 0)::numeric, 2)",
    "widest_street_width": "round(COALESCE(p.widest_street_width, 0)::numeric, 2)",
    "is_corner": "(CASE WHEN p.is_corner THEN 1 ELSE 0 END)::numeric",
    "land_use": "COALESCE(p.land_use_id, '')",
}
TEXT_FACTS = {"land_use"}
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def structure_types() -> list[str]:
    return [code for code in StructureType.objects.values_list("code", flat=True) if _NAME.match(code)]


def fact_names(attributes: dict | None = None) -> set[str]:
    """Every fact a formula may name: the fixed ones, one floor area per structure type, the book's attributes."""
    return set(FIXED) | {"floor_area"} | {f"floor_area_{t}" for t in structure_types()} | set(attributes or {})


def attribute_sql(name: str, default) -> str:
    """A numeric fact read from the parcel's attributes JSON, with the book's default."""
    key = name.replace("'", "''")
    value = f"p.attributes->'{key}'"
    return (f"(CASE jsonb_typeof({value}) WHEN 'number' THEN ({value})::text::numeric "
            f"WHEN 'boolean' THEN (CASE WHEN ({value})::text = 'true' THEN 1 ELSE 0 END)::numeric "
            f"WHEN 'string' THEN (CASE WHEN p.attributes->>'{key}' ~ '^-?[0-9]+(\\.[0-9]+)?$' "
            f"THEN (p.attributes->>'{key}')::numeric ELSE {float(default)}::numeric END) "
            f"ELSE {float(default)}::numeric END)")


def facts_query(used: set[str], attributes: dict, where: str = "", building_where: str = "") -> str:
    """SELECT parcel_id, district_id and one column per used fact, for every parcel (or those `where` selects).
    The buildings' aggregate is joined only when a floor area is used; `building_where` narrows it to the same
    parcels (PostgreSQL does not push a range on p.id into the grouped subquery by itself)."""
    columns = ["p.id AS parcel_id", "p.district_id AS district_id"]
    joins = ["LEFT JOIN parcels_block blk ON blk.id = p.block_id"]
    floor_facts = sorted(n for n in used if n == "floor_area" or n.startswith("floor_area_"))
    for name in sorted(used):
        if name in FIXED:
            columns.append(f"{FIXED[name]} AS {name}")
        elif name in attributes:
            columns.append(f"{attribute_sql(name, attributes[name])} AS {name}")
        elif name in floor_facts:
            columns.append(f"round(COALESCE(bld.{name}, 0)::numeric, 2) AS {name}")
    if "street_land_price" in used:
        # streets with a price are few: filter them first, then their frontages (a correlated subquery per parcel
        # cost three times the rest of the facts at 100k parcels)
        joins.append("LEFT JOIN (SELECT f.parcel_id, max((s.attributes->>'land_price')::numeric) AS street_land_price "
                     "FROM parcels_street s JOIN parcels_frontage f ON f.street_id = s.id "
                     "WHERE s.attributes->>'land_price' ~ '^[0-9]+(\\.[0-9]+)?$' GROUP BY f.parcel_id) slp "
                     "ON slp.parcel_id = p.id")
    if floor_facts:
        sums = []
        for name in floor_facts:
            if name == "floor_area":
                sums.append(f"sum({_BUILDING_AREA}) AS floor_area")
            else:
                code = name.removeprefix("floor_area_")
                sums.append(f"sum({_BUILDING_AREA}) FILTER (WHERE b.structure_type_id = '{code}') AS {name}")
        joins.append(f"LEFT JOIN (SELECT b.parcel_id, {', '.join(sums)} FROM parcels_building b "
                     f"WHERE b.parcel_id IS NOT NULL {building_where} GROUP BY b.parcel_id) bld ON bld.parcel_id = p.id")
    return f"SELECT {', '.join(columns)} FROM parcels_parcel p {' '.join(joins)} {where}"


def for_parcel(parcel_id: int, used: set[str], attributes: dict) -> dict:
    """The facts of one parcel, by the same SQL the city-wide assessment uses."""
    sql = facts_query(used, attributes, "WHERE p.id = %(id)s", "AND b.parcel_id = %(id)s")
    with connection.cursor() as cursor:
        cursor.execute(sql, {"id": parcel_id})
        row = cursor.fetchone()
        if row is None:
            return {}
        names = [c.name for c in cursor.description]
    return dict(zip(names, row))
