"""Set-based steps after a layer is merged: linking rows to their blocks and parcels, derived facts.

Each step works on the rows the import touched (temp table import_touched) and returns counts for the report,
under English keys marked for translation (gettext_noop): the report prints them in the reader's language.
"""

from django.utils.translation import gettext_noop

from parcels import derived

# Refreshing the whole city at once is cheaper than a long id list once most parcels are touched.
WHOLE_CITY_SHARE = 0.5

FRONTAGES_REFRESHED = gettext_noop("frontages refreshed for parcels")


def run(spec, cursor, report) -> dict:
    step = _STEPS.get(spec.name)
    return step(cursor) if step else {}


def _touched(cursor) -> list[int]:
    cursor.execute("SELECT id FROM import_touched")
    return [row[0] for row in cursor.fetchall()]


def _refresh(cursor, parcel_ids: list[int]) -> dict:
    cursor.execute("SELECT count(*) FROM parcels_parcel")
    total = cursor.fetchone()[0]
    if not parcel_ids:
        return {FRONTAGES_REFRESHED: 0}
    derived.refresh_frontages(None if len(parcel_ids) > WHOLE_CITY_SHARE * total else parcel_ids)
    return {FRONTAGES_REFRESHED: len(parcel_ids)}


def _exists(cursor, table: str) -> bool:
    cursor.execute(f'SELECT EXISTS (SELECT 1 FROM "{table}")')
    return cursor.fetchone()[0]


def parcels(cursor) -> dict:
    out = {}
    if _exists(cursor, "parcels_block"):
        out.update(_link_blocks(cursor))
    if _exists(cursor, "parcels_district"):
        cursor.execute("""
            UPDATE parcels_parcel p SET district_id = d.id
            FROM parcels_district d
            WHERE p.id IN (SELECT id FROM import_touched) AND p.district_id IS NULL
              AND ST_Intersects(d.geom, ST_PointOnSurface(p.geom))
        """)
        out[gettext_noop("districts by location")] = cursor.rowcount
    if _exists(cursor, "parcels_street") or _exists(cursor, "parcels_frontage"):
        out.update(_refresh(cursor, _touched(cursor)))
    return out


def _link_blocks(cursor) -> dict:
    # The block code is the first three segments of the renewal code; failing that, the block containing it.
    cursor.execute("""
        UPDATE parcels_parcel p SET block_id = b.id, zone_id = b.zone_id, district_id = b.district_id
        FROM parcels_block b
        WHERE p.id IN (SELECT id FROM import_touched) AND p.renewal_code IS NOT NULL
          AND b.code = substring(p.renewal_code from '^[0-9]+-[0-9]+-[0-9]+')
          AND p.block_id IS DISTINCT FROM b.id
    """)
    by_code = cursor.rowcount
    cursor.execute("""
        UPDATE parcels_parcel p SET block_id = b.id, zone_id = b.zone_id, district_id = b.district_id
        FROM parcels_block b
        WHERE p.id IN (SELECT id FROM import_touched) AND p.block_id IS NULL
          AND ST_Intersects(b.geom, ST_PointOnSurface(p.geom))
    """)
    return {gettext_noop("linked to blocks by code"): by_code,
            gettext_noop("linked to blocks by location"): cursor.rowcount}


def streets(cursor) -> dict:
    cursor.execute("SELECT count(*) FROM parcels_street")
    total_streets = cursor.fetchone()[0]
    cursor.execute("SELECT count(*) FROM import_touched")
    touched = cursor.fetchone()[0]
    if not touched:
        return {}
    if touched > WHOLE_CITY_SHARE * total_streets:
        cursor.execute("SELECT id FROM parcels_parcel")
        return _refresh(cursor, [row[0] for row in cursor.fetchall()])
    return _refresh(cursor, derived.parcels_near_streets(_touched(cursor)))


def buildings(cursor) -> dict:
    cursor.execute("""
        UPDATE parcels_building b SET parcel_id = p.id
        FROM parcels_parcel p
        WHERE b.id IN (SELECT id FROM import_touched) AND b.parcel_id IS NULL
          AND ST_Intersects(p.geom, ST_PointOnSurface(b.geom))
    """)
    return {gettext_noop("buildings linked to parcels by location"): cursor.rowcount}


def blocks(cursor) -> dict:
    cursor.execute("""
        UPDATE parcels_block b SET zone_id = z.id, district_id = z.district_id
        FROM parcels_cadastralzone z
        WHERE b.id IN (SELECT id FROM import_touched) AND z.code = substring(b.code from '^[0-9]+-[0-9]+')
    """)
    return {gettext_noop("blocks linked to zones by code"): cursor.rowcount}


_STEPS = {"parcels": parcels, "streets": streets, "buildings": buildings, "blocks": blocks}


def register(spec_name: str, step) -> None:
    """Another app's post-load step for a layer (called with the cursor), after this app's own step if any."""
    previous = _STEPS.get(spec_name)
    _STEPS[spec_name] = step if previous is None else (lambda cursor: {**previous(cursor), **step(cursor)})
