"""Filters for what people read in the interface's language: digits, dates, and data kept in two languages.

Templates carry no language branches (no ``{% if fa %}``): interface text goes through ``{% translate %}``, and the
choice between a record's Persian and English values is made here, by ``common.i18n.is_persian``."""

import datetime as dt

from django import template
from django.utils import timezone

from common import municipality, params
from common.errors import BadParameter
from common.i18n import is_persian
from common.jalali import jalali as to_jalali
from common.jalali import persian_digits

register = template.Library()

_MISSING = object()


def _get(obj, name):
    """A dict's key or an object's attribute; _MISSING when it has neither."""
    if isinstance(obj, dict):
        return obj.get(name, _MISSING)
    return getattr(obj, name, _MISSING)


def _present(value) -> bool:
    return value is not _MISSING and value not in (None, "")


@register.filter
def digits(value):
    """Persian digits when the page is Persian."""
    if value is None or value == "":
        return value
    return persian_digits(value) if is_persian() else value


@register.filter
def localized(obj, field=None):
    """A value kept in both languages, in the page's language: ``{{ zone|localized:"name" }}`` is the zone's
    ``name_fa`` (or ``name``) on a Persian page and its ``name_en`` on an English one, falling back to the Persian
    value when there is no English one (a street named only in Persian). Without a field, ``obj`` is a
    ``{"fa": ..., "en": ...}`` pair; a plain string (already in the page's language) is returned as it is."""
    if obj is None or obj == "":
        return ""
    if isinstance(obj, str):
        return obj
    if field is None:
        persian, english = _get(obj, "fa"), _get(obj, "en")
    else:
        persian = _get(obj, f"{field}_fa")
        if not _present(persian):
            persian = _get(obj, field)
        english = _get(obj, f"{field}_en")
    if not is_persian() and _present(english):
        return english
    return persian if _present(persian) else (english if _present(english) else "")


@register.simple_tag
def municipality_name():
    """The current municipality's name in the page's language (its name, or name_en in English when it has one),
    for every page, error pages included: ``{% municipality_name %}`` or ``{% municipality_name as name %}``."""
    city = municipality.current()
    if is_persian() or not city.name_en:
        return city.name
    return city.name_en


def _as_date(value):
    """A date or datetime as it is; an ISO date or datetime string parsed (JSON-ready data carries dates so)."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value
    text = str(value).strip()
    try:
        return dt.datetime.fromisoformat(text) if "T" in text or " " in text else dt.date.fromisoformat(text)
    except ValueError:
        return None


@register.filter
def localized_date(value, with_time=""):
    """A date people read: Jalali with Persian digits on a Persian page (``۱۴۰۳/۰۵/۱۲``), Gregorian ISO on an
    English one (``2024-08-02``). ``|localized_date:"time"`` adds the local time of a datetime. A value that is
    not a date is shown as it is."""
    if value is None or value == "":
        return ""
    parsed = _as_date(value)
    if parsed is None:
        return value
    show_time = bool(with_time) and isinstance(parsed, dt.datetime)
    if is_persian():
        if isinstance(parsed, dt.datetime) and not show_time:
            parsed = (timezone.localtime(parsed) if timezone.is_aware(parsed) else parsed).date()
        return to_jalali(parsed, with_time=show_time)
    if isinstance(parsed, dt.datetime):
        parsed = timezone.localtime(parsed) if timezone.is_aware(parsed) else parsed
        return parsed.strftime("%Y-%m-%d %H:%M") if show_time else parsed.date().isoformat()
    return parsed.isoformat()


@register.filter
def jalali(value):
    """Always Jalali (local time), Persian digits on a Persian page."""
    return to_jalali(value)


@register.filter
def jalali_input(value):
    """The value of a date input (the Jalali date picker's field), shown in Jalali (Persian digits on a Persian
    page) whether it was typed in Jalali or ISO; what cannot be read as a date is shown back as it was typed."""
    if value is None or value == "":
        return ""
    try:
        day = params.date({"value": value}, "value")
    except BadParameter:
        return value
    return to_jalali(day, with_time=False)
