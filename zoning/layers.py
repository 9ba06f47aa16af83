"""Zoning's published layers (zones and overlays), registered in the layer registry from ZoningConfig.ready."""

import colorsys
import re
import zlib

from django.db import connection

from layers.registry import Field, Layer, Style, register

COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")


def fallback_colour(code: str) -> str:
    """The colour of a zone code that has none in the data: a hue from a hash of the code (the same code gets the
    same colour in every city, export and session), mid saturation and lightness so outlines and fills read on the
    light map."""
    hue = (zlib.crc32(code.encode("utf-8")) % 360) / 360.0
    r, g, b = colorsys.hls_to_rgb(hue, 0.45, 0.6)
    return "#%02x%02x%02x" % (round(r * 255), round(g * 255), round(b * 255))


def zone_classes() -> tuple[tuple[str, str, str, str], ...]:
    """One legend class per zone code loaded: (code, colour, Persian name, English name). The colour is the zones'
    own (`zoning_zone.colour`, the most common valid one among the code's zones), else the fallback palette's; the
    names are the zones' (the code itself when they have none)."""
    with connection.cursor() as cursor:
        cursor.execute(r"""
            SELECT code,
                   mode() WITHIN GROUP (ORDER BY lower(colour)) FILTER (WHERE colour ~ '^#[0-9A-Fa-f]{6}$'),
                   min(name) FILTER (WHERE name <> ''), min(name_en) FILTER (WHERE name_en <> '')
            FROM zoning_zone GROUP BY code ORDER BY code""")
        rows = cursor.fetchall()
    return tuple((code, colour if colour and COLOUR.match(colour) else fallback_colour(code),
                  name or name_en or code, name_en or name or code)
                 for code, colour, name, name_en in rows)


OVERLAY_COLOURS = (
    ("historic_core", "#6d4c41", "بافت تاریخی", "Historic core"), ("river", "#0277bd", "رودخانه", "River"),
    ("floodplain", "#4fc3f7", "حریم سیلاب", "Floodplain"), ("fault_line", "#c62828", "گسل", "Fault line"),
    ("other", "#757575", "سایر", "Other"),
)


def _s(name, title, title_en):
    return Field(name, f"t.{name}", "string", title, title_en)


def register_layers():
    register(Layer(
        "zoning", "پهنه‌بندی", "Zoning", "zoning_zone",
        (_s("code", "کد پهنه", "Zone code"), _s("name", "نام پهنه", "Zone name")),
        Style("polygon", "#5c6bc0", 0.4, fill="#5c6bc0", fill_opacity=0.12, by="code", classes_from=zone_classes),
        3000, 10,
        draw_order=40,
    ))
    register(Layer(
        "overlays", "لایه‌های روی‌نهاده", "Overlays", "zoning_overlay",
        (_s("kind", "نوع", "Kind"), _s("name", "نام", "Name"), _s("name_en", "نام انگلیسی", "English name")),
        Style("mixed", "#757575", 0.5, fill="#757575", fill_opacity=0.25, by="kind", classes=OVERLAY_COLOURS),
        1000, 10, in_portal=False,
        draw_order=80,
    ))
