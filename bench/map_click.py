"""Map click -> parcel sheet JSON: the app's endpoint against the same lookup as raw SQL.

    .venv/bin/python bench/map_click.py --parcels 100000 [--points 200] [--samples 400]

On the demo city of that size (see bench/common.py), picks `points` spots inside parcels spread over the city. It
measures, cycling through the spots:
  raw   - the app's statement (parcels/sheet.py) as a prepared statement with the serving settings (the physical
          limit): latency and throughput by pgbench (C), and latency by psycopg on one connection (Python);
  view  - the Django view called in-process (ORM and JSON, no HTTP);
  http  - GET /api/parcels/at?lon=&lat= on gunicorn (what the portal does on a click): latency and throughput by wrk
          (C), and latency by http.client (Python).
Target (issue 3): http p50 within 3 ms of raw p50, both measured by C clients (pgbench and wrk, one request at a
time), so that neither holds its client's own cost; the Python clients' difference is printed too.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import City, Server, latency, pgbench_latency, pgbench_tps, wrk_latency, wrk_rps  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parcels", type=int, default=100_000)
    ap.add_argument("--points", type=int, default=200)
    ap.add_argument("--samples", type=int, default=400)
    ap.add_argument("--seconds", type=float, default=5.0)
    args = ap.parse_args()

    city = City(args.parcels)
    city.setup_django()
    from django.conf import settings
    from django.db import connection
    from django.test import RequestFactory
    from django.test.utils import CaptureQueriesContext

    from parcels.api import parcel_at

    with city.raw_connection() as conn:
        count = conn.execute("SELECT count(*) FROM parcels_parcel").fetchone()[0]
        step = max(count // args.points, 1)
        points = conn.execute(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(ST_PointOnSurface(geom), 4326) p, "
            "row_number() OVER (ORDER BY id) n FROM parcels_parcel) s WHERE n %% %s = 0 LIMIT %s",
            [step, args.points]).fetchall()
    factory = RequestFactory()
    paths = [f"/api/parcels/at?lon={lon:.7f}&lat={lat:.7f}" for lon, lat in points]
    from parcels import sheet

    statement = sheet.sheet_sql(sheet.WHERE["point"])
    params = [{"lon": lon, "lat": lat, "srid": settings.MUNICIPALITY_SRID,
               "tolerance": float(settings.AREA_MISMATCH_TOLERANCE)} for lon, lat in points]
    with CaptureQueriesContext(connection) as captured:  # what else the view runs (nothing, if all is well)
        assert parcel_at(factory.get(paths[0])).status_code == 200
    per_click = 1 + len(captured.captured_queries)

    raw_conn = city.raw_connection()

    def raw_call(counter=[0]):
        counter[0] += 1
        return raw_conn.execute(statement, params[counter[0] % len(params)], prepare=True).fetchone()

    def view_call(counter=[0]):
        path = paths[counter[0] % len(paths)]
        counter[0] += 1
        return parcel_at(factory.get(path)).content

    raw = latency(raw_call, args.samples, warmup=len(params))
    view = latency(view_call, args.samples, warmup=len(paths))
    server = Server(city.env)
    try:
        make = server.client(lambda i: paths[i % len(paths)])
        http = latency(make(), args.samples, warmup=len(paths))
        http_c = wrk_latency(server.port, paths, args.seconds)
        http_rps = wrk_rps(server.port, paths, args.seconds)
    finally:
        server.stop()
    # Throughput of the raw lookup: the app's statement by pgbench, the spot drawn at random from a table of them.
    with city.raw_connection() as conn:
        conn.execute("DROP TABLE IF EXISTS bench_click_points")
        conn.execute("CREATE TABLE bench_click_points (i int PRIMARY KEY, pt geometry)")
        with conn.cursor().copy("COPY bench_click_points (i, pt) FROM STDIN") as copy:
            for i, (lon, lat) in enumerate(points):
                copy.write_row((i, f"SRID=4326;POINT({lon} {lat})"))
        conn.execute("UPDATE bench_click_points SET pt = ST_Transform(pt, %s)", [city.srid])
    statement = sheet.sheet_sql("ST_Intersects(geom, (SELECT pt FROM bench_click_points WHERE i = :i))")
    # (the spot is looked up already in the municipality's CRS: the raw side is spared the transform)
    statement = statement.replace("%(tolerance)s", repr(float(settings.AREA_MISMATCH_TOLERANCE)))
    script = f"\\set i random(0, {len(points) - 1})\n{statement.strip()};\n"
    raw_c = pgbench_latency(city.dsn, script, args.seconds)
    raw_rps = pgbench_tps(city.dsn, script, args.seconds)
    print(f"\nmap click -> parcel sheet, {args.parcels:,} parcels ({settings.MUNICIPALITY_SRID}), {len(paths)} spots, "
          f"{args.samples} samples, {per_click:.0f} SQL statements per click; ms")
    print(f"{'':>6} {'p50':>7} {'p95':>7}   (C clients: pgbench, wrk)   {'p50':>7} {'p95':>7}   (Python clients)")
    for label, c, py in (("raw", raw_c, raw), ("view", None, view), ("http", http_c, http)):
        c_text = f"{c[0]:>7.2f} {c[1]:>7.2f}" if c else f"{'':>15}"
        print(f"{label:>6} {c_text}   {'':>25} {py[0]:>7.2f} {py[1]:>7.2f}")
    print(f"http p50 - raw p50 = {http_c[0] - raw_c[0]:.2f} ms by C clients (target <= 3 ms), "
          f"{http[0] - raw[0]:.2f} ms by Python clients; throughput with 4 clients: "
          f"raw (pgbench) {raw_rps:.0f}/s, http (wrk) {http_rps:.0f}/s, ratio {http_rps / raw_rps:.2f}")


if __name__ == "__main__":
    main()
