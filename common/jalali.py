"""Jalali (Solar Hijri) dates for display: users think in the Jalali calendar (DOMAIN.md)."""

from common.i18n import is_persian
import jdatetime
from django.utils import timezone

_PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def persian_digits(text) -> str:
    return str(text).translate(_PERSIAN_DIGITS)


def jalali(value, with_time: bool = True) -> str:
    """A datetime or date as a Jalali date (local time), with Persian digits when the language is Persian."""
    if value is None:
        return ""
    if hasattr(value, "hour"):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
        converted = jdatetime.datetime.fromgregorian(datetime=value)
        text = converted.strftime("%Y/%m/%d %H:%M" if with_time else "%Y/%m/%d")
    else:
        text = jdatetime.date.fromgregorian(date=value).strftime("%Y/%m/%d")
    return persian_digits(text) if is_persian() else text
