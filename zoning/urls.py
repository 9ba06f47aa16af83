from django.urls import path

from zoning import public_views, views

app_name = "zoning"
urlpatterns = [
    path("api/parcels/<int:parcel_id>/eligibility", views.parcel_eligibility, name="eligibility"),
    path("api/parcels/<int:parcel_id>/eligibility/section", views.parcel_section, name="parcel_eligibility"),
    path("api/parcels/<int:parcel_id>/envelope.geojson", views.envelope_geojson, name="envelope_geojson"),
    path("api/parcels/<int:parcel_id>/envelope.dxf", views.envelope_dxf, name="envelope_dxf"),
    path("api/parcels/<int:parcel_id>/subdivision", views.subdivision, name="subdivision"),
    path("api/zoning/parcels", views.query_api, name="query"),
    path("zoning/parcels/<int:parcel_id>/", views.engineer_page, name="engineer_page"),
    path("zoning/queries/", views.query_page, name="query_page"),
    # the rulebook versions in the open (zoning/public_pages.py): anonymous pages, files and the parcels a change reaches
    path("transparency/rulebooks/", public_views.rulebooks, name="rulebooks"),
    path("transparency/rulebooks/diff/", public_views.rulebook_diff, name="rulebook_diff"),
    path("transparency/rulebooks/<int:pk>/", public_views.rulebook, name="rulebook"),
    path("transparency/rulebooks/<int:pk>.toml", public_views.rulebook_toml, name="rulebook_toml"),
    path("api/zoning/rulebooks/changes/parcels", public_views.change_parcels, name="rulebook_change_parcels"),
]
