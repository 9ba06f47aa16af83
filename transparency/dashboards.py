"""The performance dashboards: every registered panel (transparency/registry.py) as a chart, a table and a CSV.

The apps that own the data register their panels (dues/dashboards.py, permits/dashboards.py, reports/dashboards.py),
each with one SQL statement for its rows. Here the rows are cached under the panel's data version (when it has one),
shown in the reader's language (Persian digits, Jalali months) and turned into what the page's script draws: the
labels and numbers of each chart, nothing language-dependent left to the script."""

from __future__ import annotations

import csv
import io
import time

import jdatetime
from django.conf import settings
from django.core.cache import caches
from django.db import connection

from common.i18n import is_persian
from common.jalali import persian_digits
from common.templatetags.persian import localized
from transparency import registry
from transparency.registry import Column, Panel

# A panel's version names the data it was made from; the newest-id versions of append-only tables (dues) can miss
# a transaction that committed after a later one, so a cached table is also never kept longer than this.
MAX_AGE = 15 * 60
# what the busy panels (dues, permits, reports) give as their `refresh` (TRANSPARENCY_DASHBOARD_REFRESH_SECONDS)
REFRESH = settings.TRANSPARENCY_DASHBOARD_REFRESH_SECONDS
NUMERIC = ("integer", "rials", "days", "year")


def cache():
    return caches["ogc"]  # versioned public answers (cleared with the tiles' in tests)


def rows(panel: Panel) -> list[dict]:
    """The panel's rows: from the cache while its data version has not changed, and for `panel.refresh` seconds
    after they were made even when it has (payments and case events arrive all day: at a million parcels the dues
    statement takes seconds, and a page that made it again after every payment would always be cold)."""
    if panel.version is None:
        return panel.rows()
    version = panel.version()
    version = "-".join(str(v) for v in version) if isinstance(version, (tuple, list)) else str(version)
    key = f"dashboard:{panel.key}"
    found = cache().get(key)  # (version, made at, rows)
    now = time.time()
    if found is not None and (found[0] == version or now - found[1] < panel.refresh):
        return found[2]
    made = panel.rows()
    cache().set(key, (version, now, made), MAX_AGE)
    return made


def table_versions(*tables: str) -> tuple[int, ...]:
    """The data versions of tables that have the layers' version trigger (layers/versions.py), in one query."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_name, version FROM layers_tableversion WHERE table_name = ANY(%s)",
                       [list(tables)])
        found = dict(cursor.fetchall())
    return tuple(found.get(name, 0) for name in tables)


def changed_at(*tables: str):
    """When any of these (version-triggered) tables was last written; None if never."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT max(changed_at) FROM layers_tableversion WHERE table_name = ANY(%s)", [list(tables)])
        return cursor.fetchone()[0]


# --- what people read -----------------------------------------------------------------------------------------------

def _digits(text: str) -> str:
    return persian_digits(text) if is_persian() else text


def month_label(value: str) -> str:
    """"1403-05" as "Mordad 1403" (English) or "مرداد ۱۴۰۳" (Persian)."""
    year, month = (int(part) for part in str(value).split("-"))
    names = jdatetime.date.j_months_fa if is_persian() else jdatetime.date.j_months_en
    return _digits(f"{names[month - 1]} {year}")


def cell(row: dict, column: Column) -> str:
    """One value as people read it in the page's language."""
    value = row.get(column.key)
    if column.kind == "name":
        return localized(row, column.key) or str(column.missing)
    if value is None or value == "":
        return str(column.missing)
    if column.kind in ("integer", "rials"):
        text = f"{int(value):,}"
        return persian_digits(text.replace(",", "٬")) if is_persian() else text
    if column.kind == "days":
        text = f"{int(value)}" if float(value).is_integer() else f"{float(value):.1f}"
        return persian_digits(text.replace(".", "٫")) if is_persian() else text
    if column.kind == "month":
        return month_label(value)
    return _digits(str(value))


def column(panel: Panel, key: str) -> Column:
    return next(c for c in panel.columns if c.key == key)


def table(panel: Panel, data: list[dict]) -> dict:
    """The table under the chart: header labels, rows of cells (numbers marked for alignment)."""
    return {"head": [(str(c.label), c.kind in NUMERIC) for c in panel.columns],
            "rows": [[(cell(row, c), c.kind in NUMERIC) for c in panel.columns] for row in data]}


def charts(panel: Panel, data: list[dict]) -> list[dict]:
    """What the script draws: one chart, or one per value of the panel's `group` column, each with its x labels (in
    the page's language) and one dataset per series (its label and its numbers)."""
    groups: dict[str, list[dict]] = {}
    if panel.group:
        group = column(panel, panel.group)
        for row in data:
            groups.setdefault(cell(row, group), []).append(row)
    else:
        groups[""] = data
    x = column(panel, panel.x)
    series = [column(panel, key) for key in panel.series]
    # days beside counts (reports and their median days to fix) are drawn against a second axis
    mixed = len({s.kind == "days" for s in series}) > 1
    return [{"title": title, "labels": [cell(row, x) for row in part],
             "datasets": [{"label": str(s.label), "data": [_number(row.get(s.key)) for row in part],
                           "axis": "y2" if mixed and s.kind == "days" else "y"}
                          for s in series]}
            for title, part in groups.items()]


def _number(value):
    return None if value is None else (float(value) if not isinstance(value, int) else value)


def page(panel: Panel) -> dict:
    data = rows(panel)
    return {"panel": panel, "table": table(panel, data), "charts": charts(panel, data), "empty": not data}


# --- CSV -------------------------------------------------------------------------------------------------------------

def csv_value(row: dict, column: Column):
    """A value in the CSV: numbers as they are (ASCII digits, a dot), names in the reader's language, months and
    years as Jalali numbers ("1403-05")."""
    if column.kind == "name":
        return localized(row, column.key) or str(column.missing)
    value = row.get(column.key)
    return "" if value is None else value


def as_csv(panel: Panel) -> bytes:
    """The panel's rows as CSV, UTF-8 with a BOM (Excel then reads the Persian names), as the reports' statistics."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([str(c.label) for c in panel.columns])
    for row in rows(panel):
        writer.writerow([csv_value(row, c) for c in panel.columns])
    return out.getvalue().encode("utf-8")


def panels() -> list[Panel]:
    return registry.panels()
