"""The portal behind a real pgbouncer (Debian's, transaction mode) in front of the primary and the replica of
tests/replicas/conftest.py, started by scripts/pgbouncer.py (`./run pgbouncer`) from deploy/pgbouncer/pgbouncer.ini.

More portal connections than pgbouncer has server connections, so transactions of different portal connections
share server connections: a statement prepared on one server connection and run from another fails with
"prepared statement … does not exist" (or "already exists"), which DATABASE_POOLER=transaction must avoid."""

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg
import pytest

from layers.tiles import lonlat_to_tile
from tests.conftest import ROOT
from tests.faults.conftest import free_port, wait_for
from tests.replicas.conftest import LAT, LON, Portal, portal_env, reads

pytestmark = [pytest.mark.replicas, pytest.mark.django_db]

PGBOUNCER = Path("/usr/sbin/pgbouncer")
POOL_SIZE = 2


def pgbouncer_version() -> tuple[int, ...]:
    out = subprocess.run([PGBOUNCER, "--version"], capture_output=True, text=True).stdout
    return tuple(int(n) for n in re.search(r"PgBouncer (\d+)\.(\d+)", out).groups())


@pytest.fixture(scope="module")
def bouncer(cluster):
    if not PGBOUNCER.exists():
        pytest.skip("pgbouncer is not installed (Debian's pgbouncer: scripts/setup.sh installs it)")
    primary, replica = cluster
    folder = Path(tempfile.mkdtemp(prefix="pgbouncer-", dir="/tmp"))
    folder.chmod(0o755)
    port = free_port()
    out = subprocess.run([sys.executable, "scripts/pgbouncer.py", "--dir", str(folder), "--port", str(port),
                          "--pool-size", str(POOL_SIZE), "--daemon"], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "DATABASE_URL": primary.url(), "DATABASE_REPLICA_URLS": replica.url()},
                         timeout=30)
    assert out.returncode == 0, out.stdout + out.stderr
    urls = dict(re.findall(r"export (\w+)=(\S+)", out.stdout))
    wait_for(lambda: (folder / "pgbouncer.pid").exists(), 10, "pgbouncer to start")
    try:
        yield urls, folder
    finally:
        os.kill(int((folder / "pgbouncer.pid").read_text()), signal.SIGINT)


def test_debians_pgbouncer_loses_prepared_statements_in_transaction_mode(bouncer):
    """Why DATABASE_POOLER=transaction exists: with pgbouncer before 1.21 two clients whose transactions take turns
    on one server connection collide on psycopg's statement names."""
    if pgbouncer_version() >= (1, 21):
        pytest.skip("pgbouncer 1.21+ can keep prepared statements (max_prepared_statements)")
    urls, _ = bouncer
    dsn = urls["DATABASE_URL"].replace("postgis://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as one, psycopg.connect(dsn, autocommit=True) as two:
        one.execute("SELECT %s::int + 1", [1], prepare=True)
        with pytest.raises((psycopg.errors.DuplicatePreparedStatement, psycopg.errors.InvalidSqlStatementName)):
            two.execute("SELECT %s::int + 1", [1], prepare=True)
            one.execute("SELECT %s::int + 1", [1], prepare=True)


def test_hot_reads_through_pgbouncer_under_concurrency(bouncer, cluster, tmp_path):
    urls, folder = bouncer
    primary, _ = cluster
    server = Portal(portal_env(primary, DATABASE_URL=urls["DATABASE_URL"],
                               DATABASE_REPLICA_URLS=urls["DATABASE_REPLICA_URLS"], DATABASE_POOLER="transaction"),
                    tmp_path / "gunicorn.log", workers=2)
    results, stop = [], threading.Event()
    centre = "/tiles/parcels/16/{}/{}.pbf".format(*lonlat_to_tile(LON, LAT, 16))  # hundreds of parcels, made anew

    def client():
        while not stop.is_set():
            paths = [path for path, _ in reads().values()] + ["/api/search?q=1", centre]
            for path in paths:
                results.append((path, server.get(path)[0]))

    threads = [threading.Thread(target=client, daemon=True) for _ in range(6)]
    try:
        for t in threads:
            t.start()
        time.sleep(4)
        stop.set()
        for t in threads:
            t.join(30)
    finally:
        server.stop()
    log = server.log.read_text(errors="replace")
    assert "prepared statement" not in log, log[-3000:]
    failed = [(path, status) for path, status in results if status not in (200, 404)]
    assert not failed, (failed[:10], log[-3000:])
    kinds = {path.split("?")[0].split("/")[1] for path, status in results if status == 200}
    assert {"tiles", "ogc", "api"} <= kinds and len(results) >= 40, (kinds, len(results))
    # the app's connections (2 workers x 4 threads) took turns on POOL_SIZE server connections per database
    bouncer_log = (folder / "pgbouncer.log").read_text(errors="replace")
    assert "login attempt" in bouncer_log and "ERROR" not in bouncer_log, bouncer_log[-2000:]
