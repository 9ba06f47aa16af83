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
3. submission: the citizen's endpoints (signed in) with one phone-size JPEG made by Pillow (--photo-size, 4032x3024
   by default: 12 MP, ~7.7 MB), in alternating rounds: staging the photo (POST /api/reports/photos, what the form
   does while the citizen types), POST /api/reports with the staged photo's token, without a photo, and with the
   photo inline (multipart, as Open311 clients send it); in-process (p50/p95 and the parts: the upload checks,
   service.submit, staging.stage/attach, photos.add) and with --submit-http over HTTP (gunicorn); the statements a
   submission sends; then the photo's own steps and the job's time per photo (reports.photos.process: decode,
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
            kinds = {k: v for k, v in kinds.items() if k in args.tile_kinds.split(",")}
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


def bench_clusters(city, args) -> list[dict]:
    """In-process, in alternating rounds at the city centre: the cluster tile's statement raw (psycopg, the
    statement with its numbers written in, prepared: what pgbench runs), clusters.render prepared and unprepared (the
    statement with its numbers as parameters, planned at each request) and the whole Django view uncached
    (Django's test client, the tile cache emptied): what the endpoint adds, part by part."""
    import psycopg
    from django.core.cache import caches
    from django.test import Client

    from layers import tiles
    from reports import clusters
    from reports.layers import layer

    spec = layer()
    raw = city.raw_connection()
    lon, lat = raw.execute(
        "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Transform(ST_SetSRID(ST_Centroid(ST_Extent(geom)::geometry), %s),"
        " 4326) c FROM parcels_parcel) x", [city.srid]).fetchone()
    client = Client()
    cache = caches["tiles"]
    rows = []
    for z in ZOOMS:
        x, y = tiles.lonlat_to_tile(lon, lat, z)
        params = clusters.cluster_params(z, x, y)
        literal = psycopg.ClientCursor(raw).mogrify(clusters.statement(params, categories=False, status=None), params)

        def render(prepared_from):
            def call():
                saved, clusters.PREPARED_MIN_ZOOM = clusters.PREPARED_MIN_ZOOM, prepared_from
                try:
                    clusters.render(spec, z, x, y)
                finally:
                    clusters.PREPARED_MIN_ZOOM = saved
            return call

        def view():
            cache.clear()
            assert client.get(f"/tiles/reports/clusters/{z}/{x}/{y}.pbf").status_code == 200

        calls = {"raw": lambda: raw.execute(literal, prepare=True).fetchone(), "render_prepared": render(0),
                 "render_unprepared": render(99), "view": view}
        times = {name: [] for name in calls}
        for call in calls.values():
            call()
            call()
        samples = max(3, args.cluster_samples if z >= 13 else args.cluster_samples // 4)
        for _ in range(samples):
            for name, call in calls.items():
                t = time.perf_counter()
                call()
                times[name].append((time.perf_counter() - t) * 1000)
        row = {"zoom": z, "tile": f"{z}/{x}/{y}", "samples": samples, "load": load(),
               **{name: p50_p95(values) for name, values in times.items()}}
        row["ratio_view"] = round(row["view"][0] / row["raw"][0], 2)
        rows.append(row)
        print(f"clusters in-process z{z}: {row}", flush=True)
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
        for module, name in ((views.photos, "check_upload"), (views.service, "submit"), (views.photos, "add"),
                             (views.staging, "attach"), (views.staging, "stage")):
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


def multipart(fields: dict, files: dict) -> tuple[bytes, str]:
    """A multipart/form-data body (as a browser's FormData) and its content type."""
    boundary = "----bench" + os.urandom(8).hex()
    out = io.BytesIO()
    for name, values in fields.items():
        for value in values if isinstance(values, list) else [values]:
            out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, (filename, data) in files.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                  f"Content-Type: image/jpeg\r\n\r\n".encode())
        out.write(data)
        out.write(b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def bench_submit(city, args) -> dict:
    """Staging a photo, the submission with a staged photo, without a photo and with the photo inline, in
    alternating rounds: in-process (Django's test client) and, with --submit-http, over HTTP (gunicorn, a keep-alive
    http.client connection signed in with a session cookie); the statements of a submission counted."""

    from django.conf import settings
    from django.contrib.auth.models import User
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import Citizen
    from reports.models import Category, Photo, Report, StagedPhoto

    limits = {"REPORTS_RATE_PER_NUMBER": "1000000/3600", "REPORTS_RATE_PER_ADDRESS": "1000000/3600",
              "REPORTS_PHOTO_RATE_PER_NUMBER": "1000000/3600", "REPORTS_PHOTO_RATE_PER_ADDRESS": "1000000/3600"}
    for name, value in limits.items():  # one citizen submits them all
        setattr(settings, name, [value])
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
    out = {"photo_bytes": len(jpeg), "photo_pixels": args.photo_size, "load_start": load()}

    def form():
        lon, lat = rng.choice(places)
        return {"category": category.code, "description": "bench: a pothole", "lon": f"{lon:.6f}",
                "lat": f"{lat:.6f}"}

    tokens = []

    def stage():
        response = client.post("/api/reports/photos", {"photo": SimpleUploadedFile("photo.jpg", jpeg,
                                                                                   content_type="image/jpeg")})
        assert response.status_code == 201, (response.status_code, response.content[:300])
        tokens.append(response.json()["token"])

    def post(kind):
        def call():
            data = form()
            if kind == "inline":
                data["photos"] = SimpleUploadedFile("photo.jpg", jpeg, content_type="image/jpeg")
            elif kind == "staged":
                data["photo_tokens"] = [tokens.pop()]
            response = client.post("/api/reports", data)
            assert response.status_code == 201, (response.status_code, response.content[:300])
        return call

    calls = {"stage_photo": stage, "submit_staged_photo": post("staged"), "submit_without_photo": post("none"),
             "submit_inline_photo": post("inline")}
    try:
        for _ in range(3):  # warm-up
            for call in calls.values():
                call()
        times = {name: [] for name in calls}
        parts.times.clear()
        for _ in range(args.submit_samples):  # alternating: each kind at the same moments of the machine's load
            for name, call in calls.items():
                t = time.perf_counter()
                call()
                times[name].append((time.perf_counter() - t) * 1000)
        out["in_process"] = {name: p50_p95(values) for name, values in times.items()}
        out["parts"] = {name: p50_p95(values[3:] or values) for name, values in parts.times.items()}
        print(f"submit in-process: {out['in_process']} parts {out['parts']}", flush=True)
        for kind in ("none", "staged", "inline"):  # the statements the app sends (prepared ones are not captured)
            if kind == "staged":
                stage()
            with CaptureQueriesContext(connection) as captured:
                post(kind)()
            out[f"statements_{kind}"] = len(captured.captured_queries)
        out["load_in_process_end"] = load()
        if args.submit_http:
            out["http"] = submit_http(city, client, form, jpeg, args)
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
        for photo in Photo.objects.filter(report__in=mine):
            photo.image.delete(save=False)
            photo.thumbnail.delete(save=False)
            photo.incoming.delete(save=False)
            with connection.cursor() as cursor:  # its job, if not run above
                cursor.execute("DELETE FROM procrastinate_jobs WHERE task_name = 'reports.process_photo' AND "
                               "(args->>'photo_id')::bigint = %s", [photo.pk])
        for staged in StagedPhoto.objects.filter(user=user):
            staged.incoming.delete(save=False)
            staged.delete()
        for report in mine:
            report.delete()
    out["load_end"] = load()
    return out


def submit_http(city, client, form, jpeg, args) -> dict:
    """The same four requests over HTTP to gunicorn (4 workers), alternating, one keep-alive connection signed in
    with the in-process client's session cookie; p50/p95 of the whole exchange by http.client."""
    import http.client

    env = {**city.env, **{name: "1000000/3600" for name in (
        "REPORTS_RATE_PER_NUMBER", "REPORTS_RATE_PER_ADDRESS", "REPORTS_PHOTO_RATE_PER_NUMBER",
        "REPORTS_PHOTO_RATE_PER_ADDRESS")}}
    server = Server(env)
    csrf = "b" * 32
    cookie = f"sessionid={client.cookies['sessionid'].value}; csrftoken={csrf}; django_language=en"
    conn = http.client.HTTPConnection("127.0.0.1", server.port)
    tokens = []

    def post(path, fields, files):
        body, content_type = multipart(fields, files)
        conn.request("POST", path, body=body, headers={"Cookie": cookie, "X-CSRFToken": csrf,
                                                        "Content-Type": content_type, "Accept": "application/json"})
        response = conn.getresponse()
        data = response.read()
        assert response.status == 201, (path, response.status, data[:300])
        return json.loads(data)

    def stage():
        tokens.append(post("/api/reports/photos", {}, {"photo": ("photo.jpg", jpeg)})["token"])

    calls = {"stage_photo": stage,
             "submit_staged_photo": lambda: post("/api/reports", {**form(), "photo_tokens": tokens.pop()}, {}),
             "submit_without_photo": lambda: post("/api/reports", form(), {}),
             "submit_inline_photo": lambda: post("/api/reports", form(), {"photos": ("photo.jpg", jpeg)})}
    try:
        for _ in range(3):
            for call in calls.values():
                call()
        times = {name: [] for name in calls}
        for _ in range(args.submit_samples):
            for name, call in calls.items():
                t = time.perf_counter()
                call()
                times[name].append((time.perf_counter() - t) * 1000)
    finally:
        conn.close()
        server.stop()
    result = {name: p50_p95(values) for name, values in times.items()}
    result["load_end"] = load()
    print(f"submit over HTTP: {result}", flush=True)
    return result


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
    ap.add_argument("--submit-http", action="store_true", help="submission also over HTTP (gunicorn)")
    ap.add_argument("--photo-size", default="4032x3024", help="the submitted JPEG's pixels (a phone's 12 MP)")
    ap.add_argument("--slow-samples", type=int, default=3, help="samples of a tile slower than 0.3 s")
    ap.add_argument("--seconds", type=float, default=8.0, help="duration of each pgbench / wrk latency run")
    ap.add_argument("--rounds", type=int, default=3, help="alternating raw / uncached rounds of a tile (medians)")
    ap.add_argument("--tile-kinds", default="points,clusters,clusters_year", help="the tiles measured by `tiles`")
    ap.add_argument("--cluster-samples", type=int, default=40, help="alternating rounds of `clusters` (in-process)")
    ap.add_argument("--only", default="tiles,stats,submit,nearby", help="also: clusters (in-process, by part)")
    ap.add_argument("--json", help="write the figures as JSON to this file")
    args = ap.parse_args()
    parts = args.only.split(",")

    started = time.perf_counter()
    city = City(args.parcels, extra=[["load_report_categories", "--commit"], ["load_notice_templates", "--commit"]])
    city.setup_django()
    report = {"parcels": args.parcels, "reports": args.reports, "database": city.name, "load_start": load()}
    report["generation"] = ensure_reports(args.reports, args.years, args.seed)
    print(f"setup {time.perf_counter() - started:.0f} s; load average {load()}", flush=True)
    for name, part in (("tiles", bench_tiles), ("clusters", bench_clusters), ("stats", bench_stats),
                       ("submit", bench_submit), ("nearby", bench_nearby)):
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
    if "clusters" in r:
        print("cluster tiles in-process, alternating rounds (p50): raw statement | render prepared | render unprepared"
              " | the Django view uncached | view / raw")
        for c in r["clusters"]:
            print(f"  z{c['zoom']:<3} {c['raw'][0]:>8.2f} | {c['render_prepared'][0]:>8.2f} | "
                  f"{c['render_unprepared'][0]:>8.2f} | {c['view'][0]:>8.2f} | {c['ratio_view']:.2f}  "
                  f"({c['samples']} rounds, load {c['load']})")
    if "stats" in r:
        s = r["stats"]
        print(f"statistics (all reports, no filter): plain SQL ({s['statements']} statements) p50 {s['sql'][0]:.1f}; "
              f"API cold {s['api_cold'][0]:.1f} (x{s['api_ratio_cold']}), warm {s['api_warm'][0]:.1f}; "
              f"page cold {s['page_cold'][0]:.1f} (x{s['page_ratio_cold']}), warm {s['page_warm'][0]:.1f}  "
              f"(target cold <= 2 x SQL)")
    if "submit" in r:
        s = r["submit"]
        print(f"submission with a {s['photo_pixels']} JPEG of {s['photo_bytes']:,} bytes (target p50 <= 20), "
              f"alternating rounds; p50 / p95; load {s['load_start']} -> {s['load_end']}")
        for where in ("in_process", "http"):
            if where in s:
                print(f"  {where:>10}: " + "; ".join(f"{k} {v[0]:.1f} / {v[1]:.1f}" for k, v in s[where].items()
                                                    if k != "load_end"))
        print("  statements captured (besides the prepared ones): " + ", ".join(
            f"{k} {s[f'statements_{k}']}" for k in ("none", "staged", "inline") if f"statements_{k}" in s))
        print("  parts (p50): " + ", ".join(f"{k} {v[0]:.1f}" for k, v in s["parts"].items())
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
