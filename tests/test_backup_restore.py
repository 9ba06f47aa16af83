"""Backup and restore (portal/backup.py, `./run backup` / `./run restore`): the test database with the demo city
and its stored files (the DEM, a raster and a job result) is backed up by `manage.py backup`, restored by
`manage.py restore` into a fresh database of this test's own, and compared table by table (row counts and the
rows themselves) and file by file (SHA-256) — by the test, independently of the manifest's own checks. A tampered
backup (the dump, a stored file, the manifest) is refused and leaves no database behind."""

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import psycopg
import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection

from portal.backup import FILE_COLUMNS, STORAGE_COLUMNS
from tests.conftest import ROOT

TABLE_ROWS = ("SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables "
              "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1")


def sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def url(db: dict, name: str) -> str:
    return f"postgis://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{name}"


def connect(db: dict, name: str):
    return psycopg.connect(dbname=name, host=db["HOST"], port=db["PORT"], user=db["USER"], password=db["PASSWORD"],
                           autocommit=True)


def contents(db: dict, name: str) -> dict:
    """Per table: its row count and an MD5 of all its rows in order (the test's own comparison)."""
    out = {}
    with connect(db, name) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        for (table,) in conn.execute(TABLE_ROWS).fetchall():
            out[table] = conn.execute(f"SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), ''))"
                                      f" FROM {table} t").fetchone()
    return out


def manage(db: dict, name: str, *args, var_dir: Path):
    env = {**os.environ, "DATABASE_URL": url(db, name), "DJANGO_SETTINGS_MODULE": "gis_portal.settings_test",
           "VAR_DIR": str(var_dir)}
    return subprocess.run([sys.executable, str(ROOT / "manage.py"), *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def drop(db: dict, name: str):
    with connect(db, "postgres") as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def exists(db: dict, name: str) -> bool:
    with connect(db, "postgres") as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


@pytest.fixture(scope="session")
def test_database(django_db_setup, django_db_blocker):
    """The test database, set up here (pytest-django does it only for tests marked django_db, and these are not:
    their rows must be committed for the backup command to see them)."""
    from django.test.utils import setup_databases

    with django_db_blocker.unblock():
        if connection.settings_dict["NAME"] != connection.settings_dict["TEST"]["NAME"]:
            setup_databases(verbosity=0, interactive=False, keepdb=True, aliases={"default"})


@pytest.fixture
def stored_files(test_database, demo_city, django_db_blocker, tmp_path):
    """Committed rows pointing at stored files: a raster under VAR_DIR and a job result (the demo DEM is outside
    VAR_DIR); removed afterwards."""
    from jobs.models import Job
    from layers.models import Raster

    var_dir = tmp_path / "var"
    (var_dir / "rasters").mkdir(parents=True)
    raster = var_dir / "rasters" / "backup-test.tif"
    raster.write_bytes(Path(demo_city[1]).read_bytes())
    job_id = "0b0b0b0b-0000-4000-8000-000000000001"
    result = var_dir / "jobs" / job_id / "summary.csv"
    result.parent.mkdir(parents=True)
    result.write_text("district,parcels\nA,12\n", encoding="utf-8")
    with django_db_blocker.unblock():
        Raster.objects.create(slug="backup-test", title="آزمون", title_en="test", kind="dem", path=str(raster),
                              srid=settings.MUNICIPALITY_SRID)
        Job.objects.create(id=job_id, kind="dues.assess_year", status="done", result_path=str(result),
                           result_name="summary.csv")
        db = dict(connection.settings_dict)
    yield db, var_dir
    with django_db_blocker.unblock():
        Raster.objects.filter(slug="backup-test").delete()
        Job.objects.filter(pk=job_id).delete()


def test_backup_restores_into_a_fresh_database_with_the_same_rows_and_files(stored_files, tmp_path):
    db, var_dir = stored_files
    source = db["NAME"]
    restored = f"{source}_restored"
    drop(db, restored)
    backup_dir = tmp_path / "backup"
    made = manage(db, source, "backup", backup_dir, var_dir=var_dir)
    assert made.returncode == 0, made.stderr
    manifest = json.loads((backup_dir / "manifest.json").read_text())
    before = contents(db, source)
    assert {t: v["rows"] for t, v in manifest["tables"].items()} == {t: v[0] for t, v in before.items()}
    assert manifest["tables"]["public.parcels_parcel"]["rows"] > 2000

    new_var = tmp_path / "var-restored"
    started = time.monotonic()
    done = manage(db, source, "restore", backup_dir, "--database", restored, "--var-dir", new_var, var_dir=var_dir)
    seconds = time.monotonic() - started
    try:
        assert done.returncode == 0, done.stderr
        after = contents(db, restored)
        # every table, every row: the same, except the paths of the stored files, which moved with VAR_DIR
        moved = {f"public.{table}" for table, _ in FILE_COLUMNS}
        assert {t: v for t, v in after.items() if t not in moved} == {t: v for t, v in before.items() if t not in moved}
        assert {t: after[t][0] for t in moved} == {t: before[t][0] for t in moved}
        with connect(db, restored) as conn:
            paths = [r[0] for r in conn.execute("SELECT path FROM layers_raster UNION ALL SELECT result_path FROM "
                                                "jobs_job WHERE result_path <> ''").fetchall()]
        with connect(db, source) as conn:
            originals = [r[0] for r in conn.execute("SELECT path FROM layers_raster UNION ALL SELECT result_path FROM "
                                                    "jobs_job WHERE result_path <> ''").fetchall()]
        assert len(paths) == len(originals) >= 3
        assert sorted(sha256(p) for p in paths) == sorted(sha256(p) for p in originals)  # each file, byte for byte
        assert all(Path(p).is_relative_to(new_var) for p in paths)
        assert (new_var / "rasters" / "backup-test.tif").is_file()
    finally:
        drop(db, restored)
    print(f"backup: {sum(v['rows'] for v in manifest['tables'].values()):,} rows in {len(manifest['tables'])} tables,"
          f" {len(manifest['files'])} files, dump {(backup_dir / 'database.dump').stat().st_size:,} bytes;"
          f" restore into a fresh database {seconds:.1f} s")


def test_a_tampered_backup_is_refused_and_leaves_no_database(stored_files, tmp_path):
    db, var_dir = stored_files
    source = db["NAME"]
    restored = f"{source}_tampered"
    drop(db, restored)
    backup_dir = tmp_path / "backup"
    assert manage(db, source, "backup", backup_dir, var_dir=var_dir).returncode == 0
    manifest_path = backup_dir / "manifest.json"
    pristine = manifest_path.read_text()

    def restore():
        result = manage(db, source, "restore", backup_dir, "--database", restored, "--var-dir", tmp_path / "v",
                        var_dir=var_dir)
        assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr
        assert not exists(db, restored)
        return result.stderr

    # 1. a stored file changed inside the archive (and the archive's checksum updated to match): caught per file
    tar_path = backup_dir / "files.tar"
    with tarfile.open(tar_path) as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar.getmembers()]
    with tarfile.open(tar_path, "w") as tar:
        for member, data in members:
            if member.name.endswith("summary.csv"):
                data = data.replace(b"12", b"13")
            tar.addfile(member, io.BytesIO(data))
    manifest = json.loads(pristine)
    manifest["archives"]["files.tar"] = sha256(tar_path)
    manifest_path.write_text(json.dumps(manifest))
    assert "summary.csv does not match its checksum" in restore()

    # 2. the archive itself changed: caught before anything is read from it
    manifest_path.write_text(pristine)
    assert "files.tar does not match the checksum" in restore()

    # 3. a count the database does not have (a manifest edited, or a dump of another database): the restored
    #    database is checked table by table, and dropped
    with tarfile.open(tar_path, "w") as tar:
        for member, data in members:
            tar.addfile(member, io.BytesIO(data))
    manifest = json.loads(pristine)
    manifest["archives"]["files.tar"] = sha256(tar_path)
    manifest["tables"]["public.parcels_parcel"]["rows"] += 1
    manifest_path.write_text(json.dumps(manifest))
    assert "public.parcels_parcel: expected" in restore()


def test_every_model_field_holding_a_file_path_is_backed_up():
    """A new app storing files must list its column in FILE_COLUMNS, or its files would be missing from backups."""
    listed = set(FILE_COLUMNS) | set(STORAGE_COLUMNS) | {("parcels_personaldataaccess", "path")}  # (a URL path)
    found = {(model._meta.db_table, field.column) for model in apps.get_models() for field in model._meta.concrete_fields
             if field.get_internal_type() in ("CharField", "TextField", "FilePathField", "FileField")
             and (field.name.endswith("path") or field.get_internal_type() in ("FilePathField", "FileField"))}
    assert found <= listed, found - listed
