"""One edge for errors (common.edge): under /api/, /ogc/ and /tiles/ every error is JSON {"error", "message"} with a
message in the user's language (unknown paths, wrong methods, bad parameters, CSRF failures, NUL bytes, crashes);
elsewhere it is a page in the user's language. Views raise; nothing catches but the middleware."""

import logging

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.test import Client
from django.urls import path
from django.utils import translation
from django.views.decorators.http import require_POST

from common.errors import ApiError, BadParameter
from gis_portal import urls as project_urls
from gis_portal.urls import handler400, handler403, handler404, handler500  # noqa: F401 (this URLconf's handlers)

pytestmark = pytest.mark.django_db


# --- A URLconf of its own for views that fail on purpose (pytest.mark.urls("tests.test_edge")) ----------------------

class Teapot(ApiError):
    status = 418
    code = "teapot"


def raises(error):
    def view(request):
        raise error
    return view


def crash(request):
    return 1 / 0


@require_POST
def post_only(request):
    return None


urlpatterns = [
    path("api/bad", raises(BadParameter("limit must be between 1 and 10"))),
    path("api/teapot", raises(Teapot("I am a teapot"))),
    path("api/missing", raises(Http404("No such thing"))),
    path("api/denied", raises(PermissionDenied())),
    path("api/crash", crash),
    path("page/bad", raises(BadParameter("limit must be between 1 and 10"))),
    path("page/missing", raises(Http404())),
    path("page/denied", raises(PermissionDenied())),
    path("page/crash", crash),
    path("page/post-only", post_only),
    *project_urls.urlpatterns,  # the pages' templates link to the project's URLs
]

use_own_urls = pytest.mark.urls("tests.test_edge")


def persian(msgid: str, **values) -> str:
    with translation.override("fa"):
        text = translation.gettext(msgid)
    return text % values if values else text


def json_error(response, status: int, code: str | None = None) -> str:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"error", "message"} and body["message"], body
    if code:
        assert body["error"] == code, body
    return body["message"]


@pytest.fixture
def en(client):
    client.cookies["django_language"] = "en"
    return client


# --- Under the API prefixes: JSON, in the user's language ------------------------------------------------------------

@pytest.mark.parametrize("url", ["/api/nope", "/ogc/nope/x", "/tiles/nope", "/tiles/parcels/1/2.pbf"])
def test_unknown_path_is_a_json_404(client, url):
    assert json_error(client.get(url), 404, "not_found") == persian("There is nothing at %(path)s.", path=url)
    client.cookies["django_language"] = "en"
    assert json_error(client.get(url), 404, "not_found") == f"There is nothing at {url}."


@pytest.mark.parametrize("url, allowed", [
    ("/api/city", "GET"), ("/ogc/collections", "GET"), ("/tiles/parcels/14/0/0.pbf", "GET"),
    ("/api/rasters", "GET, POST"),
])
def test_wrong_method_is_a_json_405(en, url, allowed):
    response = en.delete(url) if "POST" in allowed else en.post(url)
    message = json_error(response, 405, "method_not_allowed")
    assert response["Allow"] == allowed and allowed in message and "is not allowed here" in message


def test_wrong_method_message_is_persian_by_default(client):
    message = json_error(client.post("/api/city"), 405, "method_not_allowed")
    assert message == persian("%(method)s is not allowed here; allowed: %(allowed)s", method="POST", allowed="GET")


@pytest.mark.parametrize("url, words", [
    ("/api/layers/parcels.geojson?bbox=1,2,3", "four numbers"),
    ("/api/parcels/at?lon=54.5&lat=100", "between -90 and 90"),
    ("/ogc/collections/parcels/items?limit=0", "between 1 and"),
    ("/tiles/parcels/23/0/0.pbf", "zoom 0-22"),
])
def test_bad_parameter_is_a_json_400(en, url, words):
    assert words in json_error(en.get(url), 400, "bad_parameter")


@pytest.mark.parametrize("url", [
    "/api/search?q=a%00b", "/ogc/collections/parcels/items?land_use=%00", "/tiles/parcels/14/0/0.pbf?v=%00",
    "/api/parcels/at?lon=54%00&lat=28",
])
def test_nul_byte_is_a_400(en, url):
    assert "NUL" in json_error(en.get(url), 400)


@pytest.mark.parametrize("url", [
    "/api/search?q=" + "x" * 10_000,
    "/api/parcels/at?lat=28&lon=" + "5" * 10_000,
    "/ogc/collections/parcels/items?limit=" + "1" * 10_000,
    "/api/layers/parcels.geojson?bbox=" + "1," * 5_000,
    "/tiles/parcels/14/0/0.pbf?v=" + "1" * 10_000,
])
def test_absurdly_long_parameter_is_a_400(en, url):
    assert "longer than" in json_error(en.get(url), 400, "bad_parameter")


def test_post_without_csrf_token_is_a_json_403(role_users):
    client = Client(enforce_csrf_checks=True)
    client.force_login(role_users["admin"])  # a session: the CSRF token is what protects it
    client.cookies["django_language"] = "en"
    message = json_error(client.post("/api/rasters", {"slug": "x"}), 403, "csrf_failed")
    assert "security token" in message
    client.cookies["django_language"] = "fa"
    message = json_error(client.post("/api/rasters", {"slug": "x"}), 403, "csrf_failed")
    assert message == persian("The request lacks its security token (CSRF). Reload the page and try again.")


def test_disallowed_host_is_a_json_400(client):
    json_error(client.get("/api/city", HTTP_HOST="evil.example"), 400, "bad_request")


@use_own_urls
def test_errors_raised_in_views_are_rendered_by_the_middleware(en):
    assert json_error(en.get("/api/bad"), 400, "bad_parameter") == "limit must be between 1 and 10"
    assert json_error(en.get("/api/teapot"), 418, "teapot") == "I am a teapot"  # any ApiError, as it says
    assert json_error(en.get("/api/missing"), 404, "not_found") == "No such thing"
    assert json_error(en.get("/api/denied"), 403, "forbidden") == "You are not allowed to do this."


@use_own_urls
def test_a_crash_on_an_api_route_is_a_logged_json_500_without_traceback(caplog):
    client = Client(raise_request_exception=False)
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = client.get("/api/crash")
    message = json_error(response, 500, "server_error")
    assert "ZeroDivisionError" not in response.content.decode() and "Traceback" not in response.content.decode()
    assert message == persian("Something went wrong on the server. It has been recorded; please try again later.")
    assert any(record.exc_info and record.exc_info[0] is ZeroDivisionError for record in caplog.records)


@use_own_urls
def test_the_api_prefixes_are_a_setting(en, settings):
    assert en.get("/page/bad")["Content-Type"].startswith("text/html")
    settings.API_PATH_PREFIXES = ["/api/", "/page/"]  # a new app's API: no code, one setting
    assert json_error(en.get("/page/bad"), 400, "bad_parameter") == "limit must be between 1 and 10"
    settings.API_PATH_PREFIXES = ["/page/"]
    assert en.get("/api/nope")["Content-Type"].startswith("text/html")


# --- Elsewhere: a page in the user's language ------------------------------------------------------------------------

def page(response, status: int) -> str:
    assert response.status_code == status and response["Content-Type"].startswith("text/html")
    return response.content.decode()


def test_unknown_page_is_a_persian_page_by_default_and_english_with_the_cookie(client):
    html = page(client.get("/nope/"), 404)
    assert 'lang="fa"' in html and 'dir="rtl"' in html
    assert persian("Page not found") in html and persian("There is nothing at %(path)s.", path="/nope/") in html
    client.cookies["django_language"] = "en"
    html = page(client.get("/nope/"), 404)
    assert 'lang="en"' in html and 'dir="ltr"' in html
    assert "Page not found" in html and "There is nothing at /nope/." in html


@use_own_urls
def test_errors_outside_the_api_are_pages(en):
    html = page(en.get("/page/bad"), 400)
    assert "Bad request" in html and "limit must be between 1 and 10" in html
    assert "Page not found" in page(en.get("/page/missing"), 404)
    assert "Access denied" in page(en.get("/page/denied"), 403)
    response = en.get("/page/post-only")
    assert "Method not allowed" in page(response, 405) and response["Allow"] == "POST"
    crashed = Client(raise_request_exception=False)
    crashed.cookies["django_language"] = "en"
    html = page(crashed.get("/page/crash"), 500)
    assert "Server error" in html and "ZeroDivisionError" not in html


def test_the_language_of_a_request_does_not_outlive_it(client):
    with translation.override("en"):
        client.get("/nope/")  # a Persian request
        assert translation.get_language() == "en"
