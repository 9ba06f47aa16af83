"""The public statistics of reports: how many, how fast they are fixed, by category, by district and by month (the
Jalali months, the city's calendar), plain SQL, one aggregate statement per table (no Python per report).

"Days to fix" is the time from reporting to resolution (resolved_at − created_at, in days); its median is
percentile_cont(0.5) over the resolved reports (a report resolved and not reopened: resolved, or closed after it).
Merged reports (duplicates of another one) are never counted; rejected ones count as reports, never as fixed.

Filters: `start`/`end` (days, inclusive) bound the reporting date, and in the month table's "resolved" column the
resolution date; `category` and `district` (codes). The tables are cached under the reports layer's data version (a
write to the reports or the categories makes new ones) and the filters."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.cache import caches
from django.db import connection
from django.utils import timezone

from common import jalali, municipality
from common.jalali import persian_digits
from reports import workflow

OPEN = sorted(workflow.OPEN)
FIRST_YEAR, LAST_YEAR = 1370, 1430  # Jalali years the month table knows (1991-2052)
MONTHS_FA = ("فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور", "مهر", "آبان", "آذر", "دی", "بهمن", "اسفند")
MONTHS_EN = ("Farvardin", "Ordibehesht", "Khordad", "Tir", "Mordad", "Shahrivar", "Mehr", "Aban", "Azar", "Dey",
             "Bahman", "Esfand")
TABLES = ("category", "district", "month")
SLOWEST = 5  # categories in the "slowest" list
DAYS = "extract(epoch FROM r.resolved_at - r.created_at) / 86400.0"


@dataclass(frozen=True)
class Filters:
    start: dt.date | None = None
    end: dt.date | None = None
    category_id: int | None = None
    district_id: int | None = None

    def key(self) -> str:
        return f"{self.start}|{self.end}|{self.category_id}|{self.district_id}"


def month_starts() -> tuple[tuple[int, int, dt.date], ...]:
    """(Jalali year, month, Gregorian first day) of every month FIRST_YEAR..LAST_YEAR."""
    return jalali.month_starts(FIRST_YEAR, LAST_YEAR)


def _midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time()), municipality.time_zone())


def _thresholds() -> list[dt.datetime]:
    return [_midnight(day) for _y, _m, day in month_starts()]


def _where(filters: Filters, column: str = "r.created_at") -> tuple[str, dict]:
    parts, params = ["r.status <> 'merged'"], {}
    if filters.start:
        parts.append(f"{column} >= %(start)s")
        params["start"] = _midnight(filters.start)
    if filters.end:
        parts.append(f"{column} < %(end)s")
        params["end"] = _midnight(filters.end + dt.timedelta(days=1))
    if filters.category_id is not None:
        parts.append("r.category_id = %(category)s")
        params["category"] = filters.category_id
    if filters.district_id is not None:
        parts.append("r.district_id = %(district)s")
        params["district"] = filters.district_id
    return " AND ".join(parts), params


def _rows(sql: str, params: dict) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _days(value) -> float | None:
    return None if value is None else round(float(value), 2)


def by_category(filters: Filters) -> list[dict]:
    where, params = _where(filters)
    rows = _rows(f"""
        SELECT c.code, c.name, coalesce(nullif(c.name_en, ''), c.name), c.colour, c.sla_days,
               s.reports, s.open, s.resolved, s.median_days
        FROM (SELECT r.category_id, count(*) AS reports, count(*) FILTER (WHERE r.status = ANY(%(open)s)) AS open,
                     count(r.resolved_at) AS resolved,
                     percentile_cont(0.5) WITHIN GROUP (ORDER BY {DAYS}) AS median_days
              FROM reports_report r WHERE {where} GROUP BY r.category_id) s
        JOIN reports_category c ON c.id = s.category_id
        ORDER BY s.reports DESC, c.code""", {**params, "open": OPEN})
    return [{"code": code, "name": name, "name_en": name_en, "colour": colour, "sla_days": sla, "reports": reports,
             "open": open_, "resolved": resolved, "median_days": _days(median)}
            for code, name, name_en, colour, sla, reports, open_, resolved, median in rows]


def by_district(filters: Filters) -> list[dict]:
    where, params = _where(filters)
    rows = _rows(f"""
        SELECT d.code, d.name, coalesce(nullif(d.name_en, ''), d.name), s.reports, s.open, s.resolved, s.median_days
        FROM (SELECT r.district_id, count(*) AS reports, count(*) FILTER (WHERE r.status = ANY(%(open)s)) AS open,
                     count(r.resolved_at) AS resolved,
                     percentile_cont(0.5) WITHIN GROUP (ORDER BY {DAYS}) AS median_days
              FROM reports_report r WHERE {where} GROUP BY r.district_id) s
        LEFT JOIN parcels_district d ON d.id = s.district_id
        ORDER BY d.code NULLS LAST""", {**params, "open": OPEN})
    return [{"code": code, "name": name, "name_en": name_en, "reports": reports, "open": open_,
             "resolved": resolved, "median_days": _days(median)}
            for code, name, name_en, reports, open_, resolved, median in rows]


def by_month(filters: Filters) -> list[dict]:
    """Month by month (Jalali): reports made, reports resolved (by their resolution's month) and the median days to
    fix of the reports made that month. The months between the first and the last are all listed."""
    created, params = _where(filters, "r.created_at")
    resolved, _same = _where(filters, "r.resolved_at")
    rows = _rows(f"""
        SELECT u.m, count(*) FILTER (WHERE u.made), count(*) FILTER (WHERE NOT u.made),
               percentile_cont(0.5) WITHIN GROUP (ORDER BY u.days)
        FROM (SELECT width_bucket(r.created_at, %(months)s::timestamptz[]) AS m, true AS made, {DAYS} AS days
              FROM reports_report r WHERE {created}
              UNION ALL
              SELECT width_bucket(r.resolved_at, %(months)s::timestamptz[]), false, NULL
              FROM reports_report r WHERE r.resolved_at IS NOT NULL AND {resolved}) u
        GROUP BY u.m ORDER BY u.m""", {**params, "months": _thresholds()})
    starts = month_starts()
    found = {m: (made, fixed, median) for m, made, fixed, median in rows if 1 <= m <= len(starts)}
    if not found:
        return []
    out = []
    for m in range(min(found), max(found) + 1):
        year, month, first = starts[m - 1]
        made, fixed, median = found.get(m, (0, 0, None))
        out.append({"month": f"{year:04d}-{month:02d}", "start": first.isoformat(),
                    "label": persian_digits(f"{MONTHS_FA[month - 1]} {year}"), "label_en": f"{MONTHS_EN[month - 1]} {year}",
                    "reports": made, "resolved": fixed, "median_days": _days(median)})
    return out


def slowest(categories: list[dict], count: int = SLOWEST) -> list[dict]:
    """The categories whose fixes take longest (median days; those with a fixed report)."""
    fixed = [c for c in categories if c["median_days"] is not None]
    return sorted(fixed, key=lambda c: (-c["median_days"], c["code"]))[:count]


BUILDERS = {"category": by_category, "district": by_district, "month": by_month}


def _version() -> int:
    from layers import versions
    from reports.layers import layer

    return versions.layer_version(layer())


def table(name: str, filters: Filters, version: int | None = None) -> list[dict]:
    """One table, from the cache when the data has not changed since it was made."""
    cache = caches["ogc"]  # versioned public answers (cleared with the tiles' in tests)
    version = _version() if version is None else version
    key = f"reports-stats:{version}:{name}:{filters.key()}"
    rows = cache.get(key)
    if rows is None:
        rows = BUILDERS[name](filters)
        cache.set(key, rows)
    return rows


def everything(filters: Filters) -> dict:
    version = _version()
    categories = table("category", filters, version)
    return {"by_category": categories, "by_district": table("district", filters, version),
            "by_month": table("month", filters, version),
            "slowest": slowest(categories),
            "totals": {"reports": sum(c["reports"] for c in categories),
                       "open": sum(c["open"] for c in categories),
                       "resolved": sum(c["resolved"] for c in categories)}}
