"""Zoning benchmark: one eligibility decision with its envelope, a city-wide non-conforming query against the plain
SQL for the same answer, and slope statistics for every parcel from the DEM.

    .venv/bin/python bench/zoning.py --parcels 100000 [--samples 60]

Loads the demo city of that size (bench/common.py) if absent, and the demo rulebook, then:
1. terrain: `zoning.terrain.compute` for all parcels from the demo DEM (seconds, with its parts);
2. eligibility: GET /api/parcels/<id>/eligibility with a proposal, through Django's test client in-process (the
   whole view: facts query, rules in force, engine, envelope, GeoJSON), for random parcels: p50 / p95 ms, and the
   facts query alone as raw SQL (its physical limit). Target: p50 <= 20 ms at 1M parcels;
3. non-conforming: the API's CSV of all non-conforming parcels with their zone (count + rows) against the same
   answer from one plain SQL statement (psycopg, prepared, rules inlined as constants): medians and their ratio.
   Target: ratio <= 2.
"""

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


from bench.common import City, latency  # noqa: E402


def timed(call, samples, warmup=3):
    """(p50, p95) in ms, as bench/common.latency measures them."""
    return latency(call, samples, warmup)[:2]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parcels", type=int, default=100_000)
    ap.add_argument("--samples", type=int, default=60)
    ap.add_argument("--city-samples", type=int, default=7, help="runs of the city-wide query (median)")
    args = ap.parse_args()

    t = time.perf_counter()
    city = City(args.parcels, extra=[["load_rulebook", str(ROOT / "data/rulebook/demo.toml"), "--commit",
                                      "--if-absent"]])
    print(f"setup {time.perf_counter() - t:.0f} s", flush=True)
    city.setup_django()
    from django.db import connection
    from django.test import Client

    from layers.models import Raster
    from zoning import terrain
    from zoning.queries import PARCEL_FACTS_SQL
    from zoning.queries import ParcelQuery

    # 1. terrain
    dem = Raster.objects.filter(kind="dem").order_by("-id").first().path
    result = terrain.compute(dem)
    print(f"terrain: {result['parcels']:,} parcels in {result['seconds']['total']} s {result['seconds']}", flush=True)

    # 2. eligibility with envelope
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM parcels_parcel")
        total = cursor.fetchone()[0]
        cursor.execute("SELECT parcel_id FROM zoning_parceloverlay WHERE zone_code <> '' "
                       "ORDER BY md5(parcel_id::text) LIMIT %s", [args.samples * 2])
        ids = [r[0] for r in cursor.fetchall()]
    random.Random(1).shuffle(ids)
    client = Client()
    proposal = {"land_use": "residential", "floors": 2, "gross_floor_area": 150, "footprint_area": 75, "units": 1,
                "parking_spaces": 1}
    cycle = iter(ids * 100)

    def decide():
        response = client.get(f"/api/parcels/{next(cycle)}/eligibility", proposal)
        assert response.status_code == 200, response.content[:300]

    app_p50, app_p95 = timed(decide, args.samples)
    raw = city.raw_connection()
    facts_sql = PARCEL_FACTS_SQL.replace("%(id)s", "%s").replace("%(tol)s", "%s")
    cycle2 = iter(ids * 100)
    raw_p50, raw_p95 = timed(lambda: raw.execute(facts_sql, [1.5, next(cycle2)], prepare=True).fetchone(),
                             args.samples)

    # 3. non-conforming parcels city-wide: the API's CSV vs plain SQL for the same rows and columns
    permitted = ParcelQuery().permitted_uses()
    values = ", ".join(f"('{z}', ARRAY[{', '.join(repr(u) for u in uses)}]::text[])" for z, uses in permitted.items())
    plain = f"""
        SELECT p.id, p.renewal_code, d.code, o.zone_code, p.land_use_id, round(p.measured_area::numeric, 1),
               round(o.widening_area::numeric, 1), round(o.widening_depth::numeric, 2), o.in_floodplain,
               o.in_historic_core, round(o.slope_mean::numeric, 1)
        FROM parcels_parcel p JOIN zoning_parceloverlay o ON o.parcel_id = p.id
        LEFT JOIN parcels_district d ON d.id = p.district_id
        JOIN (VALUES {values}) z(zone_code, uses) ON z.zone_code = o.zone_code
        WHERE p.land_use_id IS NOT NULL AND p.land_use_id <> 'vacant' AND p.land_use_id <> ALL(z.uses)
        ORDER BY p.id"""
    raw_rows = raw.execute(plain).fetchall()
    body = client.get("/api/zoning/parcels", {"non_conforming": "true", "format": "csv"}).content
    api_rows = body.decode("utf-8-sig").count("\n") - 1
    assert api_rows == len(raw_rows), (api_rows, len(raw_rows))
    sql_med, _ = timed(lambda: raw.execute(plain, prepare=True).fetchall(), args.city_samples, warmup=1)
    api_med, _ = timed(lambda: client.get("/api/zoning/parcels", {"non_conforming": "true", "format": "csv"}),
                       args.city_samples, warmup=1)
    count_med, _ = timed(lambda: client.get("/api/zoning/parcels", {"non_conforming": "true"}),
                         args.city_samples, warmup=1)

    print(f"\nzoning benchmark, {total:,} parcels (shared 2-core machine; ms)")
    print(f"eligibility decision + envelope (GET with proposal, in-process client, {args.samples} parcels): "
          f"p50 {app_p50:.2f}  p95 {app_p95:.2f}   facts query raw SQL: p50 {raw_p50:.2f}  p95 {raw_p95:.2f}"
          f"   (target p50 <= 20 ms at 1M)")
    print(f"non-conforming, all {len(raw_rows):,} rows: API CSV median {api_med:.1f}  plain SQL median {sql_med:.1f}"
          f"  ratio {api_med / sql_med:.2f}  (target <= 2);  API count + first page median {count_med:.1f}")
    print(f"slope and elevation statistics for all parcels: {result['seconds']['total']} s")


if __name__ == "__main__":
    main()
