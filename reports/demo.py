"""Demo reports: years of the 137 line on the loaded city, made in PostgreSQL (`INSERT … SELECT` over
`generate_series`), so that a million reports load in minutes.

Places come from the database: points on parcels (near their `ST_PointOnSurface`) and along streets, drawn more
often near the city centre; a share of the reports are duplicates a few metres from an earlier one, merged into it
once staff saw them. Categories are the loaded ones (data/reports/categories.toml), weighted by how often such
problems are reported. Each report's district, parcel, department and public place are what reports.service.submit
stores for the same point (the same lookups as `service.place_of`, `service.route` and `service.public_point`, made
for the whole set at once). Its life follows its age: old ones are mostly closed (rated by the reporter or closed
when the reopen window passed), some were rejected or merged, recent ones are open at the step their age reaches;
the time to fix is around the category's SLA (lognormal; about one in five overdue, and a few left open for long).
Every status change has its Event (the public timeline), the reporter and the people who added their voice are
Followers.

Demo reporters have numbers of the 0990 test prefix (DEMO_PHONE_PREFIX), never a real subscriber's format: that
prefix is what marks a report as demo data (`remove` deletes those, a new run replaces them). Tracking codes are
valid (Luhn, reports.codes) and unique: a bijection of the row number onto the nine-digit bodies, so no two demo
reports share one, and the few that collide with an existing report's code are drawn again.

Random numbers are hashes of (seed, row, purpose) (`hashint8extended`), so a seed gives the same reports whatever
the plan's order, apart from the rows' ids and the public ids (uuids) and the dates, which follow `now`."""

from __future__ import annotations

import datetime as dt
import time

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from common import municipality
from reports import codes

DEMO_PHONE_PREFIX = "09900"  # 0990: numbers for tests; 09900 + six digits for demo reporters
DEFAULT_COUNT = 3000
DEFAULT_SEED = 137
DEFAULT_YEARS = 5

# How often each demo category is reported (others: OTHER_WEIGHT).
WEIGHTS = {"street-light": 20, "waste": 20, "pothole": 18, "sidewalk": 8, "debris": 8, "blocked-drain": 7,
           "fallen-tree": 6, "illegal-construction": 5}
OTHER_WEIGHT = 5

DUPLICATE_SHARE = 0.03  # reports that repeat an earlier one nearby (merged into it by staff)
REJECTED_SHARE = 0.05
STUCK_SHARE = 0.03  # left open for long (the backlog): 20-200 times the usual time to fix
RATED_SHARE = 0.35  # of the resolved reports: rated by the reporter (which closes them)
ON_STREET_SHARE = 0.4  # of the places (not for categories about a parcel)
CENTRE_POWER = 1.7  # > 1: the nearer the centre, the more reports
GROWTH = 1.3  # > 1: more reports in recent years (the line became known)

DESCRIPTIONS = {
    "street-light": ["چراغ این کوچه چند شب است خاموش است.", "لامپ تیر برق سوخته و شب‌ها کوچه تاریک است.",
                     "چراغ روشنایی روز هم روشن می‌ماند.", "تیر چراغ برق کج شده و سیم‌ها بیرون است."],
    "pothole": ["چاله‌ی بزرگ وسط خیابان؛ ماشین‌ها به زحمت رد می‌شوند.", "آسفالت بعد از حفاری ترمیم نشده است.",
                "چاله‌ی عمیق کنار ایستگاه اتوبوس.", "ترک و فرورفتگی آسفالت بعد از باران."],
    "sidewalk": ["موزاییک‌های پیاده‌رو شکسته و جلوی مغازه‌ها ناهموار است.", "جدول کنار پیاده‌رو افتاده است.",
                 "پیاده‌رو برای ویلچر قابل عبور نیست."],
    "blocked-drain": ["جوی آب گرفته و آب در خیابان جمع شده است.", "دریچه‌ی آبرو با زباله پر شده است.",
                      "بعد از باران آب در تقاطع می‌ماند."],
    "waste": ["زباله‌ها از دیروز جمع‌آوری نشده است.", "مخزن زباله پر و سرریز شده است.",
              "کیسه‌های زباله کنار کوچه مانده و بو می‌دهد."],
    "debris": ["نخاله‌ی ساختمانی کنار زمین خالی ریخته‌اند.", "خاک و نخاله نیمی از کوچه را گرفته است."],
    "fallen-tree": ["شاخه‌ی بزرگی روی پیاده‌رو افتاده است.", "درخت خشک شده و ممکن است بیفتد.",
                    "درخت کنار خیابان بعد از باد کج شده است."],
    "illegal-construction": ["طبقه‌ی اضافه بدون تابلوی پروانه ساخته می‌شود.",
                             "ساخت‌وساز شبانه در این ملک؛ تابلوی پروانه ندارد.",
                             "دیوار ملک به سمت کوچه جلو آمده است."],
}
OTHER_DESCRIPTIONS = ["مشکل در این محل؛ لطفاً بررسی کنید.", "این مورد چند بار گزارش شده و هنوز مانده است."]
REJECTION_REASONS = ["در محدوده‌ی وظایف شهرداری نیست؛ به اداره‌ی مربوط ارجاع شد.",
                     "بازدید شد؛ مشکلی در محل دیده نشد.", "گزارش تکراری است؛ پیش‌تر رسیدگی شده است."]
CREWS = ["اکیپ ۱", "اکیپ ۲", "اکیپ ۳", "اکیپ شب", "پیمانکار منطقه"]
# a bijection of the row number onto the nine-digit bodies 100000000..999999999 (MULTIPLIER is prime to 9 * 10^8)
BODIES = 900_000_000
MULTIPLIER = 479_001_599


def _u(salt: int, row: str = "g.i") -> str:
    """SQL for a uniform number in [0, 1) drawn from (the seed, the row, `salt`)."""
    return f"((hashint8extended({row}, %(seed)s * 64 + {salt}) & 2147483647)::float8 / 2147483648.0)"


def _luhn_sql(body: str) -> str:
    """SQL for the Luhn check digit of `body`, a nine-digit integer expression (reports.codes.luhn_digit)."""
    terms = []
    for k in range(codes.LENGTH - 1):  # k-th digit from the right; the rightmost (k = 0) is doubled
        digit = f"(({body}) / {10 ** k} %% 10)"
        terms.append(f"(2 * {digit} - CASE WHEN {digit} >= 5 THEN 9 ELSE 0 END)" if k % 2 == 0 else digit)
    return f"((10 - ({' + '.join(terms)}) %% 10) %% 10)"


def _code_sql(index: str) -> str:
    body = f"(100000000 + ({index} * {MULTIPLIER}::bigint + %(code_offset)s) %% {BODIES})"
    return f"({body})::text || {_luhn_sql(body)}::text"


def _text_array(values) -> str:
    return "ARRAY[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]::text[]"


def demo_reports_exist() -> bool:
    from reports.models import Report

    return Report.objects.filter(reporter_phone__startswith=DEMO_PHONE_PREFIX).exists()


def remove() -> int:
    """Delete the demo reports (those of demo reporters' numbers) and every row that refers to them; how many."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS demo_gone")
        cursor.execute("CREATE TEMP TABLE demo_gone ON COMMIT DROP AS SELECT id FROM reports_report "
                       "WHERE reporter_phone LIKE %s", [DEMO_PHONE_PREFIX + "%"])
        cursor.execute("SELECT count(*) FROM demo_gone")
        count = cursor.fetchone()[0]
        if count:
            cursor.execute("ANALYZE demo_gone")
            # whatever refers to a report (events, followers, photos, and the tables of other parts), then the reports
            cursor.execute("""
                SELECT c.conrelid::regclass::text, a.attname FROM pg_constraint c
                JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
                WHERE c.contype = 'f' AND c.confrelid = 'reports_report'::regclass
                  AND c.conrelid <> 'reports_report'::regclass""")
            for table, column in cursor.fetchall():
                cursor.execute(f'DELETE FROM {table} WHERE "{column}" IN (SELECT id FROM demo_gone)')
            cursor.execute("SELECT tracking_code FROM reports_report WHERE merged_into_id IN "
                           "(SELECT id FROM demo_gone) AND id NOT IN (SELECT id FROM demo_gone) LIMIT 5")
            kept = [row[0] for row in cursor.fetchall()]
            if kept:  # staff merged a real report into a demo one: keep both, say so
                raise ValueError(_("Reports %(codes)s are merged into demo reports: the demo reports stay.")
                                 % {"codes": ", ".join(kept)})
            cursor.execute("DELETE FROM reports_report WHERE id IN (SELECT id FROM demo_gone)")
    return count


def generate(count: int = DEFAULT_COUNT, *, seed: int = DEFAULT_SEED, years: float = DEFAULT_YEARS,
             now: dt.datetime | None = None, say=None) -> dict:
    """Make `count` demo reports over the `years` before `now` (replacing earlier demo reports), in one
    transaction; returns the counts and the seconds each step took."""
    from reports.models import Category

    say = say or (lambda message: None)
    now = now or timezone.now()
    categories = list(Category.objects.filter(active=True).order_by("order", "code"))
    if not categories:
        raise ValueError(_("No report categories: load them first (manage.py load_report_categories --commit)."))
    timings = {}
    started = time.perf_counter()

    def step(name):
        timings[name] = round(time.perf_counter() - started - sum(timings.values()), 2)
        say(f"  {name}: {timings[name]} s")

    duplicates = int(count * DUPLICATE_SHARE) if count >= 20 else 0
    base = count - duplicates
    params = {"seed": seed, "n": base, "dups": duplicates, "now": now, "span": dt.timedelta(days=365.25 * years),
              "srid": municipality.current().srid, "cell": float(settings.REPORTS_PRIVATE_GRID_METRES),
              "reopen": dt.timedelta(days=settings.REPORTS_REOPEN_DAYS), "prefix": DEMO_PHONE_PREFIX,
              "code_offset": seed * 7_919 % BODIES}
    total_weight = sum(WEIGHTS.get(c.code, OTHER_WEIGHT) for c in categories)
    rows, low = [], 0.0
    for k, c in enumerate(categories):
        high = low + WEIGHTS.get(c.code, OTHER_WEIGHT) / total_weight
        rows.append(f"({k}, {c.pk}, {c.sla_days}, {bool(c.private_place)}, {bool(c.needs_parcel)}, {low!r}, "
                    f"{1.0 if k == len(categories) - 1 else high!r}, "
                    f"{_text_array(DESCRIPTIONS.get(c.code, OTHER_DESCRIPTIONS))})")
        low = high

    with transaction.atomic(), connection.cursor() as cursor:  # one transaction: a failure keeps what was there
        removed = remove()
        if removed:
            step("remove")
        cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")  # one order, the same hashes: no need
        for table in ("demo_cat", "demo_parcel", "demo_street", "demo_gen", "demo_report"):
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(f"""
            CREATE TEMP TABLE demo_cat ON COMMIT DROP AS
            SELECT k, id, sla_days, private_place, needs_parcel, lo, hi, texts,
                   0.5 + 0.45 * ((hashint8extended(id, %(seed)s) & 2147483647)::float8 / 2147483648.0) AS speed
            FROM (VALUES {", ".join(rows)}) v(k, id, sla_days, private_place, needs_parcel, lo, hi, texts)""",
                       params)
        # parcels and streets ranked by distance from the centre (a point near the centre is drawn more often)
        cursor.execute("""
            CREATE TEMP TABLE demo_parcel ON COMMIT DROP AS
            WITH c AS (SELECT ST_SetSRID(ST_Centroid(ST_Extent(geom)::geometry), %(srid)s) AS pt FROM parcels_parcel)
            SELECT (row_number() OVER (ORDER BY ST_Distance(p.pt, c.pt), p.id))::int AS rank, p.pt
            FROM (SELECT id, ST_PointOnSurface(geom) AS pt FROM parcels_parcel) p, c""", params)
        cursor.execute("""
            CREATE TEMP TABLE demo_street ON COMMIT DROP AS
            WITH c AS (SELECT ST_SetSRID(ST_Centroid(ST_Extent(geom)::geometry), %(srid)s) AS pt FROM parcels_parcel)
            SELECT (row_number() OVER (ORDER BY ST_Distance(ST_LineInterpolatePoint(s.geom, 0.5), c.pt), s.id))::int
                   AS rank, s.geom, s.name
            FROM parcels_street s, c WHERE ST_Length(s.geom) > 0""", params)
        cursor.execute("CREATE INDEX ON demo_parcel (rank)")
        cursor.execute("CREATE INDEX ON demo_street (rank)")
        cursor.execute("SELECT (SELECT count(*) FROM demo_parcel), (SELECT count(*) FROM demo_street)")
        params["parcels"], params["streets"] = cursor.fetchone()
        if not params["parcels"]:
            raise ValueError(_("No parcels: load the city first (manage.py load_demo_city)."))
        step("places ranked")
        on_street = f"(NOT c.needs_parcel AND %(streets)s > 0 AND {_u(2)} < {ON_STREET_SHARE})"
        # the base reports: a category, a time (more recent ones more often), a place
        cursor.execute(f"""
            CREATE TEMP TABLE demo_gen ON COMMIT DROP AS
            SELECT g.i, nextval(pg_get_serial_sequence('reports_report', 'id')) AS id, NULL::bigint AS target_i,
                   c.k, %(now)s::timestamptz - %(span)s::interval * (1 - power({_u(1)}, 1 / {GROWTH})) AS created_at,
                   CASE WHEN {on_street}
                        THEN ST_LineInterpolatePoint(s.geom, {_u(4)})
                        ELSE ST_Translate(p.pt, CASE WHEN c.needs_parcel THEN 0 ELSE 6 * {_u(5)} - 3 END,
                                                CASE WHEN c.needs_parcel THEN 0 ELSE 6 * {_u(6)} - 3 END)
                   END AS pt,
                   CASE WHEN {on_street} THEN s.name ELSE '' END AS address
            FROM generate_series(1, %(n)s) g(i)
            JOIN demo_cat c ON {_u(0)} >= c.lo AND {_u(0)} < c.hi
            JOIN demo_parcel p ON p.rank = 1 + least(floor(%(parcels)s * power({_u(3)}, {CENTRE_POWER})),
                                                     %(parcels)s - 1)::int
            LEFT JOIN demo_street s ON s.rank = 1 + least(floor(%(streets)s * power({_u(7)}, {CENTRE_POWER})),
                                                          greatest(%(streets)s - 1, 0))::int""", params)
        # duplicates: a few metres from an earlier report of the same category, a little later
        cursor.execute(f"""
            INSERT INTO demo_gen (i, id, target_i, k, created_at, pt, address)
            SELECT %(n)s + g.i, nextval(pg_get_serial_sequence('reports_report', 'id')), t.i, t.k,
                   least(t.created_at + interval '1 day' * 4 * {_u(9)}, %(now)s::timestamptz),
                   ST_Translate(t.pt, 30 * {_u(10)} - 15, 30 * {_u(11)} - 15), t.address
            FROM generate_series(1, %(dups)s) g(i)
            JOIN demo_gen t ON t.i = 1 + least(floor(%(n)s * {_u(8)}), %(n)s - 1)::bigint""", params)
        cursor.execute("ANALYZE demo_gen")
        step("reports drawn")
        # where each one is: the same lookups as reports.service.place_of, route and public_point
        cursor.execute("""
            CREATE TEMP TABLE demo_report ON COMMIT DROP AS
            SELECT g.*, c.id AS category_id, c.sla_days, c.speed, c.private_place, c.texts,
                   coalesce(r.department_id, cat.department_id) AS department_id, d.id AS district_id,
                   x.id AS parcel_id,
                   CASE WHEN NOT c.private_place THEN g.pt
                        WHEN b.pt IS NOT NULL THEN ST_SetSRID(ST_MakePoint(ST_X(b.pt), ST_Y(b.pt)), %(srid)s)
                        ELSE ST_SetSRID(ST_MakePoint((floor(ST_X(g.pt) / %(cell)s) + 0.5) * %(cell)s,
                                                     (floor(ST_Y(g.pt) / %(cell)s) + 0.5) * %(cell)s), %(srid)s)
                   END AS public_pt
            FROM demo_gen g JOIN demo_cat c ON c.k = g.k JOIN reports_category cat ON cat.id = c.id
            LEFT JOIN LATERAL (SELECT id FROM parcels_district d WHERE ST_Intersects(d.geom, g.pt)
                               ORDER BY id LIMIT 1) d ON true
            LEFT JOIN LATERAL (SELECT id FROM parcels_parcel x WHERE ST_Intersects(x.geom, g.pt)
                               ORDER BY id LIMIT 1) x ON true
            LEFT JOIN LATERAL (SELECT ST_PointOnSurface(b.geom) AS pt FROM parcels_block b
                               WHERE c.private_place AND ST_Intersects(b.geom, g.pt) ORDER BY id LIMIT 1) b ON true
            LEFT JOIN reports_routing r ON r.category_id = c.id AND r.district_id = d.id""", params)
        step("places looked up")
        # each one's life: the time to fix around the SLA (lognormal, median 0.5-0.95 x SLA by category, ~20 %
        # overdue), acceptance within hours, rejections, merges of the duplicates, ratings, the reopen window
        cursor.execute("""
            ALTER TABLE demo_report ADD COLUMN status text, ADD COLUMN accepted_t timestamptz,
                ADD COLUMN assigned_t timestamptz, ADD COLUMN progress_t timestamptz,
                ADD COLUMN resolved_t timestamptz, ADD COLUMN rejected_t timestamptz,
                ADD COLUMN merged_t timestamptz, ADD COLUMN rated_t timestamptz, ADD COLUMN closed_t timestamptz,
                ADD COLUMN rating smallint, ADD COLUMN code text, ADD COLUMN target_id bigint,
                ADD COLUMN voices int DEFAULT 0, ADD COLUMN own_voices int DEFAULT 0""")
        ttr = (f"(sla_days * speed * exp(0.5 * sqrt(-2 * ln({_u(12, 'i')} + 1e-12)) * cos(2 * pi() * {_u(13, 'i')}))"
               f" * CASE WHEN {_u(14, 'i')} < {STUCK_SHARE} THEN 20 + 180 * {_u(28, 'i')} ELSE 1 END)")
        cursor.execute(f"""
            UPDATE demo_report SET
                accepted_t = created_at + interval '1 hour' * (0.2 + 40 * {_u(15, 'i')} * least(1, sla_days / 7.0)),
                resolved_t = created_at + interval '1 day' * greatest({ttr}, 0.1),
                rejected_t = CASE WHEN target_i IS NULL AND {_u(16, 'i')} < {REJECTED_SHARE}
                                  THEN created_at + interval '1 day' * (0.2 + 3 * {_u(17, 'i')}) END,
                merged_t = CASE WHEN target_i IS NOT NULL
                                THEN created_at + interval '1 day' * (0.1 + 2 * {_u(18, 'i')}) END,
                rating = CASE WHEN {_u(19, 'i')} < {RATED_SHARE}
                              THEN (ARRAY[1, 2, 3, 3, 4, 4, 4, 5, 5, 5])[1 + floor(10 * {_u(20, 'i')})::int] END,
                code = {_code_sql('i')}""", params)
        cursor.execute(f"""
            UPDATE demo_report SET
                accepted_t = least(accepted_t, resolved_t - interval '1 minute'),
                assigned_t = least(accepted_t, resolved_t - interval '1 minute')
                             + (resolved_t - least(accepted_t, resolved_t - interval '1 minute')) * 0.3,
                progress_t = least(accepted_t, resolved_t - interval '1 minute')
                             + (resolved_t - least(accepted_t, resolved_t - interval '1 minute')) * 0.6,
                rated_t = CASE WHEN rating IS NOT NULL THEN resolved_t + interval '1 day' * 5 * {_u(21, 'i')} END""",
                       params)
        cursor.execute("""
            UPDATE demo_report SET
                closed_t = coalesce(rated_t, resolved_t + %(reopen)s::interval),
                status = CASE
                    WHEN merged_t <= %(now)s THEN 'merged'
                    WHEN rejected_t <= %(now)s THEN 'rejected'
                    WHEN coalesce(rated_t, resolved_t + %(reopen)s::interval) <= %(now)s THEN 'closed'
                    WHEN resolved_t <= %(now)s THEN 'resolved'
                    WHEN merged_t IS NOT NULL OR rejected_t IS NOT NULL THEN 'submitted'
                    WHEN progress_t <= %(now)s THEN 'in_progress'
                    WHEN assigned_t <= %(now)s THEN 'assigned'
                    WHEN accepted_t <= %(now)s THEN 'accepted'
                    ELSE 'submitted' END""", params)
        cursor.execute("UPDATE demo_report r SET target_id = t.id FROM demo_report t WHERE t.i = r.target_i")
        cursor.execute(f"""
            UPDATE demo_report SET own_voices = floor(-ln(1 - {_u(22, 'i')}) * 0.35)::int,
                                   voices = floor(-ln(1 - {_u(22, 'i')}) * 0.35)::int
            WHERE status NOT IN ('merged', 'rejected')""", params)
        cursor.execute("""
            UPDATE demo_report r SET voices = r.voices + m.n
            FROM (SELECT target_id, count(*) AS n FROM demo_report WHERE status = 'merged' GROUP BY target_id) m
            WHERE m.target_id = r.id""")
        _fix_code_collisions(cursor, params)
        step("lives drawn")
        cursor.execute(f"""
            INSERT INTO reports_report (id, public_id, tracking_code, category_id, department_id, status, geom,
                public_geom, parcel_id, district_id, description, address, reporter_id, reporter_phone, language,
                source, created_at, updated_at, due_at, accepted_at, resolved_at, closed_at, crew, assignee_id,
                status_note, merged_into_id, voices, rating, rating_comment, reopened)
            SELECT id, gen_random_uuid(), code, category_id, department_id, status, pt, public_pt, parcel_id,
                   district_id, texts[1 + floor(array_length(texts, 1) * {_u(23, 'i')})::int], left(address, 300),
                   NULL, %(prefix)s || lpad(((i::bigint * 7919) %% 1000000)::text, 6, '0'),
                   CASE WHEN {_u(24, 'i')} < 0.07 THEN 'en' ELSE 'fa' END,
                   CASE WHEN {_u(25, 'i')} < 0.1 THEN 'staff' WHEN {_u(25, 'i')} < 0.15 THEN 'open311' ELSE 'web' END,
                   created_at,
                   CASE status WHEN 'merged' THEN merged_t WHEN 'rejected' THEN rejected_t
                               WHEN 'closed' THEN closed_t WHEN 'resolved' THEN resolved_t
                               WHEN 'in_progress' THEN progress_t WHEN 'assigned' THEN assigned_t
                               WHEN 'accepted' THEN accepted_t ELSE created_at END,
                   created_at + interval '1 day' * sla_days,
                   CASE WHEN status IN ('accepted', 'assigned', 'in_progress', 'resolved', 'closed') THEN accepted_t
                        WHEN status = 'rejected' THEN rejected_t END,
                   CASE WHEN status IN ('resolved', 'closed') THEN resolved_t END,
                   CASE WHEN status = 'closed' THEN closed_t WHEN status = 'merged' THEN merged_t END,
                   CASE WHEN status IN ('assigned', 'in_progress', 'resolved', 'closed')
                        THEN (%(crews)s::text[])[1 + floor({len(CREWS)} * {_u(26, 'i')})::int] ELSE '' END,
                   NULL,
                   CASE WHEN status = 'rejected'
                        THEN (%(reasons)s::text[])[1 + floor({len(REJECTION_REASONS)} * {_u(27, 'i')})::int]
                        ELSE '' END,
                   CASE WHEN status = 'merged' THEN target_id END, voices,
                   CASE WHEN status = 'closed' THEN rating END, '', 0
            FROM demo_report d ORDER BY d.created_at""", {**params, "crews": CREWS, "reasons": REJECTION_REASONS})
        reports = cursor.rowcount
        step("reports written")
        events = _events(cursor, params)
        step("events written")
        # followers: the reporter, and everyone who added their voice (numbers of the same test prefix)
        cursor.execute("""
            INSERT INTO reports_follower (report_id, user_id, phone, language, is_reporter, created_at)
            SELECT r.id, NULL, r.reporter_phone, r.language, true, r.created_at
            FROM reports_report r JOIN demo_report d ON d.id = r.id""")
        followers = cursor.rowcount
        cursor.execute("""
            INSERT INTO reports_follower (report_id, user_id, phone, language, is_reporter, created_at)
            SELECT d.id, NULL, %(prefix)s || lpad(((d.i::bigint * 7919 + j * 104729) %% 1000000)::text, 6, '0'),
                   'fa', false, d.created_at + interval '1 hour' * j
            FROM demo_report d, generate_series(1, d.own_voices) j
            UNION ALL  -- a merged report's reporter follows the report it was merged into
            SELECT d.target_id, NULL::integer, r.reporter_phone, r.language, false, d.merged_t
            FROM demo_report d JOIN reports_report r ON r.id = d.id WHERE d.status = 'merged'
            ON CONFLICT DO NOTHING""", params)
        followers += cursor.rowcount
        step("followers written")
    with connection.cursor() as cursor:
        for table in ("reports_report", "reports_event", "reports_follower"):
            cursor.execute(f"ANALYZE {table}")
    step("analyzed")
    return {"reports": reports, "events": events, "followers": followers, "removed": removed,
            "seconds": round(time.perf_counter() - started, 1), "steps": timings}


def _fix_code_collisions(cursor, params) -> None:
    """Draw again the (rare) codes an existing report has: rows beyond the set keep the bijection's uniqueness."""
    extra = params["n"] + params["dups"]
    for _attempt in range(20):
        cursor.execute("SELECT d.i FROM demo_report d JOIN reports_report r ON r.tracking_code = d.code ORDER BY 1")
        clashes = [row[0] for row in cursor.fetchall()]
        if not clashes:
            return
        for i in clashes:
            extra += 1
            cursor.execute(f"UPDATE demo_report SET code = {_code_sql('%(extra)s::bigint')} WHERE i = %(i)s",
                           {**params, "extra": extra, "i": i})
    raise RuntimeError("tracking codes keep colliding")  # pragma: no cover


def _events(cursor, params) -> int:
    """The public timeline of each demo report: every status change it went through, its rating and its merge."""
    steps = [
        # (kind, from, to, time column, which reports, note)
        ("status", "", "submitted", "created_at", "true", "''"),
        ("status", "submitted", "accepted", "accepted_t",
         "d.status IN ('accepted', 'assigned', 'in_progress', 'resolved', 'closed')", "''"),
        ("status", "accepted", "assigned", "assigned_t",
         "d.status IN ('assigned', 'in_progress', 'resolved', 'closed')", "''"),
        ("status", "assigned", "in_progress", "progress_t", "d.status IN ('in_progress', 'resolved', 'closed')", "''"),
        ("status", "in_progress", "resolved", "resolved_t", "d.status IN ('resolved', 'closed')", "''"),
        ("rating", "", "", "rated_t", "d.status = 'closed' AND d.rating IS NOT NULL", "d.rating::text"),
        ("status", "resolved", "closed", "closed_t", "d.status = 'closed'", "''"),
        ("status", "submitted", "rejected", "rejected_t", "d.status = 'rejected'", "r.status_note"),
    ]
    total = 0
    for kind, before, after, at, where, note in steps:
        cursor.execute(f"""
            INSERT INTO reports_event (report_id, at, actor_id, kind, from_status, to_status, note, public)
            SELECT d.id, d.{at}, NULL, %s, %s, %s, {note}, true
            FROM demo_report d JOIN reports_report r ON r.id = d.id WHERE {where}""", [kind, before, after])
        total += cursor.rowcount
    cursor.execute("""
        INSERT INTO reports_event (report_id, at, actor_id, kind, from_status, to_status, note, public)
        SELECT d.id, d.merged_t, NULL::integer, 'merge', 'submitted', 'merged', t.code, true
        FROM demo_report d JOIN demo_report t ON t.id = d.target_id WHERE d.status = 'merged'
        UNION ALL
        SELECT t.id, d.merged_t, NULL::integer, 'merge', '', '', d.code, false
        FROM demo_report d JOIN demo_report t ON t.id = d.target_id WHERE d.status = 'merged'""")
    return total + cursor.rowcount
