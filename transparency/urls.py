from django.urls import include, path

app_name = "transparency"
urlpatterns = [
    path("", include("transparency.civic_urls")),  # council decisions and municipal projects
]
