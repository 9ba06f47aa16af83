"""Vector-tile benchmark: the app's tile endpoint (gunicorn, HTTP) against the same ST_AsMVT query as raw SQL.

    .venv/bin/python bench/tiles.py --parcels 100000 [--samples 60]

Loads the demo city of that size into <DATABASE_URL's name>_tiles_<N> if absent, then for the tile at the city
centre at z14, z16 and z18 reports p50/p95 latency (one client, after warm-up) and throughput with 4 concurrent
clients, for both, and their ratios (PERFORMANCE.md: the raw query is the physical limit).
"""

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parcels", type=int, default=100_000)
    ap.add_argument("--samples", type=int, default=60)
    ap.add_argument("--seconds", type=float, default=8.0, help="duration of each throughput run")
    args = ap.parse_args()

    base = urlparse(os.environ["DATABASE_URL"])
    name = f"{base.path.lstrip('/')}_tiles_{args.parcels}"
    import psycopg

    admin = f"host={base.hostname} port={base.port or 5432} user={base.username} password={base.password}"
    with psycopg.connect(admin + " dbname=postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    url = base._replace(path="/" + name).geturl()
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench", "DJANGO_SETTINGS_MODULE": "gis_portal.settings"}
    py = str(ROOT / ".venv" / "bin" / "python")
    subprocess.run([py, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    subprocess.run([py, "manage.py", "load_demo_city", "--if-absent", "--parcels", str(args.parcels)],
                   cwd=ROOT, env=env, check=True)
    os.environ.update(env)
    import django

    django.setup()
    from layers import tiles
    from layers.registry import LAYERS

    layer = LAYERS["parcels"]
    with psycopg.connect(admin + f" dbname={name}") as conn:
        srid = int(os.environ.get("MUNICIPALITY_SRID", 32640))
        lon, lat = conn.execute(
            "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Transform(ST_SetSRID(ST_Centroid(ST_Extent(geom)::geometry), %s),"
            " 4326) c FROM parcels_parcel) x", [srid]).fetchone()

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    server = subprocess.Popen([str(ROOT / ".venv" / "bin" / "gunicorn"), "gis_portal.wsgi", "-b", f"127.0.0.1:{port}",
                               "--workers", "4", "--log-level", "warning"], cwd=ROOT, env=env)
    try:
        for _ in range(100):
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=2).request("GET", "/api/city")
                break
            except OSError:
                time.sleep(0.2)
        rows = []
        for z in (14, 16, 18):
            x, y = tiles.lonlat_to_tile(lon, lat, z)
            params = {"z": z, "x": x, "y": y, "margin": tiles.BUFFER / tiles.EXTENT,
                      "srid": int(os.environ.get("MUNICIPALITY_SRID", 32640)), "tol": tiles.simplify_tolerance(z),
                      "cap": layer.tile_max_features, "name": layer.name}
            sql = tiles.tile_sql(layer)
            path = f"/tiles/parcels/{z}/{x}/{y}.pbf"

            def raw_client():
                conn = psycopg.connect(admin + f" dbname={name}", options="-c max_parallel_workers_per_gather=0")
                return lambda: conn.execute(sql, params, prepare=True).fetchone()[0]

            def http_client():
                conn = http.client.HTTPConnection("127.0.0.1", port)

                def get():
                    conn.request("GET", path)
                    response = conn.getresponse()
                    body = response.read()
                    assert response.status == 200, response.status
                    return body
                return get

            raw_p50, raw_p95, size = latency(raw_client(), args.samples)
            app_p50, app_p95, _ = latency(http_client(), args.samples)
            raw_rps = throughput(raw_client, 4, args.seconds)
            app_rps = throughput(http_client, 4, args.seconds)
            rows.append((z, size, raw_p50, raw_p95, app_p50, app_p95, raw_rps, app_rps))
            print(f"z{z} done", flush=True)
    finally:
        server.terminate()
        server.wait()
    print(f"\nparcels tile at the city centre, {args.parcels:,} parcels, {args.samples} samples; ms and requests/s")
    print(f"{'zoom':>4} {'bytes':>8} {'raw p50':>8} {'app p50':>8} {'ratio':>6} {'raw p95':>8} {'app p95':>8} "
          f"{'raw r/s':>8} {'app r/s':>8} {'ratio':>6}   (targets: p50 ratio <= 1.3, r/s ratio >= 0.8)")
    for z, size, rp50, rp95, ap50, ap95, rrps, arps in rows:
        print(f"{z:>4} {size:>8} {rp50:>8.2f} {ap50:>8.2f} {ap50 / rp50:>6.2f} {rp95:>8.2f} {ap95:>8.2f} "
              f"{rrps:>8.0f} {arps:>8.0f} {arps / rrps:>6.2f}")


def latency(call, samples):
    for _ in range(5):
        call()
    times = []
    size = 0
    for _ in range(samples):
        t = time.perf_counter()
        data = call()
        times.append((time.perf_counter() - t) * 1000)
        size = len(data or b"")
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1], size


def throughput(make_client, clients, seconds):
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


if __name__ == "__main__":
    main()
