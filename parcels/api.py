"""JSON API behind the map: parcel at a point, by id, by renewal code; the parcel sheet; search.

Errors are JSON with a clear message (common.errors). Nothing here returns owners' data to anyone.
"""

from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from common.errors import BadParameter, NotFound, json_errors
from parcels import identifiers, search as search_module
from parcels.sheet import sheet_json



class OutsideCity(NotFound):
    code = "outside_city"  # a 404 of its own, so the map can say it in the user's language

def _json(data, status=200):
    return JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})


def _sheet_or_404(text: str | None, not_found: str):
    if text is None:
        raise NotFound(not_found)
    return HttpResponse(text, content_type="application/json")


def _coordinate(request, name, low, high) -> float:
    raw = request.GET.get(name)
    if raw in (None, ""):
        raise BadParameter(f"{name} is required (WGS84 degrees)")
    try:
        value = float(identifiers.to_ascii_digits(raw))
    except ValueError:
        raise BadParameter(f"{name} {raw!r} is not a number") from None
    if not low <= value <= high:
        raise BadParameter(f"{name} {value} is out of range [{low}, {high}]")
    return value


@require_GET
@json_errors
def parcel_at(request):
    lon = _coordinate(request, "lon", -180, 180)
    lat = _coordinate(request, "lat", -90, 90)
    text = sheet_json("point", (lon, lat))
    if text is None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT EXISTS (SELECT 1 FROM parcels_parcel WHERE ST_DWithin(geom, "
                "ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), 4326), %s), 500))",
                [lon, lat, settings.MUNICIPALITY_SRID],
            )
            near_city = cursor.fetchone()[0]
        if not near_city:
            raise OutsideCity(f"The point ({lon}, {lat}) is outside the city.")
        raise NotFound(f"No parcel at ({lon}, {lat}): a street or open land.")
    return _sheet_or_404(text, "")


@require_GET
@json_errors
def parcel_by_id(request, parcel_id):
    return _sheet_or_404(sheet_json("id", parcel_id), f"No parcel with id {parcel_id}.")


@require_GET
@json_errors
def parcel_by_code(request, code):
    try:
        canonical = identifiers.normalize_renewal_code(code)
    except identifiers.ValidationError as exc:
        raise BadParameter(exc.messages[0]) from None
    return _sheet_or_404(sheet_json("renewal_code", canonical), f"No parcel with renewal code {canonical}.")


@require_GET
@json_errors
def search(request):
    query = request.GET.get("q", "")
    if len(query) > 200:
        raise BadParameter("q is longer than 200 characters")
    return _json({"query": query, "results": search_module.search(query, request)})
