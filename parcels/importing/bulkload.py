"""The bulk path of an import: the first load of a layer into an empty table.

Rows are COPYed straight into the target table. Its secondary indexes, unique and foreign-key constraints are
dropped first and rebuilt after the load in the same transaction — one sorted build and one set-based check instead
of a million index insertions and a million deferred per-row foreign-key checks at commit (pg_restore does the
same). CHECK constraints are dropped too and re-added
in one validating ALTER TABLE: PostGIS still checks every row (valid, non-empty geometry) before the commit, in one
scan instead of row by row. A failure anywhere rolls back
the load and the DDL together. The table is locked while this runs, which suits a first load.

Everything the merge path computes in SQL (references by code, MultiPolygon, SRID) is computed here in the batch,
so COPY receives the table's own columns; the field rules both paths share (fields.FieldChecker: ranges, required
values, the defaults of NOT NULL columns) have been applied to the batch before either sees it.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
from django.db import connection

from parcels.importing import dedupe
from parcels.importing.merge import encode_table, insert_defaults
from parcels.importing.specs import LayerSpec


class BulkLoader:
    def __init__(self, cursor, spec: LayerSpec, checker, keep_unmapped: bool, run_id):
        self.cursor = cursor
        self.spec = spec
        self.model = spec.model
        self.keep_unmapped = keep_unmapped and any(f.name == "attributes" for f in self.model._meta.fields)
        self.run_id = run_id
        self.fields = [f for f in spec.fields if f.name in checker.mapping]
        self.lookups = {f.name: self._lookup(f) for f in self.fields if f.kind in ("code_ref", "parcel_ref")}
        self.constants = self._constants()
        self.restore = self._drop_secondary()
        self.rows = 0

    def _lookup(self, f):
        """(codes, ids) to turn a code into the referenced row's id, vectorised with Arrow."""
        if f.kind == "code_ref":
            pairs = list(self.model._meta.get_field(f.name).related_model._default_manager.values_list("code", "id"))
        else:
            with connection.cursor() as c:
                c.execute("SELECT renewal_code, id FROM parcels_parcel WHERE renewal_code IS NOT NULL "
                          "UNION ALL SELECT source_id, id FROM parcels_parcel WHERE source_id IS NOT NULL")
                pairs = c.fetchall()
        codes = pa.array([p[0] for p in pairs], pa.string())
        ids = pa.array([p[1] for p in pairs], pa.int64())
        return codes, ids

    def _constants(self) -> dict:
        """NOT NULL columns the file does not fill (their model default), and the import run."""
        provided = {f.db_column for f in self.fields} | {"geom", "import_run_id"}
        if self.keep_unmapped:
            provided.add("attributes")
        out = insert_defaults(self.spec, provided)
        if self.run_id is not None and any(f.column == "import_run_id" for f in self.model._meta.concrete_fields):
            out["import_run_id"] = self.run_id
        return out

    def _drop_secondary(self) -> list[str]:
        """Drop unique and foreign-key constraints and plain indexes; return the statements that restore them."""
        table = self.spec.table
        c = self.cursor
        _flush_deferred_checks(c)
        c.execute(
            "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype IN ('u', 'f', 'c') ORDER BY contype DESC",
            [table],
        )
        constraints = c.fetchall()
        c.execute(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "WHERE x.indrelid = %s::regclass AND NOT x.indisprimary "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)",
            [table],
        )
        indexes = c.fetchall()
        restore = [indexdef for _, indexdef in indexes]
        restore += [f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}'
                    for name, kind, definition in constraints if kind == "u"]
        # CHECK constraints (ST_IsValid above all) cost more row by row during COPY than in one validating scan
        # afterwards; one ALTER TABLE re-adds them all, so PostgreSQL checks every row in a single pass.
        checks = [f'ADD CONSTRAINT "{name}" {definition}' for name, kind, definition in constraints if kind == "c"]
        if checks:
            restore.append(f'ALTER TABLE "{table}" ' + ", ".join(checks))
        restore += [f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}'
                    for name, kind, definition in constraints if kind == "f"]
        for name, _, _ in constraints:
            c.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            c.execute(f'DROP INDEX "{name}"')
        return restore

    def encode(self, batch):
        """The batch's good rows as COPY data in the table's own columns (runs in the reader thread)."""
        keep = pa.array(batch.ok)
        cols = {}
        for f in self.fields:
            col = batch.values[f.name]
            if f.name in self.lookups:
                codes, ids = self.lookups[f.name]
                col = pc.take(ids, pc.index_in(col, value_set=codes))
            elif f.kind == "decimal":
                places = self.model._meta.get_field(f.name).decimal_places
                col = pc.round(col, places)
            cols[f.db_column] = col
        cols["geom"] = batch.geom_hex
        if self.keep_unmapped:
            cols["attributes"] = batch.attributes
        n = batch.features
        for column, value in self.constants.items():
            cols[column] = pa.array([value] * n)
        return encode_table(pa.table(cols).filter(keep))

    def finish(self, late_bad_fids, tracker) -> int:
        """Remove rows whole-file checks rejected (with --skip-invalid), rebuild indexes and constraints."""
        c = self.cursor
        # The duplicate policy first: ranks count the key's rows in the order COPY wrote them.
        removed = dedupe.apply_bulk(c, self.spec, tracker.key, tracker.resolutions(), tracker.policy == "merge")
        for group, values, _ in tracker._find():
            cols = [self.spec.field(name).db_column for name in group]
            where = " AND ".join(f'"{col}" = %s' for col in cols)
            c.execute(f'DELETE FROM "{self.spec.table}" WHERE {where}', list(values))
            removed += c.rowcount
        if removed:
            _flush_deferred_checks(c)
        c.execute("SET LOCAL maintenance_work_mem = '512MB'")
        for statement in self.restore:
            c.execute(statement)
        c.execute(f'ANALYZE "{self.spec.table}"')
        c.execute("DROP TABLE IF EXISTS import_touched")
        c.execute(f'CREATE TEMP TABLE import_touched ON COMMIT DROP AS SELECT id FROM "{self.spec.table}"')
        return self.rows - removed


def _flush_deferred_checks(cursor) -> None:
    """Run the deferred foreign-key checks queued so far in this transaction (by earlier layers or by deletes):
    PostgreSQL won't alter or index a table with pending trigger events."""
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")
