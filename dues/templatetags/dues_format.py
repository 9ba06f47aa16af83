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


@register.filter
def plain_number(value):
    """A book's number as people read it: whole numbers with thousands separators, others as written (Persian digits
    and separator on Persian pages); not a number: as it is."""
    from decimal import Decimal

    if value is None or value == "" or isinstance(value, bool):
        return "—" if value in (None, "") else value
    if isinstance(value, (int, float, Decimal)):
        if value == int(value):
            return rials(int(value))
        text = format(Decimal(str(value)).normalize(), "f")
        return persian_digits(text) if is_persian() else text
    return value
