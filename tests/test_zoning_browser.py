"""The engineer's eligibility page and the sheet's 'what can be built' section in Debian's headless Chromium."""

import pytest

from tests.test_map_browser import new_page, search_and_choose
from zoning.models import ParcelOverlay

from tests.zoning_fixtures import demo_rulebook  # noqa: F401,E402  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


@pytest.fixture
def plain(demo_city, demo_rulebook):
    return (ParcelOverlay.objects.filter(zone_code="R121", in_floodplain=False, in_historic_core=False,
                                         fault_distance__gt=60, widening_area__gt=5, zone_share=1.0,
                                         parcel__measured_area__gt=200, parcel__renewal_code__isnull=False)
            .order_by("parcel_id").first().parcel)


def test_engineer_page_decision_table_and_envelope_map(browser, portal_url, plain):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    try:
        pg.goto(f"{portal_url}/zoning/parcels/{plain.pk}/")
        assert pg.get_attribute("html", "dir") == "rtl"
        assert pg.is_visible('[data-testid="rulebook-notice"]')          # the demo rulebook says it is one
        pg.wait_for_function("() => document.getElementById('envelope-map').dataset.loaded === '3'", timeout=20000)
        assert pg.locator("#envelope-map path.leaflet-interactive").count() == 3   # parcel, widening, envelope
        pg.select_option("select[name=land_use]", "commercial")
        pg.fill("input[name=floors]", "۲")
        pg.fill("input[name=gross_floor_area]", "120")
        pg.fill("input[name=footprint_area]", "60")
        pg.fill("input[name=parking_spaces]", "1")
        pg.click("button[type=submit]")
        pg.wait_for_selector('[data-testid="decision"]')
        assert pg.get_attribute('[data-testid="decision"]', "data-status") == "conditional"
        row = pg.locator('tr[data-rule="conditional_uses"]')
        assert "جدول ۱، ردیف R121" in row.inner_text()                     # the clause is cited
        assert pg.locator('[data-testid="decision-table"] tbody tr').count() >= 6
        pg.fill("input[name=floors]", "-1")
        pg.click("button[type=submit]")
        error = pg.locator('[data-testid="proposal-errors"] li[data-field="floors"]')
        assert "تعداد طبقات" in error.inner_text() and "floors" not in error.inner_text()   # the form's label
    finally:
        context.close()


def test_sheet_section_draws_the_envelope(browser, portal_url, plain):
    pg = new_page(browser, portal_url)
    try:
        search_and_choose(pg, plain.renewal_code)
        pg.wait_for_selector("#sheet-eligibility[data-loaded='1']", timeout=15000)
        body = pg.locator("#sheet-eligibility .body")
        assert body.get_attribute("data-envelope") == "drawn"
        assert "R121" in body.inner_text()
        assert pg.is_visible("#sheet-eligibility [data-testid=rulebook-notice]")
    finally:
        pg.context.close()


def test_query_page_counts_and_maps_non_conforming_parcels(browser, portal_url, client, demo_city, demo_rulebook):
    expected = client.get("/api/zoning/parcels", {"non_conforming": "true"}).json()["count"]
    assert expected > 0
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    try:
        pg.goto(f"{portal_url}/zoning/queries/")
        pg.wait_for_function("() => document.querySelector('[data-testid=query-count]').dataset.count", timeout=20000)
        pg.check("input[name=non_conforming]")
        pg.click("#query-form button[type=submit]")
        pg.wait_for_function(f"() => document.querySelector('[data-testid=query-count]').dataset.count === '{expected}'",
                             timeout=20000)
        assert pg.locator("#results tr").count() == min(expected, 200)
        assert pg.locator("#results-map path.leaflet-interactive").count() == min(expected, 200)
        assert "non_conforming=true" in pg.get_attribute("#csv", "href")
    finally:
        context.close()
