"""OGC API - Features benchmark: a bbox page of 100 parcels at the city centre from the app's endpoint (gunicorn, 4
workers; as deployed, and with its page cache off), against the same page query as raw SQL (psycopg, prepared; the physical limit) and QGIS Server's OGC API
(Debian's qgis-server, its `qgis_mapserver` on 4 ports, one per client; PyQGIS writes its project).

    .venv/bin/python bench/oapif.py --parcels 100000 [--samples 60] [--seconds 8] [--rounds 3] [--no-qgis]

Prints p50/p95 latency (one client, after warm-up) and throughput with 4 concurrent clients, medians over rounds
that alternate the contenders. Targets (issue 6):
throughput >= 0.8 x raw SQL and >= 2 x QGIS Server.
"""

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from layers_city import ROOT, city_database

from bench.common import free_port, latency, throughput


def wait_for(port, path):
    for _ in range(300):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", path)
            if conn.getresponse().status < 500:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"server on port {port} did not answer {path}")


def http_client(port, path, check):
    def make():
        conn = http.client.HTTPConnection("127.0.0.1", port)

        def get():
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read()
            assert response.status == 200, (response.status, body[:300])
            return body
        return get
    call = make()
    check(json.loads(call()))
    return make


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parcels", type=int, default=100_000)
    ap.add_argument("--samples", type=int, default=60)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-qgis", action="store_true")
    args = ap.parse_args()
    env, conninfo, _ = city_database(args.parcels)
    import psycopg
    from django.conf import settings

    from layers import ogc_provider
    from layers.registry import LAYERS

    layer = LAYERS["parcels"]
    srid = settings.MUNICIPALITY_SRID
    with psycopg.connect(conninfo) as conn:
        lon, lat = conn.execute(
            "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Transform(ST_SetSRID(ST_Centroid(ST_Extent(geom)::geometry), %s),"
            " 4326) c FROM parcels_parcel) x", [srid]).fetchone()
    box = (lon - 0.004, lat - 0.004, lon + 0.004, lat + 0.004)  # well over 100 parcels: the page is full
    bbox = ",".join(f"{v:.6f}" for v in box)
    where = " WHERE t.geom && ST_Transform(ST_MakeEnvelope(%s, %s, %s, %s, %s), %s)"
    params = [*box, 4326, srid]
    page_sql = ogc_provider.features_sql(layer, where, 4326, False)
    count_sql = f'SELECT count(*) FROM "{layer.table}" t{where}'

    def raw_client(with_count):
        def make():
            # A prepared statement, planned for its actual bbox each time: the generic plan PostgreSQL switches to after
            # five runs cannot see the box and was 3x slower here, which would flatter the app.
            conn = psycopg.connect(conninfo, options="-c max_parallel_workers_per_gather=0"
                                                     " -c plan_cache_mode=force_custom_plan")

            def run():
                text = conn.execute(page_sql, [*params, 101, 0, 100], prepare=True).fetchone()[0]
                if with_count:
                    conn.execute(count_sql, params, prepare=True).fetchone()
                return text.encode()
            return run
        return make

    def full_page(doc):
        assert len(doc["features"]) == 100, len(doc["features"])

    contenders = {}  # name -> a function making one client (a callable doing one request)
    app_port = free_port()
    cold_port = free_port()
    # the app twice: as deployed (pages kept under the data version) and with that cache off (every request queried)
    servers = [subprocess.Popen([str(ROOT / ".venv" / "bin" / "gunicorn"), "gis_portal.wsgi", "-b",
                                 f"127.0.0.1:{port}", "--workers", "4", "--log-level", "warning"], cwd=ROOT,
                                env=env | extra)
               for port, extra in ((app_port, {}), (cold_port, {"OGC_CACHE_ENTRIES": "0"}))]
    qgis_servers, tmp = [], tempfile.mkdtemp()
    results = {}
    try:
        wait_for(app_port, "/ogc/")
        wait_for(cold_port, "/ogc/")
        items = f"/ogc/collections/parcels/items?bbox={bbox}&limit=100"
        contenders["app /ogc items"] = http_client(app_port, items, full_page)
        contenders["app, page cache off"] = http_client(cold_port, items, full_page)
        contenders["raw SQL page"] = raw_client(False)
        contenders["raw SQL page+count"] = raw_client(True)
        if not args.no_qgis and shutil.which("qgis_mapserver"):
            project = Path(tmp) / "bench.qgs"
            qenv = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"QT_QPA_PLATFORM": "offscreen"}
            subprocess.run(["/usr/bin/python3", str(ROOT / "bench" / "qgis_project.py"), str(project), conninfo,
                            str(srid)], check=True, env=qenv)
            ports = [free_port() for _ in range(4)]
            for port in ports:
                qgis_servers.append(subprocess.Popen(
                    ["qgis_mapserver", "-p", str(project), f"127.0.0.1:{port}"], env=qenv | {
                        "QGIS_SERVER_LOG_LEVEL": "2", "QGIS_PROJECT_FILE": str(project)},
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            path = f"/wfs3/collections/parcels/items.json?bbox={bbox}&limit=100"
            for port in ports:
                wait_for(port, "/wfs3.json")
            makes = [http_client(port, path, full_page) for port in ports]  # one server process per client

            def qgis_client(state={"next": 0}):
                make = makes[state["next"] % len(makes)]
                state["next"] += 1
                return make()
            contenders["QGIS Server wfs3 items"] = qgis_client
        # Rounds alternate the contenders, so a shared machine's changing load falls on all of them alike.
        for round_ in range(args.rounds):
            for name, make in contenders.items():
                p50, p95, size = latency(make(), args.samples)
                rps = throughput(make, 4, args.seconds)
                results.setdefault(name, []).append((p50, p95, size, rps))
            print(f"round {round_ + 1} done", flush=True)
    finally:
        for server in servers:
            server.terminate()
            server.wait()
        for q in qgis_servers:
            q.terminate()
            q.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nbbox page of 100 parcels at the city centre, {args.parcels:,} parcels; medians over {args.rounds} "
          f"alternating rounds of {args.samples} samples (ms) and {args.seconds:.0f} s with 4 clients (requests/s)")
    print(f"{'':>24} {'p50':>7} {'p95':>7} {'bytes':>8} {'r/s':>7} {'app r/s ÷ this':>15} {'uncached ÷ this':>15}")
    median = {name: [statistics.median(r[i] for r in runs) for i in range(4)] for name, runs in results.items()}
    app_rps, cold_rps = median["app /ogc items"][3], median["app, page cache off"][3]
    for name, (p50, p95, size, rps) in median.items():
        print(f"{name:>24} {p50:>7.2f} {p95:>7.2f} {size:>8.0f} {rps:>7.0f} {app_rps / rps:>15.2f} "
              f"{cold_rps / rps:>15.2f}")
    print("targets: app >= 0.8 x raw SQL page; app >= 2 x QGIS Server")

if __name__ == "__main__":
    main()
