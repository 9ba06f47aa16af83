"""The interface's text comes from gettext catalogues, not from language branches in templates: the templates carry
none, the Persian catalogue translates every message, the compiled catalogue is the one pages use; and the template
filters that choose between a record's two languages and show dates."""

import datetime as dt
import re
import shutil
import subprocess

import pytest
from django.core.management import call_command
from django.template import Context, Template
from django.test import override_settings
from django.utils import timezone, translation

from tests.conftest import ROOT

TEMPLATES = sorted(p for d in [ROOT / "templates", *ROOT.glob("*/templates")] for p in d.rglob("*.html"))
# What picks the language in a template instead of {% translate %} or a filter of common/templatetags/persian.py.
LANGUAGE_BRANCH = re.compile(r"\{%\s*(?:el)?if\s+(?:not\s+)?(?:fa|is_fa)\b|\bis_fa\b|\bLANG(?:UAGE_CODE)?\s*[!=]=")
# Where makemessages does not look: installed, generated and test trees; and the project's own locale, so that the
# messages go into the temporary copy named by LOCALE_PATHS (makemessages writes into a "locale" it walks past).
MAKEMESSAGES_IGNORE = [".venv", "node_modules", ".local", "bench", "tests", "staticfiles", "var", "locale"]


def test_templates_are_found():
    names = {p.relative_to(ROOT).as_posix() for p in TEMPLATES}
    assert {"templates/base.html", "portal/templates/portal/map.html", "dues/templates/dues/bill.html"} <= names


@pytest.mark.parametrize("branch", ['{% if fa %}', '{%if not fa%}', '{% elif is_fa %}', '{% if LANG == "fa" %}',
                                    "{% if LANG == 'fa' %}", '{% if LANGUAGE_CODE != "en" %}', "{% with fa=is_fa %}"])
def test_the_language_branch_pattern_finds_branches(branch):
    assert LANGUAGE_BRANCH.search(branch)
    assert not LANGUAGE_BRANCH.search('{% if fare %}{% translate "Fare" %}{% get_current_language as LANG %}')


def test_no_template_branches_on_the_language():
    branches = [f"{p.relative_to(ROOT)}:{n}: {line.strip()[:100]}" for p in TEMPLATES
                for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
                if LANGUAGE_BRANCH.search(line)]
    assert not branches, "use {% translate %} or a filter of common/templatetags/persian.py:\n" + "\n".join(branches)


def test_date_inputs_take_jalali_dates():
    """Every date people type goes through the Jalali date picker (it binds to data-jalali-date) and is sent as
    text: the server reads Jalali or ISO (common.params.date)."""
    inputs = [(p.relative_to(ROOT), tag) for p in TEMPLATES
              for tag in re.findall(r"<input\b[^>]*>", p.read_text(encoding="utf-8"))
              if re.search(r'type="date|name="[^"]*date', tag)]
    assert inputs
    for path, tag in inputs:
        assert 'type="text"' in tag and "data-jalali-date" in tag and 'inputmode="numeric"' in tag, (path, tag)


def _entries_without_persian(po) -> list[str]:
    """The msgids of `po` left untranslated or marked fuzzy (GNU gettext's msgattrib reads the file)."""
    found = []
    for flags in (["--untranslated"], ["--only-fuzzy"]):
        out = subprocess.run(["msgattrib", *flags, "--no-obsolete", "--no-wrap", str(po)], check=True,
                             capture_output=True, text=True).stdout
        for entry in out.split("\n\n"):
            context = re.search(r'^msgctxt "(.*)"$', entry, re.M)
            msgid = re.search(r'^msgid "(.*)"$', entry, re.M)
            if msgid and msgid.group(1):  # not the header
                found.append((f"[{context.group(1)}] " if context else "") + msgid.group(1)
                             + (" (fuzzy)" if "--only-fuzzy" in flags else ""))
    return found


def test_persian_catalogue_is_complete(tmp_path, monkeypatch):
    """makemessages over the sources, into a copy of the catalogue: every message has its Persian text, none
    fuzzy. A failure lists the messages: run makemessages (see locale/fa/LC_MESSAGES/django.po's header) and
    translate them."""
    shutil.copytree(ROOT / "locale", tmp_path / "locale", ignore=shutil.ignore_patterns("*.mo", "staging"))
    monkeypatch.chdir(ROOT)
    with override_settings(LOCALE_PATHS=[tmp_path / "locale"]):
        call_command("makemessages", locale=["fa"], ignore_patterns=MAKEMESSAGES_IGNORE, add_location="file",
                     verbosity=0)
    missing = _entries_without_persian(tmp_path / "locale" / "fa" / "LC_MESSAGES" / "django.po")
    assert not missing, f"{len(missing)} messages without Persian:\n" + "\n".join(missing)


def test_the_completeness_check_sees_untranslated_and_fuzzy_messages(tmp_path):
    po = tmp_path / "django.po"
    po.write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
                  'msgid "Map"\nmsgstr "نقشه"\n\nmsgid "Close"\nmsgstr ""\n\n'
                  '#, fuzzy\nmsgid "Closed"\nmsgstr "بسته"\n\nmsgctxt "c"\nmsgid "Open"\nmsgstr ""\n', encoding="utf-8")
    assert _entries_without_persian(po) == ["Close", "[c] Open", "Closed (fuzzy)"]


@pytest.mark.django_db
def test_pages_use_the_compiled_catalogue(client):
    """The map page's English msgids come out in Persian by default, and in English with the language cookie."""
    page = client.get("/").content.decode()
    assert "نقشهٔ املاک" in page and 'placeholder="کد نوسازی، کد پستی، پلاک ثبتی یا نشانی"' in page
    assert "property map" not in page
    client.cookies["django_language"] = "en"
    page = client.get("/").content.decode()
    assert "property map" in page and 'placeholder="Renewal code, postal code, plate or address"' in page
    assert "نقشهٔ املاک" not in page


def _render(source, language, **context):
    with translation.override(language):
        return Template("{% load i18n persian %}" + source).render(Context(context))


@pytest.mark.parametrize("language, expected", [
    ("fa", "پهنه مسکونی|Main street|خیابان بهار|چه می‌توان ساخت؟|الف"),
    ("en", "Residential zone|Main street|خیابان بهار|What can be built here?|A"),
])
def test_localized_picks_the_value_of_the_page_language(language, expected):
    zone = {"name": "پهنه مسکونی", "name_en": "Residential zone"}
    street_en_only = {"name": "", "name_en": "Main street"}
    street_fa_only = {"name": "خیابان بهار", "name_en": ""}
    section = type("Section", (), {"title_fa": "چه می‌توان ساخت؟", "title_en": "What can be built here?"})()
    source = ('{{ zone|localized:"name" }}|{{ en|localized:"name" }}|{{ fa|localized:"name" }}|'
              '{{ section|localized:"title" }}|{{ notice|localized }}')
    assert _render(source, language, zone=zone, en=street_en_only, fa=street_fa_only, section=section,
                   notice={"fa": "الف", "en": "A"}) == expected
    assert _render('{{ text|localized }}{{ none|localized:"name" }}', language, text="as is", none=None) == "as is"


def test_dates_are_jalali_in_persian_and_gregorian_in_english():
    day = dt.date(2024, 8, 2)
    moment = timezone.make_aware(dt.datetime(2025, 3, 20, 23, 30), timezone.get_fixed_timezone(0))  # 03:00 in Tehran
    source = ('{{ day|localized_date }}|{{ iso|localized_date }}|{{ moment|localized_date }}|'
              '{{ moment|localized_date:"time" }}|{{ text|localized_date }}')
    assert (_render(source, "fa", day=day, iso="2024-08-02", moment=moment, text="—")
            == "۱۴۰۳/۰۵/۱۲|۱۴۰۳/۰۵/۱۲|۱۴۰۴/۰۱/۰۱|۱۴۰۴/۰۱/۰۱ ۰۳:۰۰|—")
    assert (_render(source, "en", day=day, iso="2024-08-02", moment=moment, text="—")
            == "2024-08-02|2024-08-02|2025-03-21|2025-03-21 03:00|—")


def test_date_inputs_show_the_typed_day_in_jalali():
    source = "{{ jalali|jalali_input }}|{{ persian|jalali_input }}|{{ iso|jalali_input }}|{{ bad|jalali_input }}"
    values = {"jalali": "1403/05/12", "persian": "۱۴۰۳-۰۵-۱۲", "iso": "2024-08-02", "bad": "tomorrow"}
    assert _render(source, "fa", **values) == "۱۴۰۳/۰۵/۱۲|۱۴۰۳/۰۵/۱۲|۱۴۰۳/۰۵/۱۲|tomorrow"
    assert _render(source, "en", **values) == "1403/05/12|1403/05/12|1403/05/12|tomorrow"
