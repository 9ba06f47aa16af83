"""Routes of the council decisions and municipal projects (transparency/civic_views.py): public pages, downloads, a
citizen's comment and follow, the staff's moderation queue. None is under /api/ (pages and files)."""

from django.urls import path

from transparency import civic_views as views

urlpatterns = [
    path("transparency/decisions/", views.decisions_page, name="decisions"),
    path("transparency/decisions/<int:pk>/", views.decision_page, name="decision"),
    path("transparency/decisions.geojson", views.decisions_geojson, name="decisions_geojson"),
    path("transparency/decisions.csv", views.decisions_csv, name="decisions_csv"),
    path("transparency/projects/", views.projects_page, name="projects"),
    path("transparency/projects/<int:pk>/", views.project_page, name="project"),
    path("transparency/projects.geojson", views.projects_geojson, name="projects_geojson"),
    path("transparency/projects.csv", views.projects_csv, name="projects_csv"),
    path("transparency/<str:kind>/<int:pk>/comment", views.comment, name="comment"),
    path("transparency/<str:kind>/<int:pk>/follow", views.follow, name="follow"),
    path("transparency/attachments/<uuid:public_id>", views.attachment, name="attachment"),
    path("transparency/staff/comments/", views.moderation_page, name="moderation"),
    path("transparency/staff/comments/<int:comment_id>", views.moderation_decide, name="moderation_decide"),
]
