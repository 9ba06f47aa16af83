from django.conf import settings
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import get_language

from layers.geojson import city_extent
from layers.registry import portal_layers
from layers.tiles import layer_versions
from parcels.models import LandUse, Parcel


def map_page(request):
    """The map portal: vector tiles of the city's layers, search, the parcel sheet."""
    layers = [
        {"name": l.name, "title": l.title, "title_en": l.title_en, "min_zoom": l.tile_min_zoom}
        for l in portal_layers()
    ]
    from parcels.sheet import sections

    return render(request, "parcels/map.html", {
        "layers": layers,
        "section_scripts": [s.script for s in sections()],
        "basemap_url": settings.BASEMAP_URL,
        "basemap_attribution": settings.BASEMAP_ATTRIBUTION,
        "center": settings.LEAFLET_CONFIG["DEFAULT_CENTER"],
        "land_uses": {lu.code: [lu.name_fa, lu.name_en] for lu in LandUse.objects.all()},
        "versions": layer_versions(portal_layers()),  # for cacheable tile URLs
        "city": city_extent(),  # in the page: the first view needs no extra round trip
    })


def parcel_page(request, parcel_id):
    """A text-only page for every parcel: its own URL, readable by screen readers and search engines."""
    from parcels.sheet import parcel_sheet, sections

    parcel = Parcel.objects.filter(pk=parcel_id).first() if parcel_id < 2**63 else None
    if parcel is None:
        raise Http404("No such parcel")
    sheet = parcel_sheet(parcel)
    lon, lat = sheet["point"]["coordinates"]
    plate = " / ".join("—" if v is None else str(v) for v in sheet["registered_plate"].values())
    rendered_sections = [
        {"section": s, "template": s.template, "data": s.build(parcel, request)} for s in sections()
    ]
    return render(request, "parcels/parcel_page.html", {
        "sheet": sheet, "sections": rendered_sections, "parcel": parcel, "plate": plate, "lon": f"{lon:.6f}", "lat": f"{lat:.6f}",
        "is_fa": (get_language() or "fa").startswith("fa"),
    })
