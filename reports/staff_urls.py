"""Routes of the reports app (see reports/urls.py): the staff inbox and a report's staff page, their JSON and the
workflow's actions (reports/staff_views.py). A tracking code in a path is digits (ASCII, Persian or Arabic-Indic),
spaces or dashes, as in reports/citizen_urls.py, so that it never takes another part's path
(/reports/staff/moderation/). It is a path converter (`<report_code:code>`, registered in reports/urls.py), so that the routes read as the OpenAPI
paths do (/api/reports/{code}/status; tests/test_openapi.py matches the two)."""

from django.urls import path

from reports import staff_views


urlpatterns = [
    path("reports/staff/", staff_views.inbox_page, name="staff_inbox"),
    path("reports/staff/<report_code:code>/", staff_views.report_page, name="staff_report"),
    path("api/reports/staff/inbox", staff_views.inbox_json, name="staff_inbox_json"),
    path("api/reports/<report_code:code>/status", staff_views.change_status, name="staff_status"),
    path("api/reports/<report_code:code>/resolution-photo", staff_views.resolution_photo,
         name="staff_resolution_photo"),
]
