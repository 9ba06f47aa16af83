from django.urls import path

from layers import ogc, raster_views, views

app_name = "layers"
urlpatterns = [
    path("api/layers", views.layer_list, name="list"),
    path("api/layers/export", views.export_download, name="export"),
    path("api/layers/export/jobs", views.export_job, name="export_job"),
    path("api/layers/<str:layer>.geojson", views.layer_geojson, name="geojson"),
    path("api/city", views.city_info, name="city"),
    path("api/layers/versions", views.layer_versions, name="versions"),
    path("api/layers/tile-versions", views.tile_versions, name="tile_versions"),
    path("tiles/<str:layer>/<int:z>/<int:x>/<int:y>.pbf", views.tile, name="tile"),
    path("tiles/<str:layer>.json", raster_views.vector_tilejson, name="tilejson"),
    path("api/rasters", raster_views.raster_list, name="rasters"),
    path("tiles/raster/<slug:slug>/<int:z>/<int:x>/<int:y>.png", raster_views.raster_tile, name="raster_tile"),
    # OGC API - Features (HTML and JSON; documented by its own landing page and conformance classes)
    path("ogc/", ogc.landing, name="ogc_landing"),
    path("ogc", ogc.landing, name="ogc_landing_bare"),  # QGIS does not follow a redirect to the slashed URL
    path("ogc/api", ogc.api, name="ogc_api"),
    path("ogc/conformance", ogc.conformance, name="ogc_conformance"),
    path("ogc/collections", ogc.collections, name="ogc_collections"),
    path("ogc/collections/<str:name>", ogc.collection, name="ogc_collection"),
    path("ogc/collections/<str:name>/items", ogc.items, name="ogc_items"),
    path("ogc/collections/<str:name>/items/<int:fid>", ogc.item, name="ogc_item"),
]
