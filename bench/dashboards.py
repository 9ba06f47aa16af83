"""Dashboards benchmark (issue 15): each public dashboard panel (transparency/registry.py: dues collections, permits
issued per month, days per permit step, reports per month and per category) against its plain SQL, on a city with
years of dues, permit cases and reports.

    .venv/bin/python bench/dashboards.py --parcels 1000000 [--cases 100000] [--reports 1000000] [--paid 0.5]
                                         [--samples 15] [--json out.json]

On the demo city of that size (bench/common.py) with the rulebook, notice texts, desks and case types and report
categories, the data comes from the other benchmarks' generators, kept in the bench database and made only when
absent: `--cases` permit cases with their events and issued documents (bench/permits.py `ensure_cases`, five years),
`--reports` reports (bench/reports.py `ensure_reports`, reports/demo.py) and, for every current assessment, a
payment with probability `--paid` (older years paid more often): one renewal bill, its payment and its ledger entry
each (set-based SQL below; gateway "bench-dash", so they are found again). The assessments are the city's
(load_demo_city assesses the demo years).

Then, per panel, in-process through Django's test client (the server's time without the network; the rows cache is
the process's, so "cold" is only measurable here):

- plain SQL: the statements the panel's rows() sends (captured from the app, run with psycopg, prepared, the
  serving connections' settings), p50;
- the panel's CSV (GET /transparency/dashboards/<key>.csv) cold (the cache emptied before each request: the rows are
  computed) and warm (the rows from the cache, under the data version: only the version query runs), p50;
- and the whole page (/transparency/dashboards/, all panels) cold and warm.

Target: cold <= 2 x plain SQL. The machine's load average is printed with the figures (2 shared cores: ratios from
one run; repeat and compare medians).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import City, p50_p95  # noqa: E402

GATEWAY = "bench-dash"

# One bill, payment and ledger entry per paying (parcel, year); whether a parcel paid a year is a hash of the two,
# so the data is the same at every run. Older years are paid more often (a city collects arrears over time).
PAYMENTS = """
WITH paying AS (
    SELECT a.parcel_id, a.year, a.amount,
           make_timestamptz(a.year + 621, 6, 1, 9, 0, 0, 'Asia/Tehran')
               + ((abs(hashint4(a.parcel_id::int # a.year)) %% 300) || ' days')::interval AS paid_at
    FROM dues_assessment a
    WHERE a.is_current AND a.amount > 0
      AND abs(hashint4(a.parcel_id::int * 31 + a.year)) %% 1000
          < 1000 * %(paid)s * (1 + 0.1 * (%(last)s - a.year)) / (1 + 0.1 * (%(last)s - %(first)s) / 2)
), bills AS (
    INSERT INTO dues_bill (issued_at, as_of, jalali_year, items, total, rounding, amount, bill_id, payment_id, status,
                           superseded_reason, parcel_id, superseded_params, public_id, kind, reference, title_fa,
                           title_en)
    SELECT p.paid_at, p.paid_at::date, p.year, '[]', p.amount, 0, p.amount, '', '', 'paid', '', p.parcel_id, '{}',
           gen_random_uuid(), 'renewal', '', '', ''
    FROM paying p
    RETURNING id, parcel_id, jalali_year, amount, issued_at
), payments AS (
    INSERT INTO dues_payment (gateway, gateway_ref, amount, kind, paid_at, bill_id, parcel_id, public_id)
    SELECT %(gateway)s, b.id::text, b.amount, 'full', b.issued_at, b.id, b.parcel_id, gen_random_uuid() FROM bills b
    RETURNING id, bill_id, parcel_id, amount, paid_at
)
INSERT INTO dues_ledgerentry (year, kind, amount, at, parcel_id, payment_id)
SELECT b.jalali_year, 'payment', p.amount, p.paid_at, p.parcel_id, p.id FROM payments p JOIN bills b ON b.id = p.bill_id
"""


def load() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def timed(call, samples: int, warmup: int = 1) -> tuple[float, float]:
    for _ in range(warmup):
        call()
    times = []
    for _ in range(samples):
        t = time.perf_counter()
        call()
        times.append((time.perf_counter() - t) * 1000)
    return p50_p95(times)


def ensure_payments(city, paid: float) -> dict:
    import psycopg

    with psycopg.connect(city.dsn) as conn:
        have = conn.execute("SELECT count(*) FROM dues_payment WHERE gateway = %s", [GATEWAY]).fetchone()[0]
        if have:
            return {"generated": False, "payments": have}
        first, last = conn.execute("SELECT min(year), max(year) FROM dues_assessment WHERE is_current").fetchone()
        print(f"generating payments of about {paid:.0%} of the assessments {first}-{last} …", flush=True)
        t = time.perf_counter()
        conn.execute(PAYMENTS, {"paid": paid, "first": first, "last": last, "gateway": GATEWAY})
        conn.commit()
        conn.autocommit = True
        for table in ("dues_bill", "dues_payment", "dues_ledgerentry"):
            conn.execute(f"VACUUM ANALYZE {table}")
        have = conn.execute("SELECT count(*) FROM dues_payment WHERE gateway = %s", [GATEWAY]).fetchone()[0]
        seconds = round(time.perf_counter() - t)
        print(f"{have:,} payments in {seconds} s", flush=True)
        return {"generated": True, "payments": have, "seconds": seconds}


def describe(city) -> dict:
    with city.raw_connection() as conn:
        row = conn.execute("SELECT (SELECT count(*) FROM parcels_parcel), (SELECT count(*) FROM permits_case), "
                           "(SELECT count(*) FROM permits_caseevent), (SELECT count(*) FROM permits_issued), "
                           "(SELECT count(*) FROM reports_report), (SELECT count(*) FROM dues_assessment "
                           "WHERE is_current), (SELECT count(*) FROM dues_ledgerentry)").fetchone()
    return dict(zip(("parcels", "cases", "events", "issued", "reports", "assessments", "ledger_entries"), row))


def bench_panels(city, args) -> dict:
    from django.core.cache import caches
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from transparency import dashboards

    cache = caches["ogc"]  # where the dashboards (and reports/stats.py) keep their rows
    raw = city.raw_connection()
    client = Client()
    client.cookies["django_language"] = "fa"
    n = args.samples

    def get(path, clear):
        def call():
            if clear:
                cache.clear()
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code, response.content[:300])
        return call

    out = {"panels": []}
    for panel in dashboards.panels():
        with CaptureQueriesContext(connection) as captured:
            cache.clear()
            rows = panel.rows()
        statements = [q["sql"] for q in captured.captured_queries]
        # reports' tables ask their version first (reports/stats.py caches itself): that is not the panel's SQL
        data = [s for s in statements if "layers_tableversion" not in s]

        def plain(data=data):
            for sql in data:
                raw.execute(sql, prepare=True).fetchall()  # as sent (no parameters: no placeholders)

        path = f"/transparency/dashboards/{panel.key}.csv"
        figures = {"key": panel.key, "rows": len(rows), "statements": len(data),
                   "sql": timed(plain, n), "cold": timed(get(path, True), n), "warm": timed(get(path, False), n * 3)}
        figures["ratio_cold"] = round(figures["cold"][0] / figures["sql"][0], 2)
        figures["ratio_warm"] = round(figures["warm"][0] / figures["sql"][0], 3)
        print(f"{panel.key}: {figures}", flush=True)
        out["panels"].append(figures)
    total_sql = sum(p["sql"][0] for p in out["panels"])
    out["page"] = {"sql": total_sql, "cold": timed(get("/transparency/dashboards/", True), n),
                   "warm": timed(get("/transparency/dashboards/", False), n * 3)}
    out["page"]["ratio_cold"] = round(out["page"]["cold"][0] / total_sql, 2)
    out["catalogue"] = {"html": timed(get("/transparency/catalogue/", False), n * 2),
                        "json": timed(get("/transparency/catalogue.json", False), n * 2)}
    raw.close()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parcels", type=int, default=1_000_000)
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--documents", type=int, default=1_000_000, help="of the permit cases (bench/permits.py)")
    ap.add_argument("--reports", type=int, default=1_000_000)
    ap.add_argument("--years", type=float, default=5)
    ap.add_argument("--paid", type=float, default=0.5, help="share of the assessments paid (older years more)")
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--samples", type=int, default=15)
    ap.add_argument("--json", help="write the figures as JSON to this file")
    args = ap.parse_args()

    started = time.perf_counter()
    city = City(args.parcels, extra=[["load_rulebook", "data/rulebook/demo.toml", "--commit", "--if-absent"],
                                     ["load_notice_templates", "--commit"], ["load_permit_types", "--commit"],
                                     ["load_report_categories", "--commit"]])
    city.setup_django()
    from bench import permits as permits_bench
    from bench import reports as reports_bench

    report = {"parcels": args.parcels, "database": city.name, "load_start": load()}
    report["generation"] = {
        "cases": permits_bench.ensure_cases(city, SimpleNamespace(cases=args.cases, documents=args.documents,
                                                                  years=args.years, seed=13, regenerate=False)),
        "reports": reports_bench.ensure_reports(args.reports, args.years, 137),
        "payments": ensure_payments(city, args.paid)}
    report["data"] = describe(city)
    print(f"setup {time.perf_counter() - started:.0f} s; load average {load()}; {report['data']}", flush=True)
    report["dashboards"] = bench_panels(city, args)
    report["load_end"] = load()
    print_report(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1, ensure_ascii=False, default=str))


def print_report(r: dict) -> None:
    d = r["data"]
    print(f"\ndashboards benchmark: {d['parcels']:,} parcels, {d['cases']:,} permit cases ({d['events']:,} events, "
          f"{d['issued']:,} issued), {d['reports']:,} reports, {d['assessments']:,} current assessments, "
          f"{d['ledger_entries']:,} ledger entries; load average at the start {r['load_start']}, at the end "
          f"{r['load_end']} (2 shared cores); ms, p50 (p95), in-process (Django's test client)")
    print(f"{'panel':<22} {'rows':>5} {'stmts':>5} | {'plain SQL':>15} | {'CSV cold':>15} {'ratio':>5} | "
          f"{'CSV warm':>13} {'ratio':>6}")
    s = r["dashboards"]
    for p in s["panels"]:
        print(f"{p['key']:<22} {p['rows']:>5} {p['statements']:>5} | {p['sql'][0]:>7.1f} ({p['sql'][1]:>6.1f}) | "
              f"{p['cold'][0]:>7.1f} ({p['cold'][1]:>6.1f}) {p['ratio_cold']:>5.2f} | {p['warm'][0]:>5.1f} "
              f"({p['warm'][1]:>5.1f}) {p['ratio_warm']:>6.3f}")
    page = s["page"]
    print(f"the page, all panels: plain SQL (sum) {page['sql']:.1f}; cold {page['cold'][0]:.1f} "
          f"(x{page['ratio_cold']}), warm {page['warm'][0]:.1f} ({page['warm'][1]:.1f}); target cold <= 2 x SQL")
    c = s["catalogue"]
    print(f"catalogue: HTML {c['html'][0]:.1f} ({c['html'][1]:.1f}), JSON-LD {c['json'][0]:.1f} ({c['json'][1]:.1f})")


if __name__ == "__main__":
    main()
