"""The public map of reports and the statistics page in Debian's headless Chromium, against gunicorn on the test
database: points at high zoom, clusters at low zoom, a point's pop-up, the filters, and the charts drawn."""

import datetime as dt

import pytest

from tests.reports.conftest import forget_committed_categories
from django.contrib.gis.geos import Point
from django.utils import timezone

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


@pytest.fixture(scope="module")
def committed_reports(demo_city, django_db_blocker):
    """A few reports committed to the test database (the server runs in another process), removed afterwards."""
    from notices import defaults
    from parcels.models import Parcel
    from reports import loader, service, workflow
    from reports.models import Category, Report

    with django_db_blocker.unblock():
        loaded = not Category.objects.exists()
        defaults.load()
        loader.load(loader.read(loader.DEFAULT_FILE))
        cats = {c.code: c for c in Category.objects.all()}
        parcels = list(Parcel.objects.filter(renewal_code__isnull=False).order_by("id")[200:206])
        made = []
        start = timezone.now() - dt.timedelta(days=120)
        for i, (parcel, code) in enumerate(zip(parcels, ["pothole", "street-light", "waste", "pothole",
                                                         "sidewalk", "pothole"])):
            p = parcel.geom.point_on_surface
            report = service.submit(category=cats[code], point=Point(p.x, p.y, srid=p.srid),
                                    description=f"browser test {i}", reporter=service.Reporter(),
                                    now=start + dt.timedelta(days=20 * i))
            made.append(report)
        from django.contrib.auth.models import User

        admin = User.objects.create_superuser("reports-browser-admin", password="x")
        service.change_status(made[0], workflow.RESOLVED, by=admin, now=made[0].created_at + dt.timedelta(days=4))
        service.change_status(made[1], workflow.RESOLVED, by=admin, now=made[1].created_at + dt.timedelta(days=9))
    yield made
    with django_db_blocker.unblock():
        Report.objects.filter(pk__in=[r.pk for r in made]).delete()
        User.objects.filter(username="reports-browser-admin").delete()
        if loaded:
            forget_committed_categories()


def _lonlat(report):
    wgs = report.public_geom.transform(4326, clone=True)
    return wgs.y, wgs.x


# The heat layer's canvas has coloured (non-transparent) pixels around the map's centre.
HEAT_DRAWN = """() => {
  const c = document.querySelector('canvas.leaflet-heatmap-layer');
  if (!c || !c.width) return false;
  const m = document.getElementById('map').getBoundingClientRect(), r = c.getBoundingClientRect();
  const x = Math.round(m.left + m.width / 2 - r.left), y = Math.round(m.top + m.height / 2 - r.top);
  const d = c.getContext('2d').getImageData(x - 10, y - 10, 21, 21).data;
  for (let i = 3; i < d.length; i += 4) if (d[i] > 0) return true;
  return false;
}"""


def _page(browser, portal_url, path, errors):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    context.add_cookies([{"name": "django_language", "value": "en", "url": portal_url}])
    pg = context.new_page()
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(portal_url + path)
    return pg


def test_public_map_points_clusters_and_popup(browser, portal_url, committed_reports):
    errors = []
    pg = _page(browser, portal_url, "/reports/map/", errors)
    try:
        assert pg.get_attribute("html", "dir") == "ltr"
        assert pg.is_visible('[data-testid="legend"]')
        assert "Pothole" in pg.inner_text('[data-testid="legend"]') or \
            "pothole" in pg.inner_text('[data-testid="legend"]').lower()
        assert pg.get_attribute('[data-testid="report-problem"]', "href") == "/reports/new/"
        lat, lon = _lonlat(committed_reports[0])
        # lowest zooms: the heat map (a canvas coloured where the reports are), or the clusters by the switch
        pg.evaluate(f"() => window.reportsMap.setView([{lat}, {lon}], 12, {{animate: false}})")
        pg.wait_for_function("() => document.getElementById('map').dataset.heat", timeout=20000)
        assert pg.get_attribute("#map", "data-mode") == "heat"
        assert int(pg.get_attribute("#map", "data-heat")) >= len(committed_reports)  # counted from the squares
        assert pg.is_visible('[data-testid="layer-switch"]') and pg.is_checked('[data-testid="switch-heat"]')
        pg.wait_for_function(HEAT_DRAWN, timeout=20000)  # coloured pixels at the report's place (the map's centre)
        assert pg.locator("path.report-cluster").count() == 0 and pg.locator("path.report-point").count() == 0
        pg.check('[data-testid="switch-clusters"]')
        pg.wait_for_selector("path.report-cluster", timeout=20000)
        assert pg.get_attribute("#map", "data-mode") == "clusters"
        assert pg.locator("canvas.leaflet-heatmap-layer").count() == 0
        pg.check('[data-testid="switch-heat"]')
        pg.wait_for_function(HEAT_DRAWN, timeout=20000)
        # above the heat's zooms: circles per cell, no single points, no switch
        pg.evaluate(f"() => window.reportsMap.setView([{lat}, {lon}], 14, {{animate: false}})")
        pg.wait_for_selector("path.report-cluster", timeout=20000)
        assert pg.get_attribute("#map", "data-mode") == "clusters"
        assert not pg.is_visible('[data-testid="layer-switch"]')
        assert pg.locator("canvas.leaflet-heatmap-layer").count() == 0
        assert pg.locator("path.report-point").count() == 0
        # high zoom: one point per report, coloured by category
        pg.evaluate(f"() => window.reportsMap.setView([{lat}, {lon}], 17, {{animate: false}})")
        pg.wait_for_selector("path.report-point", timeout=20000)
        assert pg.get_attribute("#map", "data-mode") == "points"
        assert pg.locator("path.report-cluster").count() == 0
        point = pg.locator("path.report-point").first
        fill = point.get_attribute("fill")
        assert fill and fill.startswith("#")
        # the point at the map's centre is the report's: click it and read its pop-up
        pg.evaluate(f"() => window.reportsMap.setView([{lat}, {lon}], 18, {{animate: false}})")  # neighbours apart
        pg.wait_for_timeout(300)
        pg.wait_for_selector("path.report-point", timeout=20000)
        box = pg.locator("#map").bounding_box()
        pg.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        pg.wait_for_selector(".leaflet-popup-content", timeout=15000)
        pg.wait_for_function("() => !document.querySelector('.leaflet-popup-content').textContent.includes('…')",
                             timeout=15000)
        assert pg.locator('[data-testid="report-popup"]').count() == 1, (pg.inner_text(".leaflet-popup-content"),
                                                                         errors)
        popup = pg.inner_text('[data-testid="report-popup"]')
        category = committed_reports[0].category
        assert category.name_en in popup
        assert "Resolved" in popup and committed_reports[0].tracking_code in popup
        assert "browser test" not in popup or not category.private_place
        # a filter that leaves no point of this category hides it
        other = "street-light" if category.code != "street-light" else "pothole"
        pg.select_option('[data-testid="filter-category"]', other)
        pg.wait_for_function("() => document.querySelectorAll('path.report-point').length === 0 || "
                             "[...document.querySelectorAll('path.report-point')].every(p => p.getAttribute('fill') "
                             f"!== '{category.colour}')", timeout=15000)
        assert not [e for e in errors if "Content Security Policy" in e or "Uncaught" in e], errors
    finally:
        pg.context.close()


def test_stats_page_draws_its_charts(browser, portal_url, committed_reports):
    errors = []
    pg = _page(browser, portal_url, "/reports/stats/", errors)
    try:
        pg.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('chart-trend'))",
                             timeout=20000)
        for testid in ("chart-trend", "chart-month-median", "chart-category", "chart-category-median",
                       "chart-district"):
            canvas = pg.locator(f'[data-testid="{testid}"]')
            size = canvas.evaluate("c => [c.width, c.height, c.getBoundingClientRect().width]")
            assert size[0] > 0 and size[1] > 0 and size[2] > 0, (testid, size)
            drawn = canvas.evaluate("c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
                                    " for (let i = 3; i < d.length; i += 4) if (d[i]) return true; return false; }")
            assert drawn, testid
        labels = pg.evaluate("() => Chart.getChart(document.getElementById('chart-category')).data.labels")
        assert committed_reports[0].category.name_en in labels
        assert int(pg.inner_text('[data-testid="totals"] strong').replace(",", "")) >= len(committed_reports)
        href = pg.get_attribute('[data-testid="csv-link"]', "href")
        assert href.startswith("/reports/stats.csv?table=category")
        pg.select_option("select[name=category]", committed_reports[0].category.code)
        pg.click('[data-testid="stats-filters"] button[type=submit]')
        pg.wait_for_url("**category=*")
        pg.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('chart-category'))")
        labels = pg.evaluate("() => Chart.getChart(document.getElementById('chart-category')).data.labels")
        assert labels == [committed_reports[0].category.name_en]
        assert not [e for e in errors if "Content Security Policy" in e or "Uncaught" in e], errors
    finally:
        pg.context.close()


def test_public_map_in_persian_shows_jalali_dates(browser, portal_url, committed_reports):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    try:
        pg.goto(portal_url + "/reports/map/")
        assert pg.get_attribute("html", "dir") == "rtl"
        lat, lon = _lonlat(committed_reports[0])
        pg.evaluate(f"() => window.reportsMap.setView([{lat}, {lon}], 18, {{animate: false}})")
        pg.wait_for_selector("path.report-point", timeout=20000)
        pg.wait_for_timeout(300)
        box = pg.locator("#map").bounding_box()
        pg.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        pg.wait_for_selector('[data-testid="report-popup"]', timeout=15000)
        popup = pg.inner_text('[data-testid="report-popup"]')
        assert committed_reports[0].category.name in popup
        year = committed_reports[0].created_at.year - 621  # the Jalali year (or the one before it)
        persian = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
        assert str(year).translate(persian) in popup or str(year - 1).translate(persian) in popup
    finally:
        context.close()
