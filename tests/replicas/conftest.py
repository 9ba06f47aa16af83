"""A primary and a streaming replica on loopback for the replica and pooling tests (marker `replicas`).

The primary is a scratch cluster like the fault suite's (tests/faults/conftest.py: initdb on a free port), holding a
copy of the test database (pg_dump | pg_restore: migrated, with the small demo city) instead of migrating again; the
replica is made from it by `pg_basebackup -R` (which writes primary_conninfo and standby.signal) and started on a
port of its own. Every statement is logged on both (log_min_duration_statement = 0), so a test tells which server
answered a request by the values it sent. Skipped, with the reason, without Debian's PostgreSQL 15 binaries. About
10-40 s to set up, depending on the machine's load."""

import os
import shutil
import signal
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

from layers.tiles import lonlat_to_tile
from tests.conftest import ROOT
from tests.faults.conftest import PGBIN, Scratch, free_port, wait_for

class Primary(Scratch):
    """The scratch cluster with a copy of the test database (migrated, the small demo city loaded: `demo_city`),
    restored from pg_dump instead of migrated again (a migrate of the whole portal takes a minute on 2 busy cores)."""

    def create(self):
        if self.runas:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run(PGBIN / "initdb", "-D", self.data, "-U", "gis", "--auth=trust", "--encoding=UTF8",
                  "--locale=C.UTF-8", "--no-sync")
        self.configure(f"listen_addresses = '127.0.0.1'\nport = {self.port}\nunix_socket_directories = ''\n"
                       "fsync = off\nsynchronous_commit = off\nshared_buffers = 64MB\n"
                       "wal_level = replica\nmax_wal_senders = 4\nlog_min_duration_statement = 0\n")
        self.pg_ctl("start")
        with self.connect("postgres") as conn:
            conn.execute(f"CREATE DATABASE {self.DB}")
        db = settings.DATABASES["default"]
        dump = self.dir / "test.dump"
        env = {**os.environ, "PGPASSWORD": db.get("PASSWORD") or ""}
        subprocess.run([PGBIN / "pg_dump", "-Fc", "-Z0", "-f", dump, "-h", db["HOST"] or "127.0.0.1",
                        "-p", str(db["PORT"] or 5432), "-U", db["USER"], db["NAME"]], check=True, env=env, timeout=120)
        shutil.chown(dump, "postgres", "postgres") if self.runas else None
        restore = subprocess.run([*self.runas, PGBIN / "pg_restore", "--no-owner", "--no-acl", "-j", "2",
                                  "-h", "127.0.0.1", "-p", str(self.port), "-U", "gis", "-d", self.DB, dump],
                                 capture_output=True, text=True, timeout=300)
        assert restore.returncode == 0, restore.stderr[-3000:]
        self.var_dir.mkdir()

    def configure(self, text: str):
        with open(self.data / "postgresql.conf", "a") as f:
            f.write(text)


class Replica:
    """A hot standby of `primary` made by pg_basebackup -R."""

    def __init__(self, primary: Primary):
        self.primary = primary
        self.data = primary.dir / "replica"
        self.log = primary.dir / "replica.log"
        self.port = free_port()

    def create(self):
        self.primary._run(PGBIN / "pg_basebackup", "-D", self.data, "-R", "-X", "stream", "-c", "fast",
                          "-h", "127.0.0.1", "-p", self.primary.port, "-U", "gis", timeout=120)
        with open(self.data / "postgresql.conf", "a") as f:  # the primary's settings, then the replica's own
            f.write(f"port = {self.port}\nhot_standby = on\nhot_standby_feedback = on\n")
        self.pg_ctl("start")

    def pg_ctl(self, action, *extra):
        self.primary._run(PGBIN / "pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "60", action, *extra)

    def url(self, scheme="postgis") -> str:
        return f"{scheme}://gis@127.0.0.1:{self.port}/{self.primary.DB}"

    def sql(self, query):
        import psycopg

        with psycopg.connect(self.url("postgresql"), autocommit=True, connect_timeout=5) as conn:
            cursor = conn.execute(query)
            return cursor.fetchall() if cursor.description else []


class Logs:
    """Which server ran a statement, from the two servers' logs: the lines each logged since `mark()`."""

    def __init__(self, **paths: Path):
        self.paths = paths
        self.offsets = {}

    def mark(self):
        self.offsets = {name: path.stat().st_size for name, path in self.paths.items()}

    def since(self, name: str) -> str:
        with open(self.paths[name], "rb") as f:
            f.seek(self.offsets.get(name, 0))
            return f.read().decode(errors="replace")

    def servers(self, marker: str) -> set[str]:
        return {name for name in self.paths if marker in self.since(name)}


@pytest.fixture(scope="session")
def cluster(demo_city):
    if not (PGBIN / "initdb").exists() or not (PGBIN / "pg_basebackup").exists():
        pytest.skip(f"PostgreSQL 15 binaries (initdb, pg_basebackup) not found in {PGBIN}: Debian's postgresql-15")
    primary = Primary()
    replica = Replica(primary)
    try:
        primary.create()
        replica.create()
        wait_for(lambda: replica.sql("SELECT count(*) FROM parcels_parcel")[0][0] > 0, 30, "the replica to serve")
        yield primary, replica
    finally:
        try:
            replica.pg_ctl("stop", "-m", "immediate")
        except subprocess.SubprocessError:
            pass
        primary.destroy()


class Portal:
    """gunicorn (one worker, so one process's view of the replica's health) serving the portal from the cluster."""

    def __init__(self, env: dict, log: Path, workers: int = 1):
        self.port = free_port()
        self.log = log
        self.process = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "gunicorn"), "gis_portal.wsgi", "-b", f"127.0.0.1:{self.port}",
             "--workers", str(workers), "--threads", "4", "--log-level", "warning"],
            cwd=ROOT, env=env, stdout=open(log, "ab"), stderr=subprocess.STDOUT)
        wait_for(lambda: self.get("/api/city")[0] == 200, 60, "gunicorn to serve", interval=0.2)

    def get(self, path, cookie: str | None = None, method="GET", data: bytes | None = None, headers=None):
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", method=method, data=data,
                                         headers={**({"Cookie": cookie} if cookie else {}), **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read()
        except OSError:
            return 0, {}, b""

    def stop(self):
        self.process.send_signal(signal.SIGINT)  # gunicorn's quick shutdown
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


LON, LAT = 54.553, 28.755  # the demo city's centre (Darab)
_count = iter(range(1, 10**6))


def reads() -> dict[str, tuple[str, str]]:
    """Three hot reads, each with a value no other request sends: {kind: (path, that value as logged)}."""
    n = next(_count)
    x, y = lonlat_to_tile(LON, LAT, 18)
    lon = repr(round(LON + n * 1e-6 + 3e-7, 7))  # as PostgreSQL logs the parameter
    west = repr(round(LON - 0.01 + n * 1e-6 + 3e-7, 7))
    return {
        "tile": (f"/tiles/parcels/18/{x + 1000 + n}/{y}.pbf", f"'{x + 1000 + n}'"),
        "sheet": (f"/api/parcels/at?lon={lon}&lat={LAT}", lon),
        "ogc": ("/ogc/collections/parcels/items?limit=3&bbox=" + urllib.parse.quote(f"{west},28.745,54.563,28.765"),
                west),
    }


def portal_env(primary: Primary, **extra) -> dict:
    return primary.env(TILE_CACHE_ENTRIES="0", OGC_CACHE_ENTRIES="0", LOG_LEVEL="INFO", **extra)


def slept_until(predicate, timeout: float, what: str):
    """wait_for with a short pause between tries (each try is an HTTP request)."""
    return wait_for(predicate, timeout, what, interval=0.1)

