"""What wrong HTTP basic credentials cost everyone else (issue 16: 6 bogus requests a second from one client pushed a
public tile's p50 from 3 ms to 523 ms, because every request ran the password hasher, ~0.5 s of CPU).

    .venv/bin/python bench/basic_auth.py [--parcels 2000] [--seconds 20] [--tree PATH]

On the demo city of that size (bench/common.py), gunicorn with 4 workers and the production settings (Django's
PBKDF2 hasher), one client asks a public parcels tile (no credentials, as the map does) ten times a second and its p50
and p95 are reported:
  idle            nobody else
  bogus-public    another client sends 6 requests/s of that public tile with a wrong basic-auth password
  bogus-protected another client sends 6 requests/s of an answer that depends on who asks (the layer list, which
                  shows protected layers to staff) with a wrong password for a real user name (the limits per
                  address and user name answer 429 after a few)
and "qgis basic": the p50 (and max) of that request with the right basic credentials (QGIS sends them every time).
--tree serves another checkout of the code on the same database (e.g. `git archive HEAD | tar -x -C /tmp/old` for the
figures before a change). The rate counters of API sign-in are cleared before each scenario.
"""

import argparse
import base64
import http.client
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, City, free_port, p50_p95  # noqa: E402

USER, PASSWORD = "bench_qgis", "bench-qgis-password-1"


def serve(env: dict, tree: Path, workers: int = 4):
    port = free_port()
    process = subprocess.Popen([str(ROOT / ".venv" / "bin" / "gunicorn"), "gis_portal.wsgi", "-b", f"127.0.0.1:{port}",
                                "--workers", str(workers), "--log-level", "warning"], cwd=tree, env=env)
    for _ in range(150):
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=2).request("GET", "/api/city")
            return process, port
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit("the server did not start")


def get(port: int, path: str, headers=None, timeout: float = 60) -> tuple[int, float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    t = time.perf_counter()
    conn.request("GET", path, headers=headers or {})
    response = conn.getresponse()
    response.read()
    conn.close()
    return response.status, (time.perf_counter() - t) * 1000


def attacker(port: int, path: str, header: str, rate: float, stop: threading.Event, statuses: list):
    """Open loop: a request every 1/rate s, each in its own thread (an attacker does not wait for answers)."""
    def one():
        try:
            statuses.append(get(port, path, {"Authorization": header}, timeout=30)[0])
        except OSError:  # TimeoutError included
            statuses.append("error")
    next_at = time.perf_counter()
    while not stop.is_set():
        threading.Thread(target=one, daemon=True).start()
        next_at += 1 / rate
        time.sleep(max(0.0, next_at - time.perf_counter()))


def sample(port: int, path: str, seconds: float, every: float = 0.1, headers=None,
           timeout: float = 10.0) -> list[float]:
    """Latencies (ms) of GETs of `path` every `every` s for `seconds`; an answer that takes more than `timeout` s
    counts as that long (the server is saturated: its queue only grows)."""
    times, end = [], time.perf_counter() + seconds
    while time.perf_counter() < end:
        try:
            status, ms = get(port, path, headers, timeout=timeout)
            assert status in (200, 204, 304), (status, path)
        except TimeoutError:
            ms = timeout * 1000
        times.append(ms)
        time.sleep(max(0.0, every - ms / 1000))
    return times


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parcels", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--rate", type=float, default=6.0, help="bogus requests per second")
    ap.add_argument("--tree", type=Path, default=ROOT, help="the checkout to serve (default: this one)")
    args = ap.parse_args()

    city = City(args.parcels)
    city.setup_django()
    from django.contrib.auth.models import User

    from layers import tiles

    if not User.objects.filter(username=USER).exists():
        User.objects.create_superuser(USER, password=PASSWORD)  # the production hasher (PBKDF2)
    with city.raw_connection() as conn:
        lon, lat = conn.execute(
            "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Transform(ST_SetSRID(ST_Centroid(ST_Extent(geom)::geometry), %s),"
            " 4326) c FROM parcels_parcel) x", [city.srid]).fetchone()
        version = conn.execute("SELECT coalesce(max(version), 0) FROM layers_tableversion "
                               "WHERE table_name = 'parcels_parcel'").fetchone()[0]
    x, y = tiles.lonlat_to_tile(lon, lat, 16)
    tile = f"/tiles/parcels/16/{x}/{y}.pbf?v={version}"
    protected = "/api/layers"  # reads the user (not a personal-data layer: its access log differs between versions)
    bogus = "Basic " + base64.b64encode(f"{USER}:wrong-password".encode()).decode()
    right = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

    def clear_counters():
        with city.raw_connection() as conn:
            conn.execute("DELETE FROM accounts_ratecounter WHERE key LIKE 'api-%'")
            conn.commit()

    process, port = serve(city.env, args.tree)
    results = {}
    try:
        for _ in range(20):
            get(port, tile)  # warm every worker's connection and tile cache
        clear_counters()
        results["idle"] = (p50_p95(sample(port, tile, args.seconds)), None)
        print("idle (p50, p95 ms):", results["idle"][0], flush=True)
        clear_counters()
        qgis = [get(port, protected, {"Authorization": right}) for _ in range(20)]
        assert all(status == 200 for status, _ms in qgis), qgis
        results["qgis basic"] = ((statistics.median(ms for _s, ms in qgis), max(ms for _s, ms in qgis)), None)
        print("qgis basic (p50, max ms):", results["qgis basic"][0], flush=True)
        for name, path in (("bogus-public", tile), ("bogus-protected", protected)):
            clear_counters()
            stop, statuses = threading.Event(), []
            thread = threading.Thread(target=attacker, args=(port, path, bogus, args.rate, stop, statuses))
            thread.start()
            try:
                time.sleep(1)
                times = sample(port, tile, args.seconds)
                results[name] = (p50_p95(times), statuses)
                print(name, "(p50, p95 ms):", results[name][0], f"{sum(t >= 10000 for t in times)} of {len(times)} "
                      "tile requests timed out (10 s)", flush=True)
            finally:
                stop.set()
                thread.join()
            time.sleep(2)  # let the attacker's last requests end
    finally:
        process.terminate()
        process.wait()
        clear_counters()

    print(f"\n{args.tree}: {args.parcels:,} parcels, gunicorn 4 workers, production hasher; public tile asked 10/s "
          f"(no credentials) for {args.seconds:.0f} s; bogus basic auth at {args.rate:g}/s")
    print(f"{'scenario':>16} | {'p50 ms':>8} {'p95 ms':>8} | the bogus requests' answers")
    for name, ((p50, p95), statuses) in results.items():
        answers = ""
        if statuses is not None:
            answers = ", ".join(f"{s}: {statuses.count(s)}" for s in sorted(set(statuses), key=str))
        label = f"{name} (max)" if name == "qgis basic" else name
        print(f"{label:>16} | {p50:>8.1f} {p95:>8.1f} | {answers}")


if __name__ == "__main__":
    main()
