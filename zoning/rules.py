"""The kinds of rule a detailed plan (طرح تفصیلی) sets per zone, and the rules of one zone as plain data.

Pure module (no database): the rulebook loader validates file values with RULE_KINDS, the eligibility engine reads
`ZoneRules`. A municipality's rulebook file may use any of these keys; adding a kind of rule means adding it here
and reading it in `zoning/eligibility.py`.

Every rule value carries its citation (document, article) and the date it took effect, so a decision can say which
clause it applied and a past decision can be reproduced with the rules in force on its date.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any, Callable

from common.text import MessageError, gettext_noop

# Rules that apply to every zone unless a zone sets its own value (fault buffer distance, slope threshold, ...).
ALL_ZONES = "*"

# What a rule's value measures, so that it can be written for people (zoning.service words it in the reader's
# language): a number in %, metres, m², floors or parking spaces (a table's rows end in floors or spaces); a list of
# land-use codes; the building band; or a verdict (allowed / conditional / prohibited).
PERCENT, METRES, SQUARE_METRES, FLOORS, SPACES, USES, BAND, VERDICT = (
    "percent", "m", "m2", "floors", "spaces", "uses", "band", "verdict")
VERDICTS = ("allowed", "conditional", "prohibited")


class RuleValueError(MessageError):
    """A rule value that does not fit its kind; the message says what is expected. ``args`` is ``(msgid, params)``:
    the English message template (in the catalogue) and its values (a value as written is given by its repr), so that
    the message is shown in the reader's language (the admin: zoning.models.Rule.clean; the loader's report:
    zoning.rulebook); ``str()`` is the English message."""


def _number(low: float, high: float) -> Callable[[Any], float]:
    def check(value):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise RuleValueError(gettext_noop("must be a number between %(low)s and %(high)s, not %(value)s"),
                                 {"low": low, "high": high, "value": repr(value)})
        if not low <= value <= high:
            raise RuleValueError(gettext_noop("must be between %(low)s and %(high)s, not %(value)s"),
                                 {"low": low, "high": high, "value": value})
        return float(value)
    return check


def _uses(value):
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise RuleValueError(gettext_noop("must be a list of land-use codes, not %(value)s"), {"value": repr(value)})
    if len(set(value)) != len(value):
        raise RuleValueError(gettext_noop("lists a land-use code twice"))
    return list(value)


def _step_table(first: str, second: str, low2: float, high2: float, last_open: bool):
    """A table of [threshold, value] rows with increasing thresholds (e.g. street width -> floors)."""
    check2 = _number(low2, high2)

    def check(value):
        if not isinstance(value, list) or not value:
            raise RuleValueError(gettext_noop("must be a non-empty list of [%(first)s, %(second)s] rows"),
                                 {"first": first, "second": second})
        rows, previous = [], None
        for i, row in enumerate(value):
            if not isinstance(row, list) or len(row) != 2:
                raise RuleValueError(gettext_noop("row %(row)s must be [%(first)s, %(second)s], not %(value)s"),
                                     {"row": i + 1, "first": first, "second": second, "value": repr(row)})
            threshold = row[0]
            if threshold is None or (isinstance(threshold, str) and threshold == "inf"):
                if not (last_open and i == len(value) - 1):
                    raise RuleValueError(gettext_noop("row %(row)s: only the last row may leave %(first)s open"),
                                         {"row": i + 1, "first": first})
                threshold = math.inf
            else:
                threshold = _number(0, 10_000)(threshold)
            if previous is not None and threshold <= previous:
                raise RuleValueError(
                    gettext_noop("row %(row)s: %(first)s must increase (%(value)s after %(previous)s)"),
                    {"row": i + 1, "first": first, "value": threshold, "previous": previous})
            previous = threshold
            rows.append((threshold, check2(row[1])))
        return rows
    return check


def _coverage_band(value):
    if not isinstance(value, dict) or set(value) - {"share", "extra_m", "side"} or "share" not in value:
        raise RuleValueError(gettext_noop("must be a table {share = 0.6, extra_m = 2, side = \"north\"}"))
    side = value.get("side", "north")
    if side not in ("north", "south", "east", "west"):
        raise RuleValueError(gettext_noop("side must be north, south, east or west, not %(value)s"),
                             {"value": repr(side)})
    return {"share": _number(0.05, 1)(value["share"]), "extra_m": _number(0, 100)(value.get("extra_m", 0)),
            "side": side}


def _review(value):
    if value not in VERDICTS:
        raise RuleValueError(gettext_noop("must be allowed, conditional or prohibited, not %(value)s"),
                             {"value": repr(value)})
    return value


@dataclass(frozen=True)
class RuleKind:
    key: str
    title_fa: str
    title_en: str
    check: Callable[[Any], Any]
    unit: str


RULE_KINDS: dict[str, RuleKind] = {k.key: k for k in [
    RuleKind("allowed_uses", "کاربری‌های مجاز", "Allowed land uses", _uses, USES),
    RuleKind("conditional_uses", "کاربری‌های مشروط", "Conditional land uses", _uses, USES),
    RuleKind("prohibited_uses", "کاربری‌های ممنوع", "Prohibited land uses", _uses, USES),
    RuleKind("max_far", "حداکثر تراکم ساختمانی (٪)", "Maximum floor-area ratio (%)", _number(0, 2000), PERCENT),
    RuleKind("max_coverage", "حداکثر سطح اشغال (٪)", "Maximum lot coverage (%)", _number(0, 100), PERCENT),
    RuleKind("floors_by_street_width", "حداکثر طبقات بر حسب عرض معبر", "Maximum floors by street width",
             _step_table("min_street_width_m", "max_floors", 0, 100, last_open=False), FLOORS),
    RuleKind("max_height", "حداکثر ارتفاع (متر)", "Maximum height (m)", _number(0, 500), METRES),
    RuleKind("floor_height", "ارتفاع هر طبقه (متر)", "Height of one floor (m)", _number(2, 10), METRES),
    RuleKind("min_lot_area", "حد نصاب تفکیک: مساحت (متر مربع)", "Minimum lot area for subdivision (m²)",
             _number(0, 1_000_000), SQUARE_METRES),
    RuleKind("min_frontage", "حد نصاب تفکیک: بَر (متر)", "Minimum frontage for subdivision (m)", _number(0, 1000),
             METRES),
    RuleKind("setback_front", "عقب‌سازی از بر معبر (متر)", "Front setback (m)", _number(0, 100), METRES),
    RuleKind("setback_side_rear", "فاصله از حدود جانبی و پشتی (متر)", "Side and rear setback (m)", _number(0, 100),
             METRES),
    RuleKind("parking_by_unit_area", "پارکینگ به ازای هر واحد بر حسب مساحت واحد",
             "Parking spaces per unit by unit area", _step_table("max_unit_area_m2", "spaces", 0, 20, last_open=True),
             SPACES),
    RuleKind("coverage_band", "محدوده استقرار بنا در عمق قطعه", "Building band within the lot's depth",
             _coverage_band, BAND),
    RuleKind("historic_core", "بافت تاریخی", "Historic core", _review, VERDICT),
    RuleKind("floodplain", "حریم سیلاب", "Floodplain", _review, VERDICT),
    RuleKind("fault_buffer_m", "حریم گسل (متر)", "Fault-line buffer (m)", _number(0, 5000), METRES),
    RuleKind("fault_buffer", "ساخت در حریم گسل", "Building within the fault buffer", _review, VERDICT),
    RuleKind("steep_slope_pct", "شیب زیاد (٪)", "Steep slope threshold (%)", _number(0, 1000), PERCENT),
    RuleKind("steep_slope", "ساخت در شیب زیاد", "Building on a steep parcel", _review, VERDICT),
]}


@dataclass(frozen=True)
class Citation:
    document: str
    article: str
    effective_from: dt.date

    def as_dict(self) -> dict:
        return {"document": self.document, "article": self.article, "effective_from": self.effective_from.isoformat()}

    def __str__(self):
        return f"{self.document}, {self.article}"


@dataclass(frozen=True)
class RuleValue:
    value: Any
    citation: Citation


@dataclass(frozen=True)
class ZoneRules:
    """The rules in force for one zone on one date (zone values over the all-zones ones)."""

    zone_code: str
    on_date: dt.date
    rulebook: str
    rulebook_is_demo: bool
    values: dict[str, RuleValue] = field(default_factory=dict)

    def get(self, key: str, default=None):
        rule = self.values.get(key)
        return default if rule is None else rule.value

    def citation(self, key: str) -> Citation | None:
        rule = self.values.get(key)
        return None if rule is None else rule.citation

    def __contains__(self, key):
        return key in self.values


def check_value(key: str, value):
    """The normalised value of a rule, or RuleValueError (unknown key or a value that does not fit)."""
    kind = RULE_KINDS.get(key)
    if kind is None:
        raise RuleValueError(gettext_noop("unknown rule %(key)s (known: %(known)s)"),
                             {"key": repr(key), "known": ", ".join(sorted(RULE_KINDS))})
    return kind.check(value)
