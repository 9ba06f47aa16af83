"""Map click -> parcel sheet JSON: the app's endpoint against the same lookup as raw SQL.

    .venv/bin/python bench/click.py --parcels 100000 [--points 200] [--samples 400]

On the demo city of that size (see bench/common.py), picks `points` spots inside parcels spread over the city. For
each spot it records the SQL statements the app runs for a click there (Django's CaptureQueriesContext: the very
statements, literals included), then measures, cycling through the spots:
  raw   - those statements replayed with psycopg on one connection with the serving settings (the physical limit);
  view  - the Django view called in-process (ORM and JSON, no HTTP);
  http  - GET /api/parcels/at?lon=&lat= on gunicorn (what the portal does on a click).
Target (issue 3): http p50 within 3 ms of raw p50.
"""

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import City, Server, latency, throughput  # noqa: E402


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
    statements = []
    for path in paths:
        with CaptureQueriesContext(connection) as captured:
            response = parcel_at(factory.get(path))
        assert response.status_code == 200, response.content
        statements.append([q["sql"] for q in captured.captured_queries])
    per_click = statistics.median(len(s) for s in statements)

    raw_conn = city.raw_connection()

    def raw_call(counter=[0]):
        sqls = statements[counter[0] % len(statements)]
        counter[0] += 1
        for sql in sqls:
            raw_conn.execute(sql).fetchall()

    def view_call(counter=[0]):
        path = paths[counter[0] % len(paths)]
        counter[0] += 1
        return parcel_at(factory.get(path)).content

    raw = latency(raw_call, args.samples, warmup=len(statements))
    view = latency(view_call, args.samples, warmup=len(paths))
    server = Server(city.env)
    try:
        make = server.client(lambda i: paths[i % len(paths)])
        http = latency(make(), args.samples, warmup=len(paths))

        def raw_client():
            c = city.raw_connection()
            n = [0]

            def call():
                for sql in statements[n[0] % len(statements)]:
                    c.execute(sql).fetchall()
                n[0] += 1
            return call
        raw_rps = throughput(raw_client, 4, args.seconds)
        http_rps = throughput(make, 4, args.seconds)
    finally:
        server.stop()
    print(f"\nmap click -> parcel sheet, {args.parcels:,} parcels ({settings.MUNICIPALITY_SRID}), {len(paths)} spots, "
          f"{args.samples} samples, {per_click:.0f} SQL statements per click; ms")
    print(f"{'':>6} {'p50':>7} {'p95':>7}")
    for label, (p50, p95, _) in (("raw", raw), ("view", view), ("http", http)):
        print(f"{label:>6} {p50:>7.2f} {p95:>7.2f}")
    print(f"http p50 - raw p50 = {http[0] - raw[0]:.2f} ms (target <= 3 ms); "
          f"throughput with 4 clients: raw {raw_rps:.0f}/s, http {http_rps:.0f}/s ({http_rps / raw_rps:.2f})")


if __name__ == "__main__":
    main()
