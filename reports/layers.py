"""The reports' public layer: every report anyone may see, at its public place, coloured by its category (the
layer registry publishes it as vector tiles, an OGC API Features collection and exports; layers/registry.py).

It reads the view reports_public_report (reports migration 0002: no reporter, no phone number, no description, no
merged duplicate); its version follows the view's base tables (`reads`), whose data-version triggers
layers/versions.py adds after every migrate. At low zoom the map draws the aggregated tiles of reports/clusters.py
instead (one circle per grid cell), since a tile of a whole city of reports is too many points."""

from django.db import connection

from common import municipality
from layers.registry import LAYERS, Field, Layer, Style, register

NAME = "reports"
# Points from this zoom on: the zoom the public map switches from clusters (reports/clusters.py) to points
# (public_views.py gives it to public_map.js as `pointsFrom`); below it the layer's tiles are empty.
MIN_ZOOM = 15
# At most this many points in one tile: a z15 tile of a dense centre holds tens of thousands of reports (1M reports
# on a 100k-parcel city: ~70k), more than a 256 px tile can show apart, and each costs bytes and drawing time.
MAX_TILE_POINTS = 10_000


def _date(column: str) -> str:
    """A timestamp as the local day it fell on, ISO (YYYY-MM-DD): what a map or a spreadsheet shows."""
    zone = municipality.current().time_zone.replace("'", "")
    return f"to_char(t.{column} AT TIME ZONE '{zone}', 'YYYY-MM-DD')"


def category_classes() -> tuple[tuple[str, str, str, str], ...]:
    """One legend class per category: (code, colour, Persian name, English name), from the data."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT code, colour, name, coalesce(nullif(name_en, ''), name) FROM reports_category "
                       "ORDER BY \"order\", code")
        return tuple(tuple(row) for row in cursor.fetchall())


def layer() -> Layer:
    return LAYERS[NAME]


def register_layers():
    if NAME in LAYERS:
        return
    register(Layer(
        NAME, "گزارش‌های مردمی (۱۳۷)", "Reported problems (137)", "reports_public_report",
        (Field("code", "t.code", "string", "کد پیگیری", "Tracking code"),
         Field("category", "t.category", "string", "موضوع (کد)", "Category (code)"),
         Field("category_name", "t.category_name", "string", "موضوع", "Category", filterable=False),
         Field("category_name_en", "t.category_name_en", "string", "موضوع (انگلیسی)", "Category (English)",
               filterable=False),
         Field("colour", "t.colour", "string", "رنگ", "Colour", filterable=False),
         Field("approximate", "t.approximate", "boolean", "مکان تقریبی (بلوک)", "Place shown at its block"),
         Field("status", "t.status", "string", "وضعیت", "Status"),
         Field("open", "t.open", "boolean", "باز", "Open"),
         Field("created", _date("created_at"), "string", "تاریخ گزارش", "Reported on", filterable=False),
         Field("resolved", _date("resolved_at"), "string", "تاریخ رفع", "Resolved on", filterable=False),
         Field("days_to_fix", "t.days_to_fix", "real", "روزهای رفع", "Days to fix", filterable=False),
         Field("voices", "t.voices", "integer", "هم‌صدا", "Voices", filterable=False)),
        Style("point", "#37474f", 0.3, fill="#e65100", by="category", classes_from=category_classes),
        5000, MIN_ZOOM, MAX_TILE_POINTS,
        detail_zoom=15, overview_fields=("code", "category", "colour", "status", "open"),
        reads=("reports_report", "reports_category"),  # the view's base tables (reports migration 0002)
        in_portal=False,  # the reports have their own map page (/reports/map/), with clusters at low zoom
        description_en="Problems citizens reported (the 137 line), at their public place: a report about a home is "
                       "shown at its block. No personal data.",
        draw_order=95,
    ))
