"""The reports app's routes, one module per part (citizen pages and API, staff inbox, public map and statistics,
photos, Open311), so each part is found next to its views."""

from django.urls import include, path

app_name = "reports"

urlpatterns = [
    path("", include("reports.citizen_urls")),
    path("", include("reports.staff_urls")),
    path("", include("reports.public_urls")),
    path("", include("reports.photo_urls")),
    path("", include("reports.open311_urls")),
]
