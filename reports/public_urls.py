"""Routes of the reports app (see reports/urls.py)."""

urlpatterns = []
