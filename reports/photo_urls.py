"""Routes of the reports' photos (reports/photo_views.py): the files, served only after their check, and the
moderation queue (a staff page and a JSON endpoint)."""

from django.urls import path

from reports import photo_views

urlpatterns = [
    path("reports/photos/<uuid:public_id>.jpg", photo_views.photo_image, name="photo"),
    path("reports/photos/<uuid:public_id>-thumb.jpg", photo_views.photo_thumbnail, name="photo_thumbnail"),
    path("reports/staff/moderation/", photo_views.moderation_page, name="photo_moderation"),
    path("reports/staff/moderation/<uuid:public_id>/", photo_views.moderation_decide, name="photo_moderation_decide"),
    path("api/reports/photos/<uuid:public_id>/moderation", photo_views.moderation_api, name="photo_moderation_api"),
]
