"""The parcel sheet: everything public about one parcel, built as JSON by PostGIS in one statement; and the
sections other apps plug into it.

Owners are never part of the sheet: the sheet is public.
"""

import json
import re
from dataclasses import dataclass
from typing import Callable

from django.conf import settings
from common import municipality
from common.db import prepared_fetchone, read_connection
from parcels.models import Parcel

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

# Facts other apps add to the sheet's one statement (so a click stays one round trip): key -> a SQL expression over
# the sheet's parcel row `p` that PostGIS turns into JSON (e.g. zoning's zones covering the parcel).
FIELDS: dict[str, str] = {}


def register_section(section: SheetSection) -> None:
    """Called from an app's AppConfig.ready()."""
    SECTIONS[section.key] = section


def register_field(key: str, sql: str) -> None:
    """Called from an app's AppConfig.ready(): add `key` to every sheet, computed by the SQL expression `sql`."""
    if key in FIELDS and FIELDS[key] != sql:
        raise ValueError(f"sheet field {key!r} is registered twice")
    FIELDS[key] = sql


def sections() -> list[SheetSection]:
    return sorted(SECTIONS.values(), key=lambda s: (s.order, s.key))


def section_links(parcel_id: int) -> list[dict]:
    from django.urls import reverse

    return [{"key": s.key, "title_fa": s.title_fa, "title_en": s.title_en,
             "url": reverse(s.url_name, args=[parcel_id])} for s in sections()]


_LINKS_ID = 987654321987654321  # a parcel id no title holds: where each link's id goes
_links_json: dict[str, tuple[tuple[str, ...], str]] = {}


def section_links_json(parcel_id: int) -> str:
    """section_links as JSON text, made from one template per URL prefix and set of sections: a click costs no URL
    reversing (about a tenth of the sheet's Python time)."""
    from django.urls import get_script_prefix

    prefix, keys = get_script_prefix(), tuple(SECTIONS)
    kept = _links_json.get(prefix)
    if kept is None or kept[0] != keys:
        kept = _links_json[prefix] = (keys, dumps(section_links(_LINKS_ID)))
    return kept[1].replace(str(_LINKS_ID), str(int(parcel_id)))


# The whole public sheet of one parcel, built as JSON by PostGIS in one statement: a map click costs one round trip
# and no Python per field (PERFORMANCE.md: JSON made in the database is 5-10x faster than serialisers).
# {where} picks the parcel (by id, by renewal code, or the parcel under a point). The road-widening strip
# (عقب‌نشینی) is defined once, as the SQL function road_widening_strip (parcels migration 0003).
_SHEET = """
WITH p AS (
    SELECT * FROM parcels_parcel WHERE {where} ORDER BY id LIMIT 1
), fr AS (
    SELECT s.id, s.name, s.name_en, s.kind, s.existing_width, s.planned_width, f.length,
           road_widening_strip(p.geom, s.geom, s.planned_width, s.existing_width) AS strip
    FROM p JOIN parcels_frontage f ON f.parcel_id = p.id JOIN parcels_street s ON s.id = f.street_id
), b AS (
    SELECT count(*) AS count, max(floors_above) AS floors_above_max, max(floors_below) AS floors_below_max,
           sum(gross_floor_area) AS gross_floor_area, sum(units) AS units, min(year_built) AS oldest
    FROM parcels_building WHERE parcel_id = (SELECT id FROM p)
), widening AS (
    SELECT sum(ST_Area(strip)) AS area, ST_Multi(ST_CollectionExtract(ST_Union(strip), 3)) AS geom FROM fr
)
SELECT p.id, json_build_object(
    'id', p.id,
    'renewal_code', p.renewal_code,
    'source_id', p.source_id,
    'registered_plate', json_build_object('section', p.plate_section, 'main', p.plate_main, 'sub', p.plate_sub),
    'postal_code', p.postal_code,
    'addresses', (SELECT coalesce(json_agg(json_build_object('street', st.name, 'street_en', st.name_en,
                                                             'plaque', a.plaque) ORDER BY a.id),
                                  '[]')
                  FROM parcels_address a LEFT JOIN parcels_street st ON st.id = a.street_id WHERE a.parcel_id = p.id),
    'district', (SELECT json_build_object('code', code, 'name', name, 'name_en', name_en)
                 FROM parcels_district WHERE id = p.district_id),
    'zone', (SELECT json_build_object('code', code, 'name', name, 'name_en', name_en)
             FROM parcels_cadastralzone WHERE id = p.zone_id),
    'block', (SELECT json_build_object('code', code, 'land_price', land_price) FROM parcels_block WHERE id = p.block_id),
    'land_use', (SELECT json_build_object('code', code, 'name_fa', name_fa, 'name_en', name_en)
                 FROM parcels_landuse WHERE code = p.land_use_id),
    'deed_area', p.deed_area::float8,
    'measured_area', round(p.measured_area::numeric, 2),
    'area_mismatch', coalesce(p.deed_area > 0 AND abs(p.measured_area / p.deed_area::float8 - 1) > %(tolerance)s, false),
    'area_mismatch_tolerance', %(tolerance)s,
    'frontage_length', p.frontage_length,
    'widest_street_width', p.widest_street_width,
    'is_corner', p.is_corner,
    'frontages', (SELECT coalesce(json_agg(json_build_object(
                      'street_id', id, 'name', name, 'name_en', name_en, 'kind', kind, 'existing_width', existing_width,
                      'planned_width', planned_width, 'frontage_length', round(length::numeric, 2),
                      'widening_area', round(ST_Area(strip)::numeric, 2))
                      ORDER BY existing_width DESC, length DESC), '[]') FROM fr),
    'road_widening', (SELECT CASE WHEN geom IS NOT NULL THEN json_build_object(
                          'area', round(area::numeric, 2),
                          'geometry', ST_AsGeoJSON(ST_Transform(geom, 4326), 7)::json) END FROM widening),
    'buildings', (SELECT json_build_object(
                      'count', b.count, 'floors_above_max', b.floors_above_max, 'floors_below_max', b.floors_below_max,
                      'gross_floor_area', b.gross_floor_area, 'units', b.units, 'oldest', b.oldest,
                      'structure_types', (SELECT coalesce(json_agg(json_build_object('name_fa', t.name_fa,
                                                                                     'name_en', t.name_en)
                                                                   ORDER BY t.name_fa, t.name_en), '[]')
                                          FROM (SELECT DISTINCT st.name_fa, st.name_en FROM parcels_building bu
                                                JOIN parcels_structuretype st ON st.code = bu.structure_type_id
                                                WHERE bu.parcel_id = p.id) t)) FROM b),
    'geometry', ST_AsGeoJSON(ST_Transform(p.geom, 4326), 7)::json,
    'point', ST_AsGeoJSON(ST_Transform(ST_PointOnSurface(p.geom), 4326), 7)::json,
    'is_demo_data', coalesce((SELECT is_demo FROM parcels_importrun WHERE id = p.import_run_id), false){fields}
)::text
FROM p
"""

WHERE = {
    "id": "id = %(key)s",
    "renewal_code": "renewal_code = %(key)s",
    # the parcel under a point (a map click), given as WGS84 longitude and latitude
    "point": "ST_Intersects(geom, ST_Transform(ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326), %(srid)s))",
}


def sheet_sql(where: str) -> str:
    """The sheet's one statement for the parcel picked by the SQL condition `where`, with every registered field.
    Its lines are joined into one: psycopg converts a statement's placeholders once and keeps the result only for
    statements under 4 KB, and this one is re-converted on every click above that."""
    fields = "".join(f",\n    {_sql_string(key)}, ({sql})" for key, sql in sorted(FIELDS.items()))
    return re.sub(r"\s*\n\s*", " ", _SHEET.format(where=where, fields=fields))


_statements: dict[str, tuple[dict, str]] = {}


def _statement(by: str) -> str:
    kept = _statements.get(by)
    if kept is None or kept[0] != FIELDS:
        kept = _statements[by] = (dict(FIELDS), sheet_sql(WHERE[by]))
    return kept[1]


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def sheet_json(by: str, key) -> str | None:
    """The sheet of the parcel found by `by` (id, renewal_code, or point: a (lon, lat) pair) as JSON text, or None. The API sends this
    text as it comes from PostGIS, with the sections' links added."""
    if by == "id" and not 0 < key < 2**63:
        return None
    params = {"tolerance": float(settings.AREA_MISMATCH_TOLERANCE)}
    if by == "point":
        params.update(lon=float(key[0]), lat=float(key[1]), srid=municipality.current().srid)
    else:
        params["key"] = key
    row = prepared_fetchone(_statement(by), params)
    if row is None:
        return None
    parcel_id, text = row
    return text[:-1] + ', "sections": ' + section_links_json(parcel_id) + "}"


def parcel_sheet(parcel: Parcel) -> dict:
    """The public facts of a parcel as JSON-ready data."""
    return json.loads(sheet_json("id", parcel.pk))


def dumps(data) -> str:
    return json.dumps(data, ensure_ascii=False)


def near_parcels(lon: float, lat: float, metres: float = 500) -> bool:
    """Whether some parcel lies within `metres` of a WGS84 point: a click that found no parcel was on a street or open
    land of the city, or outside it."""
    with read_connection().cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM parcels_parcel WHERE ST_DWithin(geom, "
                       "ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), 4326), %s), %s))",
                       [lon, lat, municipality.current().srid, metres])
        return cursor.fetchone()[0]

