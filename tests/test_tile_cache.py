"""A real nginx (deploy/nginx/tilecache.conf.template, as `./run tilecache` renders it) on loopback in front of the
portal served by gunicorn on the test database: a versioned tile's second request is a HIT; after an edit of one
parcel only the tiles it touched get new URLs (MISS), an untouched tile stays a HIT; tiles of staff-only layers and
requests with credentials never land in the shared cache. The map computes the same versioned URLs as the server."""

import base64
import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from layers import tiles
from layers.registry import LAYERS
from tests.conftest import ROOT, make_user, serve_portal
from tests.test_tile_versions import version_from_state

NGINX = "/usr/sbin/nginx"


def _free_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


@pytest.fixture(scope="module")
def cached_portal(demo_city, django_db_blocker, tmp_path_factory):
    """(nginx's base URL, its cache directory) in front of gunicorn."""
    if not Path(NGINX).exists():
        pytest.fail("nginx not found: scripts/setup.sh installs Debian's nginx-light")
    work = tmp_path_factory.mktemp("tilecache")
    with serve_portal(django_db_blocker) as upstream:
        port = _free_port()
        env = {**os.environ, "TILECACHE_DIR": str(work), "TILECACHE_LISTEN": f"127.0.0.1:{port}",
               "TILECACHE_UPSTREAM": upstream.removeprefix("http://")}
        conf = subprocess.run(["bash", str(ROOT / "scripts" / "tilecache.sh"), "--render-only"], env=env, check=True,
                              capture_output=True, text=True).stdout.strip()
        nginx = subprocess.Popen([NGINX, "-p", str(work), "-c", conf, "-g", "daemon off;"])
        base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 15
        while True:
            try:
                urllib.request.urlopen(base + "/api/city", timeout=2)
                break
            except OSError:
                if time.time() > deadline or nginx.poll() is not None:
                    nginx.kill()
                    pytest.fail("nginx did not start")
                time.sleep(0.1)
        try:
            yield base, work / "cache"
        finally:
            nginx.terminate()
            nginx.wait(timeout=10)


def get(url, headers=None):
    """(status, headers, body), errors included."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def _tile_url(base, state, z, x, y):
    return f"{base}/tiles/parcels/{z}/{x}/{y}.pbf?v={version_from_state(state, 'parcels', z, x, y)}"


def test_versioned_tiles_are_hits_and_an_edit_misses_only_the_tiles_it_touched(cached_portal, django_db_blocker):
    from django.db import connection

    base, _ = cached_portal
    with django_db_blocker.unblock(), connection.cursor() as c:
        c.execute("SELECT id, ST_X(p), ST_Y(p) FROM (SELECT id, ST_Transform(ST_Centroid(geom), 4326) p "
                  "FROM parcels_parcel ORDER BY id LIMIT 1 OFFSET 1000) s")
        pk, lon, lat = c.fetchone()
    touched = [(z, *tiles.lonlat_to_tile(lon, lat, z)) for z in (15, 16, 18)]
    untouched = (18, *tiles.lonlat_to_tile(lon + 0.01, lat + 0.01, 18))  # ~1 km away
    # drawn from the overview, which an edit by SQL leaves alone (the ORM's signals rebuild it): its URL stays
    overview_tile = (14, *tiles.lonlat_to_tile(lon, lat, 14))
    state = json.loads(get(base + "/api/layers/tile-versions")[2])
    before = {t: _tile_url(base, state, *t) for t in [*touched, untouched, overview_tile]}
    for url in before.values():
        first, second = get(url), get(url)
        assert first[0] == 200 and first[1]["X-Cache-Status"] == "MISS", url
        assert second[1]["X-Cache-Status"] == "HIT" and second[2] == first[2], url
        assert second[1]["Cache-Control"] == "public, max-age=31536000, immutable"
    unversioned = base + "/tiles/parcels/18/{}/{}.pbf".format(*untouched[1:])
    assert [get(unversioned)[1]["X-Cache-Status"] for _ in range(2)] == ["MISS", "MISS"]  # max-age=0: never kept

    with django_db_blocker.unblock(), connection.cursor() as c:  # committed: gunicorn sees it
        c.execute("UPDATE parcels_parcel SET postal_code = postal_code WHERE id = %s", [pk])
    state = json.loads(get(base + "/api/layers/tile-versions")[2])
    after = {t: _tile_url(base, state, *t) for t in [*touched, untouched, overview_tile]}
    for t in (untouched, overview_tile):
        assert after[t] == before[t] and get(after[t])[1]["X-Cache-Status"] == "HIT", t
    for t in touched:
        assert after[t] != before[t], t
        assert [get(after[t])[1]["X-Cache-Status"] for _ in range(2)] == ["MISS", "HIT"], t


def test_staff_layers_and_credentials_never_land_in_the_shared_cache(cached_portal, django_db_blocker):
    from django.db import connection

    from parcels.models import Ownership

    base, cache_dir = cached_portal
    from django.contrib.auth.models import User

    from parcels.models import PersonalDataAccess

    with django_db_blocker.unblock():
        PersonalDataAccess.objects.filter(user__username="tilecache-staff").delete()  # left by an interrupted run
        User.objects.filter(username="tilecache-staff").delete()
        user = make_user("tilecache-staff", "admin", is_staff=True)
        share = Ownership.objects.select_related("owner").filter(parcel__geom__isnull=False) \
            .exclude(owner__last_name="").first()
        with connection.cursor() as c:
            c.execute("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(ST_Centroid(geom), 4326) p "
                      "FROM parcels_parcel WHERE id = %s) s", [share.parcel_id])
            lon, lat = c.fetchone()
        z, x, y = 18, *tiles.lonlat_to_tile(lon, lat, 18)
        version = tiles.tile_version(LAYERS["parcel_owners"], z, x, y)
        public_version = tiles.tile_version(LAYERS["parcels"], z, x, y)
    url = f"{base}/tiles/parcel_owners/{z}/{x}/{y}.pbf?v={version}"
    credentials = {"Authorization": "Basic " + base64.b64encode(b"tilecache-staff:pw-tilecache-staff").decode()}
    try:
        seen = [get(url, credentials) for _ in range(2)]
        assert [s[0] for s in seen] == [200, 200] and share.owner.last_name.encode() in seen[0][2]
        assert all(s[1]["X-Cache-Status"] == "BYPASS" for s in seen)
        assert seen[0][1]["Cache-Control"].startswith("private")
        assert get(url)[0] == 401  # nobody else gets it from the cache
        # a public tile asked with credentials is not stored either; without them it is
        public = f"{base}/tiles/parcels/{z}/{x}/{y}.pbf?v={public_version}"
        assert get(public, credentials)[1]["X-Cache-Status"] == "BYPASS"
        assert [get(public)[1]["X-Cache-Status"] for _ in range(2)] == ["MISS", "HIT"]
        kept = b"".join(p.read_bytes() for p in cache_dir.rglob("*") if p.is_file())
        assert kept and share.owner.last_name.encode() not in kept
    finally:
        with django_db_blocker.unblock():
            PersonalDataAccess.objects.filter(user=user).delete()  # the tile views' access records (privacy log)
            user.delete()


def test_seeding_through_the_cache_leaves_the_low_zooms_in_it(cached_portal, django_db_blocker):
    from layers import seeding

    base, _ = cached_portal
    with django_db_blocker.unblock():
        assert seeding.seed(base_url=base) > 0
        wanted = seeding.tiles_to_seed()
    state = json.loads(get(base + "/api/layers/tile-versions")[2])
    for name, z, x, y in wanted[:: max(len(wanted) // 10, 1)]:
        url = f"{base}/tiles/{name}/{z}/{x}/{y}.pbf?v={version_from_state(state, name, z, x, y)}"
        assert get(url)[1]["X-Cache-Status"] == "HIT", url


@pytest.mark.browser
def test_the_map_asks_for_every_tile_at_its_own_version(browser, portal_url, django_db_blocker):
    """The map's JavaScript (layers/static/layers/tile_versions.js) builds each tile's ?v= from the page's state: after
    an edit near the centre (regions listed), every tile it asks for carries the version the server gives that tile,
    the versioned URL that is cacheable forever."""
    import re

    from django.db import connection

    with django_db_blocker.unblock(), connection.cursor() as c:
        c.execute("UPDATE parcels_parcel SET postal_code = postal_code WHERE id IN (SELECT id FROM parcels_parcel "
                  "ORDER BY geom <-> ST_Transform(ST_SetSRID(ST_Point(54.553, 28.755), 4326), ST_SRID(geom)) LIMIT 3)")
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    asked = []
    pg.on("request", lambda r: asked.append(r.url) if "/tiles/" in r.url and ".pbf" in r.url else None)
    try:
        pg.goto(portal_url + "/#16/28.755/54.553")
        pg.wait_for_function("() => Number(document.body.dataset.parcelsTiles || 0) > 0", timeout=45000)
    finally:
        context.close()
    pattern = re.compile(r"/tiles/(\w+)/(\d+)/(\d+)/(\d+)\.pbf\?v=(\d+)$")
    found = [pattern.search(url) for url in asked]
    assert found and all(found), asked
    with django_db_blocker.unblock():
        wrong = [m.group(0) for m in found
                 if int(m[5]) != tiles.tile_version(LAYERS[m[1]], *map(int, m.group(2, 3, 4)))]
    assert wrong == []
    assert {m[1] for m in found} >= {"parcels", "districts"}
