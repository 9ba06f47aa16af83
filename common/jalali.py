"""Jalali (Solar Hijri) dates for display: users think in the Jalali calendar (DOMAIN.md)."""

import datetime
import functools

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


def gregorian_to_jalali_years(years) -> list[int]:
    """Gregorian years as Jalali years, for data that keeps a year without a date (a building's year of construction).
    The Jalali year starts at Nowruz (about 21 March), so a Gregorian year Y holds the end of Jalali Y-622 and, from
    Nowruz on, most of Y-621: the year Y-621 is the one a date in it most likely falls in (the same convention
    registries use when they convert a bare year). Taken from the calendar at 1 July, not from a constant."""
    out = []
    for year in years:
        year = int(year)
        if 623 <= year <= 9999:
            out.append(jdatetime.date.fromgregorian(year=year, month=7, day=1).year)
        else:  # before the Jalali era's first year or beyond jdatetime's range: the same offset
            out.append(year - 621)
    return out


@functools.cache
def month_starts(first_year: int = 1370, last_year: int = 1430) -> tuple[tuple[int, int, datetime.date], ...]:
    """(Jalali year, month, Gregorian first day) of every month of the years first_year..last_year: the thresholds
    SQL buckets timestamps by (width_bucket) to count per Jalali month in one statement."""
    return tuple((y, m, jdatetime.date(y, m, 1).togregorian())
                 for y in range(first_year, last_year + 1) for m in range(1, 13))
