"""Routes of the public side of reports (see reports/urls.py): the map of reports, the statistics (page, JSON,
CSV) and the cluster tiles. The points themselves are the layer "reports" of the layers app (/tiles/reports/…,
/ogc/collections/reports/…)."""

from django.urls import path

from reports import public_views as views

urlpatterns = [
    path("reports/map/", views.map_page, name="public_map"),
    path("reports/stats/", views.stats_page, name="stats"),
    path("reports/stats.csv", views.stats_csv, name="stats_csv"),
    path("api/reports/stats", views.stats_json, name="api_stats"),
    path("api/reports/heat", views.heat_json, name="api_heat"),
    # under /tiles/ (JSON errors at the edge); not /tiles/<layer>/… , the layers app's route for registered layers
    path("tiles/reports/clusters/<int:z>/<int:x>/<int:y>.pbf", views.cluster_tile, name="clusters"),
]
