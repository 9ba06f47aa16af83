"""The site's pages that compose several apps: the map portal."""

from django.conf import settings
from django.shortcuts import render

from common.i18n import is_persian
from layers import qml
from layers.geojson import city_extent
from layers.registry import portal_layers
from layers.versions import tile_state
from parcels.models import LandUse
from parcels.sheet import sections


def map_page(request):
    """The map portal: vector tiles of the city's layers, search, the parcel sheet with every app's sections."""
    english = not is_persian()
    layers = [  # a layer coloured by a field carries its legend (zoning: the colours and names of the zones loaded)
        {"name": l.name, "title": l.title, "title_en": l.title_en, "min_zoom": l.tile_min_zoom,
         # the zoom from which the layer's own features are drawn (below: its generalised overview, if it has one)
         "detail_zoom": l.overview.bands[-1] + 1 if l.overview else l.tile_min_zoom,
         "legend": qml.legend(l, english) if l.style.by else []}
        for l in portal_layers()
    ]
    return render(request, "portal/map.html", {
        "layers": layers,
        "section_scripts": [s.script for s in sections()],
        "basemap_url": settings.BASEMAP_URL,
        "basemap_attribution": settings.BASEMAP_ATTRIBUTION,
        "center": settings.LEAFLET_CONFIG["DEFAULT_CENTER"],
        "land_uses": {lu.code: [lu.name_fa, lu.name_en] for lu in LandUse.objects.all()},
        "versions": tile_state(portal_layers()),  # every tile's versioned URL (layers/static/layers/tile_versions.js)
        "city": city_extent(),  # in the page: the first view needs no extra round trip
    })
