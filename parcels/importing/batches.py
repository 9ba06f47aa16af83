"""Reading the file in Arrow batches in a second thread and preparing each one for COPY.

A batch is read by GDAL (pyogrio's Arrow stream), its geometries checked and reprojected (geometry.py), its
attributes converted and checked (fields.py), and its good rows encoded as COPY data, all in the reader thread:
GDAL, shapely and Arrow release the GIL, so they work on the next batch while PostgreSQL ingests this one. Database
access stays in the calling thread.
"""

from __future__ import annotations

import contextvars
import queue
import threading
import time
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyogrio.raw
import shapely
from django.utils import translation
from django.utils.translation import gettext as _

from common import municipality
from parcels.importing import fields as field_rules
from parcels.importing import geometry
from parcels.importing.errors import ImportAborted, ImportError_
from parcels.importing.options import ImportOptions
from parcels.importing.report import ImportReport, RowIssues
from parcels.importing.source import Source
from parcels.importing.specs import LayerSpec


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
    size: np.ndarray | None = None  # area (polygons) or length, for --duplicates largest


def prepared_batches(opts: ImportOptions, spec: LayerSpec, source: Source, transformer, checker, keep_unmapped: bool,
                     report: ImportReport, encode):
    """The file's batches, prepared and encoded (by `encode`) in a second thread; yielded in order."""
    out: queue.Queue = queue.Queue(maxsize=2)
    done = object()
    # A new thread starts in the default language: it writes the report's messages in the caller's.
    language = translation.get_language()

    def produce():
        try:
            with translation.override(language), pyogrio.raw.open_arrow(
                    source.gdal_path, layer=source.layer, batch_size=opts.batch_size, use_pyarrow=True,
                    return_fids=True, **(opts.open_options or {})) as (meta, reader):
                geom_col = meta["geometry_name"] or "wkb_geometry"
                fid_col = meta.get("fid_column") or "OGC_FID"
                fid_start = 0
                for record_batch in reader:
                    table = pa.Table.from_batches([record_batch])
                    batch = prepare_batch(table, geom_col, fid_col, fid_start, source, transformer, spec, checker,
                                          keep_unmapped, opts, report)
                    batch.encoded = encode(batch)  # COPY data, made here so the main thread only sends it
                    out.put(batch)
                    fid_start += table.num_rows
        except BaseException as exc:  # handed to the consumer, which re-raises it
            out.put(exc)
        out.put(done)

    # in the caller's context: its municipality (the CRS and widths the rows are prepared for) and language
    worker = threading.Thread(target=contextvars.copy_context().run, args=(produce,), name="import-reader",
                              daemon=True)
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
                    raise ImportError_(_("GDAL failed reading %(path)s: %(error)s")
                                       % {"path": opts.path, "error": item}) from None
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


def prepare_batch(table: pa.Table, geom_col: str, fid_col: str, fid_start: int, source: Source, transformer,
                  spec: LayerSpec, checker, keep_unmapped: bool, opts: ImportOptions, report: ImportReport) -> Batch:
    """Validate one Arrow batch; record the rows that fail in the report (with fid, key and reason)."""
    n = table.num_rows
    # GDAL's feature ids, as ogrinfo shows them, so the operator can find a reported row.
    fids = (table.column(fid_col).to_numpy() if fid_col in table.column_names else np.arange(fid_start, fid_start + n))
    fids = np.asarray(fids, dtype=np.int64)
    attr_table = table.drop_columns([c for c in (geom_col, fid_col) if c in table.column_names])
    attrs = {name: attr_table.column(name) for name in attr_table.column_names}
    if source.join is not None:
        attrs = source.join.apply(attrs)
    for pseudo in set(checker.mapping.values()):
        if pseudo == "@fid":
            attrs[pseudo] = pa.array([str(f) for f in fids], pa.string())
        elif pseudo.startswith("="):
            attrs[pseudo] = pa.array([pseudo[1:]] * n, pa.string())
    key = source.key
    key_array = field_rules.as_text(attrs[checker.mapping[key]])
    rows = RowIssues(report, fids, _Values(key_array))  # keys read one by one, only for rows with an issue

    geoms = geometry.prepare(table.column(geom_col).to_numpy(zero_copy_only=False), spec, opts, source.crs,
                             transformer, rows)

    # Key and attributes.
    null_key = rows.ok & key_array.is_null().to_numpy(zero_copy_only=False)
    rows.flag(null_key, "null_key", _("the key field %(field)r is empty") % {"field": checker.mapping[key]})
    values, errors = checker.convert(attrs, n)
    for name, (mask, messages) in errors.items():
        rows.flag(mask & rows.ok, "bad_value", messages, name)

    geoms = geometry.as_stored(geoms, spec, rows.ok)
    attributes = None
    if keep_unmapped:
        attributes = checker.attributes_json(pa.table({k: v for k, v in attrs.items()}))
    size = None
    if opts.duplicates == "largest":
        size = np.nan_to_num(shapely.area(geoms) if spec.geometry == "polygon" else shapely.length(geoms))
    return Batch(n, fids, rows.ok, ewkb_hex(geoms, municipality.current().srid), values, attributes, key_array,
                 size=size)


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
