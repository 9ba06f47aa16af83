"""The portal's JavaScript speaks from Django's JavaScript catalogue: no language branches or Persian text in the
scripts, a Persian translation for every message they ask for, the catalogue served per language, and the Jalali
date picker on the engineer's page."""

import json
import re
import subprocess
from urllib.parse import parse_qs, urlparse

import pytest
from django.urls import reverse

from tests.conftest import ROOT
from tests.test_zoning_browser import plain  # noqa: F401  (fixture)
from tests.zoning_fixtures import demo_rulebook  # noqa: F401  (fixture)

PO = ROOT / "locale" / "fa" / "LC_MESSAGES" / "djangojs.po"
NOT_OURS = {"node_modules", ".venv", ".local", "staticfiles"}

# `fa ? … : …`, `h.fa ? …`, `lang === "fa" ? …`: the language decided in the script instead of the catalogue
LANGUAGE_TERNARY = re.compile(r"""(?:\bfa|["']fa["'])\s*\?""")
# Arabic-script letters and punctuation (Persian digits, U+06F0–06F9, are numbers the scripts may write)
PERSIAN_TEXT = re.compile(r"[\u0600-\u06EF\u06FA-\u06FF]")
_STRING = r'"(?:[^"\\]|\\.)*"'
CALL = re.compile(rf"\b(gettext|ngettext|pgettext)\(\s*({_STRING})(?:\s*,\s*({_STRING}))?")


def project_scripts():
    scripts = sorted(p for p in ROOT.glob("*/static/**/*.js") if p.relative_to(ROOT).parts[0] not in NOT_OURS)
    assert len(scripts) >= 7, scripts  # map, layers, zoning (3), dues, dates: the glob really found them
    return scripts


def offending_lines(pattern, text):
    return [f"{n}: {line.strip()}" for n, line in enumerate(text.splitlines(), 1) if pattern.search(line)]


def test_the_checks_find_what_they_look_for():
    old = 'var T = fa ? { code: "کد نوسازی" } : { code: "Renewal code" }; x = h.fa ? "پهنه" : "Zone";'
    assert len(LANGUAGE_TERNARY.findall(old)) == 2 and PERSIAN_TEXT.search(old)
    assert not LANGUAGE_TERNARY.search('if (!fa) { return text; } var fa_ = 1; safari ? 1 : 2;')
    assert not PERSIAN_TEXT.search("String.fromCharCode(0x06F0) + '۱۴۰۳'")


def test_no_language_branches_or_persian_text_in_the_scripts():
    found = {}
    for script in project_scripts():
        text = script.read_text()
        bad = offending_lines(LANGUAGE_TERNARY, text) + offending_lines(PERSIAN_TEXT, text)
        if bad:
            found[str(script.relative_to(ROOT))] = bad
    assert not found, f"interface text belongs in gettext() with djangojs.po: {found}"


def read_po(path):
    """{(context, msgid): [msgstr, ...]} of a .po file, with its flags (fuzzy entries are not translations)."""
    entries = {}
    for block in path.read_text().split("\n\n"):
        fields, flags, key = {}, "", None
        for line in block.splitlines():
            if line.startswith("#,"):
                flags += line
            elif line.startswith('"') and key:
                fields[key] += json.loads(line)
            elif line and not line.startswith("#"):
                key, value = line.split(" ", 1)
                fields[key] = json.loads(value)
        if fields.get("msgid"):
            msgstrs = [v for k, v in fields.items() if k.startswith("msgstr")]
            entries[(fields.get("msgctxt"), fields["msgid"])] = ([] if "fuzzy" in flags else msgstrs)
    return entries


def js_messages():
    """(context, msgid) of every gettext / ngettext / pgettext call in the scripts; each takes literal strings."""
    messages = set()
    for script in project_scripts():
        text = script.read_text()
        calls = CALL.findall(text)
        assert len(calls) == len(re.findall(r"\b(?:gettext|ngettext|pgettext)\(", text)), (
            f"{script}: a message must be a string literal, or makemessages cannot find it")
        for name, first, second in calls:
            if name == "pgettext":
                messages.add((json.loads(first), json.loads(second)))
            else:
                messages.add((None, json.loads(first)))
                if name == "ngettext":
                    messages.add(("plural", json.loads(second)))
    return messages


def test_every_message_of_the_scripts_has_persian():
    po = read_po(PO)
    messages = js_messages()
    assert len(messages) > 50
    singular = {m for m in messages if m[0] != "plural"}
    untranslated = sorted(m for m in singular if not all(po.get(m, [])))
    assert not untranslated, f"add these to {PO.relative_to(ROOT)} (makemessages -d djangojs -l fa): {untranslated}"
    plurals = {m[1] for m in messages if m[0] == "plural"}
    assert plurals <= {json.loads(line.split(" ", 1)[1]) for line in PO.read_text().splitlines()
                       if line.startswith("msgid_plural ")}
    # the wording the scripts had before the catalogue (the browser tests read some of it)
    assert po[(None, "This point is outside the city")] == ["این نقطه بیرون از شهر است"]
    assert po[(None, "Renewal code")] == ["کد نوسازی"]
    assert po[("list separator", ", ")] == ["، "]


def run_catalogue(js, script):
    """Runs the catalogue as a browser would (its globals in a fresh context) and then `script` in it, in Node."""
    program = ("const vm = require('vm'); const code = require('fs').readFileSync(0, 'utf8'); const page = {};"
               "vm.runInNewContext(code, page); process.stdout.write(JSON.stringify(vm.runInNewContext(%s, page)));"
               % json.dumps(script))
    out = subprocess.run(["node", "-e", program], input=js, capture_output=True, check=True, timeout=30)
    return json.loads(out.stdout)


@pytest.mark.django_db
def test_catalogue_speaks_the_page_language(client):
    url = reverse("javascript-catalog")
    assert url == "/fa/jsi18n.js"  # Persian first, and the language in the URL (browsers cache each apart)
    response = client.get(url)
    assert response.status_code == 200 and "javascript" in response["Content-Type"]
    assert "max-age=" in response["Cache-Control"]
    texts = run_catalogue(response.content, '[gettext("This point is outside the city"), '
                                            'interpolate(ngettext("%s parcel", "%s parcels", 3), [3]), '
                                            'pgettext("north arrow", "N")]')
    assert texts == ["این نقطه بیرون از شهر است", "3 ملک", "ش"]

    client.cookies["django_language"] = "en"
    english = client.get("/en/jsi18n.js")
    assert english.status_code == 200
    assert run_catalogue(english.content, '[gettext("This point is outside the city"), '
                                          'interpolate(ngettext("%s parcel", "%s parcels", 1), [1])]') == [
        "This point is outside the city", "1 parcel"]
    # a URL in another language than the request's is not answered (it would be cached under the wrong one)
    assert client.get("/fa/jsi18n.js").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/zoning/queries/"])
def test_pages_load_the_catalogue_before_their_scripts(client, path):
    response = client.get(path)
    assert response.status_code == 200
    scripts = re.findall(r'<script src="([^"]+)"', response.content.decode())
    assert scripts[0] == "/fa/jsi18n.js", scripts
    client.cookies["django_language"] = "en"
    assert re.findall(r'<script src="([^"]+)"', client.get(path).content.decode())[0] == "/en/jsi18n.js"


@pytest.mark.django_db
def test_finance_page_binds_the_date_picker(client, role_users):
    client.force_login(role_users["finance"])
    page = client.get("/dues/finance/").content.decode()
    assert re.search(r"<input[^>]*data-jalali-date", page)
    scripts = re.findall(r'<script src="([^"]+)"', page)
    assert scripts == ["/static/vendor/jalalidatepicker/jalalidatepicker.min.js", "/static/common/dates.js"]
    assert "/static/vendor/jalalidatepicker/jalalidatepicker.min.css" in page


# --- The Jalali date picker on the engineer's page (Debian's Chromium) ------------------------------------------

def native_value(pg, selector):
    """What the field shows and submits (dates.js gives the picker ASCII digits through the value property)."""
    return pg.eval_on_selector(selector, "e => Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')"
                                         ".get.call(e)")


def propose(pg):
    pg.select_option("select[name=land_use]", "residential")
    pg.fill("input[name=floors]", "2")
    pg.fill("input[name=gross_floor_area]", "120")
    pg.fill("input[name=footprint_area]", "60")


def far_limit(pg):
    """The FAR limit (%) the decision applied (shown as people read it: ۱۸۰٪ on a Persian page)."""
    text = pg.inner_text('tr[data-rule="max_far"] td >> nth=0')
    return float(text.translate(str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789")).strip().rstrip("٪%"))


@pytest.mark.browser
@pytest.mark.django_db
def test_jalali_date_picker_on_the_engineer_page(browser, portal_url, plain):  # noqa: F811
    # The demo rulebook's R121 FAR is 180%, amended to 200% from 2026-09-23 (1405/07/01).
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    pg = context.new_page()
    try:
        pg.goto(f"{portal_url}/zoning/parcels/{plain.pk}/")
        pg.wait_for_selector("body[data-date-picker='1']")
        assert pg.get_attribute("input[name=date]", "type") == "text"
        propose(pg)
        pg.click("input[name=date]")
        pg.wait_for_selector("jdp-container .jdp-day", state="visible")
        pg.select_option("jdp-container .jdp-year select", "1405")
        pg.select_option("jdp-container .jdp-month select", "6")
        pg.click("jdp-container .jdp-day:not(.not-in-month):text-is('۱۵')")
        assert native_value(pg, "input[name=date]") == "۱۴۰۵/۰۶/۱۵"  # Jalali, in Persian digits
        with pg.expect_navigation():
            pg.click("button[type=submit]")
        pg.wait_for_selector('[data-testid="decision"]')
        assert parse_qs(urlparse(pg.url).query)["date"] == ["۱۴۰۵/۰۶/۱۵"]
        assert native_value(pg, "input[name=date]") == "۱۴۰۵/۰۶/۱۵"  # kept for the next check
        assert far_limit(pg) == 180

        # typed with a Latin keyboard, after the amendment: the field turns the digits Persian, the server reads it
        pg.fill("input[name=date]", "1405/07/10")
        pg.keyboard.press("Escape")
        with pg.expect_navigation():
            pg.click("button[type=submit]")
        pg.wait_for_selector('[data-testid="decision"]')
        assert parse_qs(urlparse(pg.url).query)["date"] == ["۱۴۰۵/۰۷/۱۰"]
        assert far_limit(pg) == 200

        # English pages: the browser's own (Gregorian, ISO) date input
        context.add_cookies([{"name": "django_language", "value": "en", "url": portal_url}])
        pg.goto(f"{portal_url}/zoning/parcels/{plain.pk}/")
        pg.wait_for_function("() => document.documentElement.lang === 'en'")
        pg.wait_for_function("() => document.querySelector('input[name=date]').type === 'date'")
        assert pg.locator("jdp-container").count() == 0
    finally:
        context.close()
