"""Routes of the citizen's side of reports (see reports/urls.py): the pages and the JSON API. A tracking code in a
path is digits (ASCII, Persian or Arabic-Indic), spaces or dashes, so that it never takes another part's path
(/reports/map/, /api/reports/stats …)."""

from django.urls import path

from reports import citizen_views as views

urlpatterns = [
    path("reports/new/", views.new_page, name="new"),
    path("reports/mine/", views.mine_page, name="mine"),
    path("reports/track/", views.find_page, name="find"),
    path("reports/<report_code:code>/", views.track_page, name="track"),
    path("api/reports/categories", views.api_categories, name="api_categories"),
    path("api/reports/nearby", views.api_nearby, name="api_nearby"),
    path("api/reports/mine", views.api_mine, name="api_mine"),
    path("api/reports", views.api_submit, name="api_submit"),
    path("api/reports/photos", views.api_stage_photo, name="api_stage_photo"),
    path("api/reports/<report_code:code>", views.api_report, name="api_report"),
    path("api/reports/<report_code:code>/voice", views.api_voice, name="api_voice"),
    path("api/reports/<report_code:code>/rate", views.api_rate, name="api_rate"),
    path("api/reports/<report_code:code>/reopen", views.api_reopen, name="api_reopen"),
]
