"""The SQL side of an import: staging table, COPY, whole-file checks, and the merge into the target table.

Raw SQL because this is bulk, set-based work: COPY is the fastest way into PostgreSQL, and one
INSERT … ON CONFLICT merges a million rows in one statement. Table and column names come from the model's
_meta, never from user input; values are always parameters or COPY data.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.csv as pacsv
from django.db import models

from common import municipality
from parcels.importing.specs import LayerSpec

STAGING = "import_staging"


def target_is_empty(cursor, spec: LayerSpec) -> bool:
    cursor.execute(f'SELECT NOT EXISTS (SELECT 1 FROM "{spec.table}")')
    return cursor.fetchone()[0]


def create_staging(cursor, spec: LayerSpec, columns: list[tuple[str, str]]) -> None:
    cols = ", ".join(f'"{name}" {sqltype}' for name, sqltype in columns)
    cursor.execute(f"DROP TABLE IF EXISTS {STAGING}")
    cursor.execute(
        f"CREATE TEMP TABLE {STAGING} (fid bigint NOT NULL, geom geometry{', ' + cols if cols else ''})"
        " ON COMMIT DROP"
    )


@dataclass
class Encoded:
    """Rows ready for COPY: CSV bytes and their column names."""

    columns: list[str]
    data: bytes
    rows: int


def encode_table(table: pa.Table) -> Encoded:
    """CSV written by Arrow's C++ writer: no Python loop per row."""
    buf = io.BytesIO()
    if table.num_rows:
        pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=False))
    return Encoded(table.column_names, buf.getvalue(), table.num_rows)


def copy_encoded(cursor, table_name: str, encoded: Encoded) -> None:
    if not encoded.rows:
        return
    collist = ", ".join(f'"{n}"' for n in encoded.columns)
    with cursor.cursor.copy(f"COPY {table_name} ({collist}) FROM STDIN WITH (FORMAT csv)") as copy:
        copy.write(encoded.data)


def encode_rows(batch, columns: list[tuple[str, str]]) -> Encoded:
    """The batch's good rows for the staging table."""
    cols = {"fid": pa.array(batch.fids), "geom": batch.geom_hex}
    for name, _ in columns:
        cols[name] = batch.attributes if name == "attributes" else batch.values[name]
    return encode_table(pa.table(cols).filter(pa.array(batch.ok)))


def drop_rows(cursor, fids) -> None:
    cursor.execute(f"DELETE FROM {STAGING} WHERE fid = ANY(%s)", [sorted(fids)])


def _staged_columns(cursor) -> set[str]:
    cursor.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
        [f"pg_temp.{STAGING}"],
    )
    return {row[0] for row in cursor.fetchall()}


def _select_list(spec: LayerSpec, staged: set[str]):
    """Target column -> (SQL expression over staging row `s`, params). Fields not in the file keep their
    default on insert and are left alone on update."""
    model = spec.model
    srid = municipality.current().srid
    exprs: dict[str, tuple[str, list]] = {}
    for f in spec.fields:
        if f.name not in staged:
            continue
        col = f'"{f.name}"'
        model_field = model._meta.get_field(f.name)
        if f.kind == "code_ref":
            ref = model_field.related_model._meta.db_table
            expr = f'(SELECT r.id FROM "{ref}" r WHERE r.code = s.{col})'
        elif f.kind == "parcel_ref":
            expr = (f"COALESCE((SELECT p.id FROM parcels_parcel p WHERE p.renewal_code = s.{col}),"
                    f" (SELECT p.id FROM parcels_parcel p WHERE p.source_id = s.{col}))")
        elif f.kind == "decimal":
            expr = f"round(s.{col}, {model_field.decimal_places})"
        else:
            expr = f"s.{col}"
        # Missing values of NOT NULL columns were given their default by the field rules (fields.FieldChecker),
        # which both paths share: the staging table holds the values as the table will.
        exprs[f.db_column] = (expr, [])
    geom = "ST_SetSRID(s.geom, %s)"
    if spec.geometry == "polygon":
        geom = f"ST_Multi({geom})"
    exprs["geom"] = (geom, [srid])
    if "attributes" in staged:
        exprs["attributes"] = ("s.attributes", [])
    return exprs


def insert_defaults(spec: LayerSpec, provided: set[str]) -> dict[str, object]:
    """NOT NULL columns the file does not provide: their model default, on insert only."""
    out = {}
    for field in spec.model._meta.concrete_fields:
        if field.primary_key or field.column in provided or field.null or field.generated:
            continue
        if field.has_default() or field.empty_strings_allowed:
            value = field.get_default()  # "" for text fields without a default
            if isinstance(field, models.JSONField):
                value = json.dumps(value)
            out[field.column] = value
    return out


def merge(cursor, spec: LayerSpec, key: str, run_id) -> tuple[int, int, int]:
    """Insert new rows, update changed ones, leave equal ones alone. Returns (inserted, updated, unchanged)."""
    table = spec.table
    staged = _staged_columns(cursor)
    exprs = _select_list(spec, staged)
    key_col = spec.field(key).db_column
    model = spec.model
    has_run = any(f.column == "import_run_id" for f in model._meta.concrete_fields)
    compare_cols = [c for c in exprs if c != key_col]

    # Rows of the file whose key is new, and existing rows whose values differ from the file.
    cursor.execute("DROP TABLE IF EXISTS import_new; DROP TABLE IF EXISTS import_changed")
    cursor.execute(
        f"CREATE TEMP TABLE import_new ON COMMIT DROP AS SELECT s.fid FROM {STAGING} s "
        f'WHERE NOT EXISTS (SELECT 1 FROM "{table}" t WHERE t."{key_col}" = s."{key}")'
    )
    target_tuple = ", ".join(f't."{c}"' for c in compare_cols)
    source_tuple = ", ".join(exprs[c][0] for c in compare_cols)
    source_params = [p for c in compare_cols for p in exprs[c][1]]
    cursor.execute(
        f"CREATE TEMP TABLE import_changed ON COMMIT DROP AS SELECT t.id FROM \"{table}\" t "
        f'JOIN {STAGING} s ON t."{key_col}" = s."{key}" '
        f"WHERE ROW({target_tuple}) IS DISTINCT FROM ROW({source_tuple})",
        source_params,
    )
    cursor.execute("SELECT (SELECT count(*) FROM import_new), (SELECT count(*) FROM import_changed),"
                   f" (SELECT count(*) FROM {STAGING})")
    inserted, updated, ok_rows = cursor.fetchone()

    history = _history_table(spec)
    if history and updated:
        _write_history(cursor, spec, history, "+", "state before import (bulk-loaded, first recorded change)",
                       only_without_history=True)

    defaults = insert_defaults(spec, set(exprs) | {"import_run_id"})
    insert_cols = list(exprs) + list(defaults) + (["import_run_id"] if has_run else [])
    select_sql = [exprs[c][0] for c in exprs] + ["%s"] * len(defaults) + (["%s"] if has_run else [])
    params = [p for c in exprs for p in exprs[c][1]] + list(defaults.values()) + ([run_id] if has_run else [])
    updates = [f'"{c}" = EXCLUDED."{c}"' for c in compare_cols] + (['"import_run_id" = EXCLUDED."import_run_id"']
                                                                    if has_run else [])
    quoted_cols = ", ".join(f'"{c}"' for c in insert_cols)
    if not inserted and not updated:
        # Nothing new, nothing changed: no statement at all, so the tables' statement triggers (layer versions,
        # tile and OGC caches) do not fire for a file that changes nothing.
        cursor.execute("DROP TABLE IF EXISTS import_touched")
        cursor.execute("CREATE TEMP TABLE import_touched (id bigint) ON COMMIT DROP")
        return 0, 0, ok_rows
    cursor.execute(
        f'INSERT INTO "{table}" ({quoted_cols}) '
        f"SELECT {', '.join(select_sql)} FROM {STAGING} s "
        f'ON CONFLICT ("{key_col}") DO UPDATE SET {", ".join(updates)} '
        f'WHERE "{table}".id IN (SELECT id FROM import_changed)',
        params,
    )
    if history and updated:
        _write_history(cursor, spec, history, "~", "updated by import")
    if inserted + updated > 1000:
        # Fresh statistics, or the post-load joins are planned as if the table were still empty.
        cursor.execute(f'ANALYZE "{table}"')

    # Rows this import inserted or changed, for the post-load steps.
    cursor.execute("DROP TABLE IF EXISTS import_touched")
    cursor.execute(
        f"CREATE TEMP TABLE import_touched ON COMMIT DROP AS "
        f'SELECT t.id FROM "{table}" t JOIN {STAGING} s ON t."{key_col}" = s."{key}" '
        f"WHERE s.fid IN (SELECT fid FROM import_new) UNION SELECT id FROM import_changed"
    )
    return inserted, updated, ok_rows - inserted - updated


def _history_table(spec: LayerSpec):
    model = spec.model
    manager = getattr(model, "history", None)
    return manager.model if manager is not None else None


def _write_history(cursor, spec: LayerSpec, history_model, history_type: str, reason: str,
                   only_without_history: bool = False) -> None:
    """History rows for the rows this import changes, written set-based like the merge itself."""
    base_cols = {f.column for f in spec.model._meta.concrete_fields if not f.generated}
    cols = [f.column for f in history_model._meta.concrete_fields
            if f.column in base_cols and f.column != "history_id"]
    hist_table = history_model._meta.db_table
    col_sql = ", ".join(f'"{c}"' for c in cols)
    sel_sql = ", ".join(f't."{c}"' for c in cols)
    where = "t.id IN (SELECT id FROM import_changed)"
    if only_without_history:
        where += f' AND NOT EXISTS (SELECT 1 FROM "{hist_table}" h WHERE h.id = t.id)'
    cursor.execute(
        f'INSERT INTO "{hist_table}" ({col_sql}, history_date, history_change_reason, history_type, history_user_id) '
        f'SELECT {sel_sql}, now(), %s, %s, NULL FROM "{spec.table}" t WHERE {where}',
        [reason, history_type],
    )
