"""The reports app's routes, one module per part (citizen pages and API, staff inbox, public map and statistics,
photos, Open311), so each part is found next to its views."""

from django.urls import include, path, register_converter
from django.urls.converters import get_converters

app_name = "reports"


class TrackingCodeConverter:
    """A tracking code in a path (`<report_code:code>`): digits (ASCII, Persian or Arabic-Indic), spaces or dashes,
    so that it never takes another route (/reports/map/, /reports/staff/moderation/, /api/reports/stats)."""

    regex = "[0-9\u06f0-\u06f9\u0660-\u0669 -]{1,24}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return str(value)


if "report_code" not in get_converters():
    register_converter(TrackingCodeConverter, "report_code")


urlpatterns = [
    path("", include("reports.citizen_urls")),
    path("", include("reports.staff_urls")),
    path("", include("reports.public_urls")),
    path("", include("reports.photo_urls")),
    path("", include("reports.open311_urls")),
]
