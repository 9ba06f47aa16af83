"""Shared fixtures: role users, a small demo city loaded once per test database, Playwright on Debian's Chromium.

Every test runs against the real PostGIS (the project-local cluster or DATABASE_URL)."""

import contextlib
import os
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
REALDATA = ROOT.parent / "shared" / "realdata"
CAMBRIDGE = REALDATA / "cambridge_ma"
DEMO_TEST_PARCELS = 2500
REFERENCE_SRID = 32640  # Darab (UTM 40N): the first run of `./run test`
SECOND_CITY_SRID = 32639  # a generated city in the next UTM zone (39N): the second run, no outside data needed
OTHER_CITY_SRID = 26986  # Massachusetts State Plane (metres): the real Cambridge data, the third run


# The tests that run their own PostgreSQL clusters, job workers and servers (kill -9 mid-way, restarts, replicas,
# backups restored into new databases): they spend most of their time waiting on those, so ./run test runs them in
# a pytest of their own beside the rest (TEST_PART=isolated and TEST_PART=main; unset: all of them), with a test
# database, VAR_DIR and media of its own.
ISOLATED = ("faults/", "replicas/", "notices/test_workers.py", "jobs/test_worker.py", "test_backup_restore.py")


def pytest_ignore_collect(collection_path, config):
    """The later runs of ./run test (`-m other_city`) import only the test modules that name the other_city marker:
    importing every module (Schemathesis's schemas, Hypothesis) cost those runs about 25 s of CPU each, to deselect
    all but a few tests. pytest_collection_modifyitems checks, in the full run, that no marked test lies elsewhere.
    TEST_PART picks the ISOLATED modules or the others."""
    if collection_path.suffix != ".py" or not collection_path.name.startswith("test_"):
        return None
    if config.getoption("markexpr") == "other_city" and "other_city" not in collection_path.read_text():
        return True
    if not in_test_part(collection_path):
        return True
    return None


def in_test_part(path) -> bool:
    """Whether the test module at `path` belongs to this run's TEST_PART (every module when it is unset)."""
    part = os.environ.get("TEST_PART", "")
    if part not in ("isolated", "main"):
        return True
    return path.resolve().relative_to(ROOT / "tests").as_posix().startswith(ISOLATED) == (part == "isolated")


def pytest_collection_modifyitems(config, items):
    """Tests marked other_city run with another municipality's CRS, the rest with the reference one (Darab). A test
    marked other_city(srid=N) needs that CRS (its data lies there) and runs only in the run of ./run test with
    MUNICIPALITY_SRID=N; a plain other_city test runs in every run whose CRS is not the reference one."""
    # a module named on the command line is collected whatever pytest_ignore_collect says: its part is kept here
    other_part = [item for item in items if not in_test_part(item.path)]
    if other_part:
        config.hook.pytest_deselected(items=other_part)
        items[:] = [item for item in items if in_test_part(item.path)]
    srid = settings.MUNICIPALITY_SRID
    skip_main = pytest.mark.skip(reason=f"runs with the reference municipality (MUNICIPALITY_SRID={REFERENCE_SRID}, "
                                        "first run of ./run test)")
    for item in items:
        marker = item.get_closest_marker("other_city")
        if marker is not None and "other_city" not in item.path.read_text():
            # pytest_ignore_collect would leave this test out of the other-city runs
            raise pytest.UsageError(f"{item.nodeid} is marked other_city, but its module's text does not say so "
                                    "(mark it in the module: pytestmark or a decorator)")
        if marker is None:
            if srid != REFERENCE_SRID:
                item.add_marker(skip_main)
            continue
        wanted = marker.kwargs.get("srid")
        if wanted is not None and srid != wanted:
            reason = f"runs with MUNICIPALITY_SRID={wanted} (its own run of ./run test)"
            item.add_marker(pytest.mark.skip(reason=reason))
        elif wanted is None and srid == REFERENCE_SRID:
            item.add_marker(pytest.mark.skip(reason="runs with another municipality's CRS (a later run of ./run test)"))


@pytest.fixture(scope="session")
def demo_city_files(tmp_path_factory):
    """A small demo city generated once per session (cached across runs in .local/test-cache)."""
    from data.demo_city.generator import CityParams, generate_city

    out = ROOT / ".local" / "test-cache" / f"demo_{DEMO_TEST_PARCELS}_{settings.MUNICIPALITY_SRID}"
    gpkg = out / "demo_city.gpkg"
    if not gpkg.exists():
        generate_city(CityParams(parcels=DEMO_TEST_PARCELS, seed=7, srid=settings.MUNICIPALITY_SRID), out_dir=out)
    return gpkg, out / "dem.tif"


@pytest.fixture(scope="session")
def demo_city(django_db_setup, django_db_blocker, demo_city_files):
    """The small demo city, loaded once into the test database (outside the per-test transactions)."""
    from data.demo_city.loader import demo_loaded, load_city

    from django.core.management import call_command

    with django_db_blocker.unblock():
        if not demo_loaded():
            load_city(*demo_city_files)
        # a test database kept (--reuse-db) from before a migration added derived facts gets them, as ./run demo does
        call_command("refresh_overlays", "--if-absent", verbosity=0)
    return demo_city_files


def make_user(username, role=None, **extra):
    from django.contrib.auth.models import Group, User

    user = User.objects.create_user(username=username, password="pw-" + username, **extra)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def role_users(db):
    return {
        "engineer": make_user("eng", "engineer", is_staff=True),
        "planner": make_user("plan", "planner", is_staff=True),
        "finance": make_user("fin", "finance", is_staff=True),
        "admin": make_user("boss", "admin", is_staff=True),
        "citizen": make_user("citizen", "citizen"),
    }


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (no browser download)."""
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not Path(chromium).exists():
        pytest.fail(f"Chromium not found at {chromium}: `./run test` installs Debian's chromium")
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=chromium, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"],
        )
        yield b
        b.close()


@contextlib.contextmanager
def serve_portal(django_db_blocker, gunicorn_args=("--workers", "2"), **extra_env):
    """The portal served by gunicorn (as in production) on the test database, with extra environment settings."""
    import socket
    import subprocess
    import time
    import urllib.request

    from django.db import connection

    with django_db_blocker.unblock():
        db = connection.settings_dict
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    url = f"postgis://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "gis_portal.settings_test", **extra_env}
    server = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "gis_portal.wsgi", "-b", f"127.0.0.1:{port}", *gunicorn_args,
         "--log-level", "warning"],
        cwd=ROOT, env=env,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while True:
        try:
            urllib.request.urlopen(base + "/api/city", timeout=2)
            break
        except OSError:
            if time.time() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail("the portal server did not start")
            time.sleep(0.2)
    try:
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture(scope="session")
def portal_url(demo_city, django_db_blocker):
    """The portal on the test database with the demo city in it. (pytest-django's live_server would make tests
    transactional, and their teardown flushes every table.)"""
    # dashboards made again as soon as their data changes: a page one test opened must not keep another's figures
    with serve_portal(django_db_blocker, TRANSPARENCY_DASHBOARD_REFRESH_SECONDS="0") as base:
        yield base


@pytest.fixture(autouse=True)
def _fresh_version_caches():
    """Tests roll their writes back, which takes a layer's data version back too: a tile cached under a version
    inside one test must not be served in another (in production versions only grow)."""
    from django.core.cache import caches

    caches["tiles"].clear()
    caches["ogc"].clear()
    yield


@pytest.fixture
def english():
    """For tests that assert English messages: outside a request or a command the language is Persian (LANGUAGE_CODE)."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture(scope="session", autouse=True)
def _test_media_emptied():
    """The files the tests upload (settings_test.MEDIA_ROOT) are removed at the end of the session."""
    yield
    import shutil

    from django.conf import settings

    if ".local" in Path(settings.MEDIA_ROOT).parts or "test-media" in str(settings.MEDIA_ROOT):
        shutil.rmtree(settings.MEDIA_ROOT, ignore_errors=True)
