"""The pure eligibility engine, rule by rule, and the buildable envelope against hand-drawn lots.

No database: facts and rules are built here. Expected geometry is worked out by hand in the comments (lots are
axis-aligned or simple so the answer can be checked on paper)."""

import ast
import datetime as dt

import pytest
from shapely.geometry import LineString, Polygon, box

from tests.conftest import ROOT
from zoning.eligibility import (CONDITIONAL, ELIGIBLE, FAIL, NOT_CHECKED, NOT_ELIGIBLE, PASS, ParcelFacts, Proposal,
                                ProposalError, Text, check_subdivision, decide, envelope, parse_proposal)
from zoning.rules import Citation, RuleValue, RuleValueError, ZoneRules, check_value

USES = {"residential", "commercial", "industrial", "education", "green_space"}
DAY = dt.date(2026, 5, 1)


def rules(**values):
    """ZoneRules with the given values, each cited as 'Test plan, <key>'."""
    return ZoneRules("R121", DAY, "test-plan", True, {
        k: RuleValue(check_value(k, v), Citation("Test plan", f"art. {k}", DAY)) for k, v in values.items()})


BASE = dict(allowed_uses=["residential"], conditional_uses=["commercial"], prohibited_uses=["industrial"],
            max_far=180, max_coverage=60, floors_by_street_width=[[0, 2], [8, 3], [12, 4]], max_height=14,
            floor_height=3.3, parking_by_unit_area=[[150, 1], [300, 2], [None, 3]])


def lot(w=20, d=30, street_width=10.0):
    """A w × d lot whose south side (y=0) fronts a street."""
    geom = box(0, 0, w, d)
    return ParcelFacts(zone_code="R121", geometry=geom, frontage_lines=LineString([(0, 0), (w, 0)]),
                       street_width=street_width)


def proposal(**kw):
    base = dict(land_use="residential", floors=2, gross_floor_area=600, footprint_area=300, units=2,
                parking_spaces=4)
    base.update(kw)
    return Proposal(**base)


def check(decision, key):
    (found,) = [c for c in decision.checks if c.key == key]
    return found


# -- rule by rule ----------------------------------------------------------------------------------------------

def test_allowed_use_passes_and_is_cited():
    d = decide(lot(), rules(**BASE), proposal())
    c = check(d, "allowed_uses")
    assert (c.status, c.proposed) == (PASS, "residential")
    assert c.citation == {"document": "Test plan", "article": "art. allowed_uses", "effective_from": "2026-05-01"}
    assert d.status == ELIGIBLE


def test_conditional_use_makes_the_decision_conditional():
    d = decide(lot(), rules(**BASE), proposal(land_use="commercial"))
    assert check(d, "conditional_uses").status == CONDITIONAL
    assert d.status == CONDITIONAL


@pytest.mark.parametrize("use,key", [("industrial", "prohibited_uses"), ("education", "allowed_uses")])
def test_prohibited_or_unlisted_use_fails(use, key):
    d = decide(lot(), rules(**BASE), proposal(land_use=use))
    assert check(d, key).status == FAIL
    assert d.status == NOT_ELIGIBLE


def test_far_measured_on_lot_net_of_widening():
    # 20 × 30 = 600 m²; a 2 m widening strip along the street leaves 560 m²; 180% of 560 = 1008 m².
    facts = lot()
    facts = ParcelFacts(**{**facts.__dict__, "widening": box(0, 0, 20, 2)})
    assert facts.net_area == pytest.approx(560)
    ok = decide(facts, rules(**BASE), proposal(floors=3, gross_floor_area=1008, footprint_area=336))
    assert check(ok, "max_far").status == PASS
    too_much = decide(facts, rules(**BASE), proposal(floors=3, gross_floor_area=1010, footprint_area=336.7))
    assert check(too_much, "max_far").status == FAIL
    assert check(too_much, "max_far").proposed == pytest.approx(180.4, abs=0.05)


def test_coverage():
    assert check(decide(lot(), rules(**BASE), proposal(footprint_area=360)), "max_coverage").status == PASS
    c = check(decide(lot(), rules(**BASE), proposal(footprint_area=361)), "max_coverage")
    assert (c.status, c.limit) == (FAIL, 60)


@pytest.mark.parametrize("width,allowed", [(6, 2), (8, 3), (11.9, 3), (12, 4), (30, 4)])
def test_floors_by_street_width(width, allowed):
    no_height = {k: v for k, v in BASE.items() if k != "max_height"}
    d = decide(lot(street_width=width), rules(**no_height), proposal(floors=allowed, gross_floor_area=300))
    assert check(d, "floors_by_street_width").status == PASS
    assert check(d, "floors_by_street_width").limit == allowed
    d = decide(lot(street_width=width), rules(**no_height), proposal(floors=allowed + 1, gross_floor_area=300))
    assert check(d, "floors_by_street_width").status == FAIL


def test_height_from_floors_and_the_height_cap_on_floors():
    # 14 m / 3.3 m = 4.24: four floors by height; the street table allows 4 at 12 m.
    d = decide(lot(street_width=12), rules(**BASE), proposal(floors=4, gross_floor_area=800))
    assert check(d, "max_height").proposed == pytest.approx(13.2)
    assert check(d, "max_height").status == PASS
    assert d.envelope.max_floors == 4
    tight = rules(**{**BASE, "max_height": 10})
    assert envelope(lot(street_width=12), tight).max_floors == 3
    c = check(decide(lot(street_width=12), tight, proposal(floors=3, height=10.5, gross_floor_area=600)), "max_height")
    assert (c.status, c.proposed) == (FAIL, 10.5)


@pytest.mark.parametrize("units,gfa,spaces,required,status", [
    (2, 240, 2, 2, PASS),        # 120 m² units: one space each
    (2, 400, 3, 4, FAIL),        # 200 m² units: two each
    (1, 320, 3, 3, PASS),        # above 300 m²: three
])
def test_parking_by_unit_area(units, gfa, spaces, required, status):
    d = decide(lot(), rules(**BASE), proposal(units=units, gross_floor_area=gfa, parking_spaces=spaces))
    c = check(d, "parking_by_unit_area")
    assert (c.limit, c.proposed, c.status) == (required, spaces, status)


def test_overlays_historic_floodplain_fault_slope():
    r = rules(**BASE, historic_core="conditional", floodplain="prohibited", fault_buffer_m=50,
              fault_buffer="prohibited", steep_slope_pct=15, steep_slope="conditional")
    plain = ParcelFacts(**{**lot().__dict__, "fault_distance": 80.0, "slope_mean": 3.0})
    d = decide(plain, r, proposal())
    assert d.status == ELIGIBLE
    assert {c.key: c.status for c in d.checks}["fault_buffer"] == PASS
    historic = ParcelFacts(**{**plain.__dict__, "in_historic_core": True})
    assert decide(historic, r, proposal()).status == CONDITIONAL
    flood = ParcelFacts(**{**plain.__dict__, "in_floodplain": True})
    assert check(decide(flood, r, proposal()), "floodplain").status == FAIL
    near_fault = ParcelFacts(**{**plain.__dict__, "fault_distance": 49.0})
    assert decide(near_fault, r, proposal()).status == NOT_ELIGIBLE
    steep = ParcelFacts(**{**plain.__dict__, "slope_mean": 22.0})
    assert check(decide(steep, r, proposal()), "steep_slope").status == CONDITIONAL
    unknown = ParcelFacts(**{**plain.__dict__, "slope_mean": None})
    assert check(decide(unknown, r, proposal()), "steep_slope").status == NOT_CHECKED


# -- envelopes drawn by hand -----------------------------------------------------------------------------------

BAND = dict(BASE, coverage_band={"share": 0.6, "extra_m": 2})


def test_envelope_plain_lot_northern_band():
    # 20 × 30 lot fronting south: the band is the northern 0.6 × 30 + 2 = 20 m: y from 10 to 30.
    env = envelope(lot(), rules(**BAND))
    assert env.footprint.equals(box(0, 10, 20, 30))
    assert env.max_footprint_area == pytest.approx(360)        # coverage 60% of 600 caps the 400 m² band
    assert env.max_floors == 3                                  # 10 m street
    assert env.max_gross_floor_area == pytest.approx(min(1.8 * 600, 3 * 360))


def test_envelope_widening_on_two_sides_of_a_corner_lot():
    # A 20 × 30 corner lot: street on the south (y=0) and on the west (x=0). Widening takes 3 m on the south and
    # 2 m on the west; front setback 1 m from both new street lines. Net lot: x 2..20, y 3..30 (486 m²).
    # Setback: x 3..20, y 4..30. Band: northern 0.6 × 27 + 2 = 18.2 m of the net lot: y 11.8..30.
    facts = ParcelFacts(zone_code="C2", geometry=box(0, 0, 20, 30),
                        frontage_lines=LineString([(0, 30), (0, 0), (20, 0)]), street_width=16,
                        widening=box(0, 0, 20, 3).union(box(0, 0, 2, 30)))
    env = envelope(facts, rules(**BAND, setback_front=1))
    assert env.net_area == pytest.approx(600 - 60 - 54)
    assert env.footprint.symmetric_difference(box(3, 11.8, 20, 30)).area < 1e-3  # mm² of overlay noise
    assert env.max_floors == 4  # 16 m street: the table's 12 m row; 14 m / 3.3 m allows 4


def test_envelope_irregular_lot_side_and_rear_setbacks():
    # A trapezoid fronting the south street: (0,0) (24,0) (18,20) (0,20). Side and rear setback 2 m from the
    # other three sides, none in front; no band. Expected by hand: the lot shrunk by 2 m inward on the west,
    # north and slanted east side, with the south side untouched.
    geom = Polygon([(0, 0), (24, 0), (18, 20), (0, 20)])
    facts = ParcelFacts(zone_code="I1", geometry=geom, frontage_lines=LineString([(0, 0), (24, 0)]),
                        street_width=10)
    env = envelope(facts, rules(**{**BASE, "setback_side_rear": 2, "max_coverage": 100}))
    inner = geom.buffer(-2, join_style="mitre")
    expected = Polygon([(2, 0), (24 - 2 * (1 + (6 / 20) ** 2) ** 0.5 * 1, 0)] + [
        p for p in inner.exterior.coords if p[1] > 17.9][::-1])
    # The slanted side moves inward 2 m (x shifts by 2 / cos of its slope) and the shape keeps its south edge.
    assert env.footprint.bounds[1] == pytest.approx(0)
    assert env.footprint.bounds[3] == pytest.approx(18)
    assert env.footprint.bounds[0] == pytest.approx(2)
    slant = 2 * (1 + (6 / 20) ** 2) ** 0.5
    assert env.footprint.area == pytest.approx(((24 - 2 - slant) + (24 - 2 - slant - 6 * 18 / 20)) / 2 * 18, rel=1e-6)
    assert env.footprint.symmetric_difference(expected).area < 0.5


def test_envelope_remaining_capacity_with_existing_buildings():
    facts = ParcelFacts(**{**lot().__dict__, "existing_floor_area": 500})
    env = envelope(facts, rules(**BAND))
    assert env.remaining_floor_area == pytest.approx(env.max_gross_floor_area - 500)


def test_footprint_placement_in_the_band():
    inside = box(1, 12, 19, 29)
    outside = box(1, 2, 19, 19)   # reaches into the southern yard
    for fp, status in [(inside, PASS), (outside, FAIL)]:
        d = decide(lot(), rules(**BAND), proposal(footprint=fp, footprint_area=fp.area, gross_floor_area=fp.area))
        assert check(d, "coverage_band").status == status
    d = decide(lot(), rules(**BAND), proposal())
    assert check(d, "coverage_band").status == NOT_CHECKED


# -- bad proposals -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw,field,text", [
    ({"floors": -1}, "floors", "less than 1"),
    ({"floors": 2.5}, "floors", "whole number"),
    ({"floors": 500}, "floors", "not plausible"),
    ({"land_use": "casino"}, "land_use", "unknown land use"),
    ({"gross_floor_area": "lots"}, "gross_floor_area", "not a number"),
    ({"gross_floor_area": 1e9}, "gross_floor_area", "not plausible"),
    ({"gross_floor_area": 5000}, "gross_floor_area", "more than the floors allow on the footprint (2 × 300 m²)"),
    ({"footprint_area": 900}, "footprint_area", "larger than the parcel"),
    ({"parking_spaces": -2}, "parking_spaces", "less than 0"),
])
def test_bad_proposals_get_clear_errors(raw, field, text):
    values = {"land_use": "residential", "floors": 2, "gross_floor_area": 600, "footprint_area": 300, **raw}
    with pytest.raises(ProposalError) as err:
        parse_proposal(values, USES, parcel=box(0, 0, 20, 30))
    assert text in str(err.value.errors[field])


def test_footprint_outside_the_parcel():
    with pytest.raises(ProposalError) as err:
        parse_proposal({"land_use": "residential", "floors": 1, "gross_floor_area": 100}, USES,
                       parcel=box(0, 0, 20, 30), footprint=box(15, 10, 25, 20))
    assert str(err.value.errors["footprint"]) == "lies outside the parcel by 50 m²"
    ok = parse_proposal({"land_use": "residential", "floors": 1, "gross_floor_area": 100}, USES,
                        parcel=box(0, 0, 20, 30), footprint=box(5, 10, 15, 20))
    assert ok.footprint_area == pytest.approx(100)


# -- subdivision -------------------------------------------------------------------------------------------

def test_subdivision_area_and_frontage():
    r = rules(**BASE, min_lot_area=200, min_frontage=8.5)
    facts = ParcelFacts(zone_code="R121", geometry=box(0, 0, 20, 30), frontage_lines=LineString([(0, 0), (20, 0)]),
                        street_width=10)
    halves = check_subdivision(facts, r, [LineString([(10, -1), (10, 31)])])
    assert halves["ok"] and [round(p.area) for p in halves["parts"]] == [300, 300]
    assert sorted(round(p.frontage, 2) for p in halves["parts"]) == [10, 10]
    thirds = check_subdivision(facts, r, [LineString([(8, -1), (8, 31)]), LineString([(14, -1), (14, 31)])])
    assert not thirds["ok"]
    assert [round(p.frontage, 2) for p in sorted(thirds["parts"], key=lambda p: p.geometry.bounds[0])] == [8, 6, 6]
    assert not any(p.frontage_ok for p in thirds["parts"])
    assert [p.area_ok for p in sorted(thirds["parts"], key=lambda p: p.geometry.bounds[0])] == [True, False, False]
    back = check_subdivision(facts, r, [LineString([(-1, 15), (21, 15)])])   # the rear half has no frontage
    assert [p.frontage_ok for p in sorted(back["parts"], key=lambda p: p.geometry.bounds[1])] == [True, False]
    with pytest.raises(ProposalError, match="does not cross"):
        check_subdivision(facts, r, [LineString([(5, 5), (6, 6)])])


# -- rule values -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("key,value,text", [
    ("max_far", -5, "between"),
    ("max_far", "high", "must be a number"),
    ("floors_by_street_width", [[8, 3], [6, 2]], "must increase"),
    ("parking_by_unit_area", [[None, 1], [300, 2]], "only the last row"),
    ("coverage_band", {"share": 0.6, "side": "up"}, "side must be"),
    ("allowed_uses", ["residential", "residential"], "twice"),
    ("no_such_rule", 1, "unknown rule"),
])
def test_rule_values_are_checked(key, value, text):
    with pytest.raises(RuleValueError, match=text):
        check_value(key, value)


# -- what people read: message templates, worded in the reader's language by zoning.service -----------------------

def test_notes_and_errors_are_message_templates_with_their_values():
    """The engine says nothing in a language: each note and error is an English msgid with named placeholders and
    the values (numbers as numbers), which the service renders in the reader's language and digits."""
    d = decide(lot(street_width=12), rules(**BASE), proposal(floors=3, gross_floor_area=600))
    note = check(d, "floors_by_street_width").note
    assert note == Text("street width %(width)s m", {"width": 12})
    assert check(d, "max_height").note.params == {"floors": 3, "floor_height": 3.3}
    assert str(check(d, "max_far").note) == "600 m² on 600 m² net of widening"       # English, for logs
    assert envelope(ParcelFacts(**{**lot().__dict__, "street_width": None}), rules(**BASE)).notes == [
        Text("fronts no street: the table's first row applies")]
    with pytest.raises(ProposalError) as err:
        parse_proposal({"land_use": "residential", "floors": 2.5, "gross_floor_area": "lots"}, USES)
    assert err.value.errors["floors"] == Text("must be a whole number, not %(value)s", {"value": 2.5})
    assert err.value.errors["gross_floor_area"].params == {"value": "lots"}
    assert all(isinstance(e, Text) for e in err.value.errors.values())


def test_review_checks_keep_their_values_as_data():
    """Limits and proposed values are data for programs (a verdict, the band, a distance); only the service words
    them for people."""
    r = rules(**BAND, fault_buffer_m=50, fault_buffer="prohibited", steep_slope_pct=15, steep_slope="conditional")
    facts = ParcelFacts(**{**lot().__dict__, "fault_distance": 80.0, "slope_mean": None})
    d = decide(facts, r, proposal(footprint=box(1, 2, 19, 19), footprint_area=323, gross_floor_area=323))
    fault, slope, band = check(d, "fault_buffer"), check(d, "steep_slope"), check(d, "coverage_band")
    assert (fault.limit, fault.proposed) == ("prohibited", 80.0)
    assert fault.note == Text("the parcel is not within %(distance)s m of a fault line", {"distance": 50})
    assert (slope.limit, slope.proposed, slope.status) == ("conditional", None, NOT_CHECKED)
    assert band.limit == {"share": 0.6, "extra_m": 2.0, "side": "north"}
    # y 2..10 of the 18 m wide footprint lies outside the band, less the 5 cm drawing tolerance: 18 × 7.95 m²
    assert band.proposed == pytest.approx(18 * 7.95, abs=0.1)


@pytest.mark.parametrize("module", ["zoning/eligibility.py", "zoning/rules.py", "common/text.py"])
def test_rule_modules_stay_pure(module):
    """No Django (nor its translation) in the rule modules, nor in what they take their message marker from
    (common.text.gettext_noop)."""
    tree = ast.parse((ROOT / module).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert not {name for name in imported if name.split(".")[0] == "django"}
