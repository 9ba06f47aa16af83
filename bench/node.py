"""One database node holding one city, then several: the same requests measured while the node holds 1M parcels (one
municipality) and N x 1M (N municipalities of 1M each, a database each, served by one set of portal processes), as a
provincial operator would run them.

    .venv/bin/python bench/node.py --parcels 1000000 --cities 1,5 [--samples 150] [--seconds 10] [--no-assessment]
                                   [--no-export]

The first city is the bench city of that size (bench/common.py, with the demo rulebook and tariff books); cities 2..N
are copies of it (CREATE DATABASE … TEMPLATE: the same layout in files of their own, so the node's memory and disk
hold N times the data; a request in city k reads city k's pages). A municipalities file (README, "Many
municipalities") serves them all from one gunicorn (4 workers), city k at /c<k> (the first at /). The settings run
in the order given, the smallest first (the copies are made only when a setting needs them, so the one-city run has
the node to itself). Per setting, each request in a city drawn at random, one client at a time (p50 / p95 ms):
  click        GET /api/parcels/at at a parcel's point
  tiles z14/z16/z18  GET /tiles/parcels/z/x/y.pbf?v=<the layer's version> at a parcel
  ogc          GET /ogc/collections/parcels/items?bbox=<200 m around a parcel>&limit=100
  eligibility  GET /api/parcels/<id>/eligibility with a proposal (always computed: no cache)
cold: URLs never asked before in the run; warm: the same URLs once more (the app's caches as deployed: each gunicorn
worker keeps its own, and a sync worker closes the connection after each answer, so a warm request meets the worker
that cached it about one time in four; nginx's shared tile cache in front is measured in bench/tile_edits.py). Then
  click rps    the click's HTTP throughput, 4 clients (wrk), URLs never repeated, spread over the cities;
  assessment   assess_year 1405 of every city one after the other, in-process (wall s; the night window's work);
  export       the first city's parcels to GeoPackage through the app's export (wall s).
Prints a table per setting and the ratios of the last setting to the first. PostgreSQL's caches are what the node
has (the local cluster's shared_buffers, the OS page cache); the load average is printed with each figure.
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode, urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import PY, ROOT, City, Server, p50_p95, wrk_rps  # noqa: E402
from bench.load import _tile as tile_of, get_json  # noqa: E402

PROPOSAL = {"land_use": "residential", "floors": 2, "gross_floor_area": 150, "footprint_area": 75, "units": 1,
            "parking_spaces": 1}


def copies(city: City, count: int) -> list[str]:
    """The database names of cities 1..count: the bench city and count-1 copies of it (made when missing)."""
    import psycopg

    names = [city.name] + [f"{city.name}_c{k}" for k in range(2, count + 1)]
    with psycopg.connect(city.admin + " dbname=postgres", autocommit=True) as conn:
        for name in names[1:]:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                continue
            t = time.perf_counter()
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [city.name])
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{city.name}"')
            print(f"  copied {city.name} to {name} in {time.perf_counter() - t:.0f} s", flush=True)
    return names


def municipalities_file(city: City, names: list[str], folder: Path) -> Path:
    from common.municipality import DEFAULT_RENEWAL_CODE_WIDTHS, DEFAULT_TIME_ZONE, Municipality, toml_table

    base = urlparse(city.env["DATABASE_URL"])
    tables = [toml_table(Municipality(
        slug=f"c{k}", name=f"شهر {k}", name_en=f"City {k}", srid=city.srid,
        renewal_code_widths=DEFAULT_RENEWAL_CODE_WIDTHS, time_zone=DEFAULT_TIME_ZONE,
        database="default" if k == 1 else f"c{k}", path_prefix="" if k == 1 else f"/c{k}",
        database_url="" if k == 1 else base._replace(path="/" + name).geturl()))
        for k, name in enumerate(names, start=1)]
    path = folder / f"node_{len(names)}.toml"
    path.write_text("\n".join(tables), encoding="utf-8")
    return path


def load() -> str:
    return "load %.1f" % os.getloadavg()[0]


def sample_parcels(city: City, count: int, rng: random.Random) -> list[tuple]:
    """(id, lon, lat) of parcels with a zone (eligibility needs one), drawn at random from the first city (the
    copies hold the same parcels under the same ids)."""
    with city.raw_connection() as conn:
        rows = conn.execute(
            "SELECT p.id, ST_X(pt), ST_Y(pt) FROM (SELECT parcel_id FROM zoning_parceloverlay WHERE zone_code <> '' "
            "ORDER BY md5(parcel_id::text || %s) LIMIT %s) o JOIN LATERAL (SELECT id, "
            "ST_Transform(ST_PointOnSurface(geom), 4326) pt FROM parcels_parcel WHERE id = o.parcel_id) p ON true",
            [str(rng.random()), count]).fetchall()
    return rows


def urls(kind: str, parcels: list[tuple], prefixes: list[str], versions: dict, rng: random.Random) -> list[str]:
    """One URL per parcel, each in a city drawn at random, none repeated."""
    out, seen = [], set()
    for pid, lon, lat in parcels:
        prefix = rng.choice(prefixes)
        if kind == "click":
            path = f"/api/parcels/at?lon={lon:.7f}&lat={lat:.7f}"
        elif kind.startswith("tiles"):
            z = int(kind[-2:])
            x, y = tile_of(lon, lat, z)
            path = f"/tiles/parcels/{z}/{x}/{y}.pbf?v={versions[prefix]}"
        elif kind == "ogc":
            half = 100 / 111_320
            box = ",".join(f"{v:.6f}" for v in (lon - half, lat - half, lon + half, lat + half))
            path = "/ogc/collections/parcels/items?" + urlencode({"bbox": box, "limit": 100})
        else:
            path = f"/api/parcels/{pid}/eligibility?" + urlencode(PROPOSAL)
        if prefix + path not in seen:
            seen.add(prefix + path)
            out.append(prefix + path)
    return out


def timed_gets(port: int, paths: list[str]) -> list[float]:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    times = []
    for path in paths:
        t = time.perf_counter()
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        times.append((time.perf_counter() - t) * 1000)
        if response.status not in (200, 204):
            raise SystemExit(f"{path}: {response.status} {body[:200]!r}")
    conn.close()
    return times


def layer_versions(port: int, prefixes: list[str]) -> dict:
    return {prefix: get_json(port, prefix + "/api/layers/versions").get("parcels", 0) for prefix in prefixes}


def in_process(city: City, names: list[str], mfile: Path, what: str) -> float:
    """Run `what` (assessment of every city, or the first city's export) in a process of its own under the setting's
    municipalities file; its wall seconds."""
    code = f"""
import sys, time, tempfile
sys.path.insert(0, {str(ROOT)!r})
import django
django.setup()
from django.db import connection
from common import municipality
t = time.perf_counter()
if {what!r} == "assessment":
    from dues.assessment import assess_year
    for slug in municipality.registry():
        with municipality.activate(slug):
            with connection.cursor() as cursor:
                cursor.execute("DELETE FROM dues_assessment WHERE year = 1405")
            assess_year(1405, run_by="bench")
            connection.close()
else:
    from pathlib import Path
    from layers.exports import ExportRequest, export
    from layers.registry import LAYERS
    with tempfile.TemporaryDirectory() as tmp:
        export(ExportRequest([LAYERS["parcels"]], "gpkg"), Path(tmp) / "parcels.gpkg")
print(time.perf_counter() - t)
"""
    env = {**city.env, "MUNICIPALITIES_FILE": str(mfile)}
    result = subprocess.run([PY, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    return float(result.stdout.strip().splitlines()[-1])


def run_setting(city: City, count: int, args, folder: Path) -> dict:
    names = copies(city, count)
    mfile = municipalities_file(city, names, folder)
    prefixes = [""] + [f"/c{k}" for k in range(2, count + 1)]
    rng = random.Random(count)
    env = {**city.env, "MUNICIPALITIES_FILE": str(mfile)}
    server = Server(env)
    figures = {}
    try:
        versions = layer_versions(server.port, prefixes)
        timed_gets(server.port, [p + "/api/city" for p in prefixes] * 3)  # every worker's connections opened
        for kind in ("click", "tiles z14", "tiles z16", "tiles z18", "ogc", "eligibility"):
            paths = urls(kind, sample_parcels(city, args.samples, rng), prefixes, versions, rng)
            cold = timed_gets(server.port, paths)
            warm = timed_gets(server.port, paths)
            figures[kind] = (*p50_p95(cold), *p50_p95(warm))
            print(f"  {kind:<12} cold p50 {figures[kind][0]:7.1f} p95 {figures[kind][1]:7.1f}  warm p50 "
                  f"{figures[kind][2]:7.1f} p95 {figures[kind][3]:7.1f} ms  ({load()})", flush=True)
        many = urls("click", sample_parcels(city, 40_000, rng), prefixes, versions, rng)
        rates = [wrk_rps(server.port, many[i::2], args.seconds) for i in range(2)]
        figures["click rps"] = statistics.median(rates)
        print(f"  click rps    {rates} ({load()})", flush=True)
    finally:
        server.stop()
    if args.assessment:
        figures["assessment"] = in_process(city, names, mfile, "assessment")
        print(f"  assessment of {count} cities: {figures['assessment']:.1f} s ({load()})", flush=True)
    if args.export:
        figures["export"] = in_process(city, names, mfile, "export")
        print(f"  export of one city: {figures['export']:.1f} s ({load()})", flush=True)
    return figures


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parcels", type=int, default=1_000_000)
    ap.add_argument("--cities", default="1,5", help="the settings: how many cities the node holds, in order")
    ap.add_argument("--samples", type=int, default=150, help="URLs per endpoint (each asked cold, then warm)")
    ap.add_argument("--seconds", type=float, default=10, help="each of the two wrk runs of the click")
    ap.add_argument("--no-assessment", dest="assessment", action="store_false")
    ap.add_argument("--no-export", dest="export", action="store_false")
    args = ap.parse_args()
    settings = [int(v) for v in args.cities.split(",")]
    tariffs = sorted(str(p) for p in (ROOT / "data" / "tariffs").glob("*.toml"))
    city = City(args.parcels, extra=[["load_rulebook", "data/rulebook/demo.toml", "--commit", "--if-absent"],
                                     ["load_tariff_book", *tariffs, "--commit"]])
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for count in settings:
            print(f"\n{count} cities of {args.parcels:,} parcels on the node ({count * args.parcels:,} parcels):",
                  flush=True)
            results[count] = run_setting(city, count, args, Path(folder))
    first, last = settings[0], settings[-1]
    print(f"\n{'':<14}" + "".join(f"{f'{n} x {args.parcels:,}':>26}" for n in settings) + f"{'ratio':>8}")
    for key in results[first]:
        row = f"{key:<14}"
        for n in settings:
            v = results[n][key]
            row += f"{'%.1f / %.1f | %.1f / %.1f' % v:>26}" if isinstance(v, tuple) else f"{v:>26.1f}"
        a, b = results[first][key], results[last][key]
        ratio = (b[0] / a[0]) if isinstance(a, tuple) else b / a
        print(row + f"{ratio:>8.2f}")
    print("(latency rows: cold p50 / p95 | warm p50 / p95 ms; click rps: requests/s; assessment: s for every city; "
          "export: s for one city; ratio: last setting / first, cold p50 for the latency rows)")


if __name__ == "__main__":
    main()
