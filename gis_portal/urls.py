"""The project's URLs: every app's own, composed by the site layer (portal)."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("portal.urls")),
    path("", include("layers.urls")),
    path("", include("parcels.urls")),
    path("", include("dues.urls")),
    path("", include("zoning.urls")),
]
