from django.urls import path

from documents import certificate_views, views

app_name = "documents"
urlpatterns = [
    path("verify/", views.verify_form, name="verify_form"),
    path("verify/<str:code>/", views.verify_page, name="verify"),
    path("api/documents/verify/<str:code>", views.verify_api, name="verify_api"),
    path("documents/<str:code>.pdf", views.pdf, name="pdf"),
    path("documents/issued/<str:code>/", certificate_views.issued_page, name="issued"),
    path("documents/certificate/<int:parcel_id>", certificate_views.request_certificate, name="request_certificate"),
    path("api/documents/parcels/<int:parcel_id>/certificate", certificate_views.sheet_section_api,
         name="certificate_section"),
]
