"""The public tariff pages (/transparency/tariffs/…): two approved books built from the demo book with one coefficient
and one formula changed, and a draft that must never show; the diff names exactly those changes, the stored effect
by district equals the dues computed parcel by parcel with the pure calculator, the files load back, no personal
data, and the bad addresses."""

import csv
import io
import json
import tomllib
from collections import defaultdict
from dataclasses import asdict
from decimal import Decimal

import lxml.html
import pytest
from django.core.management import call_command
from django.db import connection

from dues import facts as facts_module
from dues.calculator import assess
from dues.models import TariffBook
from dues.tariffs import compile_book, read_file
from tests.conftest import ROOT

pytestmark = pytest.mark.django_db

DEMO_BOOK = ROOT / "data" / "tariffs" / "1404.toml"
OLD_YEAR, NEW_YEAR, DRAFT_YEAR = 1390, 1391, 1392
SERVICES_BEFORE = "services_share * (renewal_dues + utilities_reduction + heritage_exemption)"
SERVICES_AFTER = "services_share * renewal_dues"


def build_books():
    """The demo book as OLD_YEAR; NEW_YEAR with `rate` 0.015 → 0.02 and the services line's formula shortened; a
    draft of DRAFT_YEAR (and one of NEW_YEAR) with another title, never to be published."""
    data = asdict(read_file(DEMO_BOOK))
    assert data["parameters"]["rate"] == 0.015
    services = next(line for line in data["lines"] if line["code"] == "services")
    assert " ".join(services["formula"].split()) == SERVICES_BEFORE
    old = TariffBook.objects.create(**{**data, "year": OLD_YEAR, "name": "test-old", "status": "approved",
                                       "title_en": "Test book old"})
    new_lines = [{**line, "formula": SERVICES_AFTER} if line["code"] == "services" else line for line in data["lines"]]
    new = TariffBook.objects.create(**{**data, "year": NEW_YEAR, "name": "test-new", "status": "approved",
                                       "title_en": "Test book new", "lines": new_lines,
                                       "parameters": {**data["parameters"], "rate": 0.02}})
    for year in (NEW_YEAR, DRAFT_YEAR):
        TariffBook.objects.create(**{**data, "year": year, "name": f"secret-draft-{year}", "status": "draft",
                                     "title_en": "SECRET DRAFT", "title_fa": "پیش‌نویس محرمانه",
                                     "parameters": {**data["parameters"], "rate": 0.5}})
    return old, new


@pytest.fixture
def books(demo_city, db):
    return build_books()


@pytest.fixture
def en(client):
    client.cookies["django_language"] = "en"
    return client


def _page(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, response.content[:500]
    return lxml.html.fromstring(response.content.decode()), response


def test_the_diff_shows_exactly_the_changed_coefficient_and_formula(books, en):
    tree, _response = _page(en, f"/transparency/tariffs/{NEW_YEAR}/")
    # parameters: only `rate`, with its old and new value
    rows = tree.xpath('//*[@data-testid="parameter-changes"]/tbody/tr')
    assert [r.get("data-name") for r in rows] == ["rate"]
    assert rows[0].xpath(".//del")[0].text_content() == "0.015"
    assert rows[0].xpath(".//ins")[0].text_content() == "0.02"
    # lines: the formula changed (services) and the one using the changed coefficient (renewal_dues); no other
    changed = {r.get("data-code"): r for r in tree.xpath('//*[@data-testid="line-change"]')}
    assert set(changed) == {"renewal_dues", "services"}
    assert {r.get("data-status") for r in changed.values()} == {"changed"}
    services = changed["services"]
    assert [d.get("data-field") for d in services.xpath("./td[2]//*[@data-field]")] == ["formula"]
    removed = [d.text_content() for d in services.xpath(".//del")]
    assert removed and all(part.strip() for part in removed)
    assert "".join(removed).replace(" ", "") == "(+utilities_reduction+heritage_exemption)"
    assert not services.xpath(".//ins")          # nothing was added to the formula, only taken away
    assert services.xpath("./td[3]//code")[0].text_content() == "services_share × renewal_dues"
    rate = changed["renewal_dues"]
    assert not rate.xpath(".//*[@data-field]")          # its own definition is the same…
    assert [p.get("data-parameter") for p in rate.xpath("./td[3]//*[@data-parameter]")] == ["rate"]
    summary = tree.xpath('//*[@data-testid="change-summary"]')[0].text_content()
    assert "0 added, 0 removed, 2 changed, 6 unchanged" in summary
    assert not tree.xpath('//*[@data-testid="term-changes"]') and not tree.xpath('//*[@data-testid="attribute-changes"]')
    # every line of the book is listed with its formula and the parameters it uses
    lines = {r.get("data-code"): r for r in tree.xpath('//*[@data-testid="lines"]/tbody/tr')}
    assert list(lines) == [line["code"] for line in books[1].lines]
    assert "rate = 0.02" in " ".join(lines["renewal_dues"].text_content().split()).replace(": parameter", "")


def test_a_draft_is_never_published(books, en):
    tree, response = _page(en, "/transparency/tariffs/")
    years = [r.get("data-year") for r in tree.xpath('//*[@data-testid="tariff-books"]/tbody/tr')]
    assert str(NEW_YEAR) in years and str(OLD_YEAR) in years and str(DRAFT_YEAR) not in years
    for url in ("/transparency/tariffs/", f"/transparency/tariffs/{NEW_YEAR}/", f"/transparency/tariffs/{NEW_YEAR}.toml",
                f"/transparency/tariffs/{NEW_YEAR}.json"):
        body = en.get(url).content.decode()
        assert "SECRET DRAFT" not in body and "secret-draft" not in body and "0.5" not in body.replace("0.5%", "")


def test_effect_by_district_is_stored_once_and_equals_a_direct_computation(books, en):
    old, new = books
    tree, _r = _page(en, f"/transparency/tariffs/{NEW_YEAR}/")
    assert tree.xpath('//*[@data-testid="effect-missing"]')           # not computed by a page view
    out = io.StringIO()
    call_command("compute_tariff_effects", "--year", str(NEW_YEAR), stdout=out)
    assert "would be computed" in out.getvalue()
    call_command("compute_tariff_effects", "--year", str(NEW_YEAR), "--commit", stdout=io.StringIO())

    expected = {}
    for label, book in (("previous", old), ("current", new)):
        for district, (parcels, dues) in direct_dues_by_district(book).items():
            expected.setdefault(district, {})[label] = dues
            expected[district]["parcels"] = parcels
    tree, _r = _page(en, f"/transparency/tariffs/{NEW_YEAR}/")
    shown = {}
    for row in tree.xpath('//*[@data-testid="effect"]/tbody/tr'):
        cells = [c.text_content().replace(",", "") for c in row.xpath("./td")]
        shown[row.get("data-district") or None] = {"parcels": int(cells[1]), "previous": int(cells[2]),
                                                   "current": int(cells[3])}
        if expected[row.get("data-district") or None]["previous"]:
            e = expected[row.get("data-district") or None]
            assert float(cells[4]) == round((e["current"] - e["previous"]) * 100 / e["previous"], 1)
    assert shown == expected
    assert len(shown) >= 2 and any(v["current"] != v["previous"] for v in shown.values())
    # a page view reads the stored figures: two queries (the two books in one, the stored effect)
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        en.get(f"/transparency/tariffs/{NEW_YEAR}/")
    ours = [q["sql"] for q in queries if "parcels_importrun" not in q["sql"]]   # (that one: the demo-data banner)
    assert len(ours) == 2 and not any("parcels_parcel" in q for q in ours), ours
    # the book edited since: the figures are stale and not shown
    new.parameters = {**new.parameters, "rate": 0.03}
    new.save()
    tree, _r = _page(en, f"/transparency/tariffs/{NEW_YEAR}/")
    assert tree.xpath('//*[@data-testid="effect-stale"]') and not tree.xpath('//*[@data-testid="effect"]')


def direct_dues_by_district(book) -> dict:
    """Dues per district of `book`, parcel by parcel with the pure calculator over the facts (not the SQL formulas the
    stored figures come from): district code -> (parcels, rials)."""
    compiled = compile_book(book.data())
    sql = facts_module.facts_query(compiled.facts, book.attributes or {})
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT f.*, d.code AS district_code FROM ({sql}) f "
                       f"LEFT JOIN parcels_district d ON d.id = f.district_id")
        names = [c.name for c in cursor.description]
        rows = [dict(zip(names, r)) for r in cursor.fetchall()]
    totals = defaultdict(lambda: [0, 0])
    for row in rows:
        facts = {k: (Decimal(v) if k not in facts_module.TEXT_FACTS else v) for k, v in row.items()
                 if k in compiled.facts}
        result = assess(compiled.lines, book.parameters, facts)
        totals[row["district_code"]][0] += 1
        totals[row["district_code"]][1] += result.amount
    assert rows
    return {k: tuple(v) for k, v in totals.items()}


def test_the_files_load_back(books, en, tmp_path):
    new = books[1]
    response = en.get(f"/transparency/tariffs/{NEW_YEAR}.toml")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/toml")
    path = tmp_path / "book.toml"
    path.write_bytes(response.content)
    read = read_file(path)                      # what manage.py load_tariff_book reads
    compile_book(read)
    for name in ("year", "name", "status", "title_fa", "title_en", "approval", "parameters", "attributes", "lines"):
        assert getattr(read, name) == getattr(new, name), name
    for name in ("discount_percent", "penalty_percent_per_month", "penalty_cap_percent"):
        assert Decimal(getattr(read, name)) == getattr(new, name)
    tomllib.loads(response.content.decode())

    data = json.loads(en.get(f"/transparency/tariffs/{NEW_YEAR}.json").content)
    assert data["lines"] == new.lines and data["parameters"] == new.parameters and data["year"] == NEW_YEAR

    text = en.get(f"/transparency/tariffs/{NEW_YEAR}-lines.csv").content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["code"] for r in rows] == [line["code"] for line in new.lines]
    services = next(r for r in rows if r["code"] == "services")
    assert services["formula"] == SERVICES_AFTER and services["parameters"] == "services_share=0.05"
    assert next(r for r in rows if r["code"] == "renewal_dues")["parameters"] == "rate=0.02"


def test_no_personal_data_on_the_anonymous_pages(books, client):
    from parcels.models import Owner

    # what would identify a person: national ids, mobiles, full names (a last name alone can be a word, e.g. کشاورز)
    owners = [(o.national_id, o.phone, f"{o.first_name} {o.last_name}")
              for o in Owner.objects.exclude(national_id="").exclude(first_name="")[:300]]
    assert owners
    for url in ("/transparency/tariffs/", f"/transparency/tariffs/{NEW_YEAR}/", f"/transparency/tariffs/{OLD_YEAR}/"):
        call = client.get(url)
        assert call.status_code == 200
        body = call.content.decode()
        assert 'lang="fa"' in body and 'dir="rtl"' in body          # Persian first
        found = [o for o in owners if o[0] in body or (o[1] and o[1] in body) or o[2] in body]
        assert not found, found


def test_persian_page_has_persian_digits(books, client):
    body = client.get(f"/transparency/tariffs/{NEW_YEAR}/").content.decode()
    assert "۱۳۹۱" in body and "۱۳۹۰" in body


def test_bad_addresses(books, en):
    tree, _r = _page(en, f"/transparency/tariffs/{OLD_YEAR}/")
    assert tree.xpath('//*[@data-testid="nothing-to-compare"]')
    assert not tree.xpath('//*[@data-testid="line-changes"]') and not tree.xpath('//*[@data-testid="effect-missing"]')
    for url in (f"/transparency/tariffs/{DRAFT_YEAR}/", "/transparency/tariffs/1200/", f"/transparency/tariffs/{DRAFT_YEAR}.toml",
                f"/transparency/tariffs/{DRAFT_YEAR}.json", f"/transparency/tariffs/{DRAFT_YEAR}-lines.csv",
                "/transparency/tariffs/99999999999999999999/"):
        response = en.get(url)
        assert response.status_code == 404, url
    body = en.get(f"/transparency/tariffs/{DRAFT_YEAR}/").content.decode()
    assert f"No approved tariff book for {DRAFT_YEAR} is published." in body
    assert en.get("/transparency/tariffs/abc/").status_code == 404
    assert en.post(f"/transparency/tariffs/{NEW_YEAR}/").status_code == 405


def test_catalogue_entry_lists_the_approved_books_files(books):
    from django.urls import reverse

    from transparency.registry import DATASETS

    dataset = DATASETS["tariff-books"]
    urls = {reverse(d.url_name, args=d.args) for d in dataset.distributions()}
    assert {f"/transparency/tariffs/{NEW_YEAR}.toml", f"/transparency/tariffs/{OLD_YEAR}-lines.csv",
            f"/transparency/tariffs/{NEW_YEAR}.json"} <= urls
    assert not any(str(DRAFT_YEAR) in u for u in urls)
    assert dataset.modified() is not None


# -- in a real browser: read a tariff diff in Persian ------------------------------------------------------------------

@pytest.fixture(scope="module")
def committed_books(demo_city, django_db_blocker):
    """The two books committed (the portal runs in another process), removed afterwards."""
    with django_db_blocker.unblock():
        TariffBook.objects.filter(year__in=(OLD_YEAR, NEW_YEAR, DRAFT_YEAR)).delete()
        books = build_books()
    yield books
    with django_db_blocker.unblock():
        TariffBook.objects.filter(year__in=(OLD_YEAR, NEW_YEAR, DRAFT_YEAR)).delete()


@pytest.mark.browser
def test_reading_a_tariff_diff_in_persian(browser, portal_url, committed_books):
    errors = []
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fa-IR")
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(portal_url + "/transparency/tariffs/")
    assert page.locator("html").get_attribute("lang") == "fa" and page.locator("html").get_attribute("dir") == "rtl"
    page.locator(f'[data-testid="tariff-books"] tr[data-year="{NEW_YEAR}"] a').first.click()
    page.wait_for_url(f"**/transparency/tariffs/{NEW_YEAR}/")
    changes = page.locator('[data-testid="line-changes"]')
    changes.scroll_into_view_if_needed()
    assert "۱۳۹۰" in page.locator("#changes").inner_text()           # "what changed from the book of 1390"
    services = changes.locator('tr[data-code="services"]')
    assert services.is_visible()
    removed = services.locator("del.chg")
    assert removed.count() >= 1 and removed.first.is_visible()
    # the marked part is drawn as marked: struck through, on its own background
    style = removed.first.evaluate("e => [getComputedStyle(e).textDecorationLine, getComputedStyle(e).backgroundColor]")
    assert "line-through" in style[0] and style[1] not in ("rgba(0, 0, 0, 0)", "transparent")
    assert "".join(removed.all_inner_texts()).replace(" ", "") == "(+utilities_reduction+heritage_exemption)"
    assert services.locator("td").nth(2).locator("code.formula").inner_text() == "services_share × renewal_dues"
    assert changes.locator('tr[data-code="renewal_dues"] ins.chg').inner_text() == "۰.۰۲"
    assert changes.locator("tr[data-testid=line-change]").count() == 2
    # the language switch gives the same page in English
    page.locator('[data-testid="lang-switch"]').click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator('[data-testid="line-changes"] tr[data-code="renewal_dues"] ins.chg').inner_text() == "0.02"
    assert not errors, errors
    context.close()
