"""jobs's URLs (composed in gis_portal/urls.py)."""

from django.urls import path

from jobs import views

app_name = "jobs"
urlpatterns = [
    path("api/jobs/<uuid:job_id>", views.job_status, name="status"),
    path("api/jobs/<uuid:job_id>/result", views.job_result, name="result"),
    path("api/jobs/<uuid:job_id>/cancel", views.job_cancel, name="cancel"),
    path("jobs/", views.jobs_page, name="page"),
]
