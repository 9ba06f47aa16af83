"""The map's download dialog in Debian's Chromium: every export is a job; a worker (on the served portal's
database) makes it while the dialog shows an accessible progress bar, then the file downloads and a link stays."""

import pytest

from tests.jobs.workers import running_worker
from tests.test_map_browser import new_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

WATCH_BARS = """() => {
  window.bars = [];
  new MutationObserver(() => {
    document.querySelectorAll('dialog.layer-download [role=progressbar]').forEach((bar) => {
      window.bars.push([bar.getAttribute('aria-valuenow'), bar.getAttribute('aria-label')]);
    });
  }).observe(document.body, {subtree: true, childList: true, attributes: true});
}"""


@pytest.fixture(scope="module")
def portal_worker(portal_url, django_db_blocker, jobs_var):
    with running_worker(django_db_blocker, plain=True, VAR_DIR=str(jobs_var)):
        yield portal_url


def test_an_export_from_the_map_is_a_job_with_progress(browser, portal_worker):
    from jobs.models import Job

    pg = new_page(browser, portal_worker)
    try:
        pg.wait_for_function("() => document.body.dataset.downloadReady", timeout=10000)
        pg.evaluate(WATCH_BARS)
        pg.click("a.download")
        pg.select_option("dialog.layer-download select[name=layers]", "parcels")
        pg.select_option("dialog.layer-download select[name=format]", "geojson")
        with pg.expect_download(timeout=60000) as info:
            pg.click("dialog.layer-download button[type=submit]")
        assert info.value.suggested_filename == "parcels.geojson"
        text = open(info.value.path(), encoding="utf-8").read()
        assert '"FeatureCollection"' in text and '"renewal_code"' in text
        link = pg.locator("dialog.layer-download a.job-result")
        assert link.count() == 1 and "parcels.geojson" in link.inner_text()
        assert link.get_attribute("href").startswith("/api/jobs/")
        assert "parcels.geojson" in pg.text_content("dialog.layer-download output")
        bars = pg.evaluate("window.bars")
        assert bars and bars[0][1]  # the progress bar was shown, with its accessible name
        job = Job.objects.get(pk=link.get_attribute("href").split("/")[3])  # committed by the server
        assert job.status == "done" and job.user is None and job.kind == "layers.export"
        # a bad CRS is refused before any job is queued, in the dialog
        pg.fill("dialog.layer-download input[name=srid]", "12")
        pg.click("dialog.layer-download button[type=submit]")
        pg.wait_for_function("() => document.querySelector('dialog.layer-download output').textContent"
                             ".includes('EPSG:12')", timeout=10000)
    finally:
        pg.context.close()
