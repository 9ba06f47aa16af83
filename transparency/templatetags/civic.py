"""Money as people read it on the decisions' and projects' pages: rials with thousands separators, Persian digits on
a Persian page."""

from django import template
from django.utils.translation import gettext as _

from common.jalali import persian_digits
from common.i18n import is_persian

register = template.Library()


@register.filter
def rials(value):
    if value is None or value == "":
        return "—"
    amount = f"{int(value):,}"
    if is_persian():
        amount = persian_digits(amount.replace(",", "٬"))
    return _("%(amount)s rials") % {"amount": amount}
