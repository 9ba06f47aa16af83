"""Zoning's sections of the parcel certificate (documents/sections.py), registered from ZoningConfig.ready():

- "zoning": the zone, the rulebook in force on the day and its headline rules with their citations, and what may be
  built (the envelope's summary: floors, height, coverage, floor-area ratio, setbacks) — through zoning.api;
- "hazards": floodplain, historic core, distance to a fault line, slope (the parcel's overlay facts) against the
  thresholds and verdicts of the rules in force, when there are any.

A parcel in no zone, or in a zone no rulebook covers on the day, still gets a certificate: the section says so
(`status` no_zone / no_rulebook). Data are codes, numbers and both languages' words (`value_text`/`value_text_en`):
the printed page picks the words, and two certificates of the same facts have equal content."""

from __future__ import annotations

import datetime as dt

from django.utils import translation

from common.errors import NotFound
from zoning import api
from zoning.models import ParcelOverlay, Zone
from zoning.queries import OverlaysNotComputed
from zoning.rulebook import rules_in_force
from zoning.rules import RULE_KINDS
from zoning.service import RuleWords

# printed under "what may be built" beside the envelope's figures; the other headline rules are listed before it
ENVELOPE_RULES = ("max_coverage", "max_far", "setback_front", "setback_side_rear")
HAZARD_RULES = ("floodplain", "historic_core", "fault_buffer_m", "fault_buffer", "steep_slope_pct", "steep_slope")
ENVELOPE_FIGURES = ("max_floors", "max_height", "max_footprint_area", "max_gross_floor_area", "net_area",
                    "existing_floor_area", "remaining_floor_area")


def _words(rules: list[dict]) -> list[dict]:
    """The rules with their values worded in both languages (the envelope's answer words them in the request's)."""
    words = {}
    for lang in ("fa", "en"):
        with translation.override(lang):
            said = RuleWords()
            words[lang] = [said.value(r["key"], _as_rule_value(r["value"])) for r in rules]
    return [{"key": r["key"], "title_fa": r["title_fa"], "title_en": r["title_en"], "value": r["value"],
             "value_text": fa, "value_text_en": en, "citation": r["citation"]}
            for r, fa, en in zip(rules, words["fa"], words["en"])]


def _as_rule_value(value):
    """A JSON-ready rule value back as the wording expects it (an open upper bound of a table is null in JSON)."""
    if isinstance(value, list) and value and isinstance(value[0], list):
        return [tuple(float("inf") if x is None else x for x in row) for row in value]
    return value


def _zone(code: str) -> dict | None:
    if not code:
        return None
    zone = Zone.objects.filter(code=code).order_by("id").values("code", "name", "name_en").first()
    return zone or {"code": code, "name": "", "name_en": ""}


def build_zoning(parcel, on_date: dt.date) -> dict:
    """The zone, the rulebook and the headline rules with citations, and what may be built."""
    try:
        env = api.envelope(parcel.pk, on_date)
    except (NotFound, OverlaysNotComputed):
        code = ParcelOverlay.objects.filter(parcel_id=parcel.pk).values_list("zone_code", flat=True).first() or ""
        return {"status": "no_rulebook" if code else "no_zone", "zone": _zone(code), "on_date": on_date.isoformat(),
                "rulebook": None, "is_demo_rulebook": False, "rules": [], "envelope": None, "envelope_rules": []}
    by_key = {r["key"]: r for r in env["rules"]}
    figures = {k: env["envelope"].get(k) for k in ENVELOPE_FIGURES}
    figures.update(lot_area=env["lot_area"], widening_area=env["widening_area"], street_width=env["street_width"])
    return {"status": "ok", "zone": _zone(env["zone_code"]), "on_date": env["on_date"], "rulebook": env["rulebook"],
            "is_demo_rulebook": env["is_demo_rulebook"],
            "rules": _words([r for r in env["headline"] if r["key"] not in ENVELOPE_RULES]), "envelope": figures,
            "envelope_rules": _words([by_key[k] for k in ENVELOPE_RULES if k in by_key])}


def build_hazards(parcel, on_date: dt.date) -> dict:
    """Floodplain, historic core, fault line and slope: the parcel's facts, and what the rules in force say."""
    overlay = ParcelOverlay.objects.filter(parcel_id=parcel.pk).first()
    if overlay is None:
        return {"status": "not_computed"}
    rules = rules_in_force(overlay.zone_code, on_date) if overlay.zone_code else None
    rule = {}
    if rules is not None:
        present = [{"key": key, "title_fa": RULE_KINDS[key].title_fa, "title_en": RULE_KINDS[key].title_en,
                    "value": rules.get(key), "citation": rules.citation(key).as_dict()}
                   for key in HAZARD_RULES if key in rules]
        rule = {r["key"]: r for r in _words(present)}
    buffer = rule.get("fault_buffer_m", {}).get("value")
    steep = rule.get("steep_slope_pct", {}).get("value")
    fault = None if overlay.fault_distance is None else round(overlay.fault_distance, 1)
    slope_mean = None if overlay.slope_mean is None else round(overlay.slope_mean, 1)
    return {
        "status": "ok",
        "floodplain": overlay.in_floodplain, "historic_core": overlay.in_historic_core,
        "fault_distance": fault, "fault_buffer": buffer,
        # compared unrounded, as the eligibility engine compares them
        "in_fault_buffer": None if fault is None or buffer is None else overlay.fault_distance < buffer,
        "slope_mean": slope_mean, "slope_max": None if overlay.slope_max is None else round(overlay.slope_max, 1),
        "steep_threshold": steep,
        "steep": None if slope_mean is None or steep is None else overlay.slope_mean > steep,
        "rules": rule,
    }


def register() -> None:
    """From ZoningConfig.ready()."""
    from documents.sections import CertificateSection, register as register_section

    register_section(CertificateSection(key="zoning", order=30, build=build_zoning,
                                        template="zoning/certificate_zoning.html"))
    register_section(CertificateSection(key="hazards", order=40, build=build_hazards,
                                        template="zoning/certificate_hazards.html"))
