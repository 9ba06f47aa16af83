"""The permits app's routes, one module per part (citizen pages and API, staff desks, documents and verification),
so each part is found next to its views."""

from django.urls import include, path

app_name = "permits"

PARTS = ("permits.citizen_urls", "permits.staff_urls", "permits.document_urls")

urlpatterns = []
for _name in PARTS:
    try:
        __import__(_name)
    except ModuleNotFoundError as exc:   # a part not written yet
        if exc.name != _name:
            raise
        continue
    urlpatterns.append(path("", include(_name)))
