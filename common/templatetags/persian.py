from common.i18n import is_persian
from django import template

from common.jalali import jalali as to_jalali
from common.jalali import persian_digits

register = template.Library()


@register.filter
def digits(value):
    """Persian digits when the page is Persian."""
    if value is None or value == "":
        return value
    return persian_digits(value) if is_persian() else value


@register.filter
def jalali(value):
    return to_jalali(value)
