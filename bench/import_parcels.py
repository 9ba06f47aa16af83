"""Import benchmark: our import_parcels --commit against `ogr2ogr -f PostgreSQL` on the same file and server.

    .venv/bin/python bench/import_parcels.py --parcels 30000,100000,1000000 [--repeat 3]

For each size it generates the demo city's parcels layer (cached in bench/out/), loads it into a separate
database (<DATABASE_URL's name>_bench) with both tools, alternating, and prints the median wall-clock times and
their ratio. ogr2ogr creates a plain table with a GiST index; our import validates every geometry and value,
keeps unmapped fields, writes into the real parcels table with its constraints and indexes, and links parcels to
blocks — the ratio is the price of that, and must stay at most 1.5.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out"


def bench_database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        sys.exit("DATABASE_URL is not set (make bench starts the local database)")
    parsed = urlparse(url)
    name = parsed.path.lstrip("/") + "_bench"
    return parsed._replace(path="/" + name).geturl(), parsed


def ensure_database(parsed, name):
    import psycopg

    admin = f"host={parsed.hostname} port={parsed.port or 5432} user={parsed.username} password={parsed.password} dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parcels", default="30000,100000", help="comma-separated sizes")
    ap.add_argument("--repeat", type=int, default=3, help="runs per tool and size (median reported)")
    args = ap.parse_args()
    sizes = [int(s) for s in args.parcels.split(",")]

    url, parsed = bench_database_url()
    name = urlparse(url).path.lstrip("/")
    ensure_database(parsed, name)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("SECRET_KEY", "bench")
    os.environ["DJANGO_SETTINGS_MODULE"] = "gis_portal.settings"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from data.demo_city.generator import CityParams, generate_city
    from parcels.importing import ImportOptions, run_import

    call_command("migrate", verbosity=0)
    pg = (f"PG:host={parsed.hostname} port={parsed.port or 5432} user={parsed.username} "
          f"password={parsed.password} dbname={name}")
    mapping = {"renewal_code": "renewal_code", "plate_section": "plate_section", "plate_main": "plate_main",
               "plate_sub": "plate_sub", "postal_code": "postal_code", "deed_area": "deed_area",
               "land_use": "land_use"}
    rows = []
    for n in sizes:
        folder = OUT / f"parcels_{n}"
        gpkg = folder / "demo_city.gpkg"
        if not gpkg.exists():
            print(f"generating {n:,} parcels …", flush=True)
            generate_city(CityParams(parcels=n, seed=1404, layers={"parcels"}), out_dir=folder)
        ogr, ours, reports = [], [], []
        for i in range(args.repeat):
            with connection.cursor() as c:
                c.execute("DROP TABLE IF EXISTS bench_ogr_parcels")
            t = time.perf_counter()
            subprocess.run(["ogr2ogr", "-f", "PostgreSQL", pg, str(gpkg), "parcels", "-nln", "bench_ogr_parcels",
                            "-overwrite", "-lco", "GEOMETRY_NAME=geom", "-nlt", "MULTIPOLYGON"],
                           check=True, env={**os.environ, "PG_USE_COPY": "YES"})
            ogr.append(time.perf_counter() - t)
            with connection.cursor() as c:
                c.execute("TRUNCATE parcels_parcel, parcels_historicalparcel CASCADE")
                c.execute("DROP TABLE bench_ogr_parcels")
            t = time.perf_counter()
            report = run_import(ImportOptions(layer="parcels", path=str(gpkg), mapping=mapping, commit=True,
                                              run_by="bench"))
            ours.append(time.perf_counter() - t)
            reports.append(report)
            print(f"  {n:>9,}  run {i + 1}: ogr2ogr {ogr[-1]:6.1f}s   import_parcels {ours[-1]:6.1f}s   "
                  f"({', '.join(f'{k} {v:.1f}' for k, v in report.timings.items())})", flush=True)
        assert reports[-1].inserted == reports[-1].features_read, reports[-1].summary()
        rows.append((n, statistics.median(ogr), statistics.median(ours)))
    print()
    print(f"{'parcels':>10} {'ogr2ogr s':>10} {'import s':>10} {'ratio':>7}   (target: ratio <= 1.5)")
    for n, o, m in rows:
        print(f"{n:>10,} {o:>10.1f} {m:>10.1f} {m / o:>7.2f}")


if __name__ == "__main__":
    main()
