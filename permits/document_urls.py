"""Routes of the documents part (permits/document_views.py): uploads, serving a document, the parcels' archive and the
public verification of issued permits and certificates."""

from django.urls import path

from permits import document_views

urlpatterns = [
    path("api/permits/cases/<uuid:case_id>/documents", document_views.upload_api, name="document_upload"),
    path("permits/documents/<int:doc_id>/", document_views.document, name="document"),
    path("permits/archive/", document_views.archive, name="archive"),
    path("permits/verify/<str:code>/", document_views.verify_page, name="verify"),
    path("api/permits/verify/<str:code>", document_views.verify_api, name="verify_api"),
]
