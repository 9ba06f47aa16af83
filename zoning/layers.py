"""Zoning's published layers (zones and overlays), registered in the layer registry from ZoningConfig.ready."""

from layers.registry import Field, Layer, Style, register

ZONE_COLOURS = (
    ("R", "#f9a825", "مسکونی", "Residential"), ("C", "#d84315", "تجاری", "Commercial"),
    ("M", "#8e24aa", "مختلط", "Mixed use"), ("G", "#2e7d32", "فضای سبز", "Green space"),
    ("I", "#546e7a", "صنعتی", "Industrial"), ("H", "#6d4c41", "تاریخی", "Historic"),
    ("P", "#1565c0", "عمومی", "Public"),
)
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
        Style("polygon", "#5c6bc0", 0.4, fill="#5c6bc0", fill_opacity=0.12, by="code", by_prefix=True,
              classes=ZONE_COLOURS), 3000, 10,
        draw_order=40,
    ))
    register(Layer(
        "overlays", "لایه‌های روی‌نهاده", "Overlays", "zoning_overlay",
        (_s("kind", "نوع", "Kind"), _s("name", "نام", "Name"), _s("name_en", "نام انگلیسی", "English name")),
        Style("mixed", "#757575", 0.5, fill="#757575", fill_opacity=0.25, by="kind", classes=OVERLAY_COLOURS),
        1000, 10, in_portal=False,
        draw_order=80,
    ))
