"""What other apps publish through the transparency pages: dashboard panels and open-data catalogue entries.

An app registers from its AppConfig.ready() (apps above this one: dues, zoning, reports, permits, layers' own
registry is read directly). The dashboards page draws every panel (a chart and a table, and its CSV); the catalogue
lists every dataset (HTML and DCAT-style JSON)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class Column:
    key: str
    label: object            # a (lazy) translated label


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


@dataclass(frozen=True)
class Distribution:
    title: object
    media_type: str          # "application/geo+json", "text/csv", "application/toml", ...
    url_name: str            # reversed with `args`
    args: tuple = ()
    format: str = ""         # short name shown: "GeoJSON", "CSV", "OGC API Features", "MVT", ...


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


PANELS: dict[str, Panel] = {}
DATASETS: dict[str, Dataset] = {}


def register_panel(panel: Panel) -> None:
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
