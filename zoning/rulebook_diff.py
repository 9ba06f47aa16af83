"""What changed between two versions of the detailed plan's rules (two rulebooks), and the amendments inside one.

Pure (no Django, no database): rules come in as the rows zoning.models.Rule stores, as dicts (zone_code, key, value,
document, article, effective_from); the answers are plain data the public rulebook pages render
(zoning/public_pages.py).

A rulebook's rule is a (zone code, key) pair; several rows of one pair are the rule and its amendments, the latest
in force. Two versions are compared rule by rule as each stands with its amendments applied: a rule is added,
removed, or changed in its value and/or its citation (document, clause).

Which zones a change reaches follows how the rules apply (zoning.rulebook.rules_in_force): a zone's own rule over
the all-zones ("*") one. So a changed all-zones rule reaches every zone that does not set that rule itself, and
`affected_zones` compares each zone's effective values; a change of citation alone changes nothing on the ground.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ALL_ZONES = "*"
ADDED, REMOVED, CHANGED = "added", "removed", "changed"


@dataclass
class RuleChange:
    key: str
    status: str                  # ADDED, REMOVED or CHANGED
    old: dict | None             # the rule as it stands in the older version (latest amendment)
    new: dict | None
    value_changed: bool = False
    citation_changed: bool = False


@dataclass
class ZoneDiff:
    zone_code: str
    changes: list[RuleChange] = field(default_factory=list)


def standing(rules: list[dict]) -> dict[tuple[str, str], dict]:
    """Each (zone, key) rule as it stands with every amendment applied (the row with the latest effective date)."""
    out: dict[tuple[str, str], dict] = {}
    for rule in sorted(rules, key=lambda r: r["effective_from"]):
        out[(rule["zone_code"], rule["key"])] = rule
    return out


def amendments(rules: list[dict]) -> list[dict]:
    """The amendments inside one version, oldest first: {zone_code, key, effective_from, old, new} for every row
    that replaced an earlier row of the same rule."""
    history: dict[tuple[str, str], list[dict]] = {}
    for rule in sorted(rules, key=lambda r: r["effective_from"]):
        history.setdefault((rule["zone_code"], rule["key"]), []).append(rule)
    out = []
    for (zone, key), rows in history.items():
        for before, after in zip(rows, rows[1:]):
            out.append({"zone_code": zone, "key": key, "effective_from": after["effective_from"], "old": before,
                        "new": after})
    return sorted(out, key=lambda a: (a["effective_from"], zone_order(a["zone_code"]), a["key"]))


def zone_order(code: str):
    """The all-zones rules first, then the zones by code."""
    return (code != ALL_ZONES, code)


def diff_rulebooks(old_rules: list[dict], new_rules: list[dict], key_order: list[str] | None = None) -> list[ZoneDiff]:
    """The rules added, removed and changed from one version to the other, by zone (zones without changes left out);
    within a zone in `key_order` (the kinds of rule as the plan lists them), then by key."""
    old, new = standing(old_rules), standing(new_rules)
    rank = {k: i for i, k in enumerate(key_order or [])}
    zones: dict[str, ZoneDiff] = {}
    for zone, key in sorted(set(old) | set(new), key=lambda zk: (zone_order(zk[0]), rank.get(zk[1], len(rank)), zk[1])):
        a, b = old.get((zone, key)), new.get((zone, key))
        if a is None:
            change = RuleChange(key, ADDED, None, b, value_changed=True)
        elif b is None:
            change = RuleChange(key, REMOVED, a, None, value_changed=True)
        else:
            value = a["value"] != b["value"]
            citation = (a["document"], a["article"]) != (b["document"], b["article"])
            if not (value or citation):
                continue
            change = RuleChange(key, CHANGED, a, b, value, citation)
        zones.setdefault(zone, ZoneDiff(zone)).changes.append(change)
    return list(zones.values())


def effective_values(rules: list[dict], zone_codes) -> dict[str, dict]:
    """Each zone's rule values as they apply to its parcels: its own over the all-zones ones."""
    state = standing(rules)
    common = {key: r["value"] for (zone, key), r in state.items() if zone == ALL_ZONES}
    own: dict[str, dict] = {}
    for (zone, key), r in state.items():
        if zone != ALL_ZONES:
            own.setdefault(zone, {})[key] = r["value"]
    return {code: {**common, **own.get(code, {})} for code in zone_codes}


def affected_zones(old_rules: list[dict], new_rules: list[dict], zone_codes) -> list[str]:
    """The zone codes (of `zone_codes`, the city's, and those the versions name) whose parcels the change reaches:
    some rule value that applies to them differs."""
    codes = set(zone_codes) | {r["zone_code"] for r in old_rules + new_rules if r["zone_code"] != ALL_ZONES}
    before, after = effective_values(old_rules, codes), effective_values(new_rules, codes)
    return sorted(code for code in codes if before[code] != after[code])
