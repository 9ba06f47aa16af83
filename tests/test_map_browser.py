"""The map page in Debian's headless Chromium: the demo city is painted, a parcel opens on click, the page is
right-to-left Persian, and no owner data reaches the anonymous browser."""

import pytest

from parcels.models import Owner
from tests.conftest import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


@pytest.fixture
def page(browser, portal_url):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="fa-IR")
    pg = context.new_page()
    responses = []
    pg.on("response", lambda r: responses.append(r))
    pg.goto(portal_url + "/")
    pg.wait_for_function("() => Number(document.body.dataset.loadedparcels || 0) > 0", timeout=20000)
    pg.responses = responses
    yield pg
    context.close()


def test_map_paints_parcels_and_opens_one(page):
    assert page.get_attribute("html", "dir") == "rtl"
    assert page.is_visible('[data-testid="demo-banner"]')
    assert int(page.evaluate("document.body.dataset.loadedparcels")) > 10
    shot = ROOT / ".local" / "test-results" / "map.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot))
    box = page.locator("#map").bounding_box()
    # Click around the centre until a parcel (not a street) is hit.
    for dx, dy in [(0, 0), (12, 8), (-15, 10), (20, -12), (-8, -20), (30, 25)]:
        page.mouse.click(box["x"] + box["width"] / 2 + dx, box["y"] + box["height"] / 2 + dy)
        if page.locator('[data-testid="parcel-popup"]').count():
            break
    popup = page.locator('[data-testid="parcel-popup"]')
    popup.wait_for(timeout=5000)
    text = popup.inner_text()
    assert "کد نوسازی" in text and "کاربری" in text
    assert page.locator('[data-testid="parcel-popup"] bdi[dir="ltr"]').count() == 1  # code isolated LTR
    assert any(ch in text for ch in "۰۱۲۳۴۵۶۷۸۹")  # Persian digits


def test_no_owner_data_in_anything_the_browser_received(page):
    # National IDs and phones are unique strings; names are common words that may appear in street names.
    owners = list(Owner.objects.filter(kind="person").values_list("national_id", "phone")[:200])
    bodies = []
    for response in page.responses:
        if "/api/" in response.url:
            bodies.append(response.text())
    received = "".join(bodies) + page.content()
    assert bodies
    for national_id, phone in owners:
        assert national_id not in received
        assert not phone or phone not in received


def test_language_switch_flips_direction(page):
    page.click(".lang button")
    page.wait_for_load_state()
    assert page.get_attribute("html", "dir") == "ltr"
    assert "property map" in page.inner_text("h1")
    page.click(".lang button")
    page.wait_for_load_state()
    assert page.get_attribute("html", "dir") == "rtl"


@pytest.fixture(scope="session")
def staff_login(django_db_blocker, demo_city):
    """An administrator committed to the test database (the gunicorn server only sees committed rows)."""
    from django.contrib.auth.models import User

    with django_db_blocker.unblock():
        if not User.objects.filter(username="browser-admin").exists():
            User.objects.create_superuser("browser-admin", "a@example.org", "browser-admin-pw")
    return "browser-admin", "browser-admin-pw"


def test_admin_edits_a_parcel_on_the_map(browser, portal_url, staff_login):
    from parcels.models import Parcel

    parcel = Parcel.objects.filter(renewal_code__isnull=False).first()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.goto(f"{portal_url}/admin/login/?next=/admin/parcels/parcel/{parcel.pk}/change/")
    pg.fill("#id_username", staff_login[0])
    pg.fill("#id_password", staff_login[1])
    pg.click("input[type=submit]")
    pg.wait_for_selector("#id_geom-map.leaflet-container", timeout=15000)
    # The parcel's polygon is drawn on the widget's map (transformed from the municipality's CRS for display).
    pg.wait_for_selector("#id_geom-map path.leaflet-interactive", timeout=15000)
    assert parcel.renewal_code in pg.content()
    context.close()
