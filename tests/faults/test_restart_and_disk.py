"""PostgreSQL restarted under load, and a full disk during an export.

The restart: gunicorn serves the portal from the scratch cluster while client threads keep asking for a page, the
JSON API and vector tiles; the cluster is stopped, left down a moment and started again. Every answer is either
right or a clear 503 (JSON with `service_unavailable`, or the error page, with Retry-After), never a 500 or a
dropped connection, and every request made after the restart succeeds.

The full disk: a size-limited file system cannot be mounted without root, so the export runs in a process whose
RLIMIT_FSIZE is a few megabytes (the kernel refuses writes past it, as it refuses them on a full disk). The export
ends with a clear error, no file at the destination and nothing half-written left; a job's download stays 404.
"""

import json
import resource
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest

from layers.exports import ExportFailed, check_written
from layers.registry import LAYERS
from tests.conftest import ROOT
from tests.faults.conftest import free_port, wait_for

pytestmark = pytest.mark.faults


def fetch(url: str):
    """(status, headers, body) of a GET; a refused or dropped connection is status 0."""
    try:
        with urllib.request.urlopen(url, timeout=20) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()
    except OSError as exc:
        return 0, {}, str(exc).encode()


def test_database_restart_under_load_answers_503_then_recovers(parcels_loaded, tmp_path):
    scratch = parcels_loaded
    ids = [row[0] for row in scratch.sql("SELECT id FROM parcels_parcel ORDER BY id LIMIT 400")]
    port = free_port()
    server = subprocess.Popen([str(ROOT / ".venv" / "bin" / "gunicorn"), "gis_portal.wsgi", "-b", f"127.0.0.1:{port}",
                               "--workers", "2", "--threads", "2", "--log-level", "warning"],
                              cwd=ROOT, env=scratch.env(TILE_CACHE_ENTRIES="0", OGC_CACHE_ENTRIES="0"),
                              stdout=open(tmp_path / "gunicorn.log", "ab"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    results = []  # (started, kind, status, headers, body)
    stop = threading.Event()

    def client(n):
        i = n
        while not stop.is_set():
            pid = ids[i % len(ids)]
            for kind, path in (("api", f"/api/parcels/{pid}"), ("page", f"/parcels/{pid}/"),
                               ("tile", f"/tiles/parcels/17/{85392 + i % 12}/{54587 + i % 12}.pbf")):
                started = time.monotonic()
                results.append((started, kind, *fetch(base + path)))
            i += 4

    try:
        wait_for(lambda: fetch(base + f"/api/parcels/{ids[0]}")[0] == 200, 60, "gunicorn to serve")
        threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(4)]
        for t in threads:
            t.start()
        wait_for(lambda: len(results) >= 40, 60, "requests before the restart")
        scratch.pg_ctl("stop", "-m", "fast")  # every connection is cut, mid-request or idle in the pools
        down_at = time.monotonic()
        wait_for(lambda: sum(1 for r in results if r[0] > down_at) >= 20, 60, "requests while it is down")
        scratch.pg_ctl("start")
        up_at = time.monotonic()
        wait_for(lambda: sum(1 for r in results if r[0] > up_at) >= 60, 60, "requests after the restart")
        stop.set()
        for t in threads:
            t.join(timeout=30)
    finally:
        stop.set()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)

    log = (tmp_path / "gunicorn.log").read_text()
    statuses = {status for _, _, status, _, _ in results}
    assert statuses <= {200, 204, 503}, (statuses, log[-3000:])
    during = [r for r in results if down_at < r[0] < up_at]
    assert any(r[2] == 503 for r in during), "no request met the outage: the test proves nothing"
    for _, kind, status, headers, body in results:
        if status != 503:
            continue
        assert headers.get("Retry-After") == "5", headers
        if kind == "page":
            assert headers["Content-Type"].startswith("text/html") and b"Traceback" not in body
        else:
            assert json.loads(body)["error"] == "service_unavailable", body
    after = [r for r in results if r[0] > up_at]
    assert all(r[2] in (200, 204) for r in after), [(r[1], r[2], r[4][:200]) for r in after if r[2] not in (200, 204)]
    assert "Traceback" not in log, log[-3000:]
    print(f"PostgreSQL restart under load: {len(results)} requests, {len(during)} during the outage "
          f"({sum(1 for r in during if r[2] == 503)} answered 503), {len(after)} after it, all 200")


def test_which_database_errors_are_an_outage():
    """A connection that failed or broke, or a server going down, is an outage (503); a statement the server
    refused or cancelled is not."""
    import psycopg
    from django.db import InterfaceError, OperationalError, ProgrammingError

    from common.db import database_unavailable

    def wrapped(cause):  # as Django raises it
        try:
            raise OperationalError(str(cause)) from cause
        except OperationalError as exc:
            return exc

    assert database_unavailable(wrapped(psycopg.OperationalError("connection refused")))
    assert database_unavailable(wrapped(psycopg.errors.AdminShutdown("terminating connection")))
    assert database_unavailable(wrapped(psycopg.errors.CannotConnectNow("the database system is starting up")))
    assert database_unavailable(wrapped(psycopg.errors.TooManyConnections("too many clients")))
    assert database_unavailable(InterfaceError("connection already closed"))
    assert not database_unavailable(wrapped(psycopg.errors.QueryCanceled("statement timeout")))
    assert not database_unavailable(wrapped(psycopg.errors.SerializationFailure("could not serialize")))
    assert not database_unavailable(ProgrammingError("syntax error"))
    assert not database_unavailable(ValueError("x"))


def limited(max_bytes: int):
    """preexec_fn: the process may write no file bigger than `max_bytes` (EFBIG / SIGXFSZ past it)."""
    def apply():
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, resource.RLIM_INFINITY))
    return apply


@pytest.mark.parametrize("fmt", ["geojson", "gpkg"])
def test_export_on_a_full_disk_fails_clearly_and_leaves_no_file(parcels_loaded, tmp_path, fmt):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / f"parcels.{fmt}"
    result = parcels_loaded.manage("export_layer", "parcels", "-o", out, "--format", fmt, check=False,
                                   preexec_fn=limited(2_000_000))
    assert result.returncode != 0
    assert "ran out of disk space" in result.stderr, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert list(out_dir.iterdir()) == []  # neither the file nor its temporary directory


def test_an_export_job_on_a_full_disk_fails_clearly_and_serves_nothing(parcels_loaded, tmp_path):
    scratch = parcels_loaded
    job = scratch.start_job("layers.export", {"layers": ["parcels"], "format": "gpkg", "srid": None,
                                              "district": None, "bbox": None, "filters": {}})
    worker = scratch.worker(tmp_path / "worker.log", preexec_fn=limited(2_000_000))
    try:
        wait_for(lambda: scratch.one("SELECT status FROM jobs_job WHERE id = %s", [job]) not in ("queued", "running"),
                 120, "the export job to end")
    finally:
        worker.terminate()
        worker.wait(timeout=20)
    status, error, result = scratch.sql("SELECT status, error, result_path FROM jobs_job WHERE id = %s", [job])[0]
    assert status == "failed" and result == ""  # its download answers 404
    assert "ran out of disk space" in error, error
    assert not (scratch.var_dir / "jobs" / job).exists()


def test_a_cut_file_gdal_reports_as_written_is_refused(parcels_loaded, tmp_path):
    """GDAL's GeoJSON writer ignores failed writes: on a full disk (SIGXFSZ ignored, so EFBIG comes back as on ENOSPC)
    ogr2ogr exits 0 with a cut file. The export reads its output back before handing it out."""
    scratch = parcels_loaded
    out = tmp_path / "cut.geojson"

    def full_disk():
        limited(1_000_000)()
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    source = f"PG:dbname={scratch.DB} host=127.0.0.1 port={scratch.port} user=gis"
    done = subprocess.run(["ogr2ogr", "-f", "GeoJSON", str(out), source, "-sql", "SELECT id, geom FROM parcels_parcel LIMIT 20000"],
                          preexec_fn=full_disk, restore_signals=False, capture_output=True, text=True)
    assert done.returncode == 0 and out.stat().st_size == 1_000_000  # GDAL says all went well
    with pytest.raises(ExportFailed):
        check_written(out, LAYERS["parcels"], "SELECT 1", gpkg=False)
