from common.i18n import is_persian
from django import template

from common.jalali import persian_digits

register = template.Library()


@register.filter
def rials(value):
    """An amount in rials with thousands separators (Persian digits and separator on Persian pages)."""
    if value is None or value == "":
        return "—"
    text = f"{int(value):,}"
    if is_persian():
        return persian_digits(text.replace(",", "٬"))
    return text


@register.filter
def fa_digits(value):
    if value is None:
        return ""
    return persian_digits(value) if is_persian() else value
