"""A duplicate-key policy applied to rows already COPYed (report.UniqueTracker decides which row of each key stays;
options.DUPLICATE_POLICIES): the other rows are deleted, and under "merge" the kept row first gets the union of all
its copies' geometries as one multipolygon. Set-based: one temp table of (member, kept) pairs, one UPDATE, one
DELETE, however many keys repeat.

The merge path finds the rows in its staging table by feature id. The bulk path COPYs straight into the target table,
which has no feature id: it finds them by key and by their place among the key's rows in id order, which is file
order (a COPY takes its ids from the sequence row after row).
"""

from __future__ import annotations

import numpy as np
import shapely
from django.utils.translation import gettext as _

from common import municipality
from parcels.importing.errors import MergeRefused
from parcels.importing.geometry import served_invalid
from parcels.importing.merge import STAGING
from parcels.importing.report import Resolution
from parcels.importing.specs import LayerSpec

PAIRS = "import_duplicates"


def apply_staging(cursor, resolutions: list[Resolution], merge_geometries: bool) -> int:
    """Resolve the duplicates in the staging table; returns the rows removed."""
    if not resolutions:
        return 0
    members, kept = [], []
    for r in resolutions:
        for fid in [r.kept, *r.others]:
            members.append(fid)
            kept.append(r.kept)
    _pairs_table(cursor)
    cursor.execute(f"INSERT INTO {PAIRS} SELECT * FROM unnest(%s::bigint[], %s::bigint[])", [members, kept])
    keys = {r.kept: r.key for r in resolutions}
    return _apply(cursor, STAGING, "fid", merge_geometries, "fid::text", keys)


def apply_bulk(cursor, spec: LayerSpec, key: str, resolutions: list[Resolution], merge_geometries: bool) -> int:
    """Resolve the duplicates in the target table of a bulk load (its unique constraints are not back yet)."""
    if not resolutions:
        return 0
    keys, ranks, kept_ranks = [], [], []
    for r in resolutions:
        for rank in [r.kept_rank, *r.other_ranks]:
            keys.append(r.key)
            ranks.append(rank)
            kept_ranks.append(r.kept_rank)
    column, table = spec.field(key).db_column, spec.table
    cursor.execute("DROP TABLE IF EXISTS import_duplicate_ranks")
    cursor.execute("CREATE TEMP TABLE import_duplicate_ranks ON COMMIT DROP AS "
                   "SELECT * FROM unnest(%s::text[], %s::int[], %s::int[]) AS d(key, rank, kept_rank)",
                   [keys, ranks, kept_ranks])
    _pairs_table(cursor)
    cursor.execute(
        f"WITH ranked AS (SELECT t.id, t.\"{column}\"::text AS key, "
        f"row_number() OVER (PARTITION BY t.\"{column}\" ORDER BY t.id) AS rank FROM \"{table}\" t "
        f"WHERE t.\"{column}\"::text IN (SELECT key FROM import_duplicate_ranks)) "
        f"INSERT INTO {PAIRS} SELECT m.id, k.id FROM import_duplicate_ranks d "
        f"JOIN ranked m ON m.key = d.key AND m.rank = d.rank JOIN ranked k ON k.key = d.key AND k.rank = d.kept_rank"
    )
    return _apply(cursor, f'"{table}"', "id", merge_geometries, f'"{column}"::text')


def _pairs_table(cursor) -> None:
    cursor.execute(f"DROP TABLE IF EXISTS {PAIRS}")
    cursor.execute(f"CREATE TEMP TABLE {PAIRS} (member bigint NOT NULL, kept bigint NOT NULL) ON COMMIT DROP")


def _apply(cursor, table: str, id_column: str, merge_geometries: bool, label_sql: str,
           keys: dict | None = None) -> int:
    if merge_geometries:
        cursor.execute(
            f"UPDATE {table} s SET geom = u.geom FROM ("
            f"  SELECT d.kept, ST_Multi(ST_CollectionExtract(ST_Union(m.geom), 3)) AS geom"
            f"  FROM {PAIRS} d JOIN {table} m ON m.{id_column} = d.member GROUP BY d.kept) u "
            f"WHERE s.{id_column} = u.kept"
        )
        _check_merged(cursor, table, id_column, label_sql, keys or {})
    cursor.execute(f"DELETE FROM {table} WHERE {id_column} IN (SELECT member FROM {PAIRS} WHERE member <> kept)")
    return cursor.rowcount


def _check_merged(cursor, table: str, id_column: str, label_sql: str, keys: dict) -> None:
    """The merged geometries pass the checks every imported geometry passes (geometry.py): valid and not empty where
    they are stored, and valid in every CRS they are served in. A union of valid parts can fail the latter (parts
    that touch at a point a rounding moves). Otherwise the import is refused, naming the keys."""
    cursor.execute(f"SELECT {label_sql}, ST_AsBinary(geom) FROM {table} "
                   f"WHERE {id_column} IN (SELECT DISTINCT kept FROM {PAIRS}) ORDER BY {id_column}")
    found = cursor.fetchall()
    if not found:
        return
    labels = [keys.get(int(label), label) if keys else label for label, _wkb in found]
    geoms = shapely.from_wkb([bytes(wkb) if wkb is not None else None for _label, wkb in found])
    problems: dict[int, str] = {}
    for i in np.flatnonzero(shapely.is_missing(geoms) | shapely.is_empty(geoms)):
        problems[int(i)] = _("the merged copies have no area together")
    for i in np.flatnonzero(~shapely.is_valid(geoms)):
        problems.setdefault(int(i), shapely.is_valid_reason(geoms[i]))
    srid = municipality.current().srid
    for mask, served, reasons in served_invalid(geoms, srid):
        for i, reason in zip(np.flatnonzero(mask), reasons):
            problems.setdefault(int(i), _("valid in EPSG:%(srid)s but not in EPSG:%(served)s, where it is served: "
                                          "%(reason)s") % {"srid": srid, "served": served, "reason": reason})
    if problems:
        raise MergeRefused([(str(labels[i]), problems[i]) for i in sorted(problems)])
