from django import template
from django.utils.translation import get_language

from gis_portal.jalali import persian_digits

register = template.Library()


@register.filter
def rials(value):
    """An amount in rials with thousands separators (Persian digits and separator on Persian pages)."""
    if value is None or value == "":
        return "—"
    text = f"{int(value):,}"
    if (get_language() or "fa").startswith("fa"):
        return persian_digits(text.replace(",", "٬"))
    return text


@register.filter
def fa_digits(value):
    if value is None:
        return ""
    return persian_digits(value) if (get_language() or "fa").startswith("fa") else value
