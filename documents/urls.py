from django.urls import path

from documents import views

app_name = "documents"
urlpatterns = [
    path("verify/", views.verify_form, name="verify_form"),
    path("verify/<str:code>/", views.verify_page, name="verify"),
    path("api/documents/verify/<str:code>", views.verify_api, name="verify_api"),
    path("documents/<str:code>.pdf", views.pdf, name="pdf"),
]
