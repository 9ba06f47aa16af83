"""Edit storm: parcels edited 10 times a second while map clients ask for tiles through the shared cache (nginx,
deploy/nginx/tilecache.conf.template), before (per-layer versions: every edit gives every parcels tile a new URL) and
after (per-tile versions, layers/versions.py: an edit gives new URLs to the tiles it touched only).

    .venv/bin/python bench/tile_edits.py --parcels 100000 [--seconds 40] [--rounds 2] [--before-code /work/main]

"before" is the same database served by the code of --before-code (a checkout without per-tile versions: its tile
URLs carry the layer's version, from /api/layers/versions); "after" by this checkout (the map's versioned URLs, from
/api/layers/tile-versions). Rounds alternate before/after, each with a new, empty nginx cache and a fresh gunicorn
(4 workers, their own tile cache as configured by default) behind it.

Clients (--clients, default 4) act as maps around the city centre: each view is a 4x3 block of parcels tiles at z14,
z16 or z18 (one of the three at random) within --spans tiles of the centre (z14 +-2, z16 +-6, z18 +-8 tiles); a
client loads the versions anew every --reload seconds (a page load: each new visitor's map), then keeps its URLs.
Before the storm every tile of that area is asked for once (no edits yet): the storm measures what the edits take
out of a warm cache, not a cold start.
The editor updates a random parcel of the whole city (one UPDATE statement, as a staff edit) --rate times a second.
Reported per mode: tile requests, nginx's HIT share (X-Cache-Status), p50/p95 of the tile requests in ms (Python
clients, http.client: about half a millisecond of their own per answer), edits made, and the load average.
"""

import argparse
import http.client
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, City, free_port, p50_p95  # noqa: E402


class Gunicorn:
    def __init__(self, env: dict, code: Path):
        self.port = free_port()
        self.process = subprocess.Popen(
            [str(code / ".venv" / "bin" / "gunicorn"), "gis_portal.wsgi", "-b", f"127.0.0.1:{self.port}",
             "--workers", "4", "--log-level", "warning"], cwd=code, env=env)
        wait_for(self.port)

    def stop(self):
        self.process.terminate()
        self.process.wait()


class Nginx:
    def __init__(self, upstream_port: int):
        self.dir = tempfile.mkdtemp(prefix="tile-edits-nginx-")
        self.port = free_port()
        env = {**os.environ, "TILECACHE_DIR": self.dir, "TILECACHE_LISTEN": f"127.0.0.1:{self.port}",
               "TILECACHE_UPSTREAM": f"127.0.0.1:{upstream_port}", "TILECACHE_SIZE": "2g"}
        conf = subprocess.run(["bash", str(ROOT / "scripts" / "tilecache.sh"), "--render-only"], env=env, check=True,
                              capture_output=True, text=True).stdout.strip()
        self.process = subprocess.Popen(["/usr/sbin/nginx", "-p", self.dir, "-c", conf, "-g", "daemon off;"])
        wait_for(self.port)

    def stop(self):
        self.process.terminate()
        self.process.wait()
        subprocess.run(["rm", "-rf", self.dir], check=True)


def wait_for(port):
    for _ in range(300):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/city")
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"nothing answers on port {port}")


def warm_up(mode, port, centre, spans, clients):
    """Every tile the clients may ask for, asked once at its current URL (no edits yet): the storm then measures
    what edits take out of a warm cache, not a cold start."""
    from layers import tiles, versions

    conn = http.client.HTTPConnection("127.0.0.1", port)
    conn.request("GET", "/api/layers/tile-versions" if mode == "after" else "/api/layers/versions")
    state = json.loads(conn.getresponse().read())
    paths = []
    for z, span in spans.items():
        cx, cy = tiles.lonlat_to_tile(*centre, z)
        for x in range(cx - span - 2, cx + span + 2):
            for y in range(cy - span - 1, cy + span + 2):
                v = versions.version_in_state(state, "parcels", z, x, y) if mode == "after" else state["parcels"]
                paths.append(f"/tiles/parcels/{z}/{x}/{y}.pbf?v={v}")

    def fetch(part):
        c = http.client.HTTPConnection("127.0.0.1", port)
        for path in part:
            c.request("GET", path)
            c.getresponse().read()
    threads = [threading.Thread(target=fetch, args=(paths[i::clients],)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def run_mode(mode: str, port: int, centre, seconds: float, clients: int, reload_s: float, rate: float, dsn: str,
             spans: dict):
    from layers import tiles, versions

    results = {"times": [], "hits": 0, "requests": 0, "by_zoom": {14: [0, 0], 16: [0, 0], 18: [0, 0]}}
    lock = threading.Lock()
    warm_up(mode, port, centre, spans, clients)
    stop = time.perf_counter() + seconds

    def client(seed):
        rnd = random.Random(seed)
        conn = http.client.HTTPConnection("127.0.0.1", port)

        def get(path):
            conn.request("GET", path)
            response = conn.getresponse()
            return response, response.read()
        loaded = 0.0
        state = None
        while time.perf_counter() < stop:
            if time.perf_counter() - loaded > reload_s:
                state = json.loads(get("/api/layers/tile-versions" if mode == "after" else "/api/layers/versions")[1])
                loaded = time.perf_counter()
            z = rnd.choice((14, 16, 18))
            cx, cy = tiles.lonlat_to_tile(*centre, z)
            cx += rnd.randint(-spans[z], spans[z])
            cy += rnd.randint(-spans[z], spans[z])
            times, hits = [], 0
            for x in range(cx - 2, cx + 2):
                for y in range(cy - 1, cy + 2):
                    v = versions.version_in_state(state, "parcels", z, x, y) if mode == "after" else state["parcels"]
                    t = time.perf_counter()
                    response, _ = get(f"/tiles/parcels/{z}/{x}/{y}.pbf?v={v}")
                    times.append((time.perf_counter() - t) * 1000)
                    hits += response.getheader("X-Cache-Status") == "HIT"
                    assert response.status == 200, response.status
            with lock:
                results["times"] += times
                results["hits"] += hits
                results["requests"] += len(times)
                results["by_zoom"][z][0] += hits
                results["by_zoom"][z][1] += len(times)

    edits = [0]

    def editor():
        import psycopg

        with psycopg.connect(dsn, autocommit=True) as conn:
            ids = [row[0] for row in conn.execute("SELECT id FROM parcels_parcel")]
            rnd = random.Random(1)
            next_at = time.perf_counter()
            while time.perf_counter() < stop:
                conn.execute("UPDATE parcels_parcel SET postal_code = postal_code WHERE id = %s", [rnd.choice(ids)])
                edits[0] += 1
                next_at += 1 / rate
                time.sleep(max(0.0, next_at - time.perf_counter()))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    threads.append(threading.Thread(target=editor))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    p50, p95 = p50_p95(results["times"])
    return {"requests": results["requests"], "hit_ratio": results["hits"] / max(results["requests"], 1),
            "p50": p50, "p95": p95, "edits": edits[0], "edits_per_s": edits[0] / seconds,
            "by_zoom": {z: h / max(n, 1) for z, (h, n) in results["by_zoom"].items()},
            "load": os.getloadavg()[0]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parcels", type=int, default=100_000)
    ap.add_argument("--seconds", type=float, default=40.0)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--reload", type=float, default=5.0, help="seconds between a client's loads of the versions")
    ap.add_argument("--rate", type=float, default=10.0, help="parcel edits per second")
    ap.add_argument("--before-code", default="/work/main", help="a checkout with per-layer versions")
    ap.add_argument("--spans", default="2,6,8", help="how far from the centre views go at z14,z16,z18 (tiles)")
    args = ap.parse_args()
    spans = dict(zip((14, 16, 18), (int(v) for v in args.spans.split(","))))

    city = City(args.parcels)
    city.setup_django()
    with city.raw_connection() as conn:
        centre = conn.execute(
            "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Transform(ST_SetSRID(ST_Centroid(ST_Extent(geom)::geometry), %s),"
            " 4326) c FROM parcels_parcel) x", [city.srid]).fetchone()
    rows = []
    for round_ in range(args.rounds):
        for mode, code in (("before", Path(args.before_code)), ("after", ROOT)):
            server = Gunicorn(city.env, code)
            cache = Nginx(server.port)
            try:
                row = run_mode(mode, cache.port, centre, args.seconds, args.clients, args.reload, args.rate, city.dsn,
                               spans)
            finally:
                cache.stop()
                server.stop()
            rows.append((round_ + 1, mode, row))
            print(f"round {round_ + 1} {mode}: {row}", flush=True)
    print(f"\nEdit storm, {args.parcels:,} parcels, {args.rate:g} edits/s over the whole city, {args.clients} map "
          f"clients (z14/z16/z18 views of 4x3 parcels tiles within {args.spans} tiles of the centre, versions "
          f"reloaded every {args.reload:g} s), through nginx, {args.seconds:g} s per round; TILE_EDIT_ZOOM="
          f"{os.environ.get('TILE_EDIT_ZOOM', 16)}")
    print(f"{'round':>5} {'mode':<7} {'tiles':>7} {'HIT':>6} {'z14':>6} {'z16':>6} {'z18':>6} {'p50 ms':>7} "
          f"{'p95 ms':>7} {'edits/s':>8} {'load':>5}")
    for round_, mode, r in rows:
        z = r["by_zoom"]
        print(f"{round_:>5} {mode:<7} {r['requests']:>7} {r['hit_ratio']:>6.1%} {z[14]:>6.1%} {z[16]:>6.1%} "
              f"{z[18]:>6.1%} {r['p50']:>7.1f} {r['p95']:>7.1f} {r['edits_per_s']:>8.1f} {r['load']:>5.1f}")


if __name__ == "__main__":
    import signal

    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))  # a kill stops the servers too (the finally blocks)
    main()
