"""The import flow shared by every layer: run_import.

Data flow, in one transaction:

1. open the file with GDAL (pyogrio), any vector format; find its CRS (or take --srs); resolve the field mapping
   (fields.resolve_mapping), the import key and the optional CSV join (source.py);
2. a reader thread streams the file in Arrow batches (batches.py): geometries through shapely (present, right type,
   valid in the file's coordinates or repaired with --fix, reprojected, valid again: geometry.py), attributes
   through the field rules of specs.py (vectorised in fields.py); every row with a problem goes into the report
   with its feature id, key and reason (report.py); the good rows are encoded as COPY data in the same thread;
3. the calling thread COPYs them: straight into the target table on a first load (bulkload.py), otherwise into a
   staging table (merge.py);
4. whole-file checks: duplicate keys, resolved by the duplicate policy (--duplicates: refuse them all, or keep the
   first, the largest, or one with the copies' geometries merged: report.UniqueTracker, dedupe.py), and duplicates of
   the layer's other unique fields;
5. a commit with problems is refused unless --skip-invalid (and one with no good row at all), and nothing is
   written; a dry run says whether the commit would be refused (report.refusal); otherwise the bulk path
   rebuilds indexes and constraints, or the merge path runs one INSERT … ON CONFLICT (key) DO UPDATE, which
   updates changed rows in place (history kept) and leaves equal rows alone; a re-import that changes nothing
   issues no write at all (no statement trigger fires, no layer version moves, no cache is flushed);
6. post-load steps (links to blocks and districts, derived frontages) run set-based (postload.py); a load of
   parcels queues the rebuild of the tiles' land-use overview (parcels/overview.py), which runs once it commits;
7. a dry run (the default) does all of this and rolls back.

Messages people read (errors, row problems, the summary) are in the active language (a command's --language).
"""

from __future__ import annotations

import time
from pathlib import Path

import psycopg
from django.db import DataError, IntegrityError, connection, transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from common import municipality
from common.db import batch_session
from parcels import overview
from parcels.importing import bulkload, dedupe, merge, postload
from parcels.importing import fields as field_rules
from parcels.importing.batches import prepared_batches
from parcels.importing.errors import ImportAborted, ImportError_, MergeRefused
from parcels.importing.options import DUPLICATE_POLICIES, ImportOptions
from parcels.importing.report import ImportReport, UniqueTracker, issue_kind_label
from parcels.importing.source import Source, open_source
from parcels.importing.specs import LAYERS, LayerSpec

# Sent inside a committed import's transaction once its rows are written (layer=the spec's name): apps above react
# to a load without this one naming them (layers/seeding.py defers the warming of the low-zoom tiles).
data_loaded = Signal()


def run_import(opts: ImportOptions) -> ImportReport:
    """Import one file into one layer. Returns the report; raises ImportError_ when the file cannot be imported,
    ImportAborted when a commit is refused because of row problems (the report says which rows and why)."""
    if opts.layer not in LAYERS:
        raise ImportError_(_("Unknown layer %(layer)r; layers: %(layers)s")
                           % {"layer": opts.layer, "layers": ", ".join(LAYERS)})
    spec = LAYERS[opts.layer]
    if opts.duplicates not in DUPLICATE_POLICIES:
        raise ImportError_(_("Unknown duplicate policy %(policy)r; use one of: %(policies)s")
                           % {"policy": opts.duplicates, "policies": ", ".join(DUPLICATE_POLICIES)})
    if opts.duplicates == "merge" and spec.geometry != "polygon":
        raise ImportError_(_("--duplicates merge joins polygons into one multipolygon; %(layer)s is not a polygon "
                             "layer (use first, largest or refuse)") % {"layer": spec.name})
    started = time.perf_counter()
    source = open_source(opts, spec)
    target_srid = municipality.current().srid
    keep_unmapped = opts.keep_unmapped and spec.has_attributes
    report = ImportReport(
        layer=spec.name, source=str(opts.path), driver=source.driver, source_layer=source.layer,
        source_crs=source.crs.to_string(), target_srid=target_srid, dry_run=not opts.commit, key=source.key,
        mapping=dict(source.mapping), unmapped_fields=source.unmapped_fields, unmapped_kept=keep_unmapped,
        duplicate_policy=opts.duplicates,
    )
    report.timings["open"] = time.perf_counter() - started

    transformer = source.transformer_to(target_srid)
    checker = field_rules.FieldChecker(spec, source.mapping, opts.values or {}, opts.calendar)

    with batch_session():
        try:
            with transaction.atomic():
                _load(opts, spec, source, transformer, checker, keep_unmapped, report)
                if not opts.commit:
                    raise _Rollback()
                if report.inserted or report.updated:
                    data_loaded.send(sender=run_import, layer=spec.name)
        except _Rollback:
            pass
    report.timings["total"] = time.perf_counter() - started
    if report.abort_reason:
        raise ImportAborted(report)
    return report


class _Rollback(Exception):
    pass


# Errors of rows the database refuses, through Django's cursor or the raw one COPY uses.
DB_REFUSALS = (IntegrityError, DataError, psycopg.errors.IntegrityError, psycopg.errors.DataError)


def _load(opts: ImportOptions, spec: LayerSpec, source: Source, transformer, checker, keep_unmapped: bool,
          report: ImportReport):
    t0 = time.perf_counter()
    checker.preload()
    key = source.key
    with connection.cursor() as cursor:
        # A first load into an empty table takes the bulk path (COPY into the table, indexes and constraints
        # rebuilt set-based); otherwise rows are staged and merged so a re-import updates in place.
        bulk = merge.target_is_empty(cursor, spec)
        run = _import_run(opts, spec) if opts.commit else None
        if bulk:
            loader = bulkload.BulkLoader(cursor, spec, checker, keep_unmapped, run.pk if run else None)
            target, encode = f'"{spec.table}"', loader.encode
        else:
            columns = checker.staging_columns(keep_unmapped)
            merge.create_staging(cursor, spec, columns)
            target, encode = merge.STAGING, lambda batch: merge.encode_rows(batch, columns)
        tracker = UniqueTracker(spec, key, opts.duplicates)
        bar = _progress(opts.progress, source.feature_count,
                        _("reading %(file)s") % {"file": Path(opts.path).name})
        try:
            for batch in prepared_batches(opts, spec, source, transformer, checker, keep_unmapped, report, encode):
                tracker.add(batch)
                merge.copy_encoded(cursor, target, batch.encoded)
                if bulk:
                    loader.rows += batch.encoded.rows
                if bar:
                    bar.update(batch.features)
        except DB_REFUSALS as exc:  # the field rules should have caught it: say so, in a report, not a traceback
            report.abort_reason = (_("The database refused the rows: %(error)s") % {"error": exc}).strip()
            raise _Rollback() from None
        finally:
            if bar:
                bar.close()
        report.timings["read_validate_copy"] = time.perf_counter() - t0
        if source.join is not None:
            report.join = dict(source.join.stats)

        t1 = time.perf_counter()
        report.issues.extend(tracker.issues())
        report.issues.sort(key=lambda i: (i.fid, i.kind))
        report.duplicates = tracker.resolution_issues()
        bad_fids = {i.fid for i in report.issues}
        report.skipped = len(bad_fids)
        report.rows_ok = report.features_read - len(bad_fids) - len(tracker.resolved_away() - bad_fids)
        report.refusal = _refusal(report, bad_fids, opts)
        if opts.commit and report.refusal:
            report.abort_reason = report.refusal
            raise _Rollback()
        late_bad = tracker.bad_fids()  # rows already written that whole-file checks rejected
        try:
            if bulk:
                report.inserted = loader.finish(late_bad, tracker)
                report.updated = report.unchanged = 0
            else:
                dedupe.apply_staging(cursor, tracker.resolutions(), opts.duplicates == "merge")
                if late_bad:
                    merge.drop_rows(cursor, late_bad)
                report.inserted, report.updated, report.unchanged = merge.merge(
                    cursor, spec, key, run.pk if run else None)
        except DB_REFUSALS as exc:
            report.abort_reason = (_("The database refused the rows: %(error)s") % {"error": exc}).strip()
            raise _Rollback() from None
        except MergeRefused as exc:
            shown = "; ".join(f"{key}: {why}" for key, why in exc.problems[:20])
            report.abort_reason = _(
                "Merging the copies of %(count)s duplicate keys made geometries that cannot be stored (%(problems)s); "
                "nothing was written. Choose another --duplicates policy or correct the file."
            ) % {"count": len(exc.problems), "problems": shown + (" …" if len(exc.problems) > 20 else "")}
            raise _Rollback() from None
        report.timings["bulk_finish" if bulk else "merge"] = time.perf_counter() - t1

        if opts.derive and (report.inserted or report.updated):  # an unchanged re-import touches nothing
            t2 = time.perf_counter()
            report.post_load = postload.run(spec, cursor, report)
            report.timings["post_load"] = time.perf_counter() - t2
        if run is not None and spec.table == overview.SOURCE_TABLE and (report.inserted or report.updated):
            overview.queue_rebuild()  # the tiles' land-use overview, once this commits (a job: minutes at 1M)
        if run is not None:
            report.committed = True
            run.committed = True
            run.finished_at = timezone.now()
            run.report = report.to_json()
            run.save()
            report.import_run_id = run.pk


def _refusal(report: ImportReport, bad_fids: set[int], opts: ImportOptions) -> str:
    """Why a commit of this file is refused ("" when it would be written); a dry run reports it, and the command
    exits non-zero on it, so a dry run tells whether the commit would go through."""
    if bad_fids and not opts.skip_invalid:
        counts = ", ".join(f"{n} {issue_kind_label(k)}" for k, n in sorted(report.counts_by_kind.items()))
        reason = _(
            "%(bad)s of %(read)s rows have problems (%(counts)s); nothing was written. Correct the file, use "
            "--fix for invalid geometries, or --skip-invalid to import the other rows."
        ) % {"bad": len(bad_fids), "read": report.features_read, "counts": counts}
        if report.count("duplicate_key"):
            reason += " " + _("For rows that share a key, choose which to keep with --duplicates first, largest or "
                              "merge.")
        return reason
    if report.features_read and not report.rows_ok:
        return _("None of the %(read)s rows can be imported; nothing was written.") % {"read": report.features_read}
    return ""


def _import_run(opts: ImportOptions, spec: LayerSpec):
    from parcels.models import ImportRun

    return ImportRun.objects.create(
        layer=spec.name, source=str(opts.path), run_by=opts.run_by, is_demo=opts.is_demo, committed=False
    )


def _progress(enabled: bool, total, desc: str):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=" " + pgettext("progress unit", "features"), unit_scale=True)
