"""The rulebook as data: the demo file loads, bad files are refused whole with every problem named, and the rules
in force on a date come from the right version and amendment."""

import datetime as dt
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests.conftest import ROOT
from zoning.models import Rule, Rulebook
from zoning.rulebook import RulebookError, parse_rulebook, rules_in_force

pytestmark = pytest.mark.django_db
DEMO = ROOT / "data" / "rulebook" / "demo.toml"
USES = {"residential", "commercial", "industrial", "green_space"}


@pytest.fixture(autouse=True)
def no_rulebook():
    """Each test starts without rulebooks (a session fixture may have loaded the demo one; rolled back after)."""
    Rulebook.objects.all().delete()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plan.toml"
    path.write_text(text, encoding="utf-8")
    return path


HEAD = """
[rulebook]
code = "test-plan"
title = "Test plan"
document = "Test plan document"
effective_from = 2025-03-21
"""


def test_demo_rulebook_loads_and_dry_run_writes_nothing(capsys):
    call_command("load_rulebook", str(DEMO))
    assert not Rulebook.objects.exists()
    call_command("load_rulebook", str(DEMO), "--commit")
    book = Rulebook.objects.get()
    assert book.is_demo and book.effective_from == dt.date(2026, 3, 21)
    assert Rule.objects.filter(rulebook=book, zone_code="R121", key="max_far").count() == 2   # with its amendment
    # Every zone code the demo city generates has its land-use table.
    from data.demo_city.generator import ZONING
    for code in ZONING:
        assert Rule.objects.filter(zone_code=code, key="allowed_uses").exists(), code


def test_rules_in_force_on_a_date_amendments_and_versions(tmp_path):
    call_command("load_rulebook", str(DEMO), "--commit")
    before = rules_in_force("R121", dt.date(2026, 6, 1))
    after = rules_in_force("R121", dt.date(2026, 10, 1))
    assert before.get("max_far") == 180 and after.get("max_far") == 200
    assert after.citation("max_far").effective_from == dt.date(2026, 9, 23)
    assert "کمیسیون ماده ۵" in after.citation("max_far").document
    # Zone value over the all-zones one; all-zones value where the zone has none.
    assert after.get("floor_height") == 3.3 and after.citation("floor_height").article.startswith("ماده ۱۲")
    assert rules_in_force("R111").get("floors_by_street_width") == [(0.0, 2.0)]
    assert rules_in_force("R121", dt.date(2025, 1, 1)) is None          # before any rulebook
    # A new version takes over from its date; the old one still answers for dates before.
    write(tmp_path, HEAD.replace("test-plan", "plan-2027").replace("2025-03-21", "2027-03-21")
          + '[zones.R121]\nmax_far = { value = 150, article = "new table" }\n')
    call_command("load_rulebook", str(tmp_path / "plan.toml"), "--commit")
    assert rules_in_force("R121", dt.date(2027, 4, 1)).get("max_far") == 150
    assert rules_in_force("R121", dt.date(2027, 4, 1)).rulebook == "plan-2027"
    assert rules_in_force("R121", dt.date(2026, 10, 1)).get("max_far") == 200


def test_bad_file_lists_every_problem_and_writes_nothing(tmp_path):
    path = write(tmp_path, HEAD + """
[zones.R1]
allowed_uses = { value = ["residential", "casino"], article = "t1" }
prohibited_uses = { value = ["residential"], article = "t1" }
max_far = { value = -10, article = "t2" }
max_height = { value = 12 }
floors_by_street_width = { value = [[12, 4], [8, 3]], article = "t3" }
colour = { value = "red", article = "t4" }
max_coverage = [ { value = 60, article = "a" }, { value = 70, article = "b", effective_from = 2020-01-01 } ]
""")
    with pytest.raises(CommandError) as err:
        call_command("load_rulebook", str(path), "--commit")
    text = str(err.value)
    for expected in ["zones.R1.allowed_uses: unknown land-use codes casino",
                     "zones.R1.max_far: must be between 0 and 2000",
                     "zones.R1.max_height: article (the clause cited) is required",
                     "zones.R1.floors_by_street_width: row 2: min_street_width_m must increase",
                     "zones.R1.colour: unknown rule",
                     "zones.R1.max_coverage[2]: effective_from 2020-01-01 is before the rulebook's 2025-03-21",
                     "residential in both allowed_uses and prohibited_uses",
                     "nothing was written"]:
        assert expected in text
    assert not Rulebook.objects.exists() and not Rule.objects.exists()


@pytest.mark.parametrize("text,problem", [
    ("not toml [", "not valid TOML"),
    ("[zones.R1]\nmax_far = { value = 1, article = 'x' }\n", "a [rulebook] table"),
    ('[rulebook]\ncode = "x"\n[zones.R1]\nmax_far = { value = 1, article = "x" }', "title is required"),
])
def test_malformed_files(tmp_path, text, problem):
    with pytest.raises(RulebookError) as err:
        parse_rulebook(write(tmp_path, text), USES)
    assert any(problem in str(p) for p in err.value.problems)   # str(): the English


def test_reloading_replaces_the_version_and_keeps_history(tmp_path):
    path = write(tmp_path, HEAD + '[zones.R1]\nmax_far = { value = 100, article = "t" }\n'
                 'max_coverage = { value = 60, article = "t" }\n')
    call_command("load_rulebook", str(path), "--commit")
    path = write(tmp_path, HEAD + '[zones.R1]\nmax_far = { value = 120, article = "t (amended)" }\n')
    call_command("load_rulebook", str(path), "--commit")
    rule = Rule.objects.get(zone_code="R1")
    assert (rule.key, rule.value, rule.article) == ("max_far", 120, "t (amended)")
    assert list(rule.history.values_list("value", flat=True).order_by("history_date")) == [100, 120]
    assert Rule.history.filter(key="max_coverage", history_type="-").exists()


def test_admin_lists_rules_and_refuses_a_bad_value(admin_client):
    call_command("load_rulebook", str(DEMO), "--commit")
    assert admin_client.get("/admin/zoning/rulebook/").status_code == 200
    rule = Rule.objects.get(zone_code="R111", key="max_far")
    page = admin_client.get(f"/admin/zoning/rule/{rule.pk}/change/")
    assert page.status_code == 200 and "R111" in page.content.decode()
    form = {"rulebook": rule.rulebook_id, "zone_code": "R111", "key": "max_far", "value": "-3",
            "document": rule.document, "article": rule.article, "effective_from": "2026-03-21"}
    admin_client.cookies["django_language"] = "en"
    refused = admin_client.post(f"/admin/zoning/rule/{rule.pk}/change/", form)
    assert refused.status_code == 200 and "must be between 0 and 2000" in refused.content.decode()
    form["value"] = "130"
    assert admin_client.post(f"/admin/zoning/rule/{rule.pk}/change/", form).status_code == 302
    assert rules_in_force("R111").get("max_far") == 130
    assert rule.history.count() >= 1


# -- in the reader's language: the loader's report and the admin's refusal ----------------------------------------

def test_load_rulebook_in_persian_reports_its_problems_in_persian(tmp_path):
    path = write(tmp_path, HEAD.replace("2025-03-21", "2025-03-21\neffective_to = 2024-01-01") + """
[zones.R1]
max_far = { value = -10, article = "t2" }
max_height = { value = 12 }
floors_by_street_width = { value = [[12, 4], [8, 3]], article = "t3" }
""")
    with pytest.raises(CommandError) as err:
        call_command("load_rulebook", str(path), "--language", "fa")
    text = str(err.value)
    for expected in ["4 ایراد؛ چیزی نوشته نشد",
                     "[rulebook]: effective_to باید پس از effective_from باشد",
                     "zones.R1.max_far: باید بین 0 و 2000 باشد، نه -10",
                     "zones.R1.max_height: article (بند مورد استناد) لازم است",
                     "zones.R1.floors_by_street_width: ردیف 2: min_street_width_m باید افزایش یابد (8 پس از 12)"]:
        assert expected in text
    assert "must be" not in text and "is required" not in text
    # The same file in English (the default of a command) says the same in English.
    with pytest.raises(CommandError, match="effective_to must be after effective_from"):
        call_command("load_rulebook", str(path))


def test_load_rulebook_summary_in_persian(capsys):
    call_command("load_rulebook", str(DEMO), "--language", "fa")
    out = capsys.readouterr().out
    assert out.startswith("ضوابط demo-detailed-plan-1405: ") and "لازم‌الاجرا از 2026-03-21" in out
    assert "rules for" not in out


def test_a_bad_rule_value_is_refused_in_the_admin_users_language(admin_client):
    call_command("load_rulebook", str(DEMO), "--commit")
    rule = Rule.objects.get(zone_code="R111", key="max_far")
    form = {"rulebook": rule.rulebook_id, "zone_code": "R111", "key": "max_far", "value": "-3",
            "document": rule.document, "article": rule.article, "effective_from": "2026-03-21"}
    refused = admin_client.post(f"/admin/zoning/rule/{rule.pk}/change/", form).content.decode()   # Persian: no cookie
    assert "باید بین 0 و 2000 باشد، نه -3" in refused and "must be between" not in refused
    form["value"] = '"high"'
    refused = admin_client.post(f"/admin/zoning/rule/{rule.pk}/change/", form).content.decode()
    assert "باید عددی بین 0 و 2000 باشد، نه &#x27;high&#x27;" in refused


def test_model_full_clean_words_a_bad_value_in_the_active_language():
    from django.core.exceptions import ValidationError
    from django.utils import translation

    book = Rulebook.objects.create(code="x", title="x", document="x", effective_from=dt.date(2025, 3, 21))
    rule = Rule(rulebook=book, zone_code="R1", key="coverage_band", value={"share": 0.6, "side": "up"},
                document="x", article="x", effective_from=dt.date(2025, 3, 21))
    for language, expected in [("fa", "side باید north، south، east یا west باشد، نه 'up'"),
                               ("en", "side must be north, south, east or west, not 'up'")]:
        with translation.override(language):
            with pytest.raises(ValidationError) as err:
                rule.full_clean()
            assert err.value.message_dict["value"] == [expected]   # worded when read, in the language then


def test_compute_terrain_without_a_dem_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="no such file|No such file|not recognized"):
        call_command("compute_terrain", str(tmp_path / "missing.tif"))
