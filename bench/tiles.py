"""Vector-tile benchmark: the app's tile endpoint (gunicorn, HTTP) against the same ST_AsMVT query as raw SQL.

    .venv/bin/python bench/tiles.py --parcels 100000 [--samples 60] [--seconds 8]

On the demo city of that size (bench/common.py), for the parcels tile at the city centre at z14, z16 and z18:
p50/p95 latency with one client after warm-up, and throughput with 4 concurrent clients (raw: pgbench with
prepared statements; HTTP: wrk), with ratios to the raw query (PERFORMANCE.md: the raw query is the physical
limit). The endpoint is measured twice: "uncached" (a server with TILE_CACHE_ENTRIES=0, every request makes the
tile in PostGIS) and "cached" (the default server asked for versioned URLs as the portal asks, so repeated tiles
come from its tile cache). The raw connection has the serving connections' settings (no parallel query, no JIT).

Beside them, "floor": the same gunicorn serving bench/floor_app.py, which answers with as many bytes made by nothing
(no Django, no database). It is what any Python WSGI endpoint pays per request on this machine; where it is close to
the raw query's cost, no endpoint that also makes the tile can stay within the targets.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import City, Server, latency, pgbench_tps, wrk_rps  # noqa: E402


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
            literal = psycopg.ClientCursor(raw_conn).mogrify(sql, params)
            path = f"/tiles/parcels/{z}/{x}/{y}.pbf?v={version}"
            raw = latency(lambda: raw_conn.execute(sql, params, prepare=True).fetchone()[0], args.samples)
            cold_lat = latency(cold.client(lambda i: path)(), args.samples)
            warm_lat = latency(warm.client(lambda i: path)(), args.samples)
            raw_rps = pgbench_tps(city.dsn, literal + ";\n", args.seconds)
            cold_rps = wrk_rps(cold.port, [path], args.seconds)
            warm_rps = wrk_rps(warm.port, [path], args.seconds)
            floor = Server({**city.env, "FLOOR_BYTES": str(raw[2])}, app="bench.floor_app")
            try:
                floor_lat = latency(floor.client(lambda i: path)(), args.samples)
                floor_rps = wrk_rps(floor.port, [path], args.seconds)
            finally:
                floor.stop()
            rows.append((z, raw[2], raw, cold_lat, warm_lat, raw_rps, cold_rps, warm_rps, floor_lat, floor_rps))
            print(f"z{z} done", flush=True)
    finally:
        warm.stop()
        cold.stop()
    print(f"\nparcels tile at the city centre, {args.parcels:,} parcels, {args.samples} samples; p50/p95 in ms, "
          f"throughput with 4 clients in requests/s; ratios to raw (targets: p50 <= 1.3, throughput >= 0.8)")
    print(f"{'zoom':>4} {'bytes':>8} | {'raw p50':>7} {'p95':>6} {'r/s':>6} | {'uncached p50':>12} {'p95':>6} "
          f"{'ratio':>5} {'r/s':>6} {'ratio':>5} | {'cached p50':>10} {'p95':>6} {'ratio':>5} {'r/s':>6} "
          f"{'ratio':>5} | {'floor p50':>9} {'ratio':>5} {'r/s':>6} {'ratio':>5}")
    for z, size, raw, cold_lat, warm_lat, raw_rps, cold_rps, warm_rps, floor_lat, floor_rps in rows:
        print(f"{z:>4} {size:>8} | {raw[0]:>7.2f} {raw[1]:>6.2f} {raw_rps:>6.0f} | {cold_lat[0]:>12.2f} "
              f"{cold_lat[1]:>6.2f} {cold_lat[0] / raw[0]:>5.2f} {cold_rps:>6.0f} {cold_rps / raw_rps:>5.2f} | "
              f"{warm_lat[0]:>10.2f} {warm_lat[1]:>6.2f} {warm_lat[0] / raw[0]:>5.2f} {warm_rps:>6.0f} "
              f"{warm_rps / raw_rps:>5.2f} | {floor_lat[0]:>9.2f} {floor_lat[0] / raw[0]:>5.2f} {floor_rps:>6.0f} "
              f"{floor_rps / raw_rps:>5.2f}")


if __name__ == "__main__":
    main()
