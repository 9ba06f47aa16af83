"""Open311 GeoReport v2 under /open311/v2/ (reports/open311.py): every resource as .json and .xml; anything else
under /open311/ is an Open311 404 (an error list, not a page)."""

from django.urls import re_path

from reports import open311

_FMT = r"\.(?P<fmt>json|xml)$"

urlpatterns = [
    re_path(r"^open311/v2/discovery" + _FMT, open311.discovery, name="open311-discovery"),
    re_path(r"^open311/v2/services" + _FMT, open311.services, name="open311-services"),
    re_path(r"^open311/v2/services/(?P<service_code>[^/]+?)" + _FMT, open311.service_definition,
            name="open311-service"),
    re_path(r"^open311/v2/requests" + _FMT, open311.requests, name="open311-requests"),
    re_path(r"^open311/v2/requests/(?P<service_request_id>[^/]+?)" + _FMT, open311.one_request,
            name="open311-request"),
    re_path(r"^open311(?:/.*)?$", open311.unknown, name="open311-unknown"),
]
