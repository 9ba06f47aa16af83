from django.urls import path

from layers import views

app_name = "layers"
urlpatterns = [
    path("api/layers/<str:layer>.geojson", views.layer_geojson, name="geojson"),
    path("api/city", views.city_info, name="city"),
    path("api/layers/versions", views.layer_versions, name="versions"),
    path("tiles/<str:layer>/<int:z>/<int:x>/<int:y>.pbf", views.tile, name="tile"),
]
