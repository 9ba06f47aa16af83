"""One language per page: the pages people use, crawled in Debian's Chromium in Persian (the default) and in English
(the language cookie), with every part loaded, must show no word of the other script.

What is read is what people read: the visible text of the page, the document title, the options of its lists and
the placeholder, title, aria-label and alt attributes. Left out: what the page itself marks as not to be translated
(``translate="no"``: formulas, barcodes) and what it marks as being in another language (``lang``: the language
switch's own name). Allowed in a Persian page: codes and numbers (any word with a digit; one or two capitals), units,
and the proper names and abbreviations in LATIN_NAMES. Allowed in an English page: the Persian names that have no
English name in the database (a street named only in Persian; the rulebook's clauses).

A failure names every offending word with the page it was on."""

import re
from collections import Counter

import pytest

from dues import billing
from tests.dues_support import dues_city  # noqa: F401  (fixture)
from tests.zoning_fixtures import demo_rulebook  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser

# Proper names and abbreviations that are the same in a Persian text (formats, standards, software, map sources).
LATIN_NAMES = {"EPSG", "GeoJSON", "DXF", "PDF", "QGIS", "OGC", "CSV", "GeoPackage", "GeoTIFF", "FlatGeobuf",
               "Shapefile", "Leaflet", "OpenStreetMap", "OSM", "WGS84", "API", "JSON", "XYZ", "MVT", "PNG", "SMS", "TOTP"}
UNITS = {"m", "m²", "km", "km²", "cm", "ha", "%"}
LATIN = re.compile(r"[A-Za-z]")
PERSIAN = re.compile(r"[\u0600-\u06FF\u0750-\u077F\uFB50-\uFDFF\uFE70-\uFEFF]")
CODE_LETTERS = re.compile(r"[A-Z]{1,2}")  # a code without digits: a zone family (R, C, H) in the legend and lists
EDGE = re.compile(r"^[^\w²%]+|[^\w²%]+$")  # punctuation around a word: quotes, brackets, commas, colons

# Everything a reader reads on the page, as a list of [text, where] (where: a CSS-like path of the element).
READ_PAGE = """() => {
  const pageLang = document.documentElement.lang;
  const skipped = el => el.closest('[translate="no"], script, style, noscript, template') ||
    (el.closest('[lang]') && el.closest('[lang]').lang !== pageLang);
  const where = el => { const parts = []; for (let e = el; e && e !== document.body && parts.length < 3;
    e = e.parentElement) { parts.unshift(e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
      (e.classList.length ? '.' + [...e.classList].join('.') : '')); } return parts.join(' > '); };
  const out = [[document.title, 'title']];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!node.textContent.trim() || skipped(el)) continue;
    if (el.tagName === 'OPTION' ? !el.closest('select').checkVisibility() : !el.checkVisibility()) continue;
    out.push([node.textContent, where(el)]);
  }
  for (const el of document.body.querySelectorAll('[placeholder], [title], [aria-label], [alt]')) {
    if (skipped(el)) continue;
    for (const name of ['placeholder', 'title', 'aria-label', 'alt']) {
      if (el.getAttribute(name)) out.push([el.getAttribute(name), where(el) + '@' + name]);
    }
  }
  return out;
}"""


def words(text):
    for raw in text.split():
        word = EDGE.sub("", raw)
        if word:
            yield word


def latin_problem(word):
    if not LATIN.search(word) or any(c.isdigit() for c in word) or CODE_LETTERS.fullmatch(word):
        return False
    return word not in LATIN_NAMES and word not in UNITS


def offending(read, language, persian_data_words):
    """(word, where) of every word of the wrong script."""
    found = []
    for text, where in read:
        for word in words(text):
            if language == "fa" and latin_problem(word):
                found.append((word, where))
            elif language == "en" and PERSIAN.search(word) and word not in persian_data_words:
                found.append((word, where))
    return found


CRAWL_CITIZEN = "09990001122"


@pytest.fixture(scope="module")
def crawl(demo_city, demo_rulebook, dues_city, django_db_blocker):
    """A parcel with a planning zone, a road-widening strip and dues owed, a bill issued for it (through
    dues.billing, committed, as the server reads it), a payment through the sandbox gateway today (so that the
    finance page's reconciliation has a row), a finance user, a draft tariff book for the finance page's what-if,
    and the words of the Persian names that have no English name."""
    from django.contrib.auth.models import Group, User
    from django.utils import timezone

    from dues.models import Bill, Payment, TariffBook
    from parcels.models import Parcel, Street
    from zoning.models import Rule

    with django_db_blocker.unblock():
        parcel = (Parcel.objects.filter(renewal_code__isnull=False, overlay__zone_code="R121",
                                        overlay__widening_area__gt=5, dues_assessments__year=dues_city,
                                        dues_assessments__is_current=True, dues_assessments__amount__gt=0,
                                        dues_payments__isnull=True)
                  .exclude(addresses=None).order_by("-id").distinct().first())
        bill = Bill.objects.filter(parcel=parcel, status=Bill.Status.ISSUED).first() or billing.issue(parcel)
        if not Payment.objects.filter(gateway="sandbox", paid_at__date=timezone.localdate(),
                                      bill__kind="renewal").exists():   # fee payments are not reconciled there
            paid = (Parcel.objects.filter(dues_assessments__year=dues_city, dues_assessments__is_current=True,
                                          dues_assessments__amount__gt=0, dues_payments__isnull=True)
                    .exclude(pk=parcel.pk).order_by("id").distinct().first())
            paid_bill = billing.issue(paid)
            billing.record_payment(paid_bill, "sandbox", f"CRAWL-{paid_bill.pk}", paid_bill.amount)
        draft = TariffBook.objects.filter(status=TariffBook.Status.DRAFT).order_by("-year", "name").first()
        user, _ = User.objects.get_or_create(username="crawl-finance", defaults={"is_staff": True})
        user.set_password("crawl-finance-pw")
        user.save()
        user.groups.add(Group.objects.get(name="finance"))
        persian_only = [s.name for s in Street.objects.filter(name_en="").exclude(name="")]
        persian_only += [t for r in Rule.objects.all() for t in (r.document, r.article)]
        citizen_session = _citizen_session(parcel)
    point = parcel.geom.point_on_surface.transform(4326, clone=True)
    yield {"parcel": parcel, "point": point, "bill": bill, "login": ("crawl-finance", "crawl-finance-pw"),
           "draft": draft, "citizen_session": citizen_session,
           "persian_data_words": {w for text in persian_only for w in words(text)}}
    with django_db_blocker.unblock():  # the citizen is the crawl's own: later modules count links and citizens
        User.objects.filter(username=CRAWL_CITIZEN).delete()


def _citizen_session(parcel) -> str:
    """A signed-in citizen who owns `parcel` (a verified link to its first owner's national ID, as a matching mobile
    number makes it): the key of their session, for the browser's cookie."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import Group, User
    from django.contrib.sessions.backends.db import SessionStore

    from accounts.models import Citizen, PropertyLink

    owner = parcel.ownerships.select_related("owner").exclude(owner__national_id=None).first().owner
    mobile = CRAWL_CITIZEN
    user, _ = User.objects.get_or_create(username=mobile)
    user.set_unusable_password()
    user.save()
    user.groups.add(Group.objects.get(name="citizen"))
    citizen, _ = Citizen.objects.get_or_create(user=user, defaults={"mobile": mobile})
    Citizen.objects.filter(pk=citizen.pk).update(national_id=owner.national_id)
    PropertyLink.objects.get_or_create(citizen=citizen, national_id=owner.national_id, defaults={
        "status": PropertyLink.Status.VERIFIED, "method": PropertyLink.Method.STAFF})
    session = SessionStore()
    session.update({SESSION_KEY: str(user.pk), BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
                    HASH_SESSION_KEY: user.get_session_auth_hash()})
    session.create()
    return session.session_key


def _as_citizen(pg, base, c, path):
    pg.context.add_cookies([{"name": "sessionid", "value": c["citizen_session"], "url": base}])
    _open(pg, base, path)


def _open(pg, base, path, ready=None):
    pg.goto(base + path, wait_until="networkidle")
    if ready:
        pg.wait_for_function(ready, timeout=45000)


def _map(pg, base, c):
    p, pk = c["point"], c["parcel"].pk
    _open(pg, base, f"/#19/{p.y:.7f}/{p.x:.7f}/{pk}", f"() => document.body.dataset.sheet === '{pk}'")
    pg.wait_for_function("() => [...document.querySelectorAll('.sheet-section')].every(s => s.dataset.loaded)",
                         timeout=30000)
    pg.wait_for_load_state("networkidle")


def _finance(pg, base, c):
    """The finance page with the what-if of a draft book (district names in both of its tables)."""
    pg.goto(f"{base}/admin/login/?next=/dues/finance/%3Fwhat_if%3D{c['draft'].pk}")
    pg.fill("#id_username", c["login"][0])
    pg.fill("#id_password", c["login"][1])
    pg.click("input[type=submit]")
    pg.wait_for_selector("[data-testid=collections]")
    pg.wait_for_selector("[data-testid=what-if]")
    assert pg.locator("[data-testid=reconciliation] tbody tr").count()


PAGES = {
    "map with the parcel's sheet": _map,
    "text parcel page": lambda pg, base, c: _open(pg, base, f"/parcels/{c['parcel'].pk}/"),
    "engineer page": lambda pg, base, c: _open(
        pg, base, f"/zoning/parcels/{c['parcel'].pk}/",
        "() => document.getElementById('envelope-map').dataset.loaded === '3'"),
    "engineer page with a decision": lambda pg, base, c: _open(
        pg, base, f"/zoning/parcels/{c['parcel'].pk}/?land_use=commercial&floors=2&gross_floor_area=120"
                  "&footprint_area=60&parking_spaces=1", "() => document.querySelector('[data-testid=decision]')"),
    "queries page": lambda pg, base, c: _open(
        pg, base, "/zoning/queries/", "() => document.querySelector('[data-testid=query-count]').dataset.count"),
    "bill page": lambda pg, base, c: _open(pg, base, f"/dues/bills/{c['bill'].public_id}/"),
    "finance page": _finance,
    "reminders page": lambda pg, base, c: (_finance(pg, base, c), _open(pg, base, "/dues/finance/reminders/")),
    "sign-in page": lambda pg, base, c: _open(pg, base, "/accounts/signin/"),
    "my properties": lambda pg, base, c: _as_citizen(pg, base, c, "/accounts/properties/"),
    "citizen settings": lambda pg, base, c: _as_citizen(pg, base, c, "/accounts/settings/"),
    "citizen inbox": lambda pg, base, c: _as_citizen(pg, base, c, "/notices/inbox/"),
    "jobs page": lambda pg, base, c: _as_citizen(pg, base, c, "/jobs/"),
    "report a problem": lambda pg, base, c: _as_citizen(pg, base, c, "/reports/new/"),
    "my reports": lambda pg, base, c: _as_citizen(pg, base, c, "/reports/mine/"),
    "public map of reports": lambda pg, base, c: _open(pg, base, "/reports/map/"),
    "report statistics": lambda pg, base, c: _open(pg, base, "/reports/stats/"),
    "performance dashboards": lambda pg, base, c: _open(
        pg, base, "/transparency/dashboards/",
        "() => window.Chart && [...document.querySelectorAll('canvas[data-panel]')].every(c => Chart.getChart(c))"),
}


@pytest.mark.django_db  # (so that pytest-django sets the test database up; the data is the fixture's, committed)
@pytest.mark.parametrize("language", ["fa", "en"])
@pytest.mark.parametrize("page_name", list(PAGES))
def test_page_speaks_one_language(browser, portal_url, crawl, page_name, language):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    if language == "en":
        context.add_cookies([{"name": "django_language", "value": "en", "url": portal_url}])
    pg = context.new_page()
    try:
        PAGES[page_name](pg, portal_url, crawl)
        assert pg.evaluate("document.documentElement.lang") == language
        found = offending(pg.evaluate(READ_PAGE), language, crawl["persian_data_words"])
    finally:
        context.close()
    if found:
        counts = Counter(word for word, _ in found)
        places = {}
        for word, where in found:
            places.setdefault(word, where)
        report = "\n".join(f"  {word!r} ×{n}  at {places[word]}" for word, n in counts.most_common())
        script = "Latin" if language == "fa" else "Persian"
        pytest.fail(f"{page_name} in {language!r} shows {script} words:\n{report}", pytrace=False)


def test_the_crawl_finds_words_of_the_wrong_script():
    """The reader's rules themselves: what counts as a word of the other script and what is allowed."""
    read = [("کد نوسازی R121 H EPSG:32640 GeoJSON ۱۲ m² (m) Parcel sheet", "p")]
    assert offending(read, "fa", set()) == [("Parcel", "p"), ("sheet", "p")]
    read = [("Street: کوچه بهار, Zone R121 «پهنه»", "td")]
    assert offending(read, "en", {"کوچه", "بهار"}) == [("پهنه", "td")]
