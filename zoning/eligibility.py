"""The eligibility engine: parcel facts + the rules in force + a proposal -> a decision, rule by rule, with citations;
and the buildable envelope of a parcel.

Pure: no database, no HTTP. Geometry is shapely in the municipality's projected CRS (metres, y pointing north).
`zoning/facts.py` gathers the facts of a stored parcel; views and commands call the functions here.

Conventions (the detailed plan's usual reading, DOMAIN.md §4):
- FAR (تراکم) and lot coverage (سطح اشغال) are measured against the lot area net of road widening: the deed area
  (the measured area when there is none) minus the widening strip.
- The envelope is the net lot minus the front setback (from the lot's street side after widening) and the side and
  rear setback (from the other boundaries), cut to the coverage band (e.g. the northern 60% of the lot's
  north-south depth plus 2 m).
- Floors: the street-width table row for the widest street fronted (planned width when wider), capped by the
  height limit divided by the floor height.
- Decision: not eligible if any rule fails; conditional if any rule needs a review (conditional use, historic core,
  steep slope ...); eligible otherwise.

What people read (notes, proposal errors) leaves here as `Text`: an English message template and its values, marked
for extraction with `gettext_noop`. The engine knows no language; zoning/service.py renders each Text in the
reader's language (and the figures in its digits).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import shapely
from shapely.geometry import Polygon, box
from shapely.geometry.base import BaseGeometry
from shapely.ops import split

from common.text import gettext_noop
from zoning.rules import RULE_KINDS, ZoneRules

PASS, FAIL, CONDITIONAL, NOT_CHECKED = "pass", "fail", "conditional", "not_checked"
ELIGIBLE, NOT_ELIGIBLE = "eligible", "not_eligible"   # and CONDITIONAL
TOLERANCE = 0.05     # m: drawing precision when checking a footprint against the envelope
SLIVER = 0.001      # m: strips thinner than twice this are overlay noise, not buildable land
TOUCH = 1e-6         # m: lines computed on a boundary (frontage, widening edge) lie within this of it
MAX_FLOORS = 100
MAX_AREA = 1_000_000  # m²: larger proposals are typing errors


def plain_number(value) -> str:
    """A figure as people write it: no trailing zeros, at most two decimals (ASCII digits)."""
    if isinstance(value, float) and math.isfinite(value):
        value = round(value, 2)
        return str(int(value)) if value.is_integer() else f"{value:.2f}".rstrip("0")
    return str(value)


@dataclass(frozen=True)
class Text:
    """A message for people: an English msgid with %(name)s placeholders and their values (numbers stay numbers,
    so the reader's digits are chosen where it is rendered). str() is the English, for logs and exceptions."""

    msgid: str
    params: dict = field(default_factory=dict)

    def __str__(self):
        return self.msgid % {k: plain_number(v) if isinstance(v, (int, float)) else v for k, v in self.params.items()}


def _say(msgid: str, **params) -> Text:
    return Text(msgid, params)


class ProposalError(ValueError):
    """A proposal that cannot be judged; `errors` maps each field to what is wrong with it."""

    def __init__(self, errors: dict[str, Text]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class ParcelFacts:
    zone_code: str
    geometry: BaseGeometry                       # the parcel (Polygon or MultiPolygon)
    deed_area: float | None = None
    frontage_lines: BaseGeometry = field(default_factory=lambda: shapely.GeometryCollection())
    street_width: float | None = None            # widest street fronted (planned width when wider)
    widening: BaseGeometry = field(default_factory=lambda: shapely.GeometryCollection())
    current_use: str | None = None
    existing_floor_area: float = 0.0
    existing_footprint_area: float = 0.0
    in_historic_core: bool = False
    in_floodplain: bool = False
    fault_distance: float | None = None
    slope_mean: float | None = None
    parcel_id: int | None = None

    @property
    def lot_area(self) -> float:
        return float(self.deed_area) if self.deed_area else self.geometry.area

    @property
    def net_area(self) -> float:
        """Lot area net of road widening (what FAR and coverage are measured against)."""
        return max(self.lot_area - self.widening.area, 0.0)


@dataclass(frozen=True)
class Proposal:
    land_use: str
    floors: int
    gross_floor_area: float
    footprint_area: float
    footprint: BaseGeometry | None = None
    units: int = 1
    parking_spaces: int = 0
    height: float | None = None


@dataclass
class Envelope:
    footprint: BaseGeometry             # where the building may stand
    net_area: float
    max_footprint_area: float
    max_floors: int
    max_height: float | None
    max_gross_floor_area: float
    existing_floor_area: float
    remaining_floor_area: float
    notes: list[Text] = field(default_factory=list)

    def as_dict(self) -> dict:
        out = {k: v for k, v in vars(self).items() if k != "footprint"}
        out["notes"] = list(self.notes)
        out["footprint_polygon_area"] = round(self.footprint.area, 2)
        for key in ("net_area", "max_footprint_area", "max_gross_floor_area", "existing_floor_area",
                    "remaining_floor_area"):
            out[key] = round(out[key], 2)
        return out


@dataclass
class RuleCheck:
    key: str
    title_fa: str
    title_en: str
    limit: object          # the rule's value as data (a number, a list of land-use codes, a verdict, the band ...)
    proposed: object       # the proposal's (or the parcel's) value as data
    status: str
    citation: dict | None
    note: Text | None = None


@dataclass
class Decision:
    status: str
    checks: list[RuleCheck]
    envelope: Envelope
    zone_code: str
    rulebook: str
    on_date: str
    is_demo_rulebook: bool

    def as_dict(self) -> dict:
        return {"status": self.status, "zone_code": self.zone_code, "rulebook": self.rulebook,
                "on_date": self.on_date, "is_demo_rulebook": self.is_demo_rulebook,
                "checks": [vars(c).copy() for c in self.checks], "envelope": self.envelope.as_dict()}


# -- proposal validation --------------------------------------------------------------------------------------------

def parse_proposal(raw: dict, known_uses: set[str], parcel: BaseGeometry | None = None,
                   footprint: BaseGeometry | None = None) -> Proposal:
    """A Proposal from form or JSON values, or ProposalError naming every bad field. `footprint` (already in the
    municipality's CRS) must lie within the parcel."""
    errors: dict[str, Text] = {}

    def number(name, kind=float, required=True, low=0.0, high=MAX_AREA):
        value = raw.get(name)
        if value in (None, ""):
            if required:
                errors[name] = _say(gettext_noop("is required"))
            return None
        try:
            number_ = float(value)
        except (TypeError, ValueError, OverflowError):  # OverflowError: an integer of hundreds of digits
            errors[name] = _say(gettext_noop("is not a number: %(value)s"), value=str(value))
            return None
        if not math.isfinite(number_):
            errors[name] = _say(gettext_noop("must be a finite number"))
            return None
        if kind is int and number_ != int(number_):
            errors[name] = _say(gettext_noop("must be a whole number, not %(value)s"), value=number_)
            return None
        if number_ < low:
            errors[name] = _say(gettext_noop("must not be less than %(low)s (got %(value)s)"), low=low, value=number_)
            return None
        if number_ > high:
            errors[name] = _say(gettext_noop("%(value)s is not plausible (at most %(high)s)"), value=number_,
                                high=high)
            return None
        return kind(number_)

    land_use = str(raw.get("land_use") or "").strip()
    if not land_use:
        errors["land_use"] = _say(gettext_noop("is required"))
    elif land_use not in known_uses:
        errors["land_use"] = _say(gettext_noop("unknown land use %(code)s (known: %(known)s)"), code=land_use,
                                  known=", ".join(sorted(known_uses)))
    floors = number("floors", int, low=1, high=MAX_FLOORS)
    gfa = number("gross_floor_area", low=1)
    units = number("units", int, required=False, low=1, high=10_000)
    parking = number("parking_spaces", int, required=False, low=0, high=10_000)
    height = number("height", required=False, low=1, high=500)
    area = number("footprint_area", required=footprint is None, low=1)
    if footprint is not None:
        if footprint.is_empty or footprint.geom_type not in ("Polygon", "MultiPolygon") or not footprint.is_valid:
            errors["footprint"] = _say(gettext_noop("must be a valid, non-empty polygon"))
        else:
            if parcel is not None and not footprint.difference(parcel).area <= TOLERANCE * footprint.length:
                errors["footprint"] = _say(gettext_noop("lies outside the parcel by %(area)s m²"),
                                           area=round(footprint.difference(parcel).area, 1))
            if area is None:
                area = footprint.area
            elif abs(area - footprint.area) > max(1.0, 0.01 * area):
                errors["footprint_area"] = _say(
                    gettext_noop("%(area)s m² differs from the footprint polygon's %(polygon)s m²"), area=area,
                    polygon=round(footprint.area, 1))
    if parcel is not None and area is not None and "footprint" not in errors and area > parcel.area + 1:
        errors["footprint_area"] = _say(gettext_noop("%(area)s m² is larger than the parcel (%(parcel)s m²)"),
                                        area=area, parcel=round(parcel.area))
    if floors and gfa and area and gfa > floors * area * 1.001 + 1:
        errors["gross_floor_area"] = _say(
            gettext_noop("%(gfa)s m² is more than the floors allow on the footprint (%(floors)s × %(area)s m²)"),
            gfa=gfa, floors=floors, area=area)
    if errors:
        raise ProposalError(errors)
    return Proposal(land_use=land_use, floors=floors, gross_floor_area=gfa, footprint_area=area,
                    footprint=footprint, units=units or 1, parking_spaces=parking or 0, height=height)


# -- envelope -------------------------------------------------------------------------------------------------------

def _polygonal(geom: BaseGeometry) -> BaseGeometry:
    """The polygon parts of an overlay result (slivers of lines and points dropped)."""
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon") and g.area > 1e-6]
    if not parts:
        return Polygon()
    return shapely.union_all(parts)


def _table_lookup(rows, x):
    """The value of the last row whose threshold is at most x (rows sorted by threshold)."""
    found = None
    for threshold, value in rows:
        if x >= threshold:
            found = value
    return found


def floors_allowed(facts: ParcelFacts, rules: ZoneRules) -> tuple[int | None, Text | None]:
    notes = None
    table = rules.get("floors_by_street_width")
    floors = None
    if table:
        width = facts.street_width
        if width is None:
            notes = _say(gettext_noop("fronts no street: the table's first row applies"))
            width = 0.0
        floors = _table_lookup(table, width)
        floors = int(floors) if floors is not None else int(table[0][1])
    height, floor_height = rules.get("max_height"), rules.get("floor_height")
    if height and floor_height:
        by_height = int(math.floor(height / floor_height + 1e-9))
        floors = by_height if floors is None else min(floors, by_height)
    return floors, notes


def _coverage_band(lot: BaseGeometry, band: dict) -> BaseGeometry:
    minx, miny, maxx, maxy = lot.bounds
    side = band["side"]
    depth = (maxy - miny) if side in ("north", "south") else (maxx - minx)
    reach = band["share"] * depth + band["extra_m"]
    if side == "north":
        cut = box(minx - 1, maxy - reach, maxx + 1, maxy + 1)
    elif side == "south":
        cut = box(minx - 1, miny - 1, maxx + 1, miny + reach)
    elif side == "east":
        cut = box(maxx - reach, miny - 1, maxx + 1, maxy + 1)
    else:
        cut = box(minx - 1, miny - 1, minx + reach, maxy + 1)
    return lot.intersection(cut)


def envelope(facts: ParcelFacts, rules: ZoneRules) -> Envelope:
    """Where and how much may be built on the parcel under these rules."""
    notes = []
    net = _polygonal(facts.geometry.difference(facts.widening)) if not facts.widening.is_empty else facts.geometry
    footprint = net
    # The street side after widening: the net lot's boundary except the original side and rear lines (so the
    # new line left by the widening strip counts as street side, and the frontage where nothing is widened).
    sides = facts.geometry.boundary
    if not facts.frontage_lines.is_empty:
        sides = sides.difference(facts.frontage_lines.buffer(TOUCH))
    street_side = shapely.GeometryCollection()
    if not facts.frontage_lines.is_empty or not facts.widening.is_empty:
        street_side = shapely.line_merge(shapely.union_all(shapely.get_parts(
            net.boundary.difference(sides.buffer(TOUCH)))))
    front = rules.get("setback_front", 0) or 0
    if front > 0 and not street_side.is_empty:
        footprint = footprint.difference(street_side.buffer(front, cap_style="flat", join_style="mitre"))
    other = rules.get("setback_side_rear", 0) or 0
    if other > 0:
        others = net.boundary.difference(street_side.buffer(TOUCH)) if not street_side.is_empty else net.boundary
        footprint = footprint.difference(others.buffer(other, cap_style="flat", join_style="mitre"))
    band = rules.get("coverage_band")
    if band:
        footprint = footprint.intersection(_coverage_band(net, band))
    # Opening by 1 mm drops the slivers that overlay arithmetic leaves along setback lines (corners stay sharp).
    footprint = _polygonal(footprint.buffer(-SLIVER, join_style="mitre").buffer(SLIVER, join_style="mitre"))
    net_area = facts.net_area
    coverage = rules.get("max_coverage")
    max_footprint = footprint.area if coverage is None else min(footprint.area, coverage / 100.0 * net_area)
    floors, note = floors_allowed(facts, rules)
    if note:
        notes.append(note)
    if floors is None:
        floors = 0
        notes.append(_say(gettext_noop("the rulebook gives this zone neither a floor table nor a height limit: "
                                       "no floors derived")))
    height = rules.get("max_height")
    if height is None and rules.get("floor_height"):
        height = floors * rules.get("floor_height")
    far = rules.get("max_far")
    by_floors = floors * max_footprint
    max_gfa = by_floors if far is None else min(far / 100.0 * net_area, by_floors)
    return Envelope(footprint=footprint, net_area=net_area, max_footprint_area=max_footprint, max_floors=floors,
                    max_height=height, max_gross_floor_area=max_gfa,
                    existing_floor_area=facts.existing_floor_area,
                    remaining_floor_area=max(max_gfa - facts.existing_floor_area, 0.0), notes=notes)


# -- decision -------------------------------------------------------------------------------------------------------

def _check(rules: ZoneRules, key: str, limit, proposed, status, note: Text | None = None) -> RuleCheck:
    kind = RULE_KINDS[key]
    citation = rules.citation(key)
    return RuleCheck(key, kind.title_fa, kind.title_en, limit, proposed, status,
                     citation.as_dict() if citation else None, note)


def _review_check(rules: ZoneRules, key: str, applies: bool, is_: Text, is_not: Text) -> RuleCheck | None:
    """A rule that says what being in an overlay means (allowed / conditional / prohibited); `is_` and `is_not` are
    whole sentences, since languages place the negation differently."""
    verdict = rules.get(key)
    if verdict is None:
        return None
    if not applies:
        return _check(rules, key, verdict, False, PASS, is_not)
    status = {"allowed": PASS, "conditional": CONDITIONAL, "prohibited": FAIL}[verdict]
    return _check(rules, key, verdict, True, status, is_)


def _round(x, n=1):
    return None if x is None else round(x, n)


def decide(facts: ParcelFacts, rules: ZoneRules, proposal: Proposal) -> Decision:
    """Every rule of the zone applied to the proposal: limit, proposed value, pass/fail/conditional, citation."""
    env = envelope(facts, rules)
    checks: list[RuleCheck] = []
    net = env.net_area or float("nan")

    # Land use: allowed, conditional (needs the commission's approval), or prohibited / not listed.
    use = proposal.land_use
    allowed, conditional = rules.get("allowed_uses", []), rules.get("conditional_uses", [])
    if use in allowed:
        checks.append(_check(rules, "allowed_uses", allowed, use, PASS))
    elif use in conditional:
        checks.append(_check(rules, "conditional_uses", conditional, use, CONDITIONAL))
    elif use in rules.get("prohibited_uses", []):
        checks.append(_check(rules, "prohibited_uses", rules.get("prohibited_uses"), use, FAIL))
    else:
        checks.append(_check(rules, "allowed_uses", allowed, use, FAIL,
                             _say(gettext_noop("not among the zone's allowed uses"))))

    far = rules.get("max_far")
    if far is not None:
        value = 100.0 * proposal.gross_floor_area / net
        checks.append(_check(rules, "max_far", far, _round(value), PASS if value <= far + 1e-6 else FAIL,
                             _say(gettext_noop("%(gfa)s m² on %(net)s m² net of widening"),
                                  gfa=proposal.gross_floor_area, net=round(env.net_area, 1))))
    coverage = rules.get("max_coverage")
    if coverage is not None:
        value = 100.0 * proposal.footprint_area / net
        checks.append(_check(rules, "max_coverage", coverage, _round(value),
                             PASS if value <= coverage + 1e-6 else FAIL))
    if "floors_by_street_width" in rules:
        floors, note = floors_allowed(facts, rules)
        checks.append(_check(rules, "floors_by_street_width", floors, proposal.floors,
                             PASS if proposal.floors <= floors else FAIL,
                             note or _say(gettext_noop("street width %(width)s m"), width=facts.street_width)))
    if rules.get("max_height") is not None:
        height = proposal.height
        note = None
        if height is None and rules.get("floor_height"):
            height = proposal.floors * rules.get("floor_height")
            note = _say(gettext_noop("%(floors)s × %(floor_height)s m (floors × the height of one floor)"),
                        floors=proposal.floors, floor_height=rules.get("floor_height"))
        if height is not None:
            checks.append(_check(rules, "max_height", rules.get("max_height"), _round(height, 2),
                                 PASS if height <= rules.get("max_height") + 1e-6 else FAIL, note))

    # Placement: the footprint must lie in the envelope (widening, setbacks, coverage band). The limit is the rule
    # that shapes the envelope (the band, else the front setback); proposed is the area outside it (m²).
    placement_key = "coverage_band" if "coverage_band" in rules else (
        "setback_front" if "setback_front" in rules else None)
    if placement_key:
        if proposal.footprint is None:
            checks.append(_check(rules, placement_key, rules.get(placement_key), None, NOT_CHECKED,
                                 _say(gettext_noop("give the footprint polygon to check its placement"))))
        else:
            outside = proposal.footprint.difference(env.footprint.buffer(TOLERANCE)).area
            checks.append(_check(rules, placement_key, rules.get(placement_key), _round(outside),
                                 PASS if outside <= TOLERANCE * proposal.footprint.length else FAIL,
                                 _say(gettext_noop("net of road widening and setbacks, within the building band"))))

    table = rules.get("parking_by_unit_area")
    if table:
        unit_area = proposal.gross_floor_area / proposal.units
        per_unit = next((spaces for limit, spaces in table if unit_area <= limit), table[-1][1])
        required = int(math.ceil(per_unit * proposal.units))
        checks.append(_check(rules, "parking_by_unit_area", required, proposal.parking_spaces,
                             PASS if proposal.parking_spaces >= required else FAIL,
                             _say(gettext_noop("units: %(units)s of about %(area)s m²; parking spaces per unit: "
                                               "%(per_unit)s"), units=proposal.units, area=round(unit_area),
                                  per_unit=per_unit)))

    for check in (
        _review_check(rules, "historic_core", facts.in_historic_core,
                      _say(gettext_noop("the parcel is in the historic core")),
                      _say(gettext_noop("the parcel is not in the historic core"))),
        _review_check(rules, "floodplain", facts.in_floodplain, _say(gettext_noop("the parcel is in the floodplain")),
                      _say(gettext_noop("the parcel is not in the floodplain"))),
        _fault_check(facts, rules),
        _slope_check(facts, rules),
    ):
        if check is not None:
            checks.append(check)

    statuses = {c.status for c in checks}
    status = NOT_ELIGIBLE if FAIL in statuses else CONDITIONAL if CONDITIONAL in statuses else ELIGIBLE
    return Decision(status=status, checks=checks, envelope=env, zone_code=rules.zone_code, rulebook=rules.rulebook,
                    on_date=rules.on_date.isoformat(), is_demo_rulebook=rules.rulebook_is_demo)


def _fault_check(facts, rules):
    distance = rules.get("fault_buffer_m")
    if distance is None or "fault_buffer" not in rules:
        return None
    within = facts.fault_distance is not None and facts.fault_distance < distance
    check = _review_check(rules, "fault_buffer", within,
                          _say(gettext_noop("the parcel is within %(distance)s m of a fault line"), distance=distance),
                          _say(gettext_noop("the parcel is not within %(distance)s m of a fault line"),
                               distance=distance))
    check.proposed = _round(facts.fault_distance)     # the distance to the nearest fault line (m)
    return check


def _slope_check(facts, rules):
    threshold = rules.get("steep_slope_pct")
    if threshold is None or "steep_slope" not in rules:
        return None
    if facts.slope_mean is None:
        return _check(rules, "steep_slope", rules.get("steep_slope"), None, NOT_CHECKED,
                      _say(gettext_noop("no terrain computed for the parcel")))
    check = _review_check(rules, "steep_slope", facts.slope_mean > threshold,
                          _say(gettext_noop("the parcel is steeper than %(threshold)s%% (mean slope)"),
                               threshold=threshold),
                          _say(gettext_noop("the parcel is not steeper than %(threshold)s%% (mean slope)"),
                               threshold=threshold))
    check.proposed = _round(facts.slope_mean)         # the parcel's mean slope (%)
    return check


# -- subdivision ----------------------------------------------------------------------------------------------------

@dataclass
class SubdivisionPart:
    geometry: BaseGeometry
    area: float
    frontage: float
    area_ok: bool
    frontage_ok: bool


def check_subdivision(facts: ParcelFacts, rules: ZoneRules, lines: list[BaseGeometry]) -> dict:
    """Split the parcel along the proposed lines; each part must meet the minimum area and frontage."""
    if not lines:
        raise ProposalError({"lines": _say(gettext_noop("give at least one split line"))})
    parts = [facts.geometry]
    for i, line in enumerate(lines):
        if line.geom_type != "LineString" or line.is_empty:
            raise ProposalError({"lines": _say(gettext_noop("line %(number)s is not a line"), number=i + 1)})
        result = []
        for part in parts:
            pieces = [g for g in split(part, line).geoms if g.area > 1e-3] if line.intersects(part) else [part]
            result.extend(pieces)
        if len(result) == len(parts):
            raise ProposalError({"lines": _say(gettext_noop("line %(number)s does not cross the parcel from side to "
                                                        "side"), number=i + 1)})
        parts = result
    min_area, min_frontage = rules.get("min_lot_area", 0) or 0, rules.get("min_frontage", 0) or 0
    out = []
    for part in parts:
        frontage = facts.frontage_lines.intersection(part.buffer(TOUCH)).length
        out.append(SubdivisionPart(part, part.area, frontage, part.area >= min_area - 1e-6,
                                   frontage >= min_frontage - 1e-6))
    area_cite, frontage_cite = rules.citation("min_lot_area"), rules.citation("min_frontage")
    return {
        "ok": all(p.area_ok and p.frontage_ok for p in out),
        "min_lot_area": min_area, "min_frontage": min_frontage,
        "citations": {"min_lot_area": area_cite.as_dict() if area_cite else None,
                      "min_frontage": frontage_cite.as_dict() if frontage_cite else None},
        "parts": out,
    }

