"""The public rulebook pages (/transparency/rulebooks/…) and the parcels a change reaches (/api/zoning/rulebooks/…):
anonymous, Persian first. Request → zoning.public_pages → response; errors are ApiErrors (a page here, JSON under
/api/)."""

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from common import params
from common.edge import json_response
from common.geo import clip_box
from zoning import public_pages

PARCELS_PAGE, PARCELS_PAGE_MAX = 500, 2000


@require_GET
def rulebooks(request):
    return render(request, "zoning/public/rulebooks.html", {"versions": list(public_pages.versions())})


@require_GET
def rulebook(request, pk):
    book = public_pages.get_version(pk)
    return render(request, "zoning/public/rulebook.html", {
        "book": book, "versions": list(public_pages.versions()), **public_pages.version_page(book)})


def _pair(get):
    old = params.integer(get, "from", required=True, min=1, max=2**31 - 1)
    new = params.integer(get, "to", required=True, min=1, max=2**31 - 1)
    return public_pages.check_pair(old, new)


@require_GET
def rulebook_diff(request):
    """GET ?from=<version id>&to=<version id>: what changed, by zone, and the parcels it reaches on a map."""
    old, new = _pair(request.GET)
    found = public_pages.diff_page(old, new)
    return render(request, "zoning/public/rulebook_diff.html", {
        "old": old, "new": new, "versions": list(public_pages.versions()), **found,
        "map": public_pages.map_config(old, new, [a["code"] for a in found["affected"]], found["extent"])})


@require_GET
def rulebook_toml(request, pk):
    book = public_pages.get_version(pk)
    response = HttpResponse(public_pages.rulebook_toml(book), content_type="application/toml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="rulebook-{book.code}.toml"'
    return response


@require_GET
def change_parcels(request):
    """GET /api/zoning/rulebooks/changes/parcels?from=&to=[&bbox=][&after=][&limit=]: a page of the parcels the
    change between two versions reaches, as GeoJSON (WGS84), `next_after` naming the next page."""
    get = request.GET
    old, new = _pair(get)
    box = params.bbox(get)
    limit = params.integer(get, "limit", default=PARCELS_PAGE, min=1, max=PARCELS_PAGE_MAX)
    after = params.integer(get, "after", default=0, min=0, max=2**63 - 1)
    if box is not None:
        box = clip_box(box)
        if box is None:       # wholly outside the city: nothing there
            return _geojson({"type": "FeatureCollection", "features": [], "numberReturned": 0, "next_after": None,
                             "zones": []})
    return _geojson(public_pages.parcels_geojson(old, new, box, after, limit))


def _geojson(data):
    response = json_response(data)
    response["Content-Type"] = "application/geo+json"
    return response
