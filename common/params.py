"""Request parameters read at the edge, one way for every view: each function takes `params` (request.GET,
request.POST or a dict of parsed JSON) and a parameter name, and returns the value in its Python type or raises
BadParameter (HTTP 400, rendered by common.edge.ErrorMiddleware) with a message naming the parameter, in the
user's language.

What people type is accepted as they type it: Persian (۱۲) and Arabic (١٢) digits, the Arabic decimal separator
(٫) and comma (،), Jalali dates. NUL bytes and absurdly long values are refused before any parsing, so they never
reach the database (psycopg refuses NUL in text; a 10,000-digit number would only waste time).
"""

import datetime
import json
import math
import re
from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from common.errors import BadParameter

# Lengths past which a value cannot be meant (the longest real ones are far shorter): refused unparsed.
NUMBER_MAX_LENGTH = 64
DATE_MAX_LENGTH = 32
BBOX_MAX_LENGTH = 256
CHOICE_MAX_LENGTH = 100
ID_MAX_LENGTH = 20  # digits of a bigint, plus a separator
ID_MAX = 2**63 - 1  # PostgreSQL bigint
JALALI_BEFORE = 1700  # a year below this is a Jalali year (1403), above it a Gregorian one (2024)

_ASCII = str.maketrans({
    **{chr(0x06F0 + i): str(i) for i in range(10)},  # Persian digits
    **{chr(0x0660 + i): str(i) for i in range(10)},  # Arabic-Indic digits
    "\u066b": ".",  # Arabic decimal separator
    "\u066c": ",",  # Arabic thousands separator
    "\u060c": ",",  # Arabic comma (Persian keyboards type it for a comma)
    "\u2212": "-",  # minus sign
})
_INTEGER = re.compile(r"[+-]?[0-9]+")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_DATE = re.compile(r"([0-9]{4})[/-]([0-9]{1,2})[/-]([0-9]{1,2})")


def ascii_digits(text: str) -> str:
    """Persian and Arabic digits and separators as ASCII, the rest unchanged."""
    return text.translate(_ASCII)


def _shown(value) -> str:
    """A value as quoted in a message: bounded, whatever was sent."""
    text = str(value)
    return text if len(text) <= 40 else text[:40] + "…"


def _bound(value) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _raw(params: Mapping[str, Any], name: str, max_length: int, required: bool):
    """The value as sent, or None when absent or empty (then 400 if required); strings checked for NUL bytes and
    length."""
    value = params.get(name)
    if value is None or (isinstance(value, str) and value == ""):
        if required:
            raise BadParameter(_("%(name)s is required") % {"name": name})
        return None
    if isinstance(value, str):
        storable(value, name)
        if len(value) > max_length:
            raise BadParameter(_("%(name)s is longer than %(max)s characters") % {"name": name, "max": max_length})
    return value


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # NUL and lone surrogates: PostgreSQL text cannot hold them


def storable(value: str, name: str) -> str:
    """The text, if PostgreSQL can store it: no NUL byte (psycopg refuses it in text, which would be a 500 deep in a
    view) and no lone surrogate (not encodable as UTF-8); BadParameter naming the parameter otherwise."""
    if _UNSTORABLE.search(value):
        if "\x00" in value:
            raise BadParameter(_("%(name)s must not contain a NUL byte") % {"name": name})
        raise BadParameter(_("%(name)s holds characters that are not text (lone surrogates)") % {"name": name})
    return value


def _check_range(name: str, value, min, max):
    if (min is not None and value < min) or (max is not None and value > max):
        if min is not None and max is not None:
            message = _("%(name)s must be between %(min)s and %(max)s")
        elif min is not None:
            message = _("%(name)s must be at least %(min)s")
        else:
            message = _("%(name)s must be at most %(max)s")
        raise BadParameter(message % {"name": name, "min": _bound(min), "max": _bound(max)})
    return value


def _to_int(name: str, value) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = ascii_digits(value).strip()
        if _INTEGER.fullmatch(text):
            return int(text)
    raise BadParameter(_("%(name)s '%(value)s' must be a whole number") % {"name": name, "value": _shown(value)})


def _to_float(name: str, value) -> float:
    number = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        text = ascii_digits(value).strip()
        if _NUMBER.fullmatch(text):
            number = float(text)
    if number is None or not math.isfinite(number):
        raise BadParameter(_("%(name)s '%(value)s' is not a number") % {"name": name, "value": _shown(value)})
    return number


def integer(params, name: str, *, default=None, required=False, min=None, max=None) -> int | None:
    """A whole number (ids, limits, years), within [min, max] when given."""
    value = _raw(params, name, NUMBER_MAX_LENGTH, required)
    if value is None:
        return default
    return _check_range(name, _to_int(name, value), min, max)


def number(params, name: str, *, default=None, required=False, min=None, max=None) -> float | None:
    """A finite number (coordinates, areas), within [min, max] when given."""
    value = _raw(params, name, NUMBER_MAX_LENGTH, required)
    if value is None:
        return default
    return _check_range(name, _to_float(name, value), min, max)


def date(params, name: str, *, default=None, required=False) -> datetime.date | None:
    """A day, as people write it here: Jalali 1403/05/12 or 1403-05-12 (a year below 1700), or ISO 2024-08-02;
    with Persian or Arabic digits. Returned as a Gregorian datetime.date."""
    import jdatetime

    value = _raw(params, name, DATE_MAX_LENGTH, required)
    if value is None:
        return default
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value
    match = _DATE.fullmatch(ascii_digits(str(value)).strip())
    if match is None:
        raise BadParameter(_("%(name)s '%(value)s' is not a date: write it as 1403/05/12 (Jalali) or 2024-08-02")
                           % {"name": name, "value": _shown(value)})
    year, month, day = (int(part) for part in match.groups())
    try:
        if year < JALALI_BEFORE:
            return jdatetime.date(year, month, day).togregorian()
        return datetime.date(year, month, day)
    except ValueError:  # 1404/12/30 (not a leap year), 2024-02-30, month 13 ...
        message = (_("%(name)s '%(value)s' is not a valid Jalali date") if year < JALALI_BEFORE
                   else _("%(name)s '%(value)s' is not a valid date"))
        raise BadParameter(message % {"name": name, "value": _shown(value)}) from None


def bbox(params, name: str = "bbox", *, required=False,
         geographic=True) -> tuple[float, float, float, float] | None:
    """minx,miny,maxx,maxy: longitude/latitude in WGS84, min below max and within ±180/±90. geographic=False
    (a box in another CRS, e.g. OGC API's bbox-crs) checks only that min is below max. A dict may hold a list."""
    value = _raw(params, name, BBOX_MAX_LENGTH, False)
    if value is None:
        if required:
            raise BadParameter(_("%(name)s is required: %(name)s=minlon,minlat,maxlon,maxlat (WGS84)")
                               % {"name": name})
        return None
    parts = ascii_digits(value).split(",") if isinstance(value, str) else value
    listed = isinstance(value, (list, tuple))
    shown = {"name": name, "value": _shown(",".join(map(str, value)) if listed else value)}
    try:
        box = tuple(_to_float(name, part) for part in parts)
    except (BadParameter, TypeError):
        box = ()
    if len(box) != 4:
        raise BadParameter(_("%(name)s '%(value)s' must be four numbers: minlon,minlat,maxlon,maxlat") % shown)
    minx, miny, maxx, maxy = box
    if not geographic:
        if not (minx < maxx and miny < maxy):
            raise BadParameter(_("%(name)s '%(value)s': min must be below max") % shown)
    elif not (-180 <= minx < maxx <= 180 and -90 <= miny < maxy <= 90):
        raise BadParameter(_("%(name)s '%(value)s' is not a valid longitude/latitude box "
                             "(min < max, within ±180/±90)") % shown)
    return box


def id_list(params, name: str, *, max_count=1000) -> list[int]:
    """Positive ids, comma-separated (ids=3,5,8) or repeated (ids=3&ids=5); in a dict, a list. Duplicates are
    dropped, the order kept; none given is an empty list."""
    if hasattr(params, "getlist"):
        values = [v for v in params.getlist(name) if v != ""]
        value = ",".join(values) if values else None
    else:
        value = params.get(name)
    if value is None or value == "" or value == []:
        return []
    if isinstance(value, str):
        value = _raw({name: value}, name, max_count * ID_MAX_LENGTH, False)
        parts = [p.strip() for p in ascii_digits(value).split(",")]
    elif isinstance(value, (list, tuple)):
        parts = list(value)
    else:
        parts = [value]
    ids = []
    for part in parts:
        try:
            ids.append(_check_range(name, _to_int(name, part), 1, ID_MAX))
        except BadParameter:
            raise BadParameter(_("%(name)s must be ids separated by commas, e.g. 3,5,8; not '%(value)s'")
                               % {"name": name, "value": _shown(part)}) from None
    ids = list(dict.fromkeys(ids))
    if len(ids) > max_count:
        raise BadParameter(_("%(name)s names more than %(max)s ids") % {"name": name, "max": max_count})
    return ids


def text(params, name: str, *, default="", max_length=200, required=False) -> str:
    """Text as sent (not stripped), at most max_length characters; required means not blank."""
    value = _raw(params, name, max_length, required)
    if value is None:
        return default
    if not isinstance(value, str):
        raise BadParameter(_("%(name)s must be text") % {"name": name})
    if required and not value.strip():
        raise BadParameter(_("%(name)s is required") % {"name": name})
    return value


def choice(params, name: str, choices, *, default=None) -> str | None:
    """One of `choices` (exactly as listed), or default when absent."""
    value = _raw(params, name, CHOICE_MAX_LENGTH, False)
    if value is None:
        return default
    if not isinstance(value, str) or value not in choices:
        raise BadParameter(_("%(name)s must be one of: %(choices)s") % {"name": name, "choices": ", ".join(choices)})
    return value


# -- JSON sent by people ---------------------------------------------------------------------------------------

JSON_MAX_DEPTH = 32  # a proposal or a GeoJSON MultiPolygon is nested 5 deep
JSON_NUMBER_MAX_LENGTH = 64  # digits of a number: a longer one is not meant (and 400 digits overflow a float)


class _Refused(str):
    """A number JSON text holds that is not taken (too long, not finite, NaN): reported with where it was."""


def json_value(text, name: str = "body", *, fields_named_bare: bool = False):
    """JSON text (str or bytes) parsed safely: nested at most JSON_MAX_DEPTH deep (checked before parsing, so a
    50,000-deep array cannot exhaust the stack), numbers finite and of at most JSON_NUMBER_MAX_LENGTH characters (a
    400-digit integer would overflow a float later), no NaN or Infinity, no text PostgreSQL cannot store (NUL, lone
    surrogates). BadParameter otherwise, naming where the value is: `lines.coordinates[0][1]` under `name`, or
    with fields_named_bare (a body's fields) `floors`, `footprint.coordinates[0]`; `name` for the whole."""
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            raise BadParameter(_("%(name)s is not UTF-8 text") % {"name": name}) from None
    if _depth(text) > JSON_MAX_DEPTH:
        raise BadParameter(_("%(name)s is nested more than %(max)s deep") % {"name": name, "max": JSON_MAX_DEPTH})

    def number(kind):
        def parse(literal: str):
            if len(literal) > JSON_NUMBER_MAX_LENGTH:
                return _Refused(literal)
            value = kind(literal)
            return value if math.isfinite(value) else _Refused(literal)
        return parse

    try:
        value = json.loads(text, parse_int=number(int), parse_float=number(float), parse_constant=_Refused)
    except (ValueError, RecursionError):
        raise BadParameter(_("%(name)s is not valid JSON.") % {"name": name}) from None
    _check_values(value, name, "" if fields_named_bare else name)
    return value


def _check_values(value, name: str, root: str) -> None:
    """Every refused number and every string of parsed JSON, each named by where it is (below `root`)."""
    stack = [(value, root)]
    while stack:
        item, path = stack.pop()
        where = path or name
        if isinstance(item, _Refused):
            raise BadParameter(_("%(name)s must be a finite number of at most %(max)s characters, not %(value)s")
                               % {"name": where, "max": JSON_NUMBER_MAX_LENGTH, "value": _shown(str(item))})
        if isinstance(item, str):
            storable(item, where)
        elif isinstance(item, dict):  # pushed last first: the first bad value in the text is the one named
            for key in item:
                storable(key, where)
            stack.extend((val, f"{path}.{key}" if path else key) for key, val in reversed(item.items()))
        elif isinstance(item, list):
            stack.extend((item[i], f"{path}[{i}]") for i in range(len(item) - 1, -1, -1))


def _depth(text: str) -> int:
    """How deep JSON text nests its arrays and objects (brackets inside strings not counted)."""
    from itertools import accumulate

    if "[" not in text and "{" not in text:
        return 0
    brackets = re.sub(r'"(?:[^"\\]|\\.)*"?', "", text, flags=re.DOTALL)
    steps = [1 if c in "[{" else -1 for c in brackets if c in "[]{}"]
    return max(accumulate(steps), default=0)


def json_object(text, name: str = "body") -> dict:
    """A request body that must be a JSON object, parsed by json_value (empty: {})."""
    value = json_value(text or b"{}", name, fields_named_bare=True)
    if not isinstance(value, dict):
        raise BadParameter(_("%(name)s must be a JSON object.") % {"name": name})
    return value
