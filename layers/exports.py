"""Exports of registered layers to the files planners open in QGIS: GeoPackage (with each layer's QGIS style in
`layer_styles` and a QGIS project of all its layers in `qgis_projects`), zipped Shapefile (.prj and a UTF-8 .cpg,
so Persian survives), GeoJSON, CSV (WKT geometry, UTF-8 with BOM for spreadsheets) and FlatGeobuf; in the
municipality's CRS or any EPSG; filtered by district, bbox or field values.

The engine is GDAL's ogr2ogr reading PostGIS through one SQL statement per layer: it streams rows from a server
cursor into the file (a whole city is never held in memory) and is the yardstick the speed target is measured
against. Everything is checked before ogr2ogr starts (bad input is a 4xx with nothing written) and written into
a temporary directory first: a failed export leaves no file behind. What ogr2ogr wrote is read back and its features
counted before the file is renamed into place: GDAL's GeoJSON writer ignores failed writes (a full disk) and exits 0
with a cut file, which must never be handed out. A full disk (or a file-size limit) is told apart from other
failures (ExportNoRoom, with a message for people). ogr2ogr dies with the process that started it (a worker killed
with SIGKILL leaves no orphan writing on).
"""

import contextlib
import ctypes
import errno
import os
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection
from django.utils.translation import gettext as _

from common import geo, municipality, params
from common.db import read_connection
from common.errors import BadParameter
from layers import qml
from layers.registry import Layer


@dataclass(frozen=True)
class Format:
    driver: str
    suffix: str  # of the file handed out
    content_type: str
    options: tuple[str, ...] = ()


FORMATS = {
    "gpkg": Format("GPKG", ".gpkg", "application/geopackage+sqlite3"),
    "shp": Format("ESRI Shapefile", ".zip", "application/zip", ("-lco", "ENCODING=UTF-8")),
    "geojson": Format("GeoJSON", ".geojson", "application/geo+json", ("-lco", "RFC7946=NO")),
    "csv": Format("CSV", ".csv", "text/csv; charset=utf-8", ("-lco", "GEOMETRY=AS_WKT", "-lco", "WRITE_BOM=YES")),
    "fgb": Format("FlatGeobuf", ".fgb", "application/flatgeobuf"),
}


class ExportFailed(Exception):
    """ogr2ogr failed after the input was accepted (a server-side problem, not the user's)."""


class ExportNoRoom(ExportFailed):
    """The disk (or the process's file-size limit) had no room for the file: `message` is for people."""

    def __init__(self, detail: str):
        super().__init__(detail)
        self.message = _("The server ran out of disk space while writing the export; nothing was kept. Ask the "
                         "administrator to free space, then try again.")


NO_ROOM_ERRNOS = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}
MIN_FREE_BYTES = 1 << 20  # less than this left on the disk after a failed write: the disk was full


def _out_of_room(work: Path) -> bool:
    """Whether a failed write under `work` ran out of room: the disk nearly full, or a file there as big as this
    process's RLIMIT_FSIZE allows (a quota set for the service)."""
    try:
        if shutil.disk_usage(work).free < MIN_FREE_BYTES:
            return True
    except OSError:
        return False
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    if limit == resource.RLIM_INFINITY:
        return False
    return any(p.is_file() and p.stat().st_size >= limit for p in work.rglob("*"))


@dataclass
class ExportRequest:
    layers: list[Layer]
    format: str = "gpkg"
    srid: int | None = None  # None: the municipality's CRS
    district: str | None = None
    bbox: tuple[float, float, float, float] | None = None  # lon/lat (WGS84)
    filters: dict[str, str] = field(default_factory=dict)  # field name -> value (equality)

    @property
    def target_srid(self) -> int:
        return self.srid or municipality.current().srid

    def filename(self) -> str:
        stem = self.layers[0].name if len(self.layers) == 1 else "layers"
        several = len(self.layers) > 1 and self.format not in ("gpkg", "shp")
        return stem + (".zip" if several else FORMATS[self.format].suffix)


def check_srid(raw) -> int:
    """An EPSG code GDAL can write: a 2D geographic or projected CRS (not geocentric, vertical or compound)."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    text = params.ascii_digits(str(raw)).strip().upper().removeprefix("EPSG:")
    if not re.fullmatch(r"[0-9]{1,9}", text):
        raise BadParameter(_("CRS '%(value)s' must be an EPSG code, e.g. 4326 or EPSG:32640")
                           % {"value": str(raw)[:40]})
    try:
        crs = CRS.from_epsg(int(text))
    except CRSError:
        raise BadParameter(_("EPSG:%(code)s is not a known coordinate reference system") % {"code": text}) from None
    if not (crs.is_geographic or crs.is_projected) or len(crs.axis_info) != 2:
        raise BadParameter(_("EPSG:%(code)s (%(name)s) is not a 2D geographic or projected CRS")
                           % {"code": text, "name": crs.name})
    return int(text)


def check_bbox(raw) -> tuple[float, float, float, float]:
    """A longitude/latitude box, given as text (minlon,minlat,maxlon,maxlat) or four numbers."""
    return params.bbox({"bbox": raw}, "bbox", required=True)


def check_filters(layers: list[Layer], filters: dict[str, str]) -> dict[str, str]:
    for name, value in filters.items():
        for layer in layers:
            f = layer.field(name)
            if f is None:
                raise BadParameter(_("Layer '%(layer)s' has no field '%(field)s'; fields: %(fields)s")
                                   % {"layer": layer.name, "field": name,
                                      "fields": ", ".join(x.name for x in layer.fields)})
            if not f.filterable:
                raise BadParameter(_("Field '%(field)s' of layer '%(layer)s' cannot be used in a filter")
                                   % {"field": name, "layer": layer.name})
            typed_value(f, value)
    return filters


FILTER_MAX_LENGTH = 1000  # a filter value (a name, a code) is never longer


def typed_value(f, value: str):
    """A filter value in its field's type; 400 naming the field otherwise."""
    given = {f.name: value}
    if f.type == "integer":
        return params.integer(given, f.name, required=True)
    if f.type == "real":
        return params.number(given, f.name, required=True)
    text = params.text(given, f.name, max_length=FILTER_MAX_LENGTH)
    if f.type == "boolean":
        if text.lower() not in ("true", "false", "1", "0"):
            raise BadParameter(_("Field '%(field)s' takes true or false, not '%(value)s'")
                               % {"field": f.name, "value": text[:40]})
        return text.lower() in ("true", "1")
    return text


def check_district(code: str) -> str:
    with read_connection().cursor() as cursor:
        cursor.execute("SELECT 1 FROM parcels_district WHERE code = %s", [code])
        if cursor.fetchone() is None:
            cursor.execute("SELECT string_agg(code, ', ' ORDER BY code) FROM parcels_district")
            raise BadParameter(_("Unknown district '%(code)s'; districts: %(codes)s")
                               % {"code": code, "codes": cursor.fetchone()[0]})
    return code


def check_request(req: ExportRequest) -> ExportRequest:
    """Every check an export needs before anything is written (BadParameter with a clear message otherwise)."""
    if not req.layers:
        raise BadParameter(_("Name at least one layer to export"))
    # a layer named twice is exported once (a second copy would collide with the first in the file)
    req.layers = list({layer.name: layer for layer in req.layers}.values())
    if req.format not in FORMATS:
        raise BadParameter(_("Unknown format '%(format)s'; formats: %(formats)s")
                           % {"format": req.format, "formats": ", ".join(FORMATS)})
    if req.srid is not None:
        req.srid = check_srid(req.srid)
    if req.bbox is not None:
        req.bbox = check_bbox(req.bbox)
    if req.district:
        check_district(req.district)
    check_filters(req.layers, req.filters)
    if req.format == "shp":
        mixed = [layer.name for layer in req.layers if layer.style.geometry == "mixed"]
        if mixed:
            raise BadParameter(_("A Shapefile holds one geometry type; %(layers)s mix(es) types: choose GeoPackage, "
                                 "GeoJSON or FlatGeobuf") % {"layers": ", ".join(mixed)})
    return req


def layer_sql(layer: Layer, req: ExportRequest) -> str:
    """The SELECT ogr2ogr runs for one layer, with the filter values bound as SQL literals by psycopg."""
    joins, where, params = "", [], []
    if req.district:
        # Each feature belongs to the district its point-on-surface falls in (no feature in two districts).
        joins = ", (SELECT geom FROM parcels_district WHERE code = %s) d"
        params.append(req.district)
        where.append("t.geom && d.geom AND ST_Intersects(ST_PointOnSurface(t.geom), d.geom)")
    if req.bbox:
        clipped = geo.clip_box(req.bbox)  # before any transform: a box far from the city exports no feature
        if clipped is None:
            where.append("FALSE")
        else:
            box, box_params = geo.box_sql(clipped)
            where.append(f"ST_Intersects(t.geom, {box})")
            params += box_params
    for name, value in req.filters.items():
        f = layer.field(name)
        where.append(f"{f.sql} = %s")
        params.append(typed_value(f, value))
    sql = (f'SELECT {", ".join(layer.columns)}, t.geom FROM "{layer.table}" t{joins}'
           + (" WHERE " + " AND ".join(where) if where else ""))
    return connection.ops.compose_sql(sql, params)


def pg_source() -> tuple[str, dict]:
    """The PostGIS connection for GDAL, and the environment carrying the password (never on the command line)."""
    db = read_connection().settings_dict  # a replica's, for the reads of a GET
    parts = [f"dbname='{db['NAME']}'"]
    if db.get("HOST"):
        parts.append(f"host='{db['HOST']}'")
    if db.get("PORT"):
        parts.append(f"port='{db['PORT']}'")
    if db.get("USER"):
        parts.append(f"user='{db['USER']}'")
    env = {**os.environ}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    return "PG:" + " ".join(parts), env


def ogr2ogr(out: Path, fmt: Format, layer: Layer, sql: str, srid: int, append: bool, snapshot: str | None = None) -> None:
    source, env = pg_source()
    cmd = ["ogr2ogr", "-f", fmt.driver, str(out), source, "-sql", sql, "-nln", layer.name,
           "-t_srs", f"EPSG:{srid}", *fmt.options]
    if snapshot:  # read in the export's snapshot: every layer, and the count it is checked against, see one state
        cmd += ["-oo", f"PRELUDE_STATEMENTS=BEGIN ISOLATION LEVEL REPEATABLE READ; SET TRANSACTION SNAPSHOT '{snapshot}'",
                "-oo", "CLOSING_STATEMENTS=COMMIT"]
    if fmt.driver == "GPKG" and append:
        cmd.append("-update")
    if layer.style.geometry == "polygon":
        cmd += ["-nlt", "PROMOTE_TO_MULTI"]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, preexec_fn=_die_with_parent)
    if result.returncode == -signal.SIGXFSZ:  # stopped by the file-size limit (RLIMIT_FSIZE)
        raise ExportNoRoom(f"ogr2ogr reached the file-size limit writing layer {layer.name}")
    if result.returncode != 0:
        raise ExportFailed(f"ogr2ogr failed for layer {layer.name}: {result.stderr.strip()[-2000:]}")


PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the ogr2ogr child (Linux): SIGKILL when the worker that started it dies, so that a killed worker leaves no
    ogr2ogr writing on."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def written_features(path: Path, layer: str | None) -> int:
    """The features GDAL reads back from an output file (counted, for formats that do not store the count)."""
    import pyogrio

    try:
        return int(pyogrio.read_info(path, layer=layer, force_feature_count=True)["features"])
    except Exception as exc:  # an unreadable (cut) file
        raise ExportFailed(f"the file written for {layer or path.name} cannot be read back: {exc}") from None


def expected_features(sql: str) -> int:
    with read_connection().cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM ({sql}) s")
        return cursor.fetchone()[0]


@contextlib.contextmanager
def export_snapshot():
    """(snapshot id, count(sql)): a REPEATABLE READ transaction of its own whose snapshot ogr2ogr imports, so the
    features written and the count they are checked against come from the same state of the database."""
    import psycopg

    db = read_connection().settings_dict  # a replica's, for the reads of a GET
    with psycopg.connect(dbname=db["NAME"], host=db.get("HOST") or None, port=db.get("PORT") or None,
                         user=db.get("USER") or None, password=db.get("PASSWORD") or None) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
        yield snapshot, lambda sql: conn.execute(f"SELECT count(*) FROM ({sql}) s").fetchone()[0]
        conn.rollback()


def check_written(path: Path, layer: Layer, sql: str, gpkg: bool, count=expected_features) -> None:
    """ogr2ogr's output holds every feature of the layer's statement (`count(sql)`): a cut file is an ExportFailed."""
    written = written_features(path, layer.name if gpkg else None)
    expected = count(sql)
    if written != expected:
        raise ExportFailed(f"ogr2ogr wrote {written} of {expected} features of {layer.name}")


LAYER_STYLES = """
CREATE TABLE IF NOT EXISTS layer_styles (
    id INTEGER PRIMARY KEY AUTOINCREMENT, f_table_catalog TEXT(256), f_table_schema TEXT(256),
    f_table_name TEXT(256), f_geometry_column TEXT(256), styleName TEXT(30), styleQML TEXT, styleSLD TEXT,
    useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30),
    update_time DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
)"""


def add_styles(gpkg: Path, layers: list[Layer]) -> None:
    """Each layer's QGIS style (Persian, the default, and English) in the `layer_styles` table QGIS reads."""
    db = sqlite3.connect(gpkg)
    try:
        with db:
            db.execute(LAYER_STYLES)
            db.execute("INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, last_change)"
                       " VALUES ('layer_styles', 'attributes', 'layer_styles', strftime('%Y-%m-%dT%H:%M:%fZ','now'))")
            for layer in layers:
                geom_col = db.execute("SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?",
                                      [layer.name]).fetchone()[0]
                for name, english, default in ((layer.title, False, 1), (layer.title_en, True, 0)):
                    db.execute(
                        "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column,"
                        " styleName, styleQML, styleSLD, useAsDefault, description, owner, ui)"
                        " VALUES ('', '', ?, ?, ?, ?, '', ?, ?, '', '')",
                        [layer.name, geom_col, name, qml.qml(layer, english), default,
                         layer.title_en if english else layer.title],
                    )
    finally:
        db.close()


def add_project(gpkg: Path, layers: list[Layer], final_name: str, srid: int) -> None:
    """A QGIS project with all the exported layers, styled, stored in the GeoPackage itself (the `qgis_projects`
    table QGIS reads: the zipped .qgz as hex text), so *Project → Open From → GeoPackage* opens the whole set."""
    import io
    import json
    from datetime import datetime, timezone

    title = ", ".join(layer.title for layer in layers)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("project.qgs", qml.project(layers, final_name, srid, title))
    meta = {"last_modified_time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"),
            "last_modified_user": "export"}
    db = sqlite3.connect(gpkg)
    try:
        with db:
            db.execute("CREATE TABLE IF NOT EXISTS qgis_projects(name TEXT PRIMARY KEY, metadata BLOB, content BLOB)")
            db.execute("INSERT INTO qgis_projects VALUES (?, ?, ?)",
                       [PROJECT_NAME, json.dumps(meta), buffer.getvalue().hex()])
    finally:
        db.close()


PROJECT_NAME = "layers"


def export(req: ExportRequest, out: Path, on_layer=None) -> Path:
    """Write the export to `out` (created whole or not at all) and return it. `on_layer(i, layer)`, if given, is
    called before the i-th layer is written and with (len(layers), None) before the file is finished (a job's
    progress, layers/jobs.py)."""
    on_layer = on_layer or (lambda i, layer: None)
    check_request(req)
    fmt = FORMATS[req.format]
    sqls = [(layer, layer_sql(layer, req)) for layer in req.layers]
    out = Path(out)
    with tempfile.TemporaryDirectory(prefix="export-", dir=out.parent) as tmp:
        work = Path(tmp)
        try:
            with export_snapshot() as (snapshot, count):
                target = _write(req, fmt, sqls, work, out, on_layer, snapshot, count)
        except (ExportFailed, OSError, sqlite3.Error) as exc:
            if isinstance(exc, ExportNoRoom):
                raise
            if (isinstance(exc, OSError) and exc.errno in NO_ROOM_ERRNOS) or _out_of_room(work):
                raise ExportNoRoom(f"no room to write the export in {out.parent}: {exc}") from exc
            if isinstance(exc, ExportFailed):
                raise
            raise ExportFailed(f"writing the export failed: {exc}") from exc
        os.replace(target, out)  # same filesystem: the file appears whole
    return out


def _write(req: ExportRequest, fmt: Format, sqls, work: Path, out: Path, on_layer, snapshot, count) -> Path:
    """Write the export into the directory `work`; return the finished file, every layer checked complete."""
    if req.format == "gpkg":
        target = work / "out.gpkg"
        for i, (layer, sql) in enumerate(sqls):
            on_layer(i, layer)
            ogr2ogr(target, fmt, layer, sql, req.target_srid, append=i > 0, snapshot=snapshot)
            check_written(target, layer, sql, gpkg=True, count=count)
        on_layer(len(sqls), None)
        add_styles(target, req.layers)
        add_project(target, req.layers, Path(out).name, req.target_srid)
    else:
        files = work / "files"
        files.mkdir()
        ext = {"shp": "", "geojson": ".geojson", "csv": ".csv", "fgb": ".fgb"}[req.format]
        for i, (layer, sql) in enumerate(sqls):
            on_layer(i, layer)
            dest = files / layer.name if req.format == "shp" else files / (layer.name + ext)
            ogr2ogr(dest, fmt, layer, sql, req.target_srid, append=False, snapshot=snapshot)
            check_written(dest, layer, sql, gpkg=False, count=count)
        on_layer(len(sqls), None)
        produced = sorted(p for p in files.rglob("*") if p.is_file())
        if req.format != "shp" and len(produced) == 1:
            target = produced[0]
        else:
            target = work / "out.zip"
            with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
                for p in produced:
                    zf.write(p, p.name)
    return target

