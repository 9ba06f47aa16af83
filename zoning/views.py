"""Zoning's HTTP views: the eligibility API and its downloads (GeoJSON, DXF), the subdivision check, the parcel
sheet's section, the engineer's page, and the land-use queries (API and page).

Request → service → response: parameters are read with common.params, one parcel's work is done by zoning.service,
the city-wide queries by zoning.queries. Errors are ApiErrors, rendered by the error middleware (JSON under /api/)."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from common import params
from common.edge import json_response
from common.errors import ApiError, BadParameter, NotFound
from parcels.models import District, LandUse, Parcel
from zoning import queries, service
from zoning.service import PROPOSAL_FIELDS, BadProposal

PAGE_SIZE, MAX_PAGE_SIZE = 50, 500
GEOJSON_CAP = 5000          # features in one GeoJSON answer: the map never receives a whole table
FORMATS = ("json", "csv", "geojson")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("", "0", "false", "no")


def _body(request) -> dict:
    """A POST's JSON object, parsed safely (common.params.json_value: depth, number sizes, NaN, NUL)."""
    return params.json_object(request.body)


def _proposal(request) -> dict:
    """The proposal's values: a POST's JSON object, or a GET's parameters."""
    if request.method == "POST":
        return _body(request)
    return {k: v for k in (*PROPOSAL_FIELDS, "footprint", "date") if (v := request.GET.get(k)) is not None}


# -- one parcel: eligibility, envelope, subdivision ------------------------------------------------------------------

@csrf_exempt   # a public, side-effect-free computation: nothing is stored
@require_http_methods(["GET", "POST"])
def parcel_eligibility(request, parcel_id):
    data = _proposal(request)
    on_date = params.date(data, "date")
    if request.method == "GET" and not any(k in data for k in PROPOSAL_FIELDS):
        return json_response(service.envelope_data(parcel_id, on_date))
    return json_response(service.decide(parcel_id, data, on_date))


@require_GET
def envelope_geojson(request, parcel_id):
    return _geojson(service.envelope_features(parcel_id, params.date(request.GET, "date")),
                    f"envelope-{parcel_id}.geojson")


def _geojson(data: dict, filename: str):
    """A GeoJSON download as its media type says (RFC 7946: application/geo+json), as the layers' GeoJSON is."""
    response = json_response(data)
    response["Content-Type"] = "application/geo+json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
def envelope_dxf(request, parcel_id):
    response = HttpResponse(service.envelope_dxf(parcel_id, params.date(request.GET, "date")),
                            content_type="application/dxf")
    response["Content-Disposition"] = f'attachment; filename="envelope-{parcel_id}.dxf"'
    return response


@csrf_exempt   # side-effect-free, like the eligibility API
@require_http_methods(["GET", "POST"])
def subdivision(request, parcel_id):
    """Proposed split lines (GeoJSON, WGS84) → each part's area and frontage against the zone's minimums."""
    data = _body(request) if request.method == "POST" else request.GET
    lines = data.get("lines")
    return json_response(service.subdivision(parcel_id, lines, params.date(data, "date")))


# -- the sheet section and the engineer's page ------------------------------------------------------------------

def sheet_section(parcel: Parcel, request) -> dict:
    try:
        return service.envelope_data(parcel.pk)
    except (NotFound, queries.OverlaysNotComputed) as exc:
        return {"parcel_id": parcel.pk, "unavailable": exc.message}


@require_GET
def parcel_section(request, parcel_id):
    if not Parcel.objects.filter(pk=parcel_id).exists():
        raise NotFound(_("No parcel with id %(id)s.") % {"id": parcel_id})
    return json_response(sheet_section(Parcel(pk=parcel_id), request))


@require_GET
def engineer_page(request, parcel_id):
    """A printable page: the parcel, a proposal form, the decision rule by rule with citations, the envelope on a map."""
    parcel = Parcel.objects.filter(pk=parcel_id).select_related("land_use").first()
    if parcel is None:
        return render(request, "zoning/not_found.html", {"parcel_id": parcel_id}, status=404)
    form = {k: v for k, v in request.GET.items() if k in (*PROPOSAL_FIELDS, "footprint", "date") and v != ""}
    context = {"parcel": parcel, "form": form, "uses": LandUse.objects.order_by("code"), "envelope": None}
    try:
        on_date = params.date(form, "date")
        context["envelope"] = service.envelope_data(parcel_id, on_date)
        if any(k in form for k in PROPOSAL_FIELDS):
            context["decision"] = service.decide(parcel_id, form, on_date)
    except BadProposal as exc:
        context["errors"] = exc.labelled()
    except ApiError as exc:           # no zone or rulebook, a bad date: said on the page, next to the form
        context["unavailable"] = exc.message
    return render(request, "zoning/eligibility.html", context)


# -- land-use queries ---------------------------------------------------------------------------------------------

def _flag(get, name) -> bool:
    value = params.text(get, name, max_length=10).lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise BadParameter(_("%(name)s must be true or false, not %(value)r.") % {"name": name, "value": value})


def _parcel_query(get) -> queries.ParcelQuery:
    query = queries.ParcelQuery(
        zone=params.text(get, "zone") or None, land_use=params.text(get, "land_use") or None,
        district=params.text(get, "district") or None,
        area_min=params.number(get, "area_min", min=0, max=1e9),
        area_max=params.number(get, "area_max", min=0, max=1e9),
        non_conforming=_flag(get, "non_conforming"), widening=_flag(get, "widening"), steep=_flag(get, "steep"),
        min_slope=params.number(get, "min_slope", min=0, max=1000), floodplain=_flag(get, "floodplain"),
        on_date=params.date(get, "date"),
    )
    if query.area_min is not None and query.area_max is not None and query.area_min > query.area_max:
        raise BadParameter(_("area_min is larger than area_max."))
    return query


def _with_use_names(found: list[dict]) -> list[dict]:
    """Each row's current land use also by its name in the request's language (the code stays for programs)."""
    words = service.RuleWords()
    for row in found:
        row["land_use_name"] = words.use(row["land_use"]) if row["land_use"] else None
    return found


@require_GET
def query_api(request):
    """GET /api/zoning/parcels?zone=&land_use=&district=&area_min=&area_max=&non_conforming=&widening=&steep=
    &floodplain=&page=&page_size=&format=json|csv|geojson ; report=capacity for capacity by district."""
    get = request.GET
    fmt = params.choice(get, "format", FORMATS, default="json")
    report = params.choice(get, "report", ("capacity",))
    query = _parcel_query(get)
    if report == "capacity":
        return json_response({"districts": queries.capacity_by_district(query.on_date)})
    if fmt == "csv":
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="parcels.csv"'
        response.write("\ufeff")   # Excel opens UTF-8 (Persian) correctly with a BOM
        queries.write_csv(query, response)
        return response
    if fmt == "geojson":
        total, found = queries.rows(query, GEOJSON_CAP, geometry=True)
        found = _with_use_names(found)
        response = _geojson({"type": "FeatureCollection", "features": [
            {"type": "Feature", "id": r["id"], "geometry": r.pop("geometry"), "properties": r} for r in found]},
            "parcels.geojson")
        response["X-Total-Count"] = str(total)
        response["X-Features-Truncated"] = "true" if total > GEOJSON_CAP else "false"
        return response
    page = params.integer(get, "page", default=1, min=1, max=10_000_000)
    size = params.integer(get, "page_size", default=PAGE_SIZE, min=1, max=MAX_PAGE_SIZE)
    total, found = queries.rows(query, size, (page - 1) * size, geometry=_flag(get, "geometry"))
    return json_response({"count": total, "page": page, "page_size": size, "results": _with_use_names(found)})


@require_GET
def query_page(request):
    """The planners' page: a filter form, the count, a page of results on a map, downloads."""
    from django.conf import settings

    from layers.geojson import city_extent

    return render(request, "zoning/queries.html", {
        "zones": queries.ParcelQuery().zone_codes(), "uses": LandUse.objects.order_by("code"),
        "districts": District.objects.order_by("code"), "form": request.GET,
        # the map opens on the loaded city (its extent), or on the configured centre before any is loaded
        "map_start": {"bbox": city_extent()["bbox"], "center": settings.LEAFLET_CONFIG["DEFAULT_CENTER"],
                      "zoom": settings.LEAFLET_CONFIG["DEFAULT_ZOOM"]},
    })
