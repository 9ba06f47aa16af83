"""Eligibility and envelope: the JSON API, the downloads (GeoJSON, DXF), the sheet section and the engineer's page.

Views are thin: gather the facts (zoning.facts), the rules in force (zoning.rulebook), parse the proposal, call the
pure engine (zoning.eligibility), render. Errors are JSON via common.errors."""

from __future__ import annotations

from common.i18n import is_persian

import datetime as dt
import functools
import io
import json

import numpy as np
import shapely
from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods
from pyproj import Transformer
from shapely.geometry import shape

from common.errors import ApiError, BadParameter, NotFound, json_errors
from parcels import identifiers
from parcels.models import LandUse, Parcel
from zoning import eligibility as engine
from zoning.facts import parcel_facts
from zoning.rulebook import rules_in_force
from zoning.rules import RULE_KINDS

DEMO_NOTICE_FA = ("ضوابط نمایشی است؛ شهرداری آن را با ضوابط مصوب طرح تفصیلی خود جایگزین می‌کند.")
DEMO_NOTICE_EN = "Illustrative rulebook: a municipality replaces it with its approved detailed plan."
HEADLINE = ["allowed_uses", "conditional_uses", "max_far", "max_coverage", "max_height", "min_lot_area",
            "min_frontage", "setback_front", "coverage_band"]


class BadProposal(ApiError):
    status = 400
    code = "bad_proposal"

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors

    def response(self):
        return JsonResponse({"error": self.code, "message": self.message, "fields": self.errors}, status=self.status)


@functools.cache
def _to_wgs84():
    return Transformer.from_crs(settings.MUNICIPALITY_SRID, 4326, always_xy=True)


@functools.cache
def _from_wgs84():
    return Transformer.from_crs(4326, settings.MUNICIPALITY_SRID, always_xy=True)


def _reproject(geom, transformer):
    return shapely.transform(geom, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))


def _geojson(geom, transformer=None):
    if geom is None or geom.is_empty:
        return None
    geom = _reproject(geom, transformer or _to_wgs84())
    return json.loads(shapely.to_geojson(shapely.set_precision(geom, 1e-7)))


def _date(raw) -> dt.date | None:
    """The date whose rules apply (YYYY-MM-DD; today when empty)."""
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(identifiers.to_ascii_digits(str(raw)))
    except ValueError:
        raise BadParameter(f"date {raw!r} is not a date (YYYY-MM-DD)") from None


def _facts_and_rules(parcel_id: int, on_date=None):
    facts = parcel_facts(parcel_id)
    if facts is None:
        raise NotFound(f"No parcel with id {parcel_id}.")
    if not facts.zone_code:
        raise NotFound(f"Parcel {parcel_id} lies in no planning zone: no rules apply.")
    rules = rules_in_force(facts.zone_code, on_date)
    if rules is None:
        raise NotFound(f"No rulebook in force on {(on_date or dt.date.today()).isoformat()} "
                       f"has rules for zone {facts.zone_code}.")
    return facts, rules


def _rule_list(rules):
    out = []
    for key in RULE_KINDS:
        if key in rules:
            citation = rules.citation(key)
            value = rules.get(key)
            if isinstance(value, list):
                value = [list(v) if isinstance(v, tuple) else v for v in value]
                value = [[None if isinstance(x, float) and x == float("inf") else x for x in v]
                         if isinstance(v, list) else v for v in value]
            out.append({"key": key, "title_fa": RULE_KINDS[key].title_fa, "title_en": RULE_KINDS[key].title_en,
                        "value": value, "citation": citation.as_dict()})
    return out


def envelope_data(parcel_id: int, on_date=None) -> dict:
    """The envelope of a parcel and the rules in force (JSON-ready); used by the API, the sheet and the page."""
    facts, rules = _facts_and_rules(parcel_id, on_date)
    env = engine.envelope(facts, rules)
    to_wgs = _to_wgs84()
    rule_list = _rule_list(rules)
    return {
        "parcel_id": parcel_id, "zone_code": facts.zone_code, "rulebook": rules.rulebook,
        "on_date": rules.on_date.isoformat(), "is_demo_rulebook": rules.rulebook_is_demo,
        "notice": {"fa": DEMO_NOTICE_FA, "en": DEMO_NOTICE_EN} if rules.rulebook_is_demo else None,
        "current_use": facts.current_use, "lot_area": round(facts.lot_area, 2),
        "widening_area": round(facts.widening.area, 2), "street_width": facts.street_width,
        "overlays": {"historic_core": facts.in_historic_core, "floodplain": facts.in_floodplain,
                     "fault_distance": None if facts.fault_distance is None else round(facts.fault_distance, 1),
                     "slope_mean": None if facts.slope_mean is None else round(facts.slope_mean, 1)},
        "envelope": {**env.as_dict(), "footprint": _geojson(env.footprint, to_wgs)},
        "rules": rule_list,
        "headline": [r for r in rule_list if r["key"] in HEADLINE],
    }


PROPOSAL_FIELDS = ("land_use", "floors", "gross_floor_area", "footprint_area", "units", "parking_spaces", "height")


def _request_data(request) -> dict:
    if request.method == "POST":
        try:
            data = json.loads(request.body or b"{}")
        except ValueError:
            raise BadParameter("the body is not valid JSON") from None
        if not isinstance(data, dict):
            raise BadParameter("the body must be a JSON object")
        return data
    return {k: request.GET.get(k) for k in (*PROPOSAL_FIELDS, "footprint", "date") if request.GET.get(k) is not None}


def _footprint(data):
    raw = data.get("footprint")
    if raw in (None, ""):
        return None
    try:
        geom = shape(json.loads(raw) if isinstance(raw, str) else raw)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise BadProposal({"footprint": f"is not a GeoJSON polygon in WGS84 ({exc})"}) from None
    lon0, lat0, lon1, lat1 = geom.bounds
    if not (-180 <= lon0 <= lon1 <= 180 and -90 <= lat0 <= lat1 <= 90):
        raise BadProposal({"footprint": "coordinates must be WGS84 longitude/latitude"})
    return _reproject(geom, _from_wgs84())


def decide(parcel_id: int, data: dict) -> dict:
    """The decision for a proposal given as form/JSON values (JSON-ready)."""
    on_date = _date(data.get("date"))
    facts, rules = _facts_and_rules(parcel_id, on_date)
    raw = {k: identifiers.to_ascii_digits(str(v)) if isinstance(v, str) and k != "land_use" else v
           for k, v in data.items() if k in PROPOSAL_FIELDS}
    try:
        proposal = engine.parse_proposal(raw, _known_uses(), parcel=facts.geometry, footprint=_footprint(data))
    except engine.ProposalError as exc:
        raise BadProposal(exc.errors) from None
    decision = engine.decide(facts, rules, proposal)
    out = decision.as_dict()
    out["parcel_id"] = parcel_id
    out["envelope"]["footprint"] = _geojson(decision.envelope.footprint)
    out["notice"] = {"fa": DEMO_NOTICE_FA, "en": DEMO_NOTICE_EN} if rules.rulebook_is_demo else None
    return out


def _known_uses() -> set[str]:
    return set(LandUse.objects.values_list("code", flat=True))


def _json(data, status=200):
    return JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})


@csrf_exempt   # a public, side-effect-free computation: nothing is stored
@require_http_methods(["GET", "POST"])
@json_errors
def parcel_eligibility(request, parcel_id):
    data = _request_data(request)
    if request.method == "GET" and not any(k in data for k in PROPOSAL_FIELDS):
        return _json(envelope_data(parcel_id, _date(data.get("date"))))
    return _json(decide(parcel_id, data))


@require_GET
@json_errors
def envelope_geojson(request, parcel_id):
    facts, rules = _facts_and_rules(parcel_id, _date(request.GET.get("date")))
    env = engine.envelope(facts, rules)
    props = {"parcel_id": parcel_id, "zone_code": facts.zone_code, "rulebook": rules.rulebook,
             "on_date": rules.on_date.isoformat(), **env.as_dict()}
    features = [
        {"type": "Feature", "properties": {"kind": "envelope", **props}, "geometry": _geojson(env.footprint)},
        {"type": "Feature", "properties": {"kind": "parcel"}, "geometry": _geojson(facts.geometry)},
    ]
    if not facts.widening.is_empty:
        features.append({"type": "Feature", "properties": {"kind": "road_widening"},
                         "geometry": _geojson(facts.widening)})
    response = _json({"type": "FeatureCollection", "features": features})
    response["Content-Disposition"] = f'attachment; filename="envelope-{parcel_id}.geojson"'
    return response


@require_GET
@json_errors
def envelope_dxf(request, parcel_id):
    """The parcel, the widening strip and the envelope as closed polylines on their own layers, in the
    municipality's projected coordinates (metres), for the engineer's CAD drawing."""
    import ezdxf

    facts, rules = _facts_and_rules(parcel_id, _date(request.GET.get("date")))
    env = engine.envelope(facts, rules)
    doc = ezdxf.new("R2010", units=6)   # 6 = metres
    msp = doc.modelspace()
    for name, color, geom in (("PARCEL", 7, facts.geometry), ("ROAD_WIDENING", 1, facts.widening),
                              ("ENVELOPE", 3, env.footprint)):
        doc.layers.add(name, color=color)
        for polygon in shapely.get_parts(geom):
            if polygon.geom_type != "Polygon":
                continue
            for ring in [polygon.exterior, *polygon.interiors]:
                msp.add_lwpolyline(list(ring.coords)[:-1], close=True, dxfattribs={"layer": name})
    doc.layers.add("TEXT", color=7)
    label = (f"parcel {parcel_id} zone {facts.zone_code} max floors {env.max_floors} "
             f"max GFA {env.max_gross_floor_area:.1f} m2 ({rules.rulebook}, {rules.on_date})")
    point = facts.geometry.representative_point()
    msp.add_text(label, dxfattribs={"layer": "TEXT", "height": 0.5, "insert": (point.x, point.y)})
    buf = io.StringIO()
    doc.write(buf)
    response = HttpResponse(buf.getvalue(), content_type="application/dxf")
    response["Content-Disposition"] = f'attachment; filename="envelope-{parcel_id}.dxf"'
    return response


@csrf_exempt
@require_http_methods(["GET", "POST"])
@json_errors
def subdivision(request, parcel_id):
    """Proposed split lines (GeoJSON LineStrings or a MultiLineString, WGS84) -> each part's area and frontage
    against the zone's minimum lot area and frontage (حد نصاب تفکیک)."""
    data = _request_data(request) if request.method == "POST" else {"lines": request.GET.get("lines"),
                                                                     "date": request.GET.get("date")}
    raw = data.get("lines")
    if not raw:
        raise BadParameter("lines is required: a GeoJSON LineString, MultiLineString or a list of LineStrings")
    try:
        raw = json.loads(raw) if isinstance(raw, str) else raw
        geoms = [shape(g) for g in raw] if isinstance(raw, list) else [shape(raw)]
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise BadParameter(f"lines is not GeoJSON ({exc})") from None
    lines = [_reproject(part, _from_wgs84()) for g in geoms for part in shapely.get_parts(g)]
    facts, rules = _facts_and_rules(parcel_id, _date(data.get("date")))
    try:
        result = engine.check_subdivision(facts, rules, lines)
    except engine.ProposalError as exc:
        raise BadProposal(exc.errors) from None
    result["parts"] = [{"area": round(p.area, 2), "frontage": round(p.frontage, 2), "area_ok": p.area_ok,
                        "frontage_ok": p.frontage_ok, "geometry": _geojson(p.geometry)} for p in result["parts"]]
    return _json({"parcel_id": parcel_id, "zone_code": facts.zone_code, "rulebook": rules.rulebook, **result})


# -- the sheet section and the engineer's page ------------------------------------------------------------------

def sheet_section(parcel: Parcel, request) -> dict:
    try:
        return envelope_data(parcel.pk)
    except NotFound as exc:
        return {"parcel_id": parcel.pk, "unavailable": exc.message}


@require_GET
@json_errors
def parcel_section(request, parcel_id):
    if not Parcel.objects.filter(pk=parcel_id).exists():
        raise NotFound(f"No parcel with id {parcel_id}.")
    return _json(sheet_section(Parcel(pk=parcel_id), request))


def engineer_page(request, parcel_id):
    """A printable page: the parcel, a proposal form, the decision rule by rule with citations, the envelope on a map."""
    parcel = Parcel.objects.filter(pk=parcel_id).select_related("land_use").first()
    if parcel is None:
        return render(request, "zoning/not_found.html", {"parcel_id": parcel_id}, status=404)
    data = {k: v for k, v in request.GET.items() if k in (*PROPOSAL_FIELDS, "footprint", "date") and v != ""}
    context = {"parcel": parcel, "form": data, "uses": LandUse.objects.order_by("code"),
               "fa": is_persian(), "envelope": None}
    try:
        context["envelope"] = envelope_data(parcel_id, _date(data.get("date")))
        if any(k in data for k in PROPOSAL_FIELDS):
            context["decision"] = decide(parcel_id, data)
    except BadProposal as exc:
        context["errors"] = exc.errors
    except ApiError as exc:
        context["unavailable"] = exc.message
    return render(request, "zoning/eligibility.html", context)
