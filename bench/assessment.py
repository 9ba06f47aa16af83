"""City-wide assessment benchmark: `assess_year` against plain INSERT … SELECT statements into the same table.

    .venv/bin/python bench/assessment.py --parcels 100000 [--repeat 3]

Loads the demo city of that size (bench/common.py) if absent, and the demo tariff books. Then,
alternating and from an empty assessment table each time (median of --repeat runs, in seconds):

- assess_year: the app's set-based assessment of 1405 with the demo book (facts, 8 formula lines, JSON of lines
  and facts, the reassessment check, chunks for the progress bar, the district summary), one transaction;
- same rows: `INSERT INTO dues_assessment SELECT` of exactly the rows assess_year wrote, from a table holding a
  copy (the cost of writing those rows into the table with its indexes: the floor for any way of doing it);
- simplest formula: PERFORMANCE.md's anchor, rate × land area × block land price for every parcel, INSERT … SELECT
  into the same table with empty line and fact JSON;
- rerun: assess_year again with nothing changed (writes nothing).

The machine is shared: report ratios from one run, not absolute times.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SAME_ROWS = """
INSERT INTO dues_assessment (parcel_id, year, book_id, run_id, district_id, amount, lines, facts, is_current)
SELECT parcel_id, year, book_id, run_id, district_id, amount, lines, facts, true FROM bench_copy
"""
SIMPLEST = """
INSERT INTO dues_assessment (parcel_id, year, book_id, run_id, district_id, amount, lines, facts, is_current)
SELECT p.id, 1405, %(book)s, %(run)s, p.district_id,
       round(0.015 * COALESCE(p.deed_area::float8, p.measured_area)::numeric * COALESCE(b.land_price, 0))::bigint,
       '{}'::jsonb, '{}'::jsonb, true
FROM parcels_parcel p LEFT JOIN parcels_block b ON b.id = p.block_id
"""


from bench.common import City  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parcels", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    tariffs = sorted(str(p) for p in (ROOT / "data" / "tariffs").glob("*.toml"))
    City(args.parcels, extra=[["load_tariff_book", *tariffs, "--commit"]]).setup_django()
    from django.db import connection, transaction

    from dues.assessment import assess_year
    from dues.models import AssessmentRun
    from dues.models import TariffBook
    from common.db import batch_session

    book = TariffBook.objects.approved(1405)

    def empty():
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE dues_assessment")
            cursor.execute("VACUUM ANALYZE dues_assessment")

    def timed(fn):
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    def plain(sql):
        def run():
            with batch_session(), transaction.atomic():
                r = AssessmentRun.objects.create(year=1405, book=book, run_by="bench")
                with connection.cursor() as cursor:
                    cursor.execute(sql, {"book": book.pk, "run": r.pk})
        return run

    times = {"assess_year": [], "same rows": [], "simplest formula": [], "rerun": []}
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM parcels_parcel")
        parcels = cursor.fetchone()[0]
    for i in range(args.repeat):
        empty()
        times["assess_year"].append(timed(lambda: assess_year(1405, run_by="bench")))
        times["rerun"].append(timed(lambda: assess_year(1405, run_by="bench")))
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS bench_copy")
            cursor.execute("CREATE TABLE bench_copy AS SELECT * FROM dues_assessment WHERE year = 1405")
            cursor.execute("ANALYZE bench_copy")
        empty()
        times["same rows"].append(timed(plain(SAME_ROWS)))
        empty()
        times["simplest formula"].append(timed(plain(SIMPLEST)))
        print(f"run {i + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()), flush=True)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_copy")
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"\n{parcels:,} parcels, median of {args.repeat} (seconds; ratios to assess_year's first run)")
    print(f"{'operation':<20} {'seconds':>8} {'assess_year ÷ this':>20}")
    for k, v in med.items():
        print(f"{k:<20} {v:>8.2f} {med['assess_year'] / v:>20.2f}")


if __name__ == "__main__":
    main()
