"""What other apps publish through the transparency pages: dashboard panels and open-data catalogue entries.

An app registers from its AppConfig.ready() (apps above this one: dues, zoning, reports, permits, layers' own
registry is read directly). The dashboards page draws every panel (a chart and a table, and its CSV); the catalogue
lists every dataset (HTML and DCAT-style JSON)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Callable


# How a column's values are shown (transparency/dashboards.py `cell`): in the page's language, Persian digits on a
# Persian page. "name": a value kept in two languages, the row's `<key>` (Persian) and `<key>_en` (English);
# "month": a Jalali month as "YYYY-MM" (shown "Mordad 1403" / "مرداد ۱۴۰۳"); "year": a Jalali year (no separator).
COLUMN_KINDS = ("text", "name", "integer", "rials", "days", "year", "month")


@dataclass(frozen=True)
class Column:
    key: str
    label: object            # a (lazy) translated label
    kind: str = "text"       # one of COLUMN_KINDS
    missing: object = "—"    # shown for a missing value (a lazy translated text: "Outside the districts")


@dataclass(frozen=True)
class Panel:
    """One dashboard: rows from `rows()` (a list of dicts keyed by the columns' keys, made by one SQL statement),
    drawn as a chart of `series` (column keys) against `x` (a column key), and offered as CSV."""

    key: str
    title: object
    description: object
    columns: tuple[Column, ...]
    rows: Callable[[], list[dict]]
    x: str
    series: tuple[str, ...]
    chart: str = "bar"       # "bar" or "line" (Chart.js types)
    group: str = ""          # a column whose values make one chart per value (e.g. the district), optional
    order: int = 100
    # The rows' data version (a cheap query: a layer's table versions, the newest ids of append-only tables): with
    # it the dashboards cache the rows under it, so the page costs its SQL only after the data changed. None: the
    # rows are made at every request (or the app caches them itself, as reports/stats.py does).
    version: Callable[[], object] | None = None
    refresh: int = 0         # seconds the cached rows are kept even after the version moved (0: follow every change)
    # When the data last changed, for the catalogue (None: unknown).
    modified: Callable[[], dt.datetime | dt.date | None] = lambda: None
    stacked: bool = False    # the series are stacked (parts of a whole)
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class Distribution:
    title: object
    media_type: str          # "application/geo+json", "text/csv", "application/toml", ...
    url_name: str            # reversed with `args`
    args: tuple = ()
    format: str = ""         # short name shown: "GeoJSON", "CSV", "OGC API Features", "MVT", ...
    query: str = ""          # a query string added to the reversed URL ("layers=parcels&format=gpkg")
    service: bool = False    # an API or service endpoint (dcat:accessURL only), not a file to download


@dataclass(frozen=True)
class Dataset:
    """One entry of the open-data catalogue. `distributions()` and `modified()` are called per request (a layer's
    collections change with the data)."""

    key: str
    title: object
    description: object
    distributions: Callable[[], list[Distribution]]
    modified: Callable[[], dt.datetime | dt.date | None] = lambda: None
    keywords: tuple[str, ...] = ()
    license: str = "CC-BY-4.0"
    theme: str = ""
    order: int = 100
    extra: dict = field(default_factory=dict)
    page: str = ""           # url name of the page people read about it (the catalogue's dcat:landingPage)


PANELS: dict[str, Panel] = {}
DATASETS: dict[str, Dataset] = {}


def register_panel(panel: Panel) -> None:
    bad = [c.kind for c in panel.columns if c.kind not in COLUMN_KINDS]
    keys = {c.key for c in panel.columns}
    if bad or panel.x not in keys or not set(panel.series) <= keys or (panel.group and panel.group not in keys):
        raise ValueError(f"dashboard panel {panel.key!r}: unknown column kinds {bad} or x/series/group not columns")
    if panel.key in PANELS and PANELS[panel.key] != panel:
        raise ValueError(f"dashboard panel {panel.key!r} is registered twice")
    PANELS[panel.key] = panel


def register_dataset(dataset: Dataset) -> None:
    if dataset.key in DATASETS and DATASETS[dataset.key] != dataset:
        raise ValueError(f"dataset {dataset.key!r} is registered twice")
    DATASETS[dataset.key] = dataset


def panels() -> list[Panel]:
    return sorted(PANELS.values(), key=lambda p: (p.order, p.key))


def datasets() -> list[Dataset]:
    return sorted(DATASETS.values(), key=lambda d: (d.order, d.key))
