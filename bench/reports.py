"""Reports benchmark (the 137 line): the public map's tiles, the statistics, a submission with a photo and the
duplicate search, on a city with years of reports.

    .venv/bin/python bench/reports.py --parcels 100000 [--reports 1000000] [--samples 60] [--seconds 8]
                                      [--json out.json] [--only tiles,stats,submit,nearby]

On the demo city of that size (bench/common.py) with the demo report categories, `--reports` demo reports over five
years (reports/demo.py, the generator of `manage.py load_demo_reports`; made once, kept in the bench database and
made again only when their number differs), then:

1. tiles, at the city centre (where the reports are densest) at z12, z14 and z16: the points of the public layer
   (/tiles/reports/{z}/{x}/{y}.pbf, layers/tiles.py) and the clusters (/tiles/reports/clusters/{z}/{x}/{y}.pbf,
   reports/clusters.py), each against the same `ST_AsMVT` statement as raw SQL. As bench/tiles.py: p50/p95 by C
   clients, one request at a time (pgbench with prepared statements for the raw statement, wrk over HTTP to
   gunicorn), "uncached" (a server with TILE_CACHE_ENTRIES=0: every request makes the tile in PostGIS) and "cached"
   (the default server asked for versioned URLs as the map asks); at z12 and z14 also the clusters of the map's
   "last year" filter (`clusters_year`: whole months from reports_cluster_month), with what the same filter cost
   counted report by report (`raw_report_by_report`). Target: uncached p50 <= 1.3 x raw;
2. statistics (reports/stats.py): GET /api/reports/stats and the page /reports/stats/ through Django's test client
   in-process, "cold" (the stats cache emptied before each request: every table computed) and "warm", against the
   same three aggregate statements (captured from the app, run with psycopg, prepared). Target: cold <= 2 x SQL;
3. submission: POST /api/reports (the citizen's endpoint, multipart, signed in) with one phone-size JPEG made by
   Pillow (--photo-size, 4032x3024 by default: 12 MP, ~7.7 MB), in-process; p50/p95 of the whole request and of its
   parts (the upload checks, service.submit, and photos.add: keeping the raw upload and deferring its job), and the
   same without a photo; then the photo's own steps and the job's time per photo (reports.photos.process: decode,
   upright, re-encode, thumbnail) on the photos the submissions left. Target: p50 <= 20 ms. The rate limits are
   raised for the run (one citizen submits them all);
4. duplicate search: reports.service.nearby at random places of reports (and random categories), and the API
   /api/reports/nearby, against the raw statement; EXPLAIN ANALYZE of one. Target: p50 <= 20 ms.

The machine's load average is printed with the figures (a shared 2-core machine: compare ratios from one run).
"""

import argparse
import io
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import City, Server, p50_p95, pgbench_latency, wrk_latency  # noqa: E402

ZOOMS = (12, 14, 16)
BENCH_PHONE = "09901000000"  # a test number (0990…), not a demo reporter's (09900…)
SLOW = 0.3  # s: a tile slower than this as raw SQL is timed by Python clients, a few samples


def timed(call, samples: int, warmup: int = 3) -> tuple[float, float]:
    for _ in range(warmup):
        call()
    times = []
    for _ in range(samples):
        t = time.perf_counter()
        call()
        times.append((time.perf_counter() - t) * 1000)
    return p50_p95(times)


def load() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def ensure_reports(count: int, years: float, seed: int) -> dict:
    from reports import demo
    from reports.models import Report

    have = Report.objects.filter(reporter_phone__startswith=demo.DEMO_PHONE_PREFIX).count()
    if have == count:
        return {"generated": False, "reports": have}
    print(f"generating {count:,} demo reports over {years:g} years …", flush=True)
    result = demo.generate(count, seed=seed, years=years, say=lambda m: print(m, flush=True))
    print(f"generated in {result['seconds']} s", flush=True)
    return {"generated": True, **result}


# --- 1. tiles -----------------------------------------------------------------------------------------------------

def bench_tiles(city, args) -> list[dict]:
    import psycopg

    from layers import tiles
    from reports import clusters
    from reports.layers import layer

    spec = layer()
    with city.raw_connection() as conn:
        lon, lat = conn.execute(
            "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Transform(ST_SetSRID(ST_Centroid(ST_Extent(geom)::geometry), %s),"
            " 4326) c FROM parcels_parcel) x", [city.srid]).fetchone()
    version = tiles.layer_version(spec)
    with city.raw_connection() as conn:  # "last year" as the map asks it: a year before the newest report
        period_start = conn.execute("SELECT (max(created_at) - interval '365 days')::date FROM reports_report"
                                    ).fetchone()[0]
    warm, cold = Server(city.env), Server({**city.env, "TILE_CACHE_ENTRIES": "0"})
    rows = []
    try:
        raw = city.raw_connection()
        for z in ZOOMS:
            x, y = tiles.lonlat_to_tile(lon, lat, z)
            kinds = {
                "points": (tiles.tile_sql(spec, z), tiles.tile_params(spec, z, x, y),
                           f"/tiles/{spec.name}/{z}/{x}/{y}.pbf"),
                "clusters": (clusters.cluster_sql(categories=False, status=None, start=False, end=False,
                                                     cells=clusters.cluster_params(z, x, y)["cells"]),
                             clusters.cluster_params(z, x, y), f"/tiles/reports/clusters/{z}/{x}/{y}.pbf"),
            }
            if z <= clusters.SQUARES_MAX_ZOOM:  # the map's period filter ("last year"): whole months from sums
                params = clusters.cluster_params(z, x, y, start=period_start)
                kinds["clusters_year"] = (clusters.statement(params, categories=False, status=None), params,
                                          f"/tiles/reports/clusters/{z}/{x}/{y}.pbf?from={period_start}")
            if z < spec.tile_min_zoom:  # no points below the zoom the map draws them at (empty tiles, 204)
                del kinds["points"]
            for kind, (sql, params, path) in kinds.items():
                script = psycopg.ClientCursor(raw).mogrify(sql, params) + ";\n"
                data = raw.execute(sql, params).fetchone()[0]
                size = len(data or b"")
                features = raw.execute(f"SELECT count(*) FROM ({sql.rsplit('SELECT ST_AsMVT', 1)[0]} "
                                       f"SELECT 1 FROM features) f", params).fetchone()[0]
                row = {"zoom": z, "tile": f"{z}/{x}/{y}", "kind": kind, "bytes": size, "features": features}
                url = f"{path}{'&' if '?' in path else '?'}v={version}"
                if kind == "clusters_year":  # what the same filter cost before: counted report by report
                    before = dict(params, cells=False, months=False, months_end=False)
                    before_sql = clusters.statement(before, categories=False, status=None)
                    row["raw_report_by_report"] = timed(lambda: raw.execute(before_sql, before).fetchone(),
                                                        args.slow_samples, warmup=1)
                t = time.perf_counter()
                raw.execute(sql, params, prepare=True).fetchone()
                if time.perf_counter() - t < SLOW:
                    # raw and uncached in alternating rounds (medians): on a shared machine the load moves between
                    # two runs of a few seconds, and a ratio of runs made at different moments measures that
                    row["method"] = f"pgbench/wrk, {args.rounds} alternating rounds"
                    seconds = max(3.0, args.seconds / args.rounds)  # wrk needs a few answers in a run
                    pairs = [(pgbench_latency(city.dsn, script, seconds), wrk_latency(cold.port, [url], seconds))
                             for _ in range(args.rounds)]
                    row["raw"] = tuple(statistics.median(p[0][i] for p in pairs) for i in (0, 1))
                    row["uncached"] = tuple(statistics.median(p[1][i] for p in pairs) for i in (0, 1))
                    row["cached"] = wrk_latency(warm.port, [url], args.seconds)
                else:  # wrk drops answers slower than 2 s, pgbench gets a handful in a run: few samples, by Python
                    row["method"] = f"psycopg/http.client, {args.slow_samples} alternating samples"
                    get = cold.client(lambda i: url)()
                    get()  # warm-up
                    pairs = [(timed(lambda: raw.execute(sql, params, prepare=True).fetchone(), 1, warmup=0),
                              timed(get, 1, warmup=0)) for _ in range(args.slow_samples)]
                    row["raw"] = tuple(statistics.median(p[0][i] for p in pairs) for i in (0, 1))
                    row["uncached"] = tuple(statistics.median(p[1][i] for p in pairs) for i in (0, 1))
                    row["cached"] = timed(warm.client(lambda i: url)(), args.slow_samples, warmup=1)
                row["ratio_uncached"] = round(row["uncached"][0] / row["raw"][0], 2)
                row["ratio_cached"] = round(row["cached"][0] / row["raw"][0], 2)
                rows.append(row)
                print(f"tiles z{z} {kind}: {row}", flush=True)
    finally:
        warm.stop()
        cold.stop()
    return rows


# --- 2. statistics --------------------------------------------------------------------------------------------------

def bench_stats(city, args) -> dict:
    from django.core.cache import caches
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from reports import stats

    stats_cache = caches["ogc"]  # where reports/stats.py keeps its tables
    with CaptureQueriesContext(connection) as captured:
        stats_cache.clear()
        for name in stats.TABLES:
            stats.BUILDERS[name](stats.Filters())
    statements = [q["sql"] for q in captured.captured_queries]
    raw = city.raw_connection()

    def plain():
        for sql in statements:
            raw.execute(sql.replace("%", "%%"), prepare=True).fetchall()

    client = Client()
    client.cookies["django_language"] = "en"

    def get(path, clear):
        def call():
            if clear:
                stats_cache.clear()
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code, response.content[:300])
        return call

    n = args.city_samples
    out = {"statements": len(statements), "sql": timed(plain, n, warmup=1)}
    for name, path in (("api", "/api/reports/stats"), ("page", "/reports/stats/")):
        out[f"{name}_cold"] = timed(get(path, True), n, warmup=1)
        out[f"{name}_warm"] = timed(get(path, False), max(n, 20), warmup=1)
        out[f"{name}_ratio_cold"] = round(out[f"{name}_cold"][0] / out["sql"][0], 2)
    for name, sql in zip(stats.TABLES, statements):
        out[f"sql_{name}"] = timed(lambda s=sql: raw.execute(s.replace("%", "%%"), prepare=True).fetchall(), n,
                                   warmup=1)
    print(f"stats: {out}", flush=True)
    return out


# --- 3. submission --------------------------------------------------------------------------------------------------

def photo_bytes(width: int = 2240, height: int = 1680) -> bytes:
    """A camera-like JPEG (3.8 MP): a gradient with noise, quality 90."""
    from PIL import Image, ImageChops

    gradient = Image.linear_gradient("L").resize((width, height))
    noise = Image.effect_noise((width, height), 40)
    image = Image.merge("RGB", (ImageChops.add(gradient, noise, 2.0), noise,
                                ImageChops.invert(gradient))).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


class Parts:
    """Times the parts of a submission by wrapping the functions the view calls."""

    def __init__(self):
        import reports.citizen_views as views

        self.views = views
        self.times = {}
        self.saved = []
        for module, name in ((views.photos, "check_upload"), (views.service, "submit"), (views.photos, "add")):
            original = getattr(module, name)
            self.saved.append((module, name, original))
            setattr(module, name, self._wrap(f"{module.__name__.split('.')[-1]}.{name}", original))

    def _wrap(self, label, function):
        def timed_call(*args, **kwargs):
            t = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.times.setdefault(label, []).append((time.perf_counter() - t) * 1000)
        return timed_call

    def restore(self):
        for module, name, original in self.saved:
            setattr(module, name, original)


def bench_submit(city, args) -> dict:
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    from accounts.models import Citizen
    from reports.models import Category, Photo, Report

    settings.REPORTS_RATE_PER_NUMBER = ["1000000/3600"]  # one citizen submits them all
    settings.REPORTS_RATE_PER_ADDRESS = ["1000000/3600"]
    user, _ = User.objects.get_or_create(username="bench-reporter")
    Citizen.objects.get_or_create(user=user, defaults={"mobile": BENCH_PHONE})
    client = Client()
    client.force_login(user)
    client.cookies["django_language"] = "en"
    category = Category.objects.get(code="pothole")
    with city.raw_connection() as conn:
        places = conn.execute(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(ST_PointOnSurface(geom), 4326) p FROM parcels_parcel "
            "ORDER BY md5(id::text) LIMIT 400) x").fetchall()
    width, height = (int(side) for side in args.photo_size.split("x"))
    jpeg = photo_bytes(width, height)
    rng = random.Random(5)
    parts = Parts()
    out = {"photo_bytes": len(jpeg), "photo_pixels": args.photo_size}

    def post(with_photo):
        def call():
            lon, lat = rng.choice(places)
            data = {"category": category.code, "description": "bench: a pothole", "lon": f"{lon:.6f}",
                    "lat": f"{lat:.6f}"}
            if with_photo:
                data["photos"] = SimpleUploadedFile("photo.jpg", jpeg, content_type="image/jpeg")
            response = client.post("/api/reports", data)
            assert response.status_code == 201, (response.status_code, response.content[:300])
        return call

    try:
        for label, with_photo in (("without_photo", False), ("with_photo", True)):
            parts.times.clear()
            out[label] = timed(post(with_photo), args.submit_samples)
            out[f"{label}_parts"] = {name: p50_p95(times[3:] or times) for name, times in parts.times.items()}
            print(f"submit {label}: {out[label]} parts {out[f'{label}_parts']}", flush=True)
        # the photo's own steps, outside the request (reports/photos.py's private steps: skipped if they change)
        from reports import photos

        upload = SimpleUploadedFile("photo.jpg", jpeg, content_type="image/jpeg")
        try:
            out["photo_check"] = timed(lambda: photos.check_upload(upload), 10)
            image = photos._prepared(upload)  # decoded (at a reduced scale), upright, sRGB, resized
            out["photo_prepare"] = timed(lambda: photos._prepared(upload), 10)
            out["photo_encode"] = timed(lambda: photos._jpeg(image), 10)
            out["photo_thumbnail"] = timed(
                lambda: photos._jpeg(photos._resized(image, photos.THUMBNAIL_PIXELS), optimize=True), 10)
            print(f"photo steps: check {out['photo_check']} prepare {out['photo_prepare']} encode "
                  f"{out['photo_encode']} thumbnail {out['photo_thumbnail']}", flush=True)
        except (AttributeError, TypeError) as exc:
            print(f"photo steps not measured: {exc!r}", flush=True)
        # the job's work per photo (reports.process_photo: decode whole, upright, re-encode, thumbnail, delete the
        # raw upload), on the photos the submissions above left processing
        waiting = list(Photo.objects.filter(report__reporter_phone=BENCH_PHONE, state=Photo.State.PROCESSING)
                       .values_list("pk", flat=True)[:20])
        job_times = []
        for pk in waiting:
            t = time.perf_counter()
            assert photos.process(pk) == Photo.State.READY
            job_times.append((time.perf_counter() - t) * 1000)
        if job_times:
            out["photo_job"] = p50_p95(job_times)
            print(f"photo job per photo: {out['photo_job']} ({len(job_times)} photos)", flush=True)
    finally:
        parts.restore()
        mine = Report.objects.filter(reporter_phone=BENCH_PHONE)
        from django.db import connection

        for photo in Photo.objects.filter(report__in=mine):
            photo.image.delete(save=False)
            photo.thumbnail.delete(save=False)
            photo.incoming.delete(save=False)
            with connection.cursor() as cursor:  # its job, if not run above
                cursor.execute("DELETE FROM procrastinate_jobs WHERE task_name = 'reports.process_photo' AND "
                               "(args->>'photo_id')::bigint = %s", [photo.pk])
        for report in mine:
            report.delete()
    return out


# --- 4. duplicate search --------------------------------------------------------------------------------------------

def bench_nearby(city, args) -> dict:
    from django.conf import settings
    from django.contrib.gis.geos import Point
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from reports import service
    from reports.models import Category

    categories = list(Category.objects.all())
    with city.raw_connection() as conn:  # places of reports: where duplicates are to be found
        places = conn.execute(
            "SELECT ST_X(geom), ST_Y(geom), ST_X(ST_Transform(geom, 4326)), ST_Y(ST_Transform(geom, 4326)) "
            "FROM reports_report TABLESAMPLE SYSTEM (1) REPEATABLE (7) LIMIT 2000").fetchall()
    rng = random.Random(7)
    draws = [(rng.choice(categories), rng.choice(places)) for _ in range(args.samples * 4)]
    it = iter(draws * 10)
    found = []

    def search():
        category, (x, y, _lon, _lat) = next(it)
        found.append(len(service.nearby(category, Point(x, y, srid=settings.MUNICIPALITY_SRID))))

    out = {"service": timed(search, args.samples * 2)}
    out["found_mean"] = round(statistics.mean(found), 2)
    client = Client()
    it2 = iter(draws * 10)

    def api():
        category, (_x, _y, lon, lat) = next(it2)
        response = client.get("/api/reports/nearby", {"category": category.code, "lon": lon, "lat": lat})
        assert response.status_code == 200, response.content[:300]

    out["api"] = timed(api, args.samples * 2)
    statements = []  # the statements the service sent, as sent (Django binds parameters on the client)
    for category, (x, y, _lon, _lat) in draws[:args.samples + 3]:
        with CaptureQueriesContext(connection) as captured:
            service.nearby(category, Point(x, y, srid=settings.MUNICIPALITY_SRID))
        statements.append(captured.captured_queries[-1]["sql"].replace("%", "%%"))
    raw = city.raw_connection()
    it3 = iter(statements)

    def raw_search():
        raw.execute(next(it3)).fetchall()

    out["raw_one_statement"] = timed(raw_search, args.samples)
    out["explain"] = [r[0] for r in raw.execute("EXPLAIN (ANALYZE, BUFFERS) " + statements[0]).fetchall()]
    print(f"nearby: service {out['service']} api {out['api']} raw {out['raw_one_statement']} "
          f"(found {out['found_mean']} on average)", flush=True)
    print("\n".join(out["explain"]), flush=True)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parcels", type=int, default=100_000)
    ap.add_argument("--reports", type=int, default=1_000_000)
    ap.add_argument("--years", type=float, default=5)
    ap.add_argument("--seed", type=int, default=137)
    ap.add_argument("--samples", type=int, default=60)
    ap.add_argument("--city-samples", type=int, default=7, help="runs of each statistics request (median)")
    ap.add_argument("--submit-samples", type=int, default=40)
    ap.add_argument("--photo-size", default="4032x3024", help="the submitted JPEG's pixels (a phone's 12 MP)")
    ap.add_argument("--slow-samples", type=int, default=3, help="samples of a tile slower than 0.3 s")
    ap.add_argument("--seconds", type=float, default=8.0, help="duration of each pgbench / wrk latency run")
    ap.add_argument("--rounds", type=int, default=3, help="alternating raw / uncached rounds of a tile (medians)")
    ap.add_argument("--only", default="tiles,stats,submit,nearby")
    ap.add_argument("--json", help="write the figures as JSON to this file")
    args = ap.parse_args()
    parts = args.only.split(",")

    started = time.perf_counter()
    city = City(args.parcels, extra=[["load_report_categories", "--commit"], ["load_notice_templates", "--commit"]])
    city.setup_django()
    report = {"parcels": args.parcels, "reports": args.reports, "database": city.name, "load_start": load()}
    report["generation"] = ensure_reports(args.reports, args.years, args.seed)
    print(f"setup {time.perf_counter() - started:.0f} s; load average {load()}", flush=True)
    for name, part in (("tiles", bench_tiles), ("stats", bench_stats), ("submit", bench_submit),
                       ("nearby", bench_nearby)):
        if name in parts:
            try:
                report[name] = part(city, args)
            except Exception as exc:  # the other parts are still measured
                import traceback

                traceback.print_exc()
                report.setdefault("errors", {})[name] = repr(exc)
    report["load_end"] = load()
    print_report(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1, ensure_ascii=False, default=str))


def print_report(r: dict) -> None:
    print(f"\nreports benchmark: {r['parcels']:,} parcels, {r['reports']:,} reports; load average at the start "
          f"{r['load_start']}, at the end {r['load_end']} (2 shared cores); ms")
    for name, error in r.get("errors", {}).items():
        print(f"{name}: FAILED {error}")
    if "tiles" in r:
        print("tiles at the city centre: p50/p95 by C clients one at a time (pgbench, wrk); target uncached p50 <= 1.3 "
              "x raw")
        print(f"{'zoom':>4} {'kind':>13} {'feat':>6} {'bytes':>8} | {'raw p50':>8} {'p95':>7} | {'uncached':>8} "
              f"{'p95':>7} {'ratio':>5} | {'cached':>7} {'p95':>7} {'ratio':>5}")
        for t in r["tiles"]:
            print(f"{t['zoom']:>4} {t['kind']:>13} {t['features']:>6} {t['bytes']:>8} | {t['raw'][0]:>8.2f} "
                  f"{t['raw'][1]:>7.2f} | {t['uncached'][0]:>8.2f} {t['uncached'][1]:>7.2f} {t['ratio_uncached']:>5.2f}"
                  f" | {t['cached'][0]:>7.2f} {t['cached'][1]:>7.2f} {t['ratio_cached']:>5.2f}  {t['method']}"
                  + (f"; report by report (before) {t['raw_report_by_report'][0]:.0f}"
                     if "raw_report_by_report" in t else ""))
    if "stats" in r:
        s = r["stats"]
        print(f"statistics (all reports, no filter): plain SQL ({s['statements']} statements) p50 {s['sql'][0]:.1f}; "
              f"API cold {s['api_cold'][0]:.1f} (x{s['api_ratio_cold']}), warm {s['api_warm'][0]:.1f}; "
              f"page cold {s['page_cold'][0]:.1f} (x{s['page_ratio_cold']}), warm {s['page_warm'][0]:.1f}  "
              f"(target cold <= 2 x SQL)")
    if "submit" in r:
        s = r["submit"]
        print(f"submission (POST /api/reports, in-process): without photo p50 {s['without_photo'][0]:.1f} "
              f"p95 {s['without_photo'][1]:.1f}; with a {s['photo_pixels']} JPEG of {s['photo_bytes']:,} bytes "
              f"p50 {s['with_photo'][0]:.1f} p95 {s['with_photo'][1]:.1f}  (target p50 <= 20)")
        print("  parts (p50): " + ", ".join(f"{k} {v[0]:.1f}" for k, v in s["with_photo_parts"].items())
              + "; photo steps alone: " + ", ".join(f"{k[6:]} {s[k][0]:.1f}" for k in
                                                    ("photo_check", "photo_prepare", "photo_encode", "photo_thumbnail")
                                                    if k in s)
              + (f"; the job per photo p50 {s['photo_job'][0]:.1f} p95 {s['photo_job'][1]:.1f}"
                 if "photo_job" in s else ""))
    if "nearby" in r:
        s = r["nearby"]
        print(f"duplicate search: service.nearby p50 {s['service'][0]:.2f} p95 {s['service'][1]:.2f}; API p50 "
              f"{s['api'][0]:.2f}; raw statement p50 {s['raw_one_statement'][0]:.2f}  (target p50 <= 20); "
              f"{s['found_mean']} found on average")


if __name__ == "__main__":
    main()
