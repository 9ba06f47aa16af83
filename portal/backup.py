"""Backup and restore of the whole portal: the database and the files its rows point at.

A backup is a folder with three files:

- `database.dump`: `pg_dump -Fc` of the database;
- `files.tar`: every stored file a row refers to (FILE_COLUMNS: rasters, job results), under its path relative to
  VAR_DIR (a file kept elsewhere, e.g. a demo DEM, under `external/`);
- `manifest.json`: per table its row count and a checksum of its rows, per file its SHA-256 and size, and the
  SHA-256 of the two files above.

The counts, the checksums, the list of files and the dump are all taken from one snapshot (`pg_export_snapshot()`
handed to `pg_dump --snapshot`), so the manifest describes exactly what was dumped, while the portal keeps running.

A restore never overwrites a database: it creates a new one (the configured name or --database), after checking
every file of the backup against the manifest (a tampered or cut file stops it before anything is created); it then
checks every table's count and checksum in the restored database and puts the files in place under VAR_DIR,
rewriting the paths in the rows when VAR_DIR moved. A failed check drops the new database again.
"""

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import psycopg
from psycopg import sql
from django.conf import settings
from django.db import connection
from django.utils.translation import gettext as _

from common import municipality

FORMAT = 1
DUMP, FILES, MANIFEST = "database.dump", "files.tar", "manifest.json"

# The columns that hold the path of a stored file (absolute, as the apps write them). A new app that stores files
# adds its column here; tests/test_backup_restore.py fails on a model field named *path or *file that is not listed.
FILE_COLUMNS = (("layers_raster", "path"), ("jobs_job", "result_path"))
# The columns of files kept through Django's default storage (FileFields: reports' photos, permit documents),
# holding the file's name in the storage. With STORAGE_BACKEND=filesystem they are files under MEDIA_ROOT, backed up like the others and restored
# under VAR_DIR/media, where the default MEDIA_ROOT finds them by the same names; object storage (s3) has its own.
STORAGE_COLUMNS = (("reports_photo", "image"), ("reports_photo", "thumbnail"), ("reports_photo", "incoming"),
                   ("reports_stagedphoto", "incoming"),  # photos of forms being filled in: a restored row keeps its file
                   ("permits_document", "file"), ("documents_issueddocument", "file"),
                   ("transparency_attachment", "file"))

# A table's checksum: the sum of the first 60 bits of each row's MD5 (order-independent, a duplicated row counts
# twice), over the row's text form in UTC (so timestamps read the same in both databases).
_TABLE_SUMS = ("SELECT count(*), coalesce(sum(('x' || substr(md5(t::text), 1, 15))::bit(60)::bigint::numeric), 0)"
               "::text FROM {table} t")
_TABLES = ("SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables "
           "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') AND schemaname NOT LIKE 'pg_%%' "
           "ORDER BY 1")


class BackupError(Exception):
    """A backup or restore that cannot go on: the message is for people."""


@dataclass
class Database:
    """Where a database is, from Django's settings (the password travels in the environment, never in argv)."""

    name: str
    host: str = ""
    port: str = ""
    user: str = ""
    password: str = ""

    @classmethod
    def from_url(cls, url: str) -> "Database":
        import dj_database_url

        db = dj_database_url.parse(url)
        return cls(db["NAME"], db.get("HOST") or "", str(db.get("PORT") or ""), db.get("USER") or "",
                   db.get("PASSWORD") or "")

    @classmethod
    def configured(cls, name: str | None = None) -> "Database":
        db = connection.settings_dict
        return cls(name or db["NAME"], db.get("HOST") or "", str(db.get("PORT") or ""), db.get("USER") or "",
                   db.get("PASSWORD") or "")

    def connect(self, dbname: str | None = None, **kwargs) -> psycopg.Connection:
        return psycopg.connect(dbname=dbname or self.name, host=self.host or None, port=self.port or None,
                               user=self.user or None, password=self.password or None, **kwargs)

    def client_args(self) -> list[str]:
        args = []
        for flag, value in (("-h", self.host), ("-p", self.port), ("-U", self.user)):
            if value:
                args += [flag, value]
        return args

    def env(self) -> dict:
        env = {**os.environ, "PGTZ": "UTC"}
        if self.password:
            env["PGPASSWORD"] = self.password
        return env


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def table_sums(conn: psycopg.Connection) -> dict[str, dict]:
    """Every table's row count and checksum, as the connection's snapshot sees them."""
    conn.execute("SET TIME ZONE 'UTC'")
    out = {}
    for (table,) in conn.execute(_TABLES).fetchall():
        rows, checksum = conn.execute(_TABLE_SUMS.format(table=table)).fetchone()
        out[table] = {"rows": rows, "checksum": checksum}
    return out


def referenced_files(conn: psycopg.Connection) -> list[str]:
    paths = set()
    for table, column in FILE_COLUMNS:
        exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", [table]).fetchone()[0]
        if exists:
            rows = conn.execute(f'SELECT DISTINCT "{column}" FROM "{table}" WHERE "{column}" <> \'\'').fetchall()
            paths.update(row[0] for row in rows)
    if getattr(settings, "STORAGE_BACKEND", "filesystem") == "filesystem":
        for table, column in STORAGE_COLUMNS:
            if conn.execute("SELECT to_regclass(%s) IS NOT NULL", [table]).fetchone()[0]:
                rows = conn.execute(f'SELECT DISTINCT "{column}" FROM "{table}" WHERE "{column}" <> \'\'').fetchall()
                paths.update(str(municipality.media_root() / row[0]) for row in rows)
    return sorted(paths)


def archive_name(path: Path, var_dir: Path, index: int) -> str:
    try:
        return path.resolve().relative_to(var_dir.resolve()).as_posix()
    except ValueError:  # a file kept outside VAR_DIR
        return f"external/{index:04d}/{path.name}"


def backup(out: Path, db: Database | None = None, var_dir: Path | None = None, say=lambda text: None) -> dict:
    """Write a backup of the database and its stored files into the new folder `out`; return the manifest."""
    db = db or Database.configured()
    var_dir = Path(var_dir or municipality.var_dir())
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise BackupError(_("%(dir)s is not empty: a backup goes into a new folder") % {"dir": out})
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix=".backup-", dir=out))
    try:
        with db.connect(autocommit=False) as conn:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
            dump = subprocess.Popen(["pg_dump", "-Fc", "--no-owner", "--snapshot", snapshot, "-f", str(work / DUMP),
                                     *db.client_args(), db.name], env=db.env(), stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
            try:
                tables = table_sums(conn)
                paths = referenced_files(conn)
                version = conn.execute("SHOW server_version").fetchone()[0]
            finally:
                err = dump.communicate()[1]  # the snapshot must live until pg_dump has taken it: wait here
            conn.rollback()
        if dump.returncode != 0:
            raise BackupError(_("pg_dump failed: %(error)s") % {"error": err.strip()[-1000:]})
        files, missing = [], []
        with tarfile.open(work / FILES, "w") as tar:
            for index, original in enumerate(paths):
                path = Path(original)
                if not path.is_file():
                    missing.append(original)
                    continue
                name = archive_name(path, var_dir, index)
                digest = sha256(path)  # before adding: a file changed in between fails the restore's check
                tar.add(path, arcname=name, recursive=False)
                files.append({"path": original, "archive": name, "size": path.stat().st_size, "sha256": digest})
        manifest = {
            "format": FORMAT, "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "database": db.name, "server_version": version, "var_dir": str(var_dir.resolve()),
            "tables": tables, "files": files, "missing_files": missing,
            "archives": {DUMP: sha256(work / DUMP), FILES: sha256(work / FILES)},
        }
        (work / MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
        for name in (DUMP, FILES, MANIFEST):  # the manifest last: a folder with one is a finished backup
            os.replace(work / name, out / name)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    manifest["seconds"] = round(time.perf_counter() - started, 1)
    for path in missing:
        say(_("warning: %(path)s is referenced by a row but missing on disk") % {"path": path})
    return manifest


def read_manifest(src: Path) -> dict:
    try:
        manifest = json.loads((src / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(_("%(dir)s has no readable manifest.json: %(error)s") % {"dir": src, "error": exc}) from None
    if manifest.get("format") != FORMAT:
        raise BackupError(_("%(dir)s is not a backup this version can restore") % {"dir": src})
    return manifest


def check_archives(src: Path, manifest: dict) -> None:
    for name, expected in manifest["archives"].items():
        path = src / name
        if not path.is_file() or sha256(path) != expected:
            raise BackupError(_("%(file)s does not match the checksum in the manifest: the backup is damaged or was "
                                "changed; nothing was restored") % {"file": path})


def compare_tables(expected: dict, actual: dict) -> list[str]:
    problems = []
    for table in sorted(set(expected) | set(actual)):
        want, got = expected.get(table), actual.get(table)
        if want != got:
            problems.append(f"{table}: expected {want}, found {got}")
    return problems


def restore(src: Path, database: str | None = None, var_dir: Path | None = None, say=lambda text: None) -> dict:
    """Restore the backup in `src` into a new database (default: the configured name) and VAR_DIR; every file and
    table checked against the manifest. Returns a summary."""
    started = time.perf_counter()
    src = Path(src)
    manifest = read_manifest(src)
    check_archives(src, manifest)
    target = Database.configured(database)
    var_dir = Path(var_dir or municipality.var_dir()).resolve()
    var_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".restore-", dir=var_dir))
    created = False
    try:
        _extract(src / FILES, staging)
        for entry in manifest["files"]:
            path = staging / entry["archive"]
            if not path.is_file() or sha256(path) != entry["sha256"]:
                raise BackupError(_("%(file)s does not match its checksum in the manifest; nothing was restored")
                                  % {"file": entry["archive"]})
        with target.connect("postgres", autocommit=True) as admin:
            if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [target.name]).fetchone():
                raise BackupError(_("Database %(name)s exists: a restore creates a new database. Give another name "
                                    "with --database, or drop it first.") % {"name": target.name})
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(target.name)))
            created = True
        say(_("restoring into the new database %(name)s…") % {"name": target.name})
        result = subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", "-j", "2", "-d", target.name,
                                 *target.client_args(), str(src / DUMP)], env=target.env(), capture_output=True,
                                text=True)
        if result.returncode != 0:
            raise BackupError(_("pg_restore failed: %(error)s") % {"error": result.stderr.strip()[-1000:]})
        with target.connect(autocommit=True) as conn:
            problems = compare_tables(manifest["tables"], table_sums(conn))
        if problems:
            raise BackupError(_("The restored database differs from the manifest: %(problems)s")
                              % {"problems": "; ".join(problems[:10])})
        moved = _place_files(manifest, staging, var_dir)
        if moved:
            with target.connect(autocommit=False) as conn:
                for table, column in FILE_COLUMNS:
                    for old, new in moved.items():
                        conn.execute(f'UPDATE "{table}" SET "{column}" = %s WHERE "{column}" = %s', [new, old])
                conn.commit()
    except BaseException:
        if created:
            with target.connect("postgres", autocommit=True) as admin:
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(target.name)))
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {"database": target.name, "tables": len(manifest["tables"]),
            "rows": sum(t["rows"] for t in manifest["tables"].values()), "files": len(manifest["files"]),
            "paths_rewritten": len(moved), "seconds": round(time.perf_counter() - started, 1)}


def _extract(archive: Path, dest: Path) -> None:
    """The archive's regular files under `dest` (nothing outside it, no links, no devices)."""
    with tarfile.open(archive) as tar:
        for member in tar:
            name = Path(member.name)
            if not member.isfile() or name.is_absolute() or ".." in name.parts:
                raise BackupError(_("%(file)s holds an entry a backup never has: %(name)s")
                                  % {"file": archive, "name": member.name})
            path = dest / name
            path.parent.mkdir(parents=True, exist_ok=True)
            with tar.extractfile(member) as src, open(path, "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)


def _place_files(manifest: dict, staging: Path, var_dir: Path) -> dict[str, str]:
    """Move the checked files under VAR_DIR; return {old path: new path} for the rows whose path changed."""
    moved = {}
    for entry in manifest["files"]:
        final = var_dir / entry["archive"]
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / entry["archive"], final)
        if str(final) != entry["path"]:
            moved[entry["path"]] = str(final)
    return moved
