"""What the portal page ships: every script and stylesheet is served by the app (no CDN), and all of them together
stay under 300 KB gzipped."""

import gzip
import re

import pytest
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db

BUDGET = 300 * 1024


def test_assets_local_and_within_budget(client):
    page = client.get("/").content.decode()
    urls = re.findall(r'<script src="([^"]+)"', page) + re.findall(r'<link rel="stylesheet" href="([^"]+)"', page)
    assert len(urls) >= 5
    total = 0
    for url in urls:
        assert url.startswith("/static/"), f"{url} is not served by the app"
        path = finders.find(url.removeprefix("/static/"))
        assert path, f"{url} not found"
        with open(path, "rb") as fh:
            total += len(gzip.compress(fh.read(), compresslevel=9))
    assert 0 < total <= BUDGET, f"{total / 1024:.0f} KB gzipped"
