from django.urls import path

from parcels import views

app_name = "parcels"
urlpatterns = [
    path("", views.map_page, name="map"),
    path("api/parcels.geojson", views.parcels_geojson, name="parcels_geojson"),
    path("api/layers/<str:layer>.geojson", views.layer_geojson, name="layer_geojson"),
    path("api/city", views.city_info, name="city_info"),
]
