from django.urls import path

from parcels import api, views

app_name = "parcels"
urlpatterns = [
    path("parcels/<int:parcel_id>/", views.parcel_page, name="parcel_page"),
    path("api/parcels/at", api.parcel_at, name="parcel_at"),
    path("api/parcels/<int:parcel_id>", api.parcel_by_id, name="parcel"),
    path("api/parcels/code/<str:code>", api.parcel_by_code, name="parcel_by_code"),
    path("api/search", api.search, name="search"),
]
