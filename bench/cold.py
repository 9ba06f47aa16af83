"""The cold path: the map click's parcel sheet and OGC API items pages asked with URLs that never repeat (no page or
count kept for any of them), HTTP throughput against the same statements run raw.

    .venv/bin/python bench/cold.py --parcels 100000 [--rounds 3] [--seconds 8] [--only click,ogc] [--floor]
                                   [--tree /path/to/another/checkout]

On the demo city of that size (bench/common.py), in rounds that alternate raw and HTTP (so that a shared machine's
load falls on both alike), each measured with 4 concurrent clients written in C:
  click raw   the app's sheet statement (parcels/sheet.py, the parcel under a point) by pgbench, prepared, with the
              serving connections' settings, each run at a point drawn from the city's parcels (a table of them,
              looked up by the statement: the raw side does that much more);
  click http  GET /api/parcels/at?lon=&lat= on gunicorn as the benches serve the app (4 sync workers), by wrk, each
              request at another parcel's point, none asked twice in the whole run;
  ogc raw     the statement of an OGC items page never asked before (layers/ogc_provider.features_sql with its count:
              100 parcels of a bbox of 0.008 degrees, and numberMatched) by pgbench, the values written into the
              text (-M simple) and so planned for them, as the app sends it; each run another random box;
  ogc http    GET /ogc/collections/parcels/items?bbox=...&limit=100 by wrk, each request another random box, none
              asked twice (the page cache is on, as deployed, and never hit);
  floor       (--floor) gunicorn serving bench/floor_app.py: what any Python WSGI endpoint pays per request here.
Prints requests/s per round with the load average, and the ratios http / raw (target >= 0.8).
"""

import argparse
import random
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import SERVING_OPTIONS, City, Server  # noqa: E402

WRK_SCRIPT = """
local threads, k = {}, 0
function setup(thread) thread:set("tid", k); k = k + 1; table.insert(threads, thread) end
function init(args) i = 0; share = math.floor(#paths / 2); bad = 0; last = "" end
function request() i = i + 1; return wrk.format("GET", paths[tid * share + i]) end
function response(status, headers, body) if status ~= 200 then bad = bad + 1; last = status .. " " .. body end end
done = function(summary, latency, requests)
  local n, text = 0, ""
  for _, t in ipairs(threads) do n = n + t:get("bad"); text = text .. t:get("last") .. "\\n" end
  io.write(string.format("REQUESTS %d\\nNOT200 %d\\n%s\\n", summary.requests, n, text))
end
"""


def wrk_distinct(port: int, paths: list[str], seconds: float, connections: int = 4, allow_404: bool = False):
    """(requests/s, answers other than 200) by wrk (2 threads, `connections` connections), each request the next of
    `paths` never asked before (each thread walks its own half); fails if a URL would have been asked twice, a
    connection failed, or an answer was neither 200 nor an allowed 404."""
    lua = "paths = {" + ",".join(f'"{p}"' for p in paths) + "}\n" + WRK_SCRIPT
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as f:
        f.write(lua)
        f.flush()
        out = subprocess.run(["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds:.0f}s", "--timeout", "20s",
                              "-s", f.name, f"http://127.0.0.1:{port}"], capture_output=True, text=True,
                             check=True).stdout
    done, bad = re.search(r"REQUESTS (\d+)", out), re.search(r"NOT200 (\d+)", out)
    wrong = bad is None or (int(bad.group(1)) and not (allow_404 and re.search(r"^404 ", out, re.M)
                                                       and not re.search(r"^[235]\d\d ", out, re.M)))
    if "Socket errors" in out or done is None or wrong or int(done.group(1)) >= 0.9 * len(paths):
        raise SystemExit(f"wrk: errors, or too few URLs for this run:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), int(bad.group(1))


def pgbench(dsn: str, script: str, seconds: float, mode: str, clients: int = 4) -> float:
    """Transactions/s of the script by pgbench with the serving connections' settings."""
    import os

    with tempfile.NamedTemporaryFile("w", suffix=".sql") as f:
        f.write(script)
        f.flush()
        out = subprocess.run(["pgbench", "-n", "-c", str(clients), "-j", "2", "-T", f"{seconds:.0f}", "-M", mode,
                              "-f", f.name, dsn], capture_output=True, text=True, check=True,
                             env={**os.environ, "PGOPTIONS": SERVING_OPTIONS}).stdout
    return float(re.search(r"tps = ([\d.]+)", out).group(1))


def load() -> str:
    return open("/proc/loadavg").read().split()[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parcels", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--only", default="click,ogc")
    ap.add_argument("--floor", action="store_true")
    ap.add_argument("--tree", help="serve the app from another checkout (A/B: e.g. the tree before a change)")
    ap.add_argument("--per-second", type=int, default=2000, help="URLs made per second of a run (more than served)")
    args = ap.parse_args()
    kinds = args.only.split(",")
    city = City(args.parcels)
    city.setup_django()
    from django.conf import settings

    from layers import ogc_provider
    from layers.registry import LAYERS
    from parcels import sheet

    rng = random.Random(17)
    needed = int(args.per_second * args.seconds)  # URLs per run; the two wrk threads each walk their own half
    with city.raw_connection() as conn:
        conn.autocommit = True
        points = conn.execute("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(ST_PointOnSurface(geom), 4326) p "
                              "FROM parcels_parcel) s").fetchall()
        conn.execute("CREATE TABLE IF NOT EXISTS bench_cold_points (i int PRIMARY KEY, lon float8, lat float8)")
        conn.execute("TRUNCATE bench_cold_points")
        with conn.cursor().copy("COPY bench_cold_points FROM STDIN") as copy:
            for i, (lon, lat) in enumerate(points):
                copy.write_row((i, lon, lat))
        west, south, east, north = conn.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Transform(ST_SetSRID("
            "ST_Extent(geom)::geometry, %s), 4326) e FROM parcels_parcel) x", [city.srid]).fetchone()
    rng.shuffle(points)
    if "click" in kinds and needed * args.rounds > len(points) - 2000:
        raise SystemExit(f"{len(points)} parcels are too few for {args.rounds} rounds of {needed} clicks that never "
                         "repeat: fewer --rounds or --seconds")

    # the click, raw: the app's statement, the point looked up from the table by a random index
    statement = sheet.sheet_sql(sheet.WHERE["point"])
    click_sql = statement.replace("%(lon)s", "(SELECT lon FROM bench_cold_points WHERE i = :i)").replace(
        "%(lat)s", "(SELECT lat FROM bench_cold_points WHERE i = :i)").replace(
        "%(srid)s", str(city.srid)).replace("%(tolerance)s", repr(float(settings.AREA_MISMATCH_TOLERANCE)))
    click_script = f"\\set i random(0, {len(points) - 1})\n{click_sql.strip()};\n"

    # an OGC page never asked before, raw: the app's statement with its count, for a random box of `size` degrees
    size, span = 0.008, 0.6  # centres in the middle 60% of the city: every page is full
    cx, cy, w, h = (west + east) / 2, (south + north) / 2, (east - west) * span / 2, (north - south) * span / 2
    layer = LAYERS["parcels"]
    where, params = ogc_provider._where(layer, ogc_provider.Query((0, 0, size, size)))
    names = [":w", ":s", ":e", ":n", repr(params[4]), str(params[5]), "101", "0", "100"]
    page_sql = ogc_provider.features_sql(layer, where, 4326, False, count=True)
    for name in names:
        page_sql = page_sql.replace("%s", name, 1)
    micro = 1_000_000
    ogc_script = (f"\\set w {cx - w:.6f} + random(0, {int(2 * w * micro)}) / {micro}.0\n"
                  f"\\set s {cy - h:.6f} + random(0, {int(2 * h * micro)}) / {micro}.0\n"
                  f"\\set e :w + {size}\n\\set n :s + {size}\n{page_sql.strip()};\n")

    def ogc_paths():
        boxes = ((cx + rng.uniform(-w, w), cy + rng.uniform(-h, h)) for _ in range(needed))
        return [f"/ogc/collections/parcels/items?bbox={x:.6f},{y:.6f},{x + size:.6f},{y + size:.6f}&limit=100"
                for x, y in boxes]

    import bench.common

    if args.tree:  # Server starts gunicorn in bench.common.ROOT
        bench.common.ROOT = Path(args.tree).resolve()
    app = Server(city.env)
    bench.common.ROOT = Path(__file__).resolve().parent.parent
    floor = Server({**city.env, "FLOOR_BYTES": "3000"}, app="bench.floor_app") if args.floor else None
    results, used = [], 0
    try:
        # warm-up, with URLs of their own, until every worker has booted (Server returns when the first answers) and
        # answers without errors: its connection opened and the statements planned
        warm = [f"/api/parcels/at?lon={lon:.7f}&lat={lat:.7f}" for lon, lat in points[-2000:]] + ogc_paths()[:2000]
        answered = 0
        for attempt in range(40):
            try:
                rps, _ = wrk_distinct(app.port, random.Random(attempt).sample(warm, len(warm)), 3, allow_404=True)
            except SystemExit:
                rps = 0
            answered = answered + 1 if rps > 20 else 0
            if answered == 3:
                break
        for round_ in range(args.rounds):
            row = {}
            if "click" in kinds:
                row["click raw"] = (pgbench(city.dsn, click_script, args.seconds, "prepared"), load())
                paths = [f"/api/parcels/at?lon={lon:.7f}&lat={lat:.7f}" for lon, lat in points[used:used + needed]]
                used += needed
                rps, missed = wrk_distinct(app.port, paths, args.seconds, allow_404=True)
                row["click http"] = (rps, load())
                row["click 404"] = (missed, load())  # a point on a parcel's edge, rounded to 7 digits, may miss it
            if "ogc" in kinds:
                row["ogc raw"] = (pgbench(city.dsn, ogc_script, args.seconds, "simple"), load())
                row["ogc http"] = (wrk_distinct(app.port, ogc_paths(), args.seconds)[0], load())
            if floor is not None:
                row["floor"] = (wrk_distinct(floor.port, [f"/{i}" for i in range(needed * 5)], args.seconds)[0], load())
            results.append(row)
            print(f"round {round_ + 1}: " + ", ".join(f"{k} {v:.0f}/s (load {l})" for k, (v, l) in row.items()),
                  flush=True)
    finally:
        app.stop()
        if floor is not None:
            floor.stop()
    print(f"\ncold path, {args.parcels:,} parcels, 4 clients, {args.seconds:.0f} s per run; requests/s per round "
          "(load average at its end) and http / raw")
    for kind in ("click", "ogc"):
        if kind in kinds:
            ratios = [row[f"{kind} http"][0] / row[f"{kind} raw"][0] for row in results]
            print(f"{kind:>6}: " + "; ".join(
                f"raw {row[f'{kind} raw'][0]:.0f} ({row[f'{kind} raw'][1]}), http {row[f'{kind} http'][0]:.0f} "
                f"({row[f'{kind} http'][1]}), ratio {r:.2f}" for row, r in zip(results, ratios)))
    if floor is not None:
        print(" floor: " + ", ".join(f"{row['floor'][0]:.0f}" for row in results) + " requests/s")
    print("target: http >= 0.8 x raw")


if __name__ == "__main__":
    main()
