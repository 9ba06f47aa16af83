"""The Content-Security-Policy in Debian's Chromium: the map with a parcel's sheet, a bill, the sign-in page, the admin
(its parcel page with the Leaflet map widget) and the engineer's page work under the policy and the browser reports
no violation (a violation is a console error naming the Content Security Policy, and a securitypolicyviolation
event)."""

import uuid

import pytest

from parcels.models import Parcel
from tests.conftest import make_user
from tests.dues_support import dues_city  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

# recorded in the page before any of its scripts runs
WATCH = """window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + e.sourceFile + ":" +
                              e.lineNumber);
});"""


def _watched_page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    context.add_init_script(WATCH)
    pg = context.new_page()
    pg.csp_errors = []
    pg.on("console", lambda m: pg.csp_errors.append(m.text)
          if m.type == "error" and "Content Security Policy" in m.text else None)
    return pg


def _violations(pg):
    return pg.csp_errors + pg.evaluate("window.__cspViolations")


@pytest.fixture(scope="module")
def staff_login(django_db_setup, django_db_blocker):
    """An admin account committed (outside any test's transaction) for the served portal, disabled afterwards."""
    name = "csp-admin-" + uuid.uuid4().hex[:6]
    with django_db_blocker.unblock():
        user = make_user(name, "admin", is_staff=True)
    yield name, "pw-" + name
    with django_db_blocker.unblock():   # kept (its personal-data access log refers to it), but no longer usable
        user.is_active = False
        user.save(update_fields=["is_active"])


def test_pages_work_under_the_policy_without_violations(browser, portal_url, dues_city, django_db_blocker,
                                                        staff_login):
    with django_db_blocker.unblock():
        parcel = (Parcel.objects.filter(dues_assessments__year=dues_city, dues_assessments__amount__gt=5_000_000,
                                        dues_payments__isnull=True, overlay__zone_code="R121")
                  .order_by("id").distinct()[20])
        point = parcel.geom.point_on_surface.transform(4326, clone=True)
    pg = _watched_page(browser)
    try:
        # the map (its inline configuration carries the nonce) and a parcel's sheet with every section loaded
        response = pg.goto(f"{portal_url}/#19/{point.y:.7f}/{point.x:.7f}/{parcel.pk}")
        assert "'nonce-" in response.headers["content-security-policy"]
        pg.wait_for_function("() => document.body.dataset.portalReady", timeout=45000)
        pg.wait_for_function(f"() => document.body.dataset.sheet === '{parcel.pk}'", timeout=30000)
        pg.wait_for_function("() => [...document.querySelectorAll('.sheet-section')].every(s => s.dataset.loaded)",
                             timeout=30000)
        pg.wait_for_function("() => Number(document.body.dataset.districtsTiles || 0) > 0", timeout=45000)
        assert _violations(pg) == []
        # the search form does not submit (its handler moved from an inline attribute to map.js)
        pg.fill("#q", "no such thing")
        pg.keyboard.press("Enter")
        pg.wait_for_timeout(300)
        assert pg.evaluate("location.pathname") == "/" and _violations(pg) == []
        # issuing the bill from the sheet, then the bill page with its print button
        pg.click("#sheet-dues [data-testid=dues-bill-link]")
        pg.wait_for_selector("[data-testid=bill]")
        pg.evaluate("window.print = function () { document.body.dataset.printed = '1'; }")
        pg.click("button[data-print]")
        assert pg.evaluate("document.body.dataset.printed") == "1" and _violations(pg) == []
        # the engineer's page (its scripts, the date picker)
        pg.goto(f"{portal_url}/zoning/parcels/{parcel.pk}/", wait_until="networkidle")
        pg.wait_for_selector("[data-testid=proposal-form]")
        pg.click("input[data-jalali-date]")                 # the date picker opens
        pg.wait_for_timeout(300)
        assert _violations(pg) == []
        # the sign-in page
        pg.goto(f"{portal_url}/accounts/signin/", wait_until="networkidle")
        assert _violations(pg) == []
        # the admin: sign in, the index, a parcel's change page with the Leaflet widget (inline scripts with the nonce)
        pg.goto(f"{portal_url}/admin/login/?next=/admin/parcels/parcel/{parcel.pk}/change/")
        pg.fill("#id_username", staff_login[0])
        pg.fill("#id_password", staff_login[1])
        pg.click("input[type=submit]")
        pg.wait_for_selector(".leaflet-container", timeout=30000)
        pg.wait_for_selector(".leaflet-container .leaflet-overlay-pane path", state="attached", timeout=30000)
        pg.wait_for_load_state("networkidle")
        assert _violations(pg) == []
        pg.goto(f"{portal_url}/admin/", wait_until="networkidle")
        assert _violations(pg) == []
    finally:
        pg.context.close()


def test_an_inline_script_without_the_nonce_is_blocked_and_reported(browser, portal_url):
    """The watch itself works: a script injected without the nonce does not run and is seen as a violation."""
    pg = _watched_page(browser)
    try:
        pg.goto(f"{portal_url}/accounts/signin/", wait_until="networkidle")
        pg.evaluate("""() => { const s = document.createElement('script'); s.textContent = 'window.ran = 1';
                               document.body.appendChild(s); }""")
        pg.wait_for_timeout(300)
        assert pg.evaluate("window.ran") is None and _violations(pg)
    finally:
        pg.context.close()
