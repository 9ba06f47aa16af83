"""The import core shared by every layer.

Data flow, in one transaction:

1. open the file with GDAL (pyogrio), any vector format; find its CRS (or take --srs); resolve the field mapping
   (fields.resolve_mapping) and the optional CSV join;
2. a reader thread streams the file in Arrow batches: geometries through shapely (present, right type, valid in the
   file's coordinates or repaired with --fix, reprojected, valid again), attributes through the field rules of
   specs.py (vectorised in fields.py); every row with a problem goes into the report with its feature id, key and
   reason; the good rows are encoded as COPY data in the same thread;
3. the calling thread COPYs them: straight into the target table on a first load (bulkload.py), otherwise into a
   staging table (merge.py);
4. whole-file checks: duplicate keys and duplicates of the layer's other unique fields (UniqueTracker);
5. a commit with problems is refused unless --skip-invalid, and nothing is written; otherwise the bulk path
   rebuilds indexes and constraints, or the merge path runs one INSERT … ON CONFLICT (key) DO UPDATE, which
   updates changed rows in place (history kept) and leaves equal rows alone;
6. post-load steps (links to blocks and districts, derived frontages) run set-based (postload.py);
7. a dry run (the default) does all of this and rolls back.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyogrio
import pyogrio.raw
import shapely
from django.conf import settings
from django.db import IntegrityError, DataError, connection, transaction
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from common.db import batch_session
from parcels.importing import fields as field_rules
from parcels.importing import bulkload, merge, postload
from parcels.importing.specs import LAYERS, LayerSpec

log = logging.getLogger(__name__)

BATCH_SIZE = 25_000  # small enough that PostgreSQL starts ingesting soon, large enough to amortise calls
REPORT_DETAIL_LIMIT = 5_000  # issues kept in ImportRun.report; the full list goes to --report-file


class ImportError_(Exception):
    """The file cannot be imported at all (unreadable, no CRS, unknown field …). Nothing was written."""


class ImportAborted(Exception):
    """A commit was refused because rows have problems; nothing was written. Carries the report."""

    def __init__(self, report: ImportReport):
        self.report = report
        super().__init__(report.abort_reason)


@dataclass
class ImportOptions:
    layer: str
    path: str
    commit: bool = False
    mapping: dict[str, str] | None = None  # target field -> source field
    values: dict[str, dict[str, str]] | None = None  # target field -> {source value: target value}
    source_layer: str | None = None
    srs: str | None = None
    force_srs: bool = False
    key: str | None = None
    fix: bool = False
    skip_invalid: bool = False
    join_csv: str | None = None
    join_on: str | None = None  # "file_field=csv_column" or one name for both
    allow_outside_area: bool = False
    keep_unmapped: bool = True
    derive: bool = True
    open_options: dict[str, str] | None = None
    run_by: str = ""
    is_demo: bool = False
    progress: bool = False
    batch_size: int = BATCH_SIZE


@dataclass
class Issue:
    fid: int
    key: str | None
    kind: str  # invalid_geometry, empty_geometry, wrong_geometry_type, null_key, duplicate_key, bad_value, fixed
    message: str
    field: str | None = None


@dataclass
class ImportReport:
    layer: str
    source: str
    driver: str = ""
    source_layer: str = ""
    source_crs: str = ""
    target_srid: int = 0
    key: str = ""
    mapping: dict[str, str] = field(default_factory=dict)
    unmapped_fields: list[str] = field(default_factory=list)
    features_read: int = 0
    rows_ok: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    issues: list[Issue] = field(default_factory=list)
    fixed: list[Issue] = field(default_factory=list)
    join: dict = field(default_factory=dict)
    post_load: dict = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    committed: bool = False
    dry_run: bool = True
    abort_reason: str = ""
    import_run_id: int | None = None

    def count(self, kind: str) -> int:
        return sum(1 for i in self.issues if i.kind == kind)

    @property
    def counts_by_kind(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for issue in self.issues:
            out[issue.kind] = out.get(issue.kind, 0) + 1
        return out

    def to_json(self, limit: int | None = REPORT_DETAIL_LIMIT) -> dict:
        data = asdict(self)
        data["issue_counts"] = self.counts_by_kind
        if limit is not None:
            data["issues_truncated"] = len(self.issues) > limit
            data["issues"] = data["issues"][:limit]
            data["fixed"] = data["fixed"][:limit]
        return data

    def write_issues_csv(self, path: str | Path) -> None:
        rows = [asdict(i) for i in self.issues + self.fixed]
        pd.DataFrame(rows, columns=["fid", "key", "kind", "field", "message"]).to_csv(path, index=False)

    def summary(self, detail: int = 30) -> str:
        """The report as people read it at the end of a run."""
        lines = [
            f"{'DRY RUN: nothing written' if self.dry_run else ('COMMITTED' if self.committed else 'NOT COMMITTED')}"
            f" — {self.layer} from {self.source}",
            f"  format {self.driver}, layer {self.source_layer!r}, CRS {self.source_crs} -> EPSG:{self.target_srid}",
            f"  key: {self.key}; mapping: " + ", ".join(f"{t}<-{s}" for t, s in self.mapping.items()),
        ]
        if self.unmapped_fields:
            lines.append(f"  unmapped source fields ({'kept in attributes' if self.unmapped_fields else ''}): "
                         + ", ".join(self.unmapped_fields))
        if self.join:
            lines.append("  join: " + ", ".join(f"{k} {v}" for k, v in self.join.items()))
        lines.append(
            f"  features read {self.features_read}; ok {self.rows_ok}; "
            f"{'would insert' if self.dry_run else 'inserted'} {self.inserted}, "
            f"{'would update' if self.dry_run else 'updated'} {self.updated}, unchanged {self.unchanged}, "
            f"skipped {self.skipped}"
        )
        for kind, n in sorted(self.counts_by_kind.items()):
            lines.append(f"  {kind}: {n}")
        if self.fixed:
            lines.append(f"  repaired geometries (--fix): {len(self.fixed)}")
        for issue in (self.issues + self.fixed)[:detail]:
            where = f"fid {issue.fid}" + (f" key {issue.key!r}" if issue.key not in (None, "") else "")
            what = f" [{issue.field}]" if issue.field else ""
            lines.append(f"    {issue.kind:<20} {where}{what}: {issue.message}")
        if len(self.issues) + len(self.fixed) > detail:
            lines.append(f"    … {len(self.issues) + len(self.fixed) - detail} more (use --report-file for all)")
        if self.post_load:
            lines.append("  after load: " + ", ".join(f"{k} {v}" for k, v in self.post_load.items()))
        if self.abort_reason:
            lines.append(f"  REFUSED: {self.abort_reason}")
        lines.append("  time: " + ", ".join(f"{k} {v:.1f}s" for k, v in self.timings.items()))
        return "\n".join(lines)


# --- Opening the source ---------------------------------------------------------------------------


def _gdal_path(path: str) -> str:
    if not os.path.exists(path):
        raise ImportError_(f"File not found: {path}")
    if path.lower().endswith(".zip"):
        return f"/vsizip/{os.path.abspath(path)}"
    return path


def _source_info(opts: ImportOptions) -> tuple[str, dict]:
    gdal_path = _gdal_path(opts.path)
    try:
        layers = pyogrio.list_layers(gdal_path)
    except Exception as exc:  # pyogrio raises DataSourceError and friends; the message is GDAL's
        raise ImportError_(f"GDAL cannot read {opts.path}: {exc}") from None
    names = [str(row[0]) for row in layers]
    if opts.source_layer:
        if opts.source_layer not in names:
            raise ImportError_(f"{opts.path} has no layer {opts.source_layer!r}; it has: {', '.join(names)}")
        layer = opts.source_layer
    else:
        if not names:
            raise ImportError_(f"{opts.path} has no layers")
        if len(names) > 1:
            spatial = [str(row[0]) for row in layers if row[1] is not None]
            if len(spatial) != 1:
                raise ImportError_(f"{opts.path} has several layers ({', '.join(names)}); choose one with --source-layer")
            names = spatial
        layer = names[0]
    try:
        info = pyogrio.read_info(gdal_path, layer=layer, **(opts.open_options or {}))
    except Exception as exc:
        raise ImportError_(f"GDAL cannot read layer {layer!r} of {opts.path}: {exc}") from None
    info["layer"] = layer
    info["gdal_path"] = gdal_path
    return gdal_path, info


def _source_crs(opts: ImportOptions, info: dict) -> CRS:
    declared = info.get("crs")
    if opts.srs:
        try:
            given = CRS.from_user_input(opts.srs)
        except CRSError as exc:
            raise ImportError_(f"--srs {opts.srs!r} is not a CRS PROJ knows: {exc}") from None
        if declared and not opts.force_srs and not CRS.from_user_input(declared).equals(given, ignore_axis_order=True):
            raise ImportError_(
                f"The file declares {declared} but --srs says {opts.srs}; "
                "pass --force-srs if the file's declaration is wrong."
            )
        return given
    if not declared:
        raise ImportError_(
            f"{opts.path} declares no coordinate reference system. Give it with --srs, "
            "e.g. --srs EPSG:4326 for longitude/latitude."
        )
    try:
        return CRS.from_user_input(declared)
    except CRSError as exc:
        raise ImportError_(f"The file's CRS {declared!r} is not usable: {exc}") from None


# --- The run ----------------------------------------------------------------------------------------


def run_import(opts: ImportOptions) -> ImportReport:
    """Import one file into one layer. Returns the report; raises ImportError_ when the file cannot be imported,
    ImportAborted when a commit is refused because of row problems (the report says which rows and why)."""
    if opts.layer not in LAYERS:
        raise ImportError_(f"Unknown layer {opts.layer!r}; layers: {', '.join(LAYERS)}")
    spec = LAYERS[opts.layer]
    started = time.perf_counter()
    gdal_path, info = _source_info(opts)
    src_crs = _source_crs(opts, info)
    target_srid = settings.MUNICIPALITY_SRID
    report = ImportReport(
        layer=spec.name, source=str(opts.path), driver=info.get("driver") or "", source_layer=info["layer"],
        source_crs=src_crs.to_string(), target_srid=target_srid, dry_run=not opts.commit,
    )
    join = field_rules.load_join(opts, info) if opts.join_csv else None
    source_fields = [str(f) for f in info["fields"]] + (join.columns if join else [])
    mapping = field_rules.resolve_mapping(spec, opts.mapping or {}, source_fields)
    key = opts.key or next((k for k in spec.keys if k in mapping), None)
    if key is None:
        raise ImportError_(
            f"No key field is mapped for {spec.name}: map one of {', '.join(spec.keys)} "
            f"(e.g. --map {spec.keys[-1]}=<source field>) so re-imports update in place."
        )
    if key not in spec.keys:
        raise ImportError_(f"--key {key} is not a unique field of {spec.name}; use one of {', '.join(spec.keys)}")
    if key not in mapping:
        raise ImportError_(f"The key {key} is not mapped to a source field; add --map {key}=<source field>")
    report.key = key
    report.mapping = dict(mapping)
    mapped_sources = set(mapping.values())
    report.unmapped_fields = [f for f in source_fields if f not in mapped_sources]
    keep_unmapped = opts.keep_unmapped and spec.has_attributes
    report.timings["open"] = time.perf_counter() - started

    transformer = None
    target_crs = CRS.from_epsg(target_srid)
    if not src_crs.equals(target_crs):
        transformer = Transformer.from_crs(src_crs, target_crs, always_xy=True)
    checker = field_rules.FieldChecker(spec, mapping, opts.values or {})

    with batch_session():
        try:
            with transaction.atomic():
                _load(opts, spec, info, gdal_path, src_crs, transformer, checker, join, key, keep_unmapped, report)
                if not opts.commit:
                    raise _Rollback()
        except _Rollback:
            pass
    report.timings["total"] = time.perf_counter() - started
    if report.abort_reason:
        raise ImportAborted(report)
    return report


class _Rollback(Exception):
    pass


def _load(opts, spec: LayerSpec, info, gdal_path, src_crs, transformer, checker, join, key, keep_unmapped, report):
    t0 = time.perf_counter()
    checker.preload()
    with connection.cursor() as cursor:
        # A first load into an empty table takes the bulk path (COPY into the table, indexes and constraints
        # rebuilt set-based); otherwise rows are staged and merged so a re-import updates in place.
        bulk = merge.target_is_empty(cursor, spec)
        run = _import_run(opts, spec, report) if opts.commit else None
        if bulk:
            loader = bulkload.BulkLoader(cursor, spec, checker, keep_unmapped, run.pk if run else None)
            target, encode = f'"{spec.table}"', loader.encode
        else:
            columns = checker.staging_columns(keep_unmapped)
            merge.create_staging(cursor, spec, columns)
            target, encode = merge.STAGING, lambda batch: merge.encode_rows(batch, columns)
        tracker = UniqueTracker(spec, key)
        bar = _progress(opts.progress, info.get("features") or None, f"reading {Path(opts.path).name}")
        try:
            for batch in _prepared_batches(opts, spec, info, gdal_path, src_crs, transformer, checker, join,
                                           key, keep_unmapped, report, encode):
                tracker.add(batch)
                merge.copy_encoded(cursor, target, batch.encoded)
                if bulk:
                    loader.rows += batch.encoded.rows
                if bar:
                    bar.update(batch.features)
        finally:
            if bar:
                bar.close()
        report.timings["read_validate_copy"] = time.perf_counter() - t0
        if join is not None:
            report.join = dict(join.stats)

        t1 = time.perf_counter()
        report.issues.extend(tracker.issues())
        report.issues.sort(key=lambda i: (i.fid, i.kind))
        bad_fids = {i.fid for i in report.issues}
        report.skipped = len(bad_fids)
        report.rows_ok = report.features_read - len(bad_fids)
        if opts.commit and bad_fids and not opts.skip_invalid:
            counts = ", ".join(f"{n} {k}" for k, n in sorted(report.counts_by_kind.items()))
            report.abort_reason = (
                f"{len(bad_fids)} of {report.features_read} rows have problems ({counts}); nothing was written. "
                "Correct the file, use --fix for invalid geometries, or --skip-invalid to import the other rows."
            )
            raise _Rollback()
        late_bad = tracker.bad_fids()  # rows already written that whole-file checks rejected
        try:
            if bulk:
                report.inserted = loader.finish(late_bad, tracker)
                report.updated = report.unchanged = 0
            else:
                if late_bad:
                    merge.drop_rows(cursor, late_bad)
                report.inserted, report.updated, report.unchanged = merge.merge(
                    cursor, spec, key, run.pk if run else None)
        except (IntegrityError, DataError) as exc:
            report.abort_reason = f"The database refused the rows: {exc}".strip()
            raise _Rollback() from None
        report.timings["bulk_finish" if bulk else "merge"] = time.perf_counter() - t1

        if opts.derive:
            t2 = time.perf_counter()
            report.post_load = postload.run(spec, cursor, report)
            report.timings["post_load"] = time.perf_counter() - t2
        if run is not None:
            from django.utils import timezone

            report.committed = True
            run.committed = True
            run.finished_at = timezone.now()
            run.report = report.to_json()
            run.save()
            report.import_run_id = run.pk


class UniqueTracker:
    """Duplicate keys (and duplicates of the layer's other unique fields) across the whole file, found in memory
    from the batches' values: a million keys take a few tens of MB."""

    def __init__(self, spec: LayerSpec, key: str):
        self.key = key
        self.groups = [(key,)] + [g for g in spec.within_file_unique if key not in g]
        self.parts: list[pa.Table] = []

    def add(self, batch) -> None:
        # Every row counts, including rows with other problems: "key X also on fid …" must name them all.
        names = sorted({n for g in self.groups for n in g if n in batch.values})
        cols = {"fid": pa.array(batch.fids)}
        for n in names:
            cols[n] = pc.coalesce(batch.values[n], batch.keys) if n == self.key else batch.values[n]
        self.parts.append(pa.table(cols))
        self._found = None

    def _find(self):
        if getattr(self, "_found", None) is not None:
            return self._found
        found = []
        if self.parts:
            table = pa.concat_tables(self.parts).to_pandas()
            for group in self.groups:
                if not all(n in table for n in group):
                    continue
                sub = table.dropna(subset=list(group))
                dup = sub[sub.duplicated(list(group), keep=False)]
                for _, rows in dup.groupby(list(group), sort=False):
                    fids = rows["fid"].tolist()
                    values = rows.iloc[0][list(group)].tolist()
                    found.append((group, values, fids))
        self._found = found
        return found

    def issues(self) -> list[Issue]:
        out = []
        for group, values, fids in self._find():
            label = "+".join(group)
            shown = "/".join(str(v) for v in values)
            for fid in fids:
                others = ", ".join(str(f) for f in fids if f != fid)
                if group == (self.key,):
                    out.append(Issue(int(fid), str(values[0]), "duplicate_key",
                                     f"{self.key} {values[0]!r} also on fid {others}", self.key))
                else:
                    out.append(Issue(int(fid), None, "duplicate_value", f"{label} {shown} also on fid {others}", label))
        return out

    def bad_fids(self) -> set[int]:
        return {int(f) for _, _, fids in self._find() for f in fids}


def _import_run(opts, spec, report):
    from parcels.models import ImportRun

    return ImportRun.objects.create(
        layer=spec.name, source=str(opts.path), run_by=opts.run_by, is_demo=opts.is_demo, committed=False
    )


def _progress(enabled: bool, total, desc: str):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=" features", unit_scale=True)


# --- Batches ---------------------------------------------------------------------------------------------


@dataclass
class Batch:
    """One prepared batch: every row's fid and ok flag; values, EWKB hex geometry and attributes per row."""

    features: int
    fids: np.ndarray
    ok: np.ndarray
    geom_hex: pa.Array
    values: dict
    attributes: pa.Array | None
    keys: pa.Array  # the key as read (before validation), for duplicate detection
    encoded: object = None  # merge.Encoded: the good rows as COPY data


def _prepared_batches(opts, spec, info, gdal_path, src_crs, transformer, checker, join, key, keep_unmapped, report,
                      encode):
    """Read and prepare batches in a second thread, so GDAL, shapely and Arrow (which release the GIL) work on
    the next batch while PostgreSQL ingests this one. Database access stays in the calling thread."""
    out: queue.Queue = queue.Queue(maxsize=2)
    done = object()

    def produce():
        try:
            with pyogrio.raw.open_arrow(gdal_path, layer=info["layer"], batch_size=opts.batch_size,
                                        use_pyarrow=True, return_fids=True, **(opts.open_options or {})) as (meta, reader):
                geom_col = meta["geometry_name"] or "wkb_geometry"
                fid_col = meta.get("fid_column") or "OGC_FID"
                fid_start = 0
                for record_batch in reader:
                    table = pa.Table.from_batches([record_batch])
                    batch = _prepare_batch(table, geom_col, fid_col, fid_start, src_crs, transformer, spec, checker,
                                           join, key, keep_unmapped, opts, report)
                    batch.encoded = encode(batch)  # COPY data, made here so the main thread only sends it
                    out.put(batch)
                    fid_start += table.num_rows
        except BaseException as exc:  # handed to the consumer, which re-raises it
            out.put(exc)
        out.put(done)

    worker = threading.Thread(target=produce, name="import-reader", daemon=True)
    worker.start()
    waited = 0.0
    try:
        while True:
            t = time.perf_counter()
            item = out.get()
            waited += time.perf_counter() - t
            report.timings["waiting_for_reader"] = waited
            if item is done:
                break
            if isinstance(item, BaseException):
                if isinstance(item, (ImportError_, ImportAborted)):
                    raise item
                if "pyogrio" in type(item).__module__ or "DataSource" in type(item).__name__:
                    raise ImportError_(f"GDAL failed reading {opts.path}: {item}") from None
                raise item
            report.features_read += item.features
            yield item
    finally:
        while worker.is_alive():  # unblock the producer if the consumer stopped early
            try:
                out.get(timeout=0.1)
            except queue.Empty:
                pass
        worker.join()


def _prepare_batch(table: pa.Table, geom_col: str, fid_col: str, fid_start: int, src_crs: CRS, transformer,
                   spec: LayerSpec, checker, join, key: str, keep_unmapped: bool, opts: ImportOptions,
                   report: ImportReport) -> Batch:
    """Validate one Arrow batch; record the rows that fail in the report (with fid, key and reason)."""
    n = table.num_rows
    # GDAL's feature ids, as ogrinfo shows them, so the operator can find a reported row.
    fids = (table.column(fid_col).to_numpy() if fid_col in table.column_names else np.arange(fid_start, fid_start + n))
    fids = np.asarray(fids, dtype=np.int64)
    attr_table = table.drop_columns([c for c in (geom_col, fid_col) if c in table.column_names])
    attrs = {name: attr_table.column(name) for name in attr_table.column_names}
    if join is not None:
        attrs = join.apply(attrs)
    for source in set(checker.mapping.values()):
        if source == "@fid":
            attrs[source] = pa.array([str(f) for f in fids], pa.string())
        elif source.startswith("="):
            attrs[source] = pa.array([source[1:]] * n, pa.string())
    ok = np.ones(n, dtype=bool)
    key_array = field_rules.as_text(attrs[checker.mapping[key]])
    key_values = _Values(key_array)  # read one by one, only for the rows an issue is reported on

    def flag(mask, kind, messages, field_name=None):
        for i in np.flatnonzero(mask):
            msg = messages if isinstance(messages, str) else messages[i]
            report.issues.append(Issue(int(fids[i]), key_values[i], kind, msg, field_name))
        ok[mask] = False

    # Geometry: present, right type, valid (or repaired with --fix), reprojected.
    geoms = shapely.from_wkb(table.column(geom_col).to_numpy(zero_copy_only=False), on_invalid="ignore")
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    flag(missing, "empty_geometry", "the feature has no geometry or an empty one")
    geoms = _to_expected_type(geoms, spec, ok, flag)
    # Validity is judged in the file's own coordinates, so reasons point where the operator can find them.
    geoms = _validate(geoms, ok, fids, key_values, spec, opts, report, "")
    _check_extent(geoms[ok], src_crs, opts)
    if transformer is not None:
        geoms = shapely.transform(geoms, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))
        # Rarely, reprojection makes a valid ring touch itself: checked again, in the municipality's CRS.
        geoms = _validate(geoms, ok, fids, key_values, spec, opts, report,
                          f"after reprojection to EPSG:{settings.MUNICIPALITY_SRID}: ")

    # Key and attributes.
    null_key = ok & key_array.is_null().to_numpy(zero_copy_only=False)
    flag(null_key, "null_key", f"the key field {checker.mapping[key]!r} is empty")
    values, errors = checker.convert(attrs, n)
    for name, (mask, messages) in errors.items():
        flag(mask & ok, "bad_value", messages, name)

    geoms = np.where(ok, geoms, None)
    if spec.geometry == "polygon":
        single = shapely.get_type_id(geoms) == 3
        if single.any():
            geoms[single] = shapely.multipolygons(geoms[single], indices=np.arange(int(single.sum())))
    attributes = None
    if keep_unmapped:
        attributes = checker.attributes_json(pa.table({k: v for k, v in attrs.items()}))
    return Batch(n, fids, ok, ewkb_hex(geoms, settings.MUNICIPALITY_SRID), values, attributes, key_array)


class _Values:
    """Index access to an Arrow array as Python values, without converting the whole array."""

    def __init__(self, array: pa.Array):
        self.array = array

    def __getitem__(self, i):
        return self.array[int(i)].as_py()


_HEX = np.frombuffer(b"".join(b"%02x" % i for i in range(256)), dtype=np.uint16)


def ewkb_hex(geoms, srid: int) -> pa.Array:
    """EWKB (WKB with the SRID) as hex text for COPY, vectorised with numpy: shapely writes plain WKB, the SRID is
    spliced into every geometry's header, and a lookup table hex-encodes the bytes (4x faster than GEOS's hex
    writer and than setting the SRID geometry by geometry)."""
    binary = pa.array(shapely.to_wkb(geoms, byte_order=1), pa.binary())  # little-endian
    validity, offsets_buf, data_buf = binary.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int32)[binary.offset: binary.offset + len(binary) + 1].astype(np.int64)
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    data = data[offsets[0]:offsets[-1]].copy()
    offsets = offsets - offsets[0]
    present = np.diff(offsets) > 0
    starts = offsets[:-1][present]
    data[starts + 4] |= 0x20  # the "has SRID" flag, in the type's high byte (little-endian)
    srid_bytes = np.frombuffer(np.uint32(srid).tobytes(), dtype=np.uint8)
    data = np.insert(data, np.repeat(starts + 5, 4), np.tile(srid_bytes, len(starts)))
    offsets = offsets + 4 * np.concatenate([[0], np.cumsum(present)])
    hexdata = _HEX[data]
    return pa.Array.from_buffers(pa.string(), len(binary), [validity, pa.py_buffer((offsets * 2).astype(np.int32)),
                                                            pa.py_buffer(hexdata.tobytes())], binary.null_count)


def _validate(geoms, ok, fids, keys: list, spec: LayerSpec, opts: ImportOptions, report: ImportReport, context: str):
    """Flag invalid geometries with GEOS's reason, or repair them with --fix. Updates `ok` in place."""
    invalid = ok & ~shapely.is_valid(geoms)
    if not invalid.any():
        return geoms
    idx = np.flatnonzero(invalid)
    reasons = shapely.is_valid_reason(geoms[idx])
    repaired = _repair(geoms[idx], spec) if opts.fix else [None] * len(idx)
    geoms = geoms.copy()
    for j, i in enumerate(idx):
        if repaired[j] is not None:
            report.fixed.append(Issue(int(fids[i]), keys[i], "fixed", f"{context}repaired: {reasons[j]}"))
            geoms[i] = repaired[j]
            continue
        suffix = f"; repair left no {spec.geometry} geometry" if opts.fix else ""
        report.issues.append(Issue(int(fids[i]), keys[i], "invalid_geometry", f"{context}{reasons[j]}{suffix}"))
        ok[i] = False
    return geoms


def _to_expected_type(geoms, spec: LayerSpec, ok, flag):
    types = shapely.get_type_id(geoms)
    if spec.geometry == "polygon":
        wrong = ok & ~np.isin(types, [3, 6])  # Polygon, MultiPolygon
        flag(wrong, "wrong_geometry_type", _type_messages(geoms, "a polygon"))
    elif spec.geometry == "line":
        single = np.isin(types, [1])
        multi_one = (types == 5) & (shapely.get_num_geometries(geoms) == 1)
        geoms = np.where(multi_one, shapely.get_geometry(geoms, 0), geoms)
        wrong = ok & ~(single | multi_one)
        flag(wrong, "wrong_geometry_type", _type_messages(geoms, "a line (split multi-part lines into segments)"))
    return geoms


def _type_messages(geoms, expected):
    names = shapely.get_type_id(geoms)
    labels = {0: "Point", 1: "LineString", 2: "LinearRing", 3: "Polygon", 4: "MultiPoint", 5: "MultiLineString",
              6: "MultiPolygon", 7: "GeometryCollection", -1: "nothing"}
    return [f"the geometry is a {labels.get(int(t), t)}, expected {expected}" for t in names]


def _repair(geoms, spec: LayerSpec):
    """make_valid, keeping only the parts of the layer's geometry type (a bow-tie becomes two triangles)."""
    fixed = shapely.make_valid(geoms, method="structure", keep_collapsed=False)
    out = []
    for g in fixed:
        if spec.geometry == "polygon":
            parts = [p for p in shapely.get_parts(g) if shapely.get_type_id(p) in (3, 6)]
            g = shapely.union_all(parts) if parts else None
            if g is not None and (g.is_empty or not g.is_valid):
                g = None
        out.append(g)
    return out


def _check_extent(geoms, src_crs: CRS, opts: ImportOptions) -> None:
    """Catch a wrong or missing CRS before anything is written: coordinates must fall where the source CRS and
    the municipality's CRS are meant to be used."""
    if len(geoms) == 0 or opts.allow_outside_area:
        return
    xmin, ymin, xmax, ymax = shapely.total_bounds(geoms)
    if not np.isfinite([xmin, ymin, xmax, ymax]).all():
        return
    looks_like_degrees = -180 <= xmin <= xmax <= 180 and -90 <= ymin <= ymax <= 90
    if src_crs.is_projected and looks_like_degrees:
        raise ImportError_(
            f"The coordinates ({xmin:.4f}, {ymin:.4f} … {xmax:.4f}, {ymax:.4f}) look like longitude/latitude, "
            f"but the CRS is {src_crs.to_string()} (projected, metres). Use --srs EPSG:4326 (with --force-srs if "
            "the file declares the wrong one)."
        )
    if src_crs.is_geographic and not looks_like_degrees:
        raise ImportError_(
            f"The coordinates ({xmin:.1f}, {ymin:.1f} … {xmax:.1f}, {ymax:.1f}) are not longitude/latitude, "
            f"but the CRS is {src_crs.to_string()}. Give the file's projected CRS with --srs."
        )
    target = CRS.from_epsg(settings.MUNICIPALITY_SRID)
    area = target.area_of_use
    if area is None:
        return
    to_lonlat = Transformer.from_crs(src_crs, CRS.from_epsg(4326), always_xy=True)
    lons, lats = to_lonlat.transform([xmin, xmax, xmin, xmax], [ymin, ymin, ymax, ymax])
    margin = 2.0  # degrees: cities near a zone's edge often keep the zone of their province
    if (min(lons) < area.west - margin or max(lons) > area.east + margin
            or min(lats) < area.south - margin or max(lats) > area.north + margin):
        raise ImportError_(
            f"The features lie at longitude {min(lons):.3f}…{max(lons):.3f}, latitude {min(lats):.3f}…{max(lats):.3f}, "
            f"outside the area of the municipality's CRS EPSG:{settings.MUNICIPALITY_SRID} ({area.name}). "
            "Is --srs right? (--allow-outside-area imports anyway.)"
        )


