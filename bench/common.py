"""What the benchmarks share: a demo city of N parcels in one database per size, gunicorn servers on it, and the
latency and throughput measurements (PERFORMANCE.md: medians and p95 after warm-up; ratios from one run)."""

import http.client
import os
import socket
import statistics
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
# what the app's serving connections use (gis_portal/settings.py)
SERVING_OPTIONS = "-c max_parallel_workers_per_gather=0 -c jit=off -c plan_cache_mode=force_generic_plan"


def ensure_tools() -> None:
    """The load generators the benchmarks drive (wrk for HTTP, pgbench for SQL): installed by scripts/setup.sh
    --with-bench when missing (a fresh machine has neither wrk nor, without PostgreSQL 15, pgbench)."""
    import shutil

    if not (shutil.which("wrk") and shutil.which("pgbench")):
        subprocess.run(["bash", str(ROOT / "scripts" / "setup.sh"), "--with-bench"], check=True)


class City:
    """The demo city of `parcels` parcels in <DATABASE_URL's name>_bench_<N>, shared by every benchmark: generated and
    loaded if absent, migrated, with the derived facts ./run demo makes (zoning overlays), then `extra` manage.py
    commands a benchmark needs (each idempotent: a rulebook, tariff books)."""

    def __init__(self, parcels: int, extra: list[list[str]] = ()):
        import psycopg

        ensure_tools()

        base = urlparse(os.environ["DATABASE_URL"])
        self.name = f"{base.path.lstrip('/')}_bench_{parcels}"
        self.admin = f"host={base.hostname} port={base.port or 5432} user={base.username} password={base.password}"
        self.dsn = self.admin + f" dbname={self.name}"
        with psycopg.connect(self.admin + " dbname=postgres", autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [self.name]).fetchone():
                conn.execute(f'CREATE DATABASE "{self.name}"')
        self.srid = int(os.environ.get("MUNICIPALITY_SRID", 32640))
        self.env = {**os.environ, "DATABASE_URL": base._replace(path="/" + self.name).geturl(),
                    "SECRET_KEY": "bench", "DJANGO_SETTINGS_MODULE": "gis_portal.settings",
                    "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
                    "DUES_ALLOW_SANDBOX_IN_PRODUCTION": "true"}   # a bench site is staging: the sandbox gateway
        if os.environ.get("BENCH_SKIP_SETUP") == "1":  # a city made and migrated before (shared: not touched)
            return
        for command in (["migrate", "-v", "0"], ["load_demo_city", "--if-absent", "--parcels", str(parcels)],
                        ["refresh_overlays", "--if-absent"], *extra):
            subprocess.run([PY, "manage.py", *command], cwd=ROOT, env=self.env, check=True, stdout=subprocess.DEVNULL)

    def setup_django(self):
        os.environ.update(self.env)
        import sys

        import django

        sys.path.insert(0, str(ROOT))
        django.setup()

    def raw_connection(self):
        import psycopg

        return psycopg.connect(self.dsn, options=SERVING_OPTIONS)


def free_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


class Server:
    """gunicorn serving the app (or another WSGI module, e.g. bench.floor_app), as in production (4 workers), on a
    free port."""

    def __init__(self, env: dict, workers: int = 4, app: str = "gis_portal.wsgi"):
        self.port = free_port()
        self.process = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "gunicorn"), app, "-b", f"127.0.0.1:{self.port}",
             "--workers", str(workers), "--log-level", "warning"], cwd=ROOT, env=env)
        for _ in range(150):
            try:
                http.client.HTTPConnection("127.0.0.1", self.port, timeout=2).request("GET", "/api/city")
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise SystemExit("the server did not start")

    def client(self, path_for):
        """A factory of keep-alive HTTP clients; each call of a client GETs path_for(i) for the i-th call."""
        def make():
            conn = http.client.HTTPConnection("127.0.0.1", self.port)
            counter = [0]

            def get():
                conn.request("GET", path_for(counter[0]))
                counter[0] += 1
                response = conn.getresponse()
                body = response.read()
                assert response.status == 200, (response.status, body[:200])
                return body
            return get
        return make

    def stop(self):
        self.process.terminate()
        self.process.wait()


def latency(call, samples: int, warmup: int = 5):
    """(p50, p95, size of the last answer) in ms over `samples` calls after `warmup` calls."""
    for _ in range(warmup):
        call()
    times = []
    size = 0
    for _ in range(samples):
        t = time.perf_counter()
        data = call()
        times.append((time.perf_counter() - t) * 1000)
        size = len(data or b"") if isinstance(data, (bytes, bytearray, memoryview)) else 0
    return (*p50_p95(times), size)


def p50_p95(times: list[float]) -> tuple[float, float]:
    times = sorted(times)
    return statistics.median(times), times[max(int(len(times) * 0.95) - 1, 0)]


def throughput(make_client, clients: int, seconds: float) -> float:
    """Requests per second with `clients` concurrent clients, each made by make_client()."""
    counts = [0] * clients
    stop = time.perf_counter() + seconds

    def work(i):
        call = make_client()
        call()
        while time.perf_counter() < stop:
            call()
            counts[i] += 1
    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / seconds


def _wrk(port: int, paths: list[str], seconds: float, connections: int) -> str:
    """Run wrk with `connections` keep-alive connections cycling through `paths`; its output, which ends with the p50
    and p95 latency in microseconds ("P50 n", "P95 n"). Any non-2xx answer is an error."""
    import tempfile

    lua = "paths = {" + ",".join(f'"{p}"' for p in paths) + "}\ni = 0\n" \
          "request = function()\n  i = i + 1\n  return wrk.format(\"GET\", paths[(i % #paths) + 1])\nend\n" \
          "response = function(status) if status ~= 200 then error('status ' .. status) end end\n" \
          "done = function(summary, latency, requests)\n" \
          "  io.write(string.format('P50 %d\\nP95 %d\\n', latency:percentile(50), latency:percentile(95)))\nend\n"
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(lua)
    out = subprocess.run(["wrk", "-t", str(min(connections, 2)), "-c", str(connections), "-d", f"{seconds:.0f}s",
                          "-s", f.name, f"http://127.0.0.1:{port}"], capture_output=True, text=True, check=True).stdout
    os.unlink(f.name)
    if "Non-2xx" in out:
        raise SystemExit(f"wrk saw errors:\n{out}")
    return out


def wrk_rps(port: int, paths: list[str], seconds: float, connections: int = 4) -> float:
    """HTTP requests per second with `connections` keep-alive connections, measured by wrk (C, so the client's own
    cost stays small next to the server's, as in PERFORMANCE.md), cycling through `paths`."""
    import re

    return float(re.search(r"Requests/sec:\s+([\d.]+)", _wrk(port, paths, seconds, connections)).group(1))


def wrk_latency(port: int, paths: list[str], seconds: float) -> tuple[float, float]:
    """(p50, p95) in ms of HTTP requests made one at a time (one connection) by wrk, after a second of warm-up.
    A C client, as pgbench_latency is on the raw side: the Python http.client spends about half a millisecond of
    its own parsing each answer, which is not the server's time."""
    import re

    _wrk(port, paths, 1, 1)
    out = _wrk(port, paths, seconds, 1)
    return tuple(int(re.search(rf"P{q} (\d+)", out).group(1)) / 1000 for q in (50, 95))


def _pgbench(dsn: str, script: str, seconds: float, clients: int, work: str, *options: str) -> str:
    """Run the script with pgbench (prepared statements, the serving connections' settings) from the folder `work`
    for `seconds` with `clients` connections; its output."""
    sql = Path(work) / "script.sql"
    sql.write_text(script)
    env = {**os.environ, "PGOPTIONS": SERVING_OPTIONS}
    return subprocess.run(["pgbench", "-n", "-c", str(clients), "-j", str(min(clients, 2)), "-T", f"{seconds:.0f}",
                           "-M", "prepared", *options, "-f", str(sql), dsn], capture_output=True, text=True, env=env,
                          check=True).stdout


def pgbench_tps(dsn: str, script: str, seconds: float, clients: int = 4) -> float:
    """Statements (transactions of the script) per second with `clients` connections, measured by pgbench with
    the serving connections' settings: the raw SQL's physical limit."""
    import re
    import tempfile

    with tempfile.TemporaryDirectory() as work:
        return float(re.search(r"tps = ([\d.]+)", _pgbench(dsn, script, seconds, clients, work)).group(1))


def pgbench_latency(dsn: str, script: str, seconds: float) -> tuple[float, float]:
    """(p50, p95) in ms of the script's statements run one at a time (one connection, prepared) by pgbench with the
    serving connections' settings, from its per-transaction log, after a second of warm-up: the raw SQL's latency."""
    import glob
    import tempfile

    with tempfile.TemporaryDirectory() as work:
        for run, duration in (("warmup", 1), ("run", seconds)):
            _pgbench(dsn, script, duration, 1, work, "-l", f"--log-prefix={work}/{run}")
        return p50_p95([int(line.split()[2]) / 1000 for log in glob.glob(f"{work}/run*")
                        for line in Path(log).read_text().splitlines()])
