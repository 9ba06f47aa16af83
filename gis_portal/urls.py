from django.contrib import admin
from django.urls import include, path

from gis_portal.openapi import openapi

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/openapi.json", openapi, name="openapi"),
    path("", include("layers.urls")),
    path("", include("parcels.urls")),
    path("", include("dues.urls")),
    path("", include("zoning.urls")),
]
