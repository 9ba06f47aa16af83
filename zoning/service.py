"""What can be built on a stored parcel, JSON-ready: its facts (zoning.queries) and the rules in force
(zoning.rulebook) handed to the pure engine (zoning.eligibility), the results reprojected to WGS84 for the map.

The views of zoning/views.py, the parcel sheet's section and the engineer's page call these; proposals and split
lines come in as plain values (form fields or parsed JSON) and geometry in WGS84. Problems are raised as ApiErrors
(NotFound, BadProposal ...), which carry their HTTP status.

What people read is worded here, in the request's language: the engine's messages (eligibility.Text) and every
rule's value (`RuleWords`: land-use names, %, metres, yes/no, verdicts, the band as a sentence, the tables). Answers
keep the raw values for machines and carry the words beside them (`value_text`, `limit_text`, `proposed_text`)."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import shapely
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext

from common import geo, municipality, params
from common.errors import ApiError, BadParameter, NotFound
from common.i18n import is_persian
from common.jalali import jalali, persian_digits
from parcels import identifiers
from parcels.models import LandUse
from zoning import dxf
from zoning import eligibility as engine
from zoning.queries import parcel_facts
from zoning.rulebook import rules_in_force
from zoning.rules import (BAND, FLOORS, METRES, PERCENT, RULE_KINDS, SPACES, SQUARE_METRES, USES, VERDICT,
                          VERDICTS)

DEMO_NOTICE = {"fa": "ضوابط نمایشی است؛ شهرداری آن را با ضوابط مصوب طرح تفصیلی خود جایگزین می‌کند.",
               "en": "Illustrative rulebook: a municipality replaces it with its approved detailed plan."}
HEADLINE = ["allowed_uses", "conditional_uses", "max_far", "max_coverage", "max_height", "min_lot_area",
            "min_frontage", "setback_front", "coverage_band"]
PROPOSAL_FIELDS = ("land_use", "floors", "gross_floor_area", "footprint_area", "units", "parking_spaces", "height")


# The proposal's fields as the engineer's form names them (the same msgids as its labels).
FIELD_LABELS = {
    "land_use": gettext_lazy("Land use"), "floors": gettext_lazy("Floors"),
    "gross_floor_area": gettext_lazy("Gross floor area (m²)"), "footprint_area": gettext_lazy("Footprint (m²)"),
    "units": gettext_lazy("Units"), "parking_spaces": gettext_lazy("Parking spaces"),
    "height": gettext_lazy("Height (m)"), "footprint": gettext_lazy("Footprint polygon"),
    "lines": gettext_lazy("Split lines"),
}


class BadProposal(ApiError):
    """A proposal (or split lines) the engine cannot judge; `fields` names what is wrong with each field (keyed by
    the field's name, worded in the request's language)."""

    status = 400
    code = "bad_proposal"

    def __init__(self, errors: dict[str, engine.Text | str]):
        self.errors = {name: say(problem) for name, problem in errors.items()}
        super().__init__(_("The proposal cannot be judged: %(errors)s")
                         % {"errors": _rows_separator().join(f"{label}: {problem}"
                                                             for _name, label, problem in self.labelled())})

    def labelled(self) -> list[tuple[str, str, str]]:
        """(field name, its label, what is wrong) for each bad field."""
        return [(name, str(FIELD_LABELS.get(name, name)), problem) for name, problem in self.errors.items()]

    def response(self):
        from django.http import JsonResponse

        return JsonResponse({"error": self.code, "message": self.message, "fields": self.errors}, status=self.status,
                            json_dumps_params={"ensure_ascii": False})


# -- words for people: the engine's messages and the rules' values in the request's language -----------------------

VERDICT_WORDS = {"allowed": gettext_lazy("allowed"), "conditional": gettext_lazy("conditional"),
                 "prohibited": gettext_lazy("prohibited")}
BAND_SIDES = {"north": gettext_lazy("the northern %(share)s of the lot's depth"),
              "south": gettext_lazy("the southern %(share)s of the lot's depth"),
              "east": gettext_lazy("the eastern %(share)s of the lot's depth"),
              "west": gettext_lazy("the western %(share)s of the lot's depth")}
OUTSIDE = "outside"
# What a check's proposed value measures where it is not what the rule's value measures: the area of the footprint
# outside the envelope, the parcel's distance to a fault line, its mean slope.
PROPOSED_UNITS = {"coverage_band": OUTSIDE, "setback_front": OUTSIDE, "fault_buffer": METRES, "steep_slope": PERCENT}


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def figure(value) -> str:
    """A number as people read it (eligibility.plain_number), in Persian digits on a Persian page."""
    text = engine.plain_number(value)
    return persian_digits(text) if is_persian() else text


def say(text) -> str:
    """An engine message (eligibility.Text) in the request's language, its figures in the page's digits; a string
    that is already worded is returned as it is."""
    if text is None:
        return ""
    if not isinstance(text, engine.Text):
        return str(text)
    return _(text.msgid) % {k: figure(v) if _is_number(v) else v for k, v in text.params.items()}


def _rows_separator() -> str:
    return pgettext("separator of rows or sentences", "; ")


def _count(value) -> int:
    """The number that picks a plural form (a fraction takes the plural, as 1.5 spaces does in English)."""
    return int(value) if float(value).is_integer() else 2


class RuleWords:
    """Rule values and a decision's values as text people read, in the request's language. One per answer: the
    land-use names are read once, when a value first needs them."""

    def __init__(self, land_uses: dict[str, LandUse] | None = None):
        self._land_uses = land_uses

    def land_uses(self) -> dict[str, LandUse]:
        if self._land_uses is None:
            self._land_uses = {u.code: u for u in LandUse.objects.all()}
        return self._land_uses

    def use(self, code: str) -> str:
        found = self.land_uses().get(code)
        if found is None:
            return code
        return found.name_en if not is_persian() and found.name_en else found.name_fa

    def measure(self, unit: str, value) -> str:
        if unit == PERCENT:
            return _("%(value)s%%") % {"value": figure(value)}
        if unit == METRES:
            return _("%(value)s m") % {"value": figure(value)}
        if unit == SQUARE_METRES:
            return _("%(value)s m²") % {"value": figure(value)}
        if unit == FLOORS:
            return ngettext("%(count)s floor", "%(count)s floors", _count(value)) % {"count": figure(value)}
        if unit == SPACES:
            return (ngettext("%(count)s parking space", "%(count)s parking spaces", _count(value))
                    % {"count": figure(value)})
        if unit == OUTSIDE:
            return _("%(area)s m² outside the envelope") % {"area": figure(value)}
        return figure(value)

    def table(self, unit: str, rows) -> str:
        """A step table: street width → floors, or unit area → parking spaces per unit."""
        out = []
        for i, (threshold, value) in enumerate(rows):
            amount = self.measure(unit, value)
            if unit == FLOORS:
                # The first row applies to every street narrower than the second row's width.
                if i == 0:
                    out.append(_("streets narrower than %(width)s m: %(floors)s")
                               % {"width": figure(rows[1][0]), "floors": amount} if len(rows) > 1
                               else _("any street: %(floors)s") % {"floors": amount})
                else:
                    out.append(_("streets of %(width)s m or wider: %(floors)s")
                               % {"width": figure(threshold), "floors": amount})
            elif threshold is None or threshold == math.inf:
                out.append(_("larger units: %(spaces)s a unit") % {"spaces": amount})
            else:
                out.append(_("units up to %(area)s m²: %(spaces)s a unit") % {"area": figure(threshold),
                                                                               "spaces": amount})
        return _rows_separator().join(out)

    def band(self, band: dict) -> str:
        text = BAND_SIDES.get(band.get("side", "north"), BAND_SIDES["north"]) % {
            "share": self.measure(PERCENT, band["share"] * 100)}
        if band.get("extra_m"):
            text = _("%(band)s plus %(extra)s m") % {"band": text, "extra": figure(band["extra_m"])}
        return text

    def value(self, key: str, value, proposed: bool = False) -> str:
        """A rule's value (or a check's limit; with `proposed`, the proposal's value checked against it)."""
        kind = RULE_KINDS[key]
        if value is None:
            return "—"
        if isinstance(value, bool):
            return _("yes") if value else _("no")
        if isinstance(value, str):
            if kind.unit == VERDICT and value in VERDICTS:
                return str(VERDICT_WORDS[value])
            return self.use(value) if kind.unit == USES else value
        if isinstance(value, (list, tuple)):
            if kind.unit == USES:
                return pgettext("list separator", ", ").join(self.use(code) for code in value)
            return self.table(kind.unit, value)
        if isinstance(value, dict) and kind.unit == BAND:
            return self.band(value)
        unit = PROPOSED_UNITS.get(key, kind.unit) if proposed else kind.unit
        return self.measure(unit, value) if _is_number(value) else str(value)

    def check(self, check: dict) -> dict:
        """A decision's check (as a dict) with its note worded and its limit and proposed value as text."""
        return {**check, "note": say(check["note"]), "limit_text": self.value(check["key"], check["limit"]),
                "proposed_text": self.value(check["key"], check["proposed"], proposed=True)}


def _envelope_dict(env: engine.Envelope) -> dict:
    return {**env.as_dict(), "notes": [say(note) for note in env.notes]}


# -- reprojection: the engine works in the municipality's metres, the map and the API in WGS84 ---------------------

def _to_wgs84():
    return geo.transformer(municipality.current().srid, 4326)


def _from_wgs84():
    return geo.transformer(4326, municipality.current().srid)


def _reproject(geom, transformer):
    return shapely.transform(geom, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))


def to_geojson(geom) -> dict | None:
    """A municipal-CRS geometry as a GeoJSON dict in WGS84 (7 decimals: about a centimetre)."""
    if geom is None or geom.is_empty:
        return None
    return json.loads(shapely.to_geojson(shapely.set_precision(_reproject(geom, _to_wgs84()), 1e-7)))


def _from_wgs84_geojson(raw, name: str, kinds: tuple[str, ...]):
    """A GeoJSON geometry (dict or JSON text) in WGS84 → shapely in the municipal CRS. Checked first by
    common.geo.geojson_geometry (finite coordinates in the city's extent, lines of 2+ points, closed rings of 4+),
    so neither GEOS nor the transform meets what they cannot take; geo.BadGeometry naming `name` otherwise."""
    return _reproject(geo.geojson_geometry(raw, name, kinds), _from_wgs84())


# -- the parcel, its rules, and what they allow ---------------------------------------------------------------------

def _date_text(day: dt.date) -> str:
    return jalali(day) if is_persian() else day.isoformat()


def facts_and_rules(parcel_id: int, on_date: dt.date | None = None):
    """(facts, rules in force on the date): NotFound when there is no parcel, zone or rulebook."""
    facts = parcel_facts(parcel_id)
    if facts is None:
        raise NotFound(_("No parcel with id %(id)s.") % {"id": parcel_id})
    if not facts.zone_code:
        raise NotFound(_("Parcel %(id)s lies in no planning zone: no rules apply.") % {"id": parcel_id})
    rules = rules_in_force(facts.zone_code, on_date)
    if rules is None:
        raise NotFound(_("No rulebook in force on %(date)s has rules for zone %(zone)s.")
                       % {"date": _date_text(on_date or dt.date.today()), "zone": facts.zone_code})
    return facts, rules


def _rule_list(rules, words: RuleWords) -> list[dict]:
    out = []
    for key in RULE_KINDS:
        if key in rules:
            value = rules.get(key)
            text = words.value(key, value)
            if isinstance(value, list):       # tables: tuples as lists, an open upper bound (inf) as null
                value = [list(v) if isinstance(v, tuple) else v for v in value]
                value = [[None if isinstance(x, float) and x == float("inf") else x for x in v]
                         if isinstance(v, list) else v for v in value]
            out.append({"key": key, "title_fa": RULE_KINDS[key].title_fa, "title_en": RULE_KINDS[key].title_en,
                        "value": value, "value_text": text, "citation": rules.citation(key).as_dict()})
    return out


def envelope_data(parcel_id: int, on_date: dt.date | None = None) -> dict:
    """The envelope of a parcel and the rules in force (JSON-ready); used by the API, the sheet and the page."""
    facts, rules = facts_and_rules(parcel_id, on_date)
    env = engine.envelope(facts, rules)
    rule_list = _rule_list(rules, RuleWords())
    return {
        "parcel_id": parcel_id, "zone_code": facts.zone_code, "rulebook": rules.rulebook,
        "on_date": rules.on_date.isoformat(), "is_demo_rulebook": rules.rulebook_is_demo,
        "notice": DEMO_NOTICE if rules.rulebook_is_demo else None,
        "current_use": facts.current_use, "lot_area": round(facts.lot_area, 2),
        "widening_area": round(facts.widening.area, 2), "street_width": facts.street_width,
        "overlays": {"historic_core": facts.in_historic_core, "floodplain": facts.in_floodplain,
                     "fault_distance": None if facts.fault_distance is None else round(facts.fault_distance, 1),
                     "slope_mean": None if facts.slope_mean is None else round(facts.slope_mean, 1)},
        "envelope": {**_envelope_dict(env), "footprint": to_geojson(env.footprint)},
        "rules": rule_list,
        "headline": [r for r in rule_list if r["key"] in HEADLINE],
    }


def envelope_features(parcel_id: int, on_date: dt.date | None = None) -> dict:
    """The envelope, the parcel and the road-widening strip as a GeoJSON FeatureCollection in WGS84."""
    facts, rules = facts_and_rules(parcel_id, on_date)
    env = engine.envelope(facts, rules)
    props = {"parcel_id": parcel_id, "zone_code": facts.zone_code, "rulebook": rules.rulebook,
             "on_date": rules.on_date.isoformat(), **_envelope_dict(env)}
    features = [
        {"type": "Feature", "properties": {"kind": "envelope", **props}, "geometry": to_geojson(env.footprint)},
        {"type": "Feature", "properties": {"kind": "parcel"}, "geometry": to_geojson(facts.geometry)},
    ]
    if not facts.widening.is_empty:
        features.append({"type": "Feature", "properties": {"kind": "road_widening"},
                         "geometry": to_geojson(facts.widening)})
    return {"type": "FeatureCollection", "features": features}


def envelope_dxf(parcel_id: int, on_date: dt.date | None = None) -> str:
    """The same as a DXF drawing in the municipality's metres (zoning.dxf)."""
    facts, rules = facts_and_rules(parcel_id, on_date)
    return dxf.envelope_drawing(facts, rules, engine.envelope(facts, rules))


def decide(parcel_id: int, data: dict, on_date: dt.date | None = None) -> dict:
    """The decision for a proposal given as form or JSON values (PROPOSAL_FIELDS, and `footprint` as a GeoJSON
    polygon in WGS84), JSON-ready."""
    raw = {k: identifiers.to_ascii_digits(str(v)) if isinstance(v, str) and k != "land_use" else v
           for k, v in data.items() if k in PROPOSAL_FIELDS}
    footprint = None
    if data.get("footprint") not in (None, ""):  # the input checked before the database is asked anything
        try:
            footprint = _from_wgs84_geojson(data["footprint"], "footprint", ("Polygon", "MultiPolygon"))
        except geo.BadGeometry as exc:
            raise BadProposal({"footprint": _("is not a GeoJSON polygon in WGS84 (%(reason)s)")
                               % {"reason": exc.reason}}) from None
    facts, rules = facts_and_rules(parcel_id, on_date)
    words = RuleWords()
    try:
        proposal = engine.parse_proposal(raw, set(words.land_uses()), parcel=facts.geometry, footprint=footprint)
    except engine.ProposalError as exc:
        raise BadProposal(exc.errors) from None
    decision = engine.decide(facts, rules, proposal)
    out = decision.as_dict()
    out["parcel_id"] = parcel_id
    out["checks"] = [words.check(check) for check in out["checks"]]
    out["envelope"] = {**_envelope_dict(decision.envelope), "footprint": to_geojson(decision.envelope.footprint)}
    out["notice"] = DEMO_NOTICE if rules.rulebook_is_demo else None
    return out


MAX_SPLIT_LINES = 100  # lines drawn across one parcel


def subdivision(parcel_id: int, raw_lines, on_date: dt.date | None = None) -> dict:
    """Proposed split lines (a GeoJSON LineString or MultiLineString, a list of them, or their JSON text; WGS84)
    → each part's area and frontage against the zone's minimum lot area and frontage (حد نصاب تفکیک)."""
    if not raw_lines:
        raise BadParameter(_("lines is required: a GeoJSON LineString, MultiLineString or a list of LineStrings."))
    raw = params.json_value(raw_lines, "lines") if isinstance(raw_lines, str) else raw_lines
    kinds = ("LineString", "MultiLineString")
    if isinstance(raw, list) and len(raw) > MAX_SPLIT_LINES:
        raise BadParameter(_("lines holds more than %(max)s lines.") % {"max": MAX_SPLIT_LINES})
    geoms = [_from_wgs84_geojson(g, "lines", kinds) for g in (raw if isinstance(raw, list) else [raw])]
    lines = [part for g in geoms for part in shapely.get_parts(g)]
    facts, rules = facts_and_rules(parcel_id, on_date)
    try:
        result = engine.check_subdivision(facts, rules, lines)
    except engine.ProposalError as exc:
        raise BadProposal(exc.errors) from None
    result["parts"] = [{"area": round(p.area, 2), "frontage": round(p.frontage, 2), "area_ok": p.area_ok,
                        "frontage_ok": p.frontage_ok, "geometry": to_geojson(p.geometry)} for p in result["parts"]]
    return {"parcel_id": parcel_id, "zone_code": facts.zone_code, "rulebook": rules.rulebook, **result}
