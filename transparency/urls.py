from django.urls import include, path

app_name = "transparency"
urlpatterns = [
    path("", include("transparency.civic_urls")),  # council decisions and municipal projects
    path("", include("transparency.dash_urls")),  # dashboards and the open-data catalogue
]
