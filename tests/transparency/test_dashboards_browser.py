"""The dashboards page in Debian's headless Chromium, in Persian, against gunicorn on the test database: every chart
drawn (a canvas with pixels), its labels Jalali months and Persian names, and no script error (the CSP holds)."""

import jdatetime
import pytest

from tests.dues_support import dues_city  # noqa: F401  (fixture)
from tests.reports.test_public_browser import committed_reports  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

DRAWN = ("c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
         " for (let i = 3; i < d.length; i += 4) if (d[i]) return true; return false; }")


def test_dashboards_draw_their_charts_in_persian(browser, portal_url, committed_reports, dues_city):
    errors = []
    context = browser.new_context(viewport={"width": 1280, "height": 900})   # no language cookie: Persian
    pg = context.new_page()
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: errors.append(str(e)))
    try:
        pg.goto(portal_url + "/transparency/dashboards/")
        assert pg.get_attribute("html", "dir") == "rtl" and pg.get_attribute("html", "lang") == "fa"
        pg.wait_for_function("() => window.Chart && [...document.querySelectorAll('canvas[data-panel]')]"
                             ".every(c => Chart.getChart(c))", timeout=20000)
        canvases = pg.locator("canvas[data-panel]")
        panels = set(canvases.evaluate_all("cs => cs.map(c => c.dataset.panel)"))
        assert {"dues_collections", "reports_by_month", "reports_by_category"} <= panels
        for i in range(canvases.count()):
            canvas = canvases.nth(i)
            size = canvas.evaluate("c => [c.width, c.height, c.getBoundingClientRect().width]")
            assert size[0] > 0 and size[1] > 0 and size[2] > 0, size
            assert canvas.evaluate(DRAWN), canvas.get_attribute("data-panel")
        months = pg.evaluate("() => Chart.getChart(document.querySelector('canvas[data-panel=reports_by_month]'))"
                             ".data.labels")
        assert months and all(label.split()[0] in jdatetime.date.j_months_fa for label in months), months
        assert all(not any(ch.isascii() and ch.isdigit() for ch in label) for label in months)  # Persian digits
        series = pg.evaluate("() => Chart.getChart(document.querySelector('canvas[data-panel=dues_collections]'))"
                             ".data.datasets.map(d => d.label)")
        assert series == ["عوارض", "وصول‌شده"]
        # the table under each chart, with its CSV
        assert pg.locator('[data-testid="table-dues_collections"] tbody tr').count() > 0
        assert pg.get_attribute('[data-testid="csv-reports_by_month"]', "href") == \
            "/transparency/dashboards/reports_by_month.csv"
        assert not [e for e in errors if "Content Security Policy" in e or "Uncaught" in e or "Error" in e], errors
    finally:
        context.close()
