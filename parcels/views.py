from django.conf import settings
from django.shortcuts import render

from layers.registry import LAYERS
from parcels.models import LandUse


def map_page(request):
    """The map portal: vector tiles of the city's layers, search, the parcel sheet."""
    layers = [
        {"name": l.name, "title": l.title, "title_en": l.title_en, "min_zoom": l.tile_min_zoom}
        for l in LAYERS.values()
    ]
    return render(request, "parcels/map.html", {
        "layers": layers,
        "basemap_url": settings.BASEMAP_URL,
        "basemap_attribution": settings.BASEMAP_ATTRIBUTION,
        "center": settings.LEAFLET_CONFIG["DEFAULT_CENTER"],
        "land_uses": {lu.code: [lu.name_fa, lu.name_en] for lu in LandUse.objects.all()},
    })
