"""JSON API behind the map: parcel at a point, by id, by renewal code; the parcel sheet; search.

Parameters are read by common.params; errors are raised and rendered as JSON by common.edge, in the user's
language. Nothing here returns owners' data to anyone.
"""

from django.http import HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from common import geo, params
from common.edge import json_response
from common.errors import BadParameter, NotFound
from parcels import identifiers, search as search_module
from parcels.sheet import near_parcels, sheet_json


class OutsideCity(NotFound):
    code = "outside_city"  # a 404 of its own, so the map can say it in the user's language


def _sheet(text: str) -> HttpResponse:
    return HttpResponse(text, content_type="application/json")  # as PostGIS made it


def _coordinate(request, name: str, low: float, high: float) -> float:
    """A longitude or latitude in WGS84 degrees, as people type it (Persian digits too); required."""
    return params.number(request.GET, name, required=True, min=low, max=high)


# Each answer is made by one function that both the Django view and the lean front path (common/front.py: anonymous
# GETs answered before Django's request cycle) call: the same text, the same errors.

def sheet_at(request) -> str:
    """The sheet of the parcel at the request's lon/lat, as JSON text; OutsideCity or NotFound otherwise."""
    lon = _coordinate(request, "lon", -180, 180)
    lat = _coordinate(request, "lat", -90, 90)
    point = {"lon": lon, "lat": lat}
    if not geo.in_city(lon, lat):  # before any transform: far away, the city's CRS has no coordinates for it
        raise OutsideCity(_("The point (%(lon)s, %(lat)s) is outside the city.") % point)
    text = sheet_json("point", (lon, lat))
    if text is None:
        if not near_parcels(lon, lat):
            raise OutsideCity(_("The point (%(lon)s, %(lat)s) is outside the city.") % point)
        raise NotFound(_("No parcel at (%(lon)s, %(lat)s): a street or open land.") % point)
    return text


def sheet_by_id(parcel_id: int) -> str:
    text = sheet_json("id", parcel_id)
    if text is None:  # never there, or deleted since the link was made
        raise NotFound(_("No parcel with id %(id)s.") % {"id": parcel_id})
    return text


def sheet_by_code(code: str) -> str:
    try:
        canonical = identifiers.normalize_renewal_code(code)
    except identifiers.ValidationError as exc:
        raise BadParameter(exc.messages[0]) from None
    text = sheet_json("renewal_code", canonical)
    if text is None:
        raise NotFound(_("No parcel with renewal code %(code)s.") % {"code": canonical})
    return text


@require_GET
def parcel_at(request):
    return _sheet(sheet_at(request))


@require_GET
def parcel_by_id(request, parcel_id):
    return _sheet(sheet_by_id(parcel_id))


@require_GET
def parcel_by_code(request, code):
    return _sheet(sheet_by_code(code))


def register_front_routes() -> None:
    """The sheet's routes on the lean front path (common/front.py), as gis_portal/urls.py + parcels/urls.py route
    them to the views above (tests/test_front.py checks both resolve alike)."""
    from common import front

    front.register(r"/api/parcels/at", lambda request: front.json_answer(sheet_at(request)))
    front.register(r"/api/parcels/(?P<parcel_id>[0-9]+)",
                   lambda request, parcel_id: front.json_answer(sheet_by_id(int(parcel_id))))
    # <str:code>: any text without a slash, as Django's str converter
    front.register(r"/api/parcels/code/(?P<code>[^/]+)",
                   lambda request, code: front.json_answer(sheet_by_code(code)))


@require_GET
def search(request):
    if "q" not in request.GET:  # a client that forgot the question (400, as documented); a blank one finds nothing
        raise BadParameter(_("%(name)s is required") % {"name": "q"})
    query = params.text(request.GET, "q", max_length=200)
    return json_response({"query": query, "results": search_module.search(query, request)})
