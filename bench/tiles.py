"""Vector-tile benchmark: the app's tile endpoint (gunicorn, HTTP) against the same ST_AsMVT query as raw SQL.

    .venv/bin/python bench/tiles.py --parcels 100000 [--samples 60]

Loads the demo city of that size into <DATABASE_URL's name>_tiles_<N> if absent, then for the tile at the city
centre at z14, z16 and z18 reports p50/p95 latency (one client, after warm-up) and throughput with 4 concurrent
clients, and their ratios to the raw query (PERFORMANCE.md: the raw query is the physical limit), for the endpoint
twice: "uncached" (a server with TILE_CACHE_ENTRIES=0: every request makes the tile in PostGIS) and "cached" (the
default server, asked for versioned URLs as the portal asks: repeated tiles come from the tile cache). The raw
connection has the serving connections' settings (no parallel query, no JIT).
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

    port = free_port()
    cold_port = free_port()
    servers = [serve(port, env), serve(cold_port, {**env, "TILE_CACHE_ENTRIES": "0"})]
    try:
        for p in (port, cold_port):
            wait_for(p)
        version = conn_version(admin + f" dbname={name}")
        rows = []
        for z in (14, 16, 18):
            x, y = tiles.lonlat_to_tile(lon, lat, z)
            params = {"z": z, "x": x, "y": y, "margin": tiles.BUFFER / tiles.EXTENT,
                      "srid": int(os.environ.get("MUNICIPALITY_SRID", 32640)), "tol": tiles.simplify_tolerance(z),
                      "cap": layer.tile_max_features, "name": layer.name}
            sql = tiles.tile_sql(layer, z)
            path = f"/tiles/parcels/{z}/{x}/{y}.pbf?v={version}"

            def raw_client():
                conn = psycopg.connect(admin + f" dbname={name}",
                                       options="-c max_parallel_workers_per_gather=0 -c jit=off")
                return lambda: conn.execute(sql, params, prepare=True).fetchone()[0]

            def http_client(on_port):
                def make():
                    conn = http.client.HTTPConnection("127.0.0.1", on_port)

                    def get():
                        conn.request("GET", path)
                        response = conn.getresponse()
                        body = response.read()
                        assert response.status == 200, response.status
                        return body
                    return get
                return make

            raw = latency(raw_client(), args.samples)
            cold = latency(http_client(cold_port)(), args.samples)
            warm = latency(http_client(port)(), args.samples)
            raw_rps = throughput(raw_client, 4, args.seconds)
            cold_rps = throughput(http_client(cold_port), 4, args.seconds)
            warm_rps = throughput(http_client(port), 4, args.seconds)
            rows.append((z, raw[2], raw, cold, warm, raw_rps, cold_rps, warm_rps))
            print(f"z{z} done", flush=True)
    finally:
        for server in servers:
            server.terminate()
            server.wait()
    print(f"\nparcels tile at the city centre, {args.parcels:,} parcels, {args.samples} samples; p50/p95 in ms, "
          f"throughput with 4 clients in requests/s; ratios to raw (targets: p50 <= 1.3, throughput >= 0.8)")
    print(f"{'zoom':>4} {'bytes':>8} | {'raw p50':>7} {'p95':>6} {'r/s':>6} | {'uncached p50':>12} {'p95':>6} "
          f"{'ratio':>5} {'r/s':>6} {'ratio':>5} | {'cached p50':>10} {'p95':>6} {'ratio':>5} {'r/s':>6} {'ratio':>5}")
    for z, size, raw, cold, warm, raw_rps, cold_rps, warm_rps in rows:
        print(f"{z:>4} {size:>8} | {raw[0]:>7.2f} {raw[1]:>6.2f} {raw_rps:>6.0f} | {cold[0]:>12.2f} {cold[1]:>6.2f} "
              f"{cold[0] / raw[0]:>5.2f} {cold_rps:>6.0f} {cold_rps / raw_rps:>5.2f} | {warm[0]:>10.2f} {warm[1]:>6.2f} "
              f"{warm[0] / raw[0]:>5.2f} {warm_rps:>6.0f} {warm_rps / raw_rps:>5.2f}")


def free_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def serve(port, env):
    return subprocess.Popen([str(ROOT / ".venv" / "bin" / "gunicorn"), "gis_portal.wsgi", "-b", f"127.0.0.1:{port}",
                             "--workers", "4", "--log-level", "warning"], cwd=ROOT, env=env)


def wait_for(port):
    for _ in range(100):
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=2).request("GET", "/api/city")
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the server on port {port} did not start")


def conn_version(dsn):
    import psycopg

    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT version FROM layers_tableversion WHERE table_name = 'parcels_parcel'").fetchone()
    return row[0] if row else 0


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
