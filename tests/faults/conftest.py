"""The fault suite's ground: a scratch PostgreSQL cluster of its own (the shared one is never killed or restarted),
the portal migrated into it by `manage.py migrate`, and every program under test run as a real process against it
(`manage.py import_parcels`, procrastinate workers, gunicorn), so that kill -9 and a restart hit what production
runs. The test process reads the scratch database with psycopg.

The cluster is made once per session (about 10 s: initdb and migrate) and removed at the end."""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

from tests.conftest import ROOT
from tests.faults.datafiles import parcel_grid

PGBIN = Path("/usr/lib/postgresql/15/bin")
GRID_ROWS = 100_000  # the import the kill lands in: 4 COPY batches of 25,000 rows
FAST_JOBS = {"JOBS_HEARTBEAT_SECONDS": "0.5", "JOBS_STALLED_SECONDS": "2", "JOBS_STALL_CHECK_CRON": "* * * * * *"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class Scratch:
    """A throwaway PostgreSQL 15 cluster on a free loopback port (trust authentication, 127.0.0.1 only; as root
    owned by and run as `postgres`, as scripts/localdb.sh does) with one migrated portal database."""

    DB = "faults"

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="faults-pg-", dir="/tmp"))
        self.data = self.dir / "data"
        self.log = self.dir / "postgresql.log"
        self.var_dir = self.dir / "var"
        self.port = free_port()
        self.runas = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    # --- the cluster ---
    def _run(self, *args, timeout=90):
        subprocess.run([*self.runas, *map(str, args)], check=True, timeout=timeout, stdout=subprocess.DEVNULL)

    def pg_ctl(self, action, *extra):
        self._run(PGBIN / "pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "60", action, *extra)

    def create(self):
        if self.runas:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run(PGBIN / "initdb", "-D", self.data, "-U", "gis", "--auth=trust", "--encoding=UTF8",
                  "--locale=C.UTF-8", "--no-sync")
        with open(self.data / "postgresql.conf", "a") as f:
            f.write(f"listen_addresses = '127.0.0.1'\nport = {self.port}\nunix_socket_directories = ''\n"
                    "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nshared_buffers = 128MB\n"
                    # the whole statement in pg_stat_activity: the assessment's chunk bounds are read from it
                    "track_activity_query_size = 65536\n")
        self.pg_ctl("start")
        with self.connect("postgres") as conn:
            conn.execute(f"CREATE DATABASE {self.DB}")
        with self.connect() as conn:
            conn.execute("CREATE EXTENSION postgis")
        self.var_dir.mkdir()
        self.manage("migrate", "--no-input", "-v", "0", timeout=300)
        self.manage("load_tariff_book", "data/tariffs/1404.toml", "--commit", timeout=120)

    def destroy(self):
        try:
            self.pg_ctl("stop", "-m", "immediate")
        except subprocess.SubprocessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- talking to it ---
    def url(self, scheme="postgis", db=None) -> str:
        return f"{scheme}://gis@127.0.0.1:{self.port}/{db or self.DB}"

    def connect(self, db=None, **kwargs) -> psycopg.Connection:
        return psycopg.connect(self.url("postgresql", db), autocommit=True, connect_timeout=5, **kwargs)

    def sql(self, query, params=None):
        """Rows of a query (none for a statement that returns none)."""
        with self.connect() as conn:
            cursor = conn.execute(query, params)
            return cursor.fetchall() if cursor.description else []

    def one(self, query, params=None):
        return self.sql(query, params)[0][0]

    def env(self, **extra) -> dict:
        return {**os.environ, "DATABASE_URL": self.url(), "DJANGO_SETTINGS_MODULE": "gis_portal.settings_test",
                "VAR_DIR": str(self.var_dir), "PYTHONUNBUFFERED": "1", "MUNICIPALITY_SRID": str(settings.MUNICIPALITY_SRID),
                **extra}

    def command(self, *args) -> list[str]:
        return [sys.executable, str(ROOT / "manage.py"), *map(str, args)]

    def manage(self, *args, timeout=300, check=True, env=None, **kwargs) -> subprocess.CompletedProcess:
        result = subprocess.run(self.command(*args), cwd=ROOT, env=env or self.env(), capture_output=True,
                                text=True, timeout=timeout, **kwargs)
        if check and result.returncode != 0:
            raise AssertionError(f"manage.py {' '.join(map(str, args))} failed ({result.returncode}):\n"
                                 f"{result.stdout[-2000:]}\n{result.stderr[-3000:]}")
        return result

    def popen(self, *args, log: Path, env=None, **kwargs) -> subprocess.Popen:
        return subprocess.Popen(self.command(*args), cwd=ROOT, env=env or self.env(), stdout=open(log, "ab"),
                                stderr=subprocess.STDOUT, **kwargs)

    def worker(self, log: Path, **kwargs) -> subprocess.Popen:
        """`manage.py procrastinate worker` on every queue, with quick heartbeats and stall checks. The tiles' overview
        rebuild an import queued (parcels/overview.py: minutes on this grid) is not what these tests are about and
        would hold the one worker first: waiting ones are dropped."""
        self.sql("DELETE FROM procrastinate_jobs WHERE queue_name = 'parcels' AND status = 'todo'")
        return self.popen("procrastinate", "worker", "--concurrency", "1", log=log,
                          env=self.env(**FAST_JOBS), **kwargs)

    def start_job(self, kind: str, params: dict) -> str:
        """A job queued as the portal queues it (jobs.service.start), for a superuser; its id."""
        code = ("from django.contrib.auth.models import User; from django.utils import translation\n"
                "from jobs import service\n"
                "u = User.objects.filter(username='faults').first() or "
                "User.objects.create_superuser('faults', 'f@example.org', 'pw')\n"
                "translation.activate('en')  # the job's messages in English, as the tests read them\n"
                f"print(service.start({kind!r}, {params!r}, u).pk)")
        return self.manage("shell", "-c", code).stdout.strip().splitlines()[-1]

    def wait_idle(self, table: str, timeout=30.0):
        """Until no other session holds a lock on `table` (a killed client's transaction has been rolled back)."""
        def idle():
            with self.connect() as conn:
                return not conn.execute(
                    "SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                    "WHERE c.relname = %s AND l.pid <> pg_backend_pid()", [table]).fetchone()
        wait_for(idle, timeout, f"the killed client's transaction on {table} to end")


@pytest.fixture(scope="session")
def scratch():
    if not (PGBIN / "initdb").exists():
        pytest.fail(f"PostgreSQL 15 binaries not found in {PGBIN} (Debian's postgresql-15)")
    cluster = Scratch()
    try:
        cluster.create()
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture(scope="session")
def grid_file():
    """The generated import file (cached across runs in .local/test-cache)."""
    path = ROOT / ".local" / "test-cache" / "faults" / f"grid_{GRID_ROWS}_{settings.MUNICIPALITY_SRID}.gpkg"
    return parcel_grid(path, GRID_ROWS, settings.MUNICIPALITY_SRID)


def import_command(grid: Path) -> list[str]:
    return ["import_parcels", str(grid), "--key", "source_id", "--commit", "--no-progress"]


@pytest.fixture
def parcels_loaded(scratch, grid_file):
    """The scratch database with the generated parcels committed (imported here if an earlier test did not)."""
    if scratch.one("SELECT count(*) FROM parcels_parcel") != GRID_ROWS:
        scratch.sql("TRUNCATE parcels_parcel CASCADE")
        scratch.manage(*import_command(grid_file))
    return scratch


def processes_mentioning(text: str) -> list[int]:
    """Pids of live processes whose command line contains `text`."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                state = re.search(r"^State:\s+(\w)", (entry / "status").read_text(), re.M)
            except OSError:
                continue
            if text in cmdline and not (state and state.group(1) == "Z"):
                pids.append(int(entry.name))
    return pids


def kill9(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
