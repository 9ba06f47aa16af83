"""What the portal page ships: every script and stylesheet is served by the app (no CDN), and all of them together
stay under 300 KB gzipped; the Jalali date picker is not among them (only pages with a date input load it)."""

import gzip
import re

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

pytestmark = pytest.mark.django_db

BUDGET = 300 * 1024


def page_assets(client, path):
    page = client.get(path).content.decode()
    return re.findall(r'<script src="([^"]+)"', page) + re.findall(r'<link rel="stylesheet" href="([^"]+)"', page)


def test_assets_local_and_within_budget(client):
    urls = page_assets(client, "/")
    assert len(urls) >= 6
    catalogue = reverse("javascript-catalog")
    assert catalogue in urls  # the JavaScript's interface text, made by Django (counted as shipped)
    total = 0
    for url in urls:
        if url == catalogue:
            body = client.get(url).content
        else:
            assert url.startswith("/static/"), f"{url} is not served by the app"
            path = finders.find(url.removeprefix("/static/"))
            assert path, f"{url} not found"
            with open(path, "rb") as fh:
                body = fh.read()
        total += len(gzip.compress(body, compresslevel=9))
    assert 0 < total <= BUDGET, f"{total / 1024:.0f} KB gzipped"


def test_date_picker_vendored_and_not_on_the_map_page(client):
    assert not [url for url in page_assets(client, "/") if "jalalidatepicker" in url or "dates.js" in url]
    for name in ("vendor/jalalidatepicker/jalalidatepicker.min.js", "vendor/jalalidatepicker/jalalidatepicker.min.css",
                 "common/dates.js"):
        assert finders.find(name), f"{name} is not served (npm ci, STATICFILES_DIRS)"
