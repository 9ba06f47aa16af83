"""Routes of the dashboards and the open-data catalogue (included by transparency/urls.py)."""

from django.urls import path

from transparency import dash_views as views

urlpatterns = [
    path("transparency/dashboards/", views.dashboards_page, name="dashboards"),
    path("transparency/dashboards/<slug:key>.csv", views.dashboard_csv, name="dashboard_csv"),
    path("transparency/catalogue/", views.catalogue_page, name="catalogue"),
    path("transparency/catalogue.json", views.catalogue_json, name="catalogue_json"),
]
