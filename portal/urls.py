from django.urls import path

from portal import openapi, views

app_name = "portal"
urlpatterns = [
    path("", views.map_page, name="map"),
    path("api/openapi.json", openapi.openapi, name="openapi"),
]
