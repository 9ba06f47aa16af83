"""Vector-tile benchmark: the app's tile endpoint (gunicorn, HTTP) against the same ST_AsMVT query as raw SQL.

    .venv/bin/python bench/tiles.py --parcels 100000 [--samples 60] [--seconds 8]

On the demo city of that size (bench/common.py), for the parcels tile at the city centre at z14, z16 and z18:
p50/p95 latency with one client after warm-up, and throughput with 4 concurrent clients, with ratios to the raw query
(PERFORMANCE.md: the raw query is the physical limit). Both sides are measured by C clients: pgbench with prepared
statements for the raw query, wrk for HTTP, so that neither side's figure holds its client's own cost. For
reference the p50 by Python clients is printed too (psycopg prepared; http.client, which parses each answer in Python
for about half a millisecond).

The endpoint is measured twice: "uncached" (a server with TILE_CACHE_ENTRIES=0, every request makes the tile in
PostGIS) and "cached" (the default server asked for versioned URLs as the portal asks, so repeated tiles
come from its tile cache). The raw connection has the serving connections' settings (no parallel query, no JIT).

Beside them, "floor": the same gunicorn serving bench/floor_app.py, which answers with as many bytes made by nothing
(no Django, no database). It is what any Python WSGI endpoint pays per request on this machine; where it is close to
the raw query's cost, no endpoint that also makes the tile can stay within the targets.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import City, Server, latency, pgbench_latency, pgbench_tps, wrk_latency, wrk_rps  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parcels", type=int, default=100_000)
    ap.add_argument("--samples", type=int, default=60)
    ap.add_argument("--seconds", type=float, default=8.0, help="duration of each throughput run")
    args = ap.parse_args()

    city = City(args.parcels)
    city.setup_django()
    import psycopg

    from layers import tiles
    from layers.registry import LAYERS

    layer = LAYERS["parcels"]
    with city.raw_connection() as conn:
        lon, lat = conn.execute(
            "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Transform(ST_SetSRID(ST_Centroid(ST_Extent(geom)::geometry), %s),"
            " 4326) c FROM parcels_parcel) x", [city.srid]).fetchone()
        version = conn.execute(
            "SELECT coalesce(max(version), 0) FROM layers_tableversion WHERE table_name = 'parcels_parcel'").fetchone()[0]
    warm, cold = Server(city.env), Server({**city.env, "TILE_CACHE_ENTRIES": "0"})
    rows = []
    try:
        raw_conn = city.raw_connection()
        for z in (14, 16, 18):
            x, y = tiles.lonlat_to_tile(lon, lat, z)
            sql, params = tiles.tile_sql(layer, z), tiles.tile_params(layer, z, x, y)
            script = psycopg.ClientCursor(raw_conn).mogrify(sql, params) + ";\n"
            path = f"/tiles/parcels/{z}/{x}/{y}.pbf?v={version}"
            size = len(raw_conn.execute(sql, params).fetchone()[0])
            floor = Server({**city.env, "FLOOR_BYTES": str(size)}, app="bench.floor_app")
            try:
                row = {"raw": (pgbench_latency(city.dsn, script, args.seconds),
                               pgbench_tps(city.dsn, script, args.seconds),
                               latency(lambda: raw_conn.execute(sql, params, prepare=True).fetchone()[0],
                                       args.samples))}
                for name, server in (("uncached", cold), ("cached", warm), ("floor", floor)):
                    row[name] = (wrk_latency(server.port, [path], args.seconds),
                                 wrk_rps(server.port, [path], args.seconds),
                                 latency(server.client(lambda i: path)(), args.samples))
            finally:
                floor.stop()
            rows.append((z, size, row))
            print(f"z{z} done", flush=True)
    finally:
        warm.stop()
        cold.stop()
    print(f"\nparcels tile at the city centre, {args.parcels:,} parcels; p50/p95 in ms by C clients (pgbench, wrk; "
          f"one at a time), throughput with 4 clients in requests/s, and p50 by Python clients (psycopg, http.client); "
          f"ratios to raw (targets: p50 <= 1.3, throughput >= 0.8)")
    print(f"{'zoom':>4} {'bytes':>8} {'':>8} | {'p50':>7} {'p95':>7} {'ratio':>5} | {'r/s':>6} {'ratio':>6} | "
          f"{'py p50':>7} {'ratio':>5}")
    for z, size, row in rows:
        (raw_p50, _), raw_rps, raw_py = row["raw"]
        for name, ((p50, p95), rps, py) in row.items():
            print(f"{z:>4} {size:>8} {name:>8} | {p50:>7.2f} {p95:>7.2f} {p50 / raw_p50:>5.2f} | {rps:>6.0f} "
                  f"{rps / raw_rps:>6.2f} | {py[0]:>7.2f} {py[0] / raw_py[0]:>5.2f}")


if __name__ == "__main__":
    main()
