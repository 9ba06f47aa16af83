"""Low-zoom tiles benchmark: the parcels layer's tiles at z10-z14 from the land-use overview (parcels/overview.py)
against the same tiles made from the parcels table, as before the overview.

    .venv/bin/python bench/overview.py --parcels 100000 [--database NAME] [--build] [--sample 4] [--samples 40]

On the demo city of that size (bench/common.py; or an existing database given by --database, not migrated), for the
tile at the city centre and `--sample` other tiles holding parcels at each zoom from 10 to 14: the tile's size and the
raw query's p50 (psycopg, prepared, the serving connections' settings) from the parcels table ("before": what the
parcels tile SQL made without the overview; below z14 the layer drew nothing then) and from the overview ("after").
For the centre tiles, the endpoint (gunicorn with TILE_CACHE_ENTRIES=0: every request makes the tile) against the raw
query by C clients (wrk, pgbench), in alternating rounds, and its p50 ratio to raw. --build times the overview's
whole rebuild (what the job does after an import) first. The load average is printed with the figures
(PERFORMANCE.md: shared machine, ratios from one run).
"""

import argparse
import dataclasses
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import SERVING_OPTIONS, City, Server, latency, pgbench_latency, wrk_latency  # noqa: E402

TARGET_KB, TARGET_MS = 100, 50


class Existing:
    """An existing database (a shared bench city), used as it is: no migrate, no load."""

    def __init__(self, name: str):
        from urllib.parse import urlparse

        base = urlparse(os.environ["DATABASE_URL"])
        self.name = name
        self.dsn = (f"host={base.hostname} port={base.port or 5432} user={base.username} password={base.password} "
                    f"dbname={name}")
        self.srid = int(os.environ.get("MUNICIPALITY_SRID", 32640))
        self.env = {**os.environ, "DATABASE_URL": base._replace(path="/" + name).geturl(), "SECRET_KEY": "bench",
                    "DJANGO_SETTINGS_MODULE": "gis_portal.settings", "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
                    "DUES_ALLOW_SANDBOX_IN_PRODUCTION": "true"}

    setup_django = City.setup_django

    def raw_connection(self):
        import psycopg

        return psycopg.connect(self.dsn, options=SERVING_OPTIONS, autocommit=True)


def load() -> str:
    return "load %.2f %.2f %.2f" % os.getloadavg()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parcels", type=int, default=100_000)
    ap.add_argument("--database", help="an existing city database, used as it is (not migrated)")
    ap.add_argument("--build", action="store_true", help="time the overview's whole rebuild first")
    ap.add_argument("--sample", type=int, default=4, help="other tiles per zoom besides the centre's")
    ap.add_argument("--samples", type=int, default=40, help="timed runs per query from the overview")
    ap.add_argument("--before-samples", type=int, default=5,
                    help="timed runs per query from the parcels table (seconds each at z10-z12 at 1M; 0: not measured)")
    ap.add_argument("--seconds", type=float, default=5.0, help="duration of each C-client latency run")
    args = ap.parse_args()

    city = Existing(args.database) if args.database else City(args.parcels)
    city.setup_django()
    import psycopg

    from common.db import batch_session
    from layers import tiles
    from layers.registry import LAYERS
    from parcels import overview

    layer = LAYERS["parcels"]
    before_layer = dataclasses.replace(layer, overview=None)  # the tile SQL over the parcels table, as before
    raw = city.raw_connection()
    raw.autocommit = True  # no transaction left open across the rebuild
    built = raw.execute(f"SELECT count(*) FROM {overview.TABLE}").fetchone()[0]
    if args.build or not built:
        print(f"building the overview ({load()}) ...", flush=True)
        from django.db import connection
        t = time.perf_counter()
        with batch_session():
            bands = overview.rebuild()
        connection.close()
        print(f"overview built in {time.perf_counter() - t:.1f} s ({load()}): rows per band {bands}", flush=True)
    parcels = raw.execute("SELECT count(*) FROM parcels_parcel").fetchone()[0]
    lon, lat = raw.execute(
        "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Transform(ST_SetSRID(ST_Centroid(ST_Extent(geom)::geometry), %s),"
        " 4326) c FROM parcels_parcel) x", [city.srid]).fetchone()
    rng = random.Random(17)
    sample_points = raw.execute(  # parcels spread over the city: the other tiles are theirs
        "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Transform(ST_PointOnSurface(geom), 4326) c FROM parcels_parcel "
        "TABLESAMPLE SYSTEM (1) REPEATABLE (17) LIMIT 2000) x").fetchall()

    def raw_p50(lyr, z, x, y, samples):
        sql, params = tiles.tile_sql(lyr, z), tiles.tile_params(lyr, z, x, y)
        p50, _, size = latency(lambda: raw.execute(sql, params, prepare=True).fetchone()[0], samples,
                               warmup=min(samples, 3))
        return size, p50

    print(f"\nparcels tiles at z10-z14, {parcels:,} parcels ({load()}); raw p50 by psycopg (prepared), "
          f"{args.before_samples}/{args.samples} runs; 'before' = the parcels table, 'after' = the overview; targets < {TARGET_KB} KB, "
          f"< {TARGET_MS} ms")
    print(f"{'zoom':>4} {'tile':>13} | {'before KB':>9} {'ms':>7} | {'after KB':>8} {'ms':>6}")
    worst = {}
    centres = {}
    for z in range(10, 15):
        cx, cy = tiles.lonlat_to_tile(lon, lat, z)
        centres[z] = (cx, cy)
        others = {tiles.lonlat_to_tile(*p, z) for p in rng.sample(sample_points, min(len(sample_points), 200))}
        others.discard((cx, cy))
        picked = [(cx, cy)] + rng.sample(sorted(others), min(args.sample, len(others)))
        for i, (x, y) in enumerate(picked):
            b_size, b_ms = raw_p50(before_layer, z, x, y, args.before_samples) if args.before_samples else (0, 0)
            a_size, a_ms = raw_p50(layer, z, x, y, args.samples)
            tag = "centre" if i == 0 else ""
            print(f"{z:>4} {x:>6}/{y:<6} | {b_size / 1024:>9.1f} {b_ms:>7.1f} | {a_size / 1024:>8.1f} {a_ms:>6.1f}"
                  f" {tag}", flush=True)
            w = worst.get(z, (0, 0))
            worst[z] = (max(w[0], a_size / 1024), max(w[1], a_ms))
    print("worst after, per zoom: " + ", ".join(f"z{z} {kb:.0f} KB {ms:.1f} ms" for z, (kb, ms) in worst.items()))

    version = raw.execute("SELECT coalesce(sum(version), 0) FROM layers_tableversion WHERE table_name = ANY(%s)",
                          [list(layer.sources)]).fetchone()[0]
    server = Server({**city.env, "TILE_CACHE_ENTRIES": "0"})
    try:
        for z, (x, y) in centres.items():  # every worker up and its connection open before anything is timed
            get = server.client(lambda i: f"/tiles/parcels/{z}/{x}/{y}.pbf?v={version}")()
            for _ in range(8):
                get()
        print(f"\ncentre tiles, endpoint (gunicorn, tile cache off) against raw (pgbench), p50 ms by C clients, "
              f"2 alternating rounds ({load()})")
        print(f"{'zoom':>4} | {'raw':>6} {'endpoint':>8} {'ratio':>5}")
        for z, (x, y) in centres.items():
            sql, params = tiles.tile_sql(layer, z), tiles.tile_params(layer, z, x, y)
            script = psycopg.ClientCursor(raw).mogrify(sql, params) + ";\n"
            path = f"/tiles/parcels/{z}/{x}/{y}.pbf?v={version}"
            raws, ends = [], []
            for _ in range(2):
                raws.append(pgbench_latency(city.dsn, script, args.seconds)[0])
                ends.append(wrk_latency(server.port, [path], args.seconds)[0])
            r, e = statistics.median(raws), statistics.median(ends)
            print(f"{z:>4} | {r:>6.2f} {e:>8.2f} {e / r:>5.2f}", flush=True)
    finally:
        server.stop()
    print(f"({load()})")


if __name__ == "__main__":
    main()
