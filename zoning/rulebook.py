"""The rulebook as data: reading a municipality's rulebook file, and the rules in force on a date.

A rulebook file (TOML, see data/rulebook/demo.toml) names the approved document and the date it takes effect, then
the rules per zone code (and under "*" those for every zone). Each rule is either a table
``{value = ..., article = "...", document = "...", effective_from = 2026-03-21}`` (document and date default to the
rulebook's) or a list of such tables: later entries are amendments in force from their own date.

Loading is all-or-nothing: every problem in the file is reported (with its place in the file) and nothing is written
unless there are none.

Problems leave here as message templates (`Text`, as the eligibility engine's notes do), worded in the active language
where they are shown (`Problem.words()`: the load_rulebook report), so a loader run in Persian reports in Persian.
"""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

from django.db import transaction
from django.utils.translation import gettext, gettext_noop

from zoning.eligibility import Text
from zoning.rules import ALL_ZONES, RULE_KINDS, Citation, RuleValue, RuleValueError, ZoneRules, check_value

USE_KEYS = ("allowed_uses", "conditional_uses", "prohibited_uses")


def words(text: Text) -> str:
    """A message of this module in the active language (figures as Text writes them)."""
    return str(replace(text, msgid=gettext(text.msgid)))


@dataclass(frozen=True)
class Problem:
    """One problem of a rulebook file: where it is (as written in the file, e.g. "zones.R1.max_far[2]", or the file's
    path; empty for what concerns the file as a whole) and what is wrong. str() is the English."""

    place: str
    text: Text

    def __str__(self):
        return f"{self.place}: {self.text}" if self.place else str(self.text)

    def words(self) -> str:
        """The problem in the active language; the place stays as written in the file."""
        return f"{self.place}: {words(self.text)}" if self.place else words(self.text)


def _problem(place: str, msgid: str, **params) -> Problem:
    return Problem(place, Text(msgid, params))


class RulebookError(Exception):
    """A rulebook file that cannot be loaded; `problems` lists every reason, each with its place in the file."""

    def __init__(self, problems: list[Problem]):
        super().__init__("\n".join(map(str, problems)))
        self.problems = problems


@dataclass
class ParsedRulebook:
    code: str
    title: str
    title_en: str
    document: str
    effective_from: dt.date
    effective_to: dt.date | None
    is_demo: bool
    rules: list[dict] = field(default_factory=list)   # zone_code, key, value, document, article, effective_from

    def summary(self) -> Text:
        zones = sorted({r["zone_code"] for r in self.rules})
        return Text(gettext_noop("rulebook %(code)s: %(rules)s rules for %(zones)s zone codes (%(codes)s), in force "
                                 "from %(date)s"),
                    {"code": self.code, "rules": len(self.rules), "zones": len(zones), "codes": ", ".join(zones),
                     "date": self.effective_from.isoformat()})


def _date(value, where: str, problems: list[Problem]):
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    problems.append(_problem(where, gettext_noop("%(value)s is not a date (write 2026-03-21)"), value=repr(value)))
    return None


def parse_rulebook(path: Path, land_uses: set[str]) -> ParsedRulebook:
    """Read and check a rulebook file against the known land-use codes; RulebookError lists every problem."""
    problems: list[Problem] = []
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise RulebookError([_problem(str(path), gettext_noop("no such file"))]) from None
    except tomllib.TOMLDecodeError as exc:
        # The parser's own words (English) say where and what.
        raise RulebookError([_problem(str(path), gettext_noop("not valid TOML: %(error)s"), error=str(exc))]) from None

    head = data.get("rulebook")
    if not isinstance(head, dict):
        raise RulebookError([_problem(
            str(path), gettext_noop("a [rulebook] table (code, title, document, effective_from) is required"))])
    for name in ("code", "title", "document", "effective_from"):
        if not head.get(name):
            problems.append(_problem("[rulebook]", gettext_noop("%(name)s is required"), name=name))
    unknown_head = set(head) - {"code", "title", "title_en", "document", "effective_from", "effective_to", "is_demo"}
    if unknown_head:
        problems.append(_problem("[rulebook]", gettext_noop("unknown fields %(fields)s"),
                                 fields=", ".join(sorted(unknown_head))))
    start = _date(head.get("effective_from"), "[rulebook] effective_from", problems) if head.get("effective_from") else None
    end = _date(head["effective_to"], "[rulebook] effective_to", problems) if head.get("effective_to") else None
    if start and end and end <= start:
        problems.append(_problem("[rulebook]", gettext_noop("effective_to must be after effective_from")))
    book = ParsedRulebook(code=str(head.get("code", "")), title=str(head.get("title", "")),
                          title_en=str(head.get("title_en", "")), document=str(head.get("document", "")),
                          effective_from=start, effective_to=end, is_demo=bool(head.get("is_demo", False)))

    zones = data.get("zones")
    if not isinstance(zones, dict) or not zones:
        problems.append(_problem("", gettext_noop("[zones.<code>] tables with the rules of each zone are required")))
        zones = {}
    unknown_top = set(data) - {"rulebook", "zones"}
    if unknown_top:
        problems.append(_problem("", gettext_noop("unknown top-level tables %(tables)s (expected [rulebook], "
                                                  "[zones.*])"), tables=", ".join(sorted(unknown_top))))

    for zone_code, rules in zones.items():
        if not isinstance(rules, dict):
            problems.append(_problem(f"[zones.{zone_code}]", gettext_noop("must be a table of rules")))
            continue
        for key, entries in rules.items():
            where = f"zones.{zone_code}.{key}"
            if key not in RULE_KINDS:
                problems.append(_problem(where, gettext_noop("unknown rule (known: %(known)s)"),
                                         known=", ".join(sorted(RULE_KINDS))))
                continue
            entries = entries if isinstance(entries, list) and entries and isinstance(entries[0], dict) else [entries]
            seen_dates = set()
            for n, entry in enumerate(entries):
                place = where if len(entries) == 1 else f"{where}[{n + 1}]"
                if not isinstance(entry, dict) or "value" not in entry:
                    problems.append(_problem(place, gettext_noop("write { value = ..., article = \"...\" }")))
                    continue
                extra = set(entry) - {"value", "article", "document", "effective_from"}
                if extra:
                    problems.append(_problem(place, gettext_noop("unknown fields %(fields)s"),
                                             fields=", ".join(sorted(extra))))
                if not entry.get("article"):
                    problems.append(_problem(place, gettext_noop("article (the clause cited) is required")))
                try:
                    normalised = check_value(key, entry["value"])
                except RuleValueError as exc:
                    problems.append(Problem(place, Text(exc.msgid, exc.params)))
                    continue
                if key in USE_KEYS:
                    unknown = [u for u in normalised if u not in land_uses]
                    if unknown:
                        problems.append(_problem(place, gettext_noop("unknown land-use codes %(codes)s"),
                                                 codes=", ".join(unknown)))
                when = (_date(entry["effective_from"], f"{place} effective_from", problems)
                        if "effective_from" in entry else start)
                if when and start and when < start:
                    problems.append(_problem(
                        place, gettext_noop("effective_from %(date)s is before the rulebook's %(start)s"),
                        date=when.isoformat(), start=start.isoformat()))
                if when in seen_dates:
                    problems.append(_problem(place, gettext_noop("two entries take effect on %(date)s"),
                                             date=when and when.isoformat()))
                seen_dates.add(when)
                book.rules.append({"zone_code": zone_code, "key": key, "value": entry["value"],
                                   "document": str(entry.get("document") or book.document),
                                   "article": str(entry.get("article", "")), "effective_from": when})
        # A use in two of the allowed / conditional / prohibited lists is a contradiction in the plan.
        lists = {k: set(rules[k]["value"]) for k in USE_KEYS
                 if isinstance(rules.get(k), dict) and isinstance(rules[k].get("value"), list)}
        for a in USE_KEYS:
            for b in USE_KEYS:
                if a < b and a in lists and b in lists and lists[a] & lists[b]:
                    problems.append(_problem(f"zones.{zone_code}",
                                             gettext_noop("%(uses)s in both %(first)s and %(second)s"),
                                             uses=", ".join(sorted(lists[a] & lists[b])), first=a, second=b))
    if problems:
        raise RulebookError(problems)
    return book


@transaction.atomic
def save_rulebook(book: ParsedRulebook, source: str = ""):
    """Write a checked rulebook: a new version, or the same code replaced (its rules' history is kept)."""
    from zoning.models import Rule, Rulebook

    rulebook, _created = Rulebook.objects.update_or_create(
        code=book.code,
        defaults={"title": book.title, "title_en": book.title_en, "document": book.document,
                  "effective_from": book.effective_from, "effective_to": book.effective_to,
                  "is_demo": book.is_demo, "source": source},
    )
    wanted = {(r["zone_code"], r["key"], r["effective_from"]): r for r in book.rules}
    for rule in rulebook.rules.all():
        spec = wanted.pop((rule.zone_code, rule.key, rule.effective_from), None)
        if spec is None:
            rule.delete()
        elif (rule.value, rule.document, rule.article) != (spec["value"], spec["document"], spec["article"]):
            rule.value, rule.document, rule.article = spec["value"], spec["document"], spec["article"]
            rule.save()
    for spec in wanted.values():
        Rule.objects.create(rulebook=rulebook, **spec)
    return rulebook


_IN_FORCE = """
SELECT b.code, b.is_demo, r.zone_code, r.key, r.value, r.document, r.article, r.effective_from
FROM zoning_rule r JOIN zoning_rulebook b ON b.id = r.rulebook_id
WHERE b.id = (SELECT id FROM zoning_rulebook
              WHERE effective_from <= %(on)s AND (effective_to IS NULL OR effective_to > %(on)s)
              ORDER BY effective_from DESC, id DESC LIMIT 1)
  AND r.zone_code IN (%(zone)s, %(all)s) AND r.effective_from <= %(on)s
ORDER BY r.effective_from
"""


def rules_in_force(zone_code: str, on_date: dt.date | None = None) -> ZoneRules | None:
    """The rules of a zone in force on a date (today by default), or None when no rulebook is in force then.

    The one place the question "which rules applied on date D" is answered: the latest rulebook in force on D; in it,
    for each rule, the latest amendment in force on D; a zone's own value over the all-zones ('*') one."""
    from django.db import connection

    on_date = on_date or dt.date.today()
    with connection.cursor() as cursor:
        cursor.execute(_IN_FORCE, {"on": on_date, "zone": zone_code, "all": ALL_ZONES})
        rows = cursor.fetchall()
    if not rows:
        return None
    values: dict[str, RuleValue] = {}
    chosen: dict[str, tuple] = {}
    for code, is_demo, zone, key, value, document, article, since in rows:
        rank = (zone != ALL_ZONES, since)        # zone-specific beats all-zones; later amendment beats earlier
        if key not in chosen or rank >= chosen[key]:
            chosen[key] = rank
            value = json.loads(value) if isinstance(value, str) else value   # jsonb arrives as text
            values[key] = RuleValue(check_value(key, value), Citation(document, article, since))
    return ZoneRules(zone_code=zone_code, on_date=on_date, rulebook=rows[0][0], rulebook_is_demo=rows[0][1],
                     values=values)
