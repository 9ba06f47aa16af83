"""notices's URLs (composed in gis_portal/urls.py): the in-app inbox, and the SMS gateway's callbacks when
notices/callbacks.py is present (its `urlpatterns`, mounted under api/notices/sms/<token>/: `delivery`, `inbound`)."""

import importlib.util

from django.urls import include, path

from notices import views

app_name = "notices"
urlpatterns = [
    path("notices/inbox/", views.inbox, name="inbox"),
]

if importlib.util.find_spec("notices.callbacks") is not None:
    from notices import callbacks

    if hasattr(callbacks, "urlpatterns"):
        urlpatterns.append(path("api/notices/sms/<str:token>/", include(callbacks.urlpatterns)))
