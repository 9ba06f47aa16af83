from django import template
from django.utils.translation import get_language

from gis_portal.jalali import jalali as to_jalali
from gis_portal.jalali import persian_digits

register = template.Library()


@register.filter
def digits(value):
    """Persian digits when the page is Persian."""
    if value is None or value == "":
        return value
    return persian_digits(value) if (get_language() or "fa").startswith("fa") else value


@register.filter
def jalali(value):
    return to_jalali(value)
