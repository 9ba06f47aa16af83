"""Tariff books loaded from files, and the city-wide assessment on the demo city in the real PostGIS."""

import dataclasses
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import translation

from dues import billing, calculator, facts as facts_module
from dues.assessment import assess_year, what_if
from dues.models import Assessment, AssessmentRun, Bill, TariffBook
from dues.loader import load_files
from dues.tariffs import NoTariffBook, TariffError, compile_book, read_file

ROOT = Path(__file__).resolve().parent.parent
BOOKS = sorted((ROOT / "data" / "tariffs").glob("*.toml"))
pytestmark = pytest.mark.django_db


@pytest.fixture
def books(demo_city):
    load_files(BOOKS)
    return {b.year: b for b in TariffBook.objects.filter(status="approved")}


def test_demo_books_load_all_years_and_a_rerun_changes_nothing(demo_city):
    results = load_files(BOOKS)
    assert {b.year for b, _ in results} >= {1401, 1402, 1403, 1404, 1405}
    again = load_files(BOOKS)
    assert all(change.action == "unchanged" for _, change in again)
    assert TariffBook.objects.get(year=1405, name="proposal-1405-b").status == "draft"


def test_a_bad_book_loads_nothing_and_says_why(tmp_path, demo_city):
    good = (ROOT / "data" / "tariffs" / "1403.toml").read_text(encoding="utf-8")
    bad = good.replace('name = "council-1403"', 'name = "broken-1399"').replace("year = 1403", "year = 1399")
    bad = bad.replace('formula = "rate * property_value"', 'formula = "rate * property_value * secret_sauce"')
    (tmp_path / "good.toml").write_text(good.replace("year = 1403", "year = 1398").replace(
        'name = "council-1403"', 'name = "council-1398"'), encoding="utf-8")
    (tmp_path / "bad.toml").write_text(bad, encoding="utf-8")
    (tmp_path / "broken.toml").write_text("year = ", encoding="utf-8")
    for commit in ([], ["--commit"]):
        with pytest.raises(CommandError) as exc:
            call_command("load_tariff_book", *sorted(tmp_path.glob("*.toml")), *commit)
        message = str(exc.value)
        assert "renewal_dues" in message and "secret_sauce" in message and "broken.toml" in message
        assert not TariffBook.objects.filter(year__in=[1398, 1399]).exists()   # the good file was not loaded either


def test_load_tariff_book_is_a_dry_run_until_commit(tmp_path, demo_city, capsys):
    load_files(BOOKS)
    text = (ROOT / "data" / "tariffs" / "1403.toml").read_text(encoding="utf-8")
    (tmp_path / "new.toml").write_text(text.replace("year = 1403", "year = 1397").replace(
        'name = "council-1403"', 'name = "council-1397"'), encoding="utf-8")
    (tmp_path / "changed.toml").write_text(text.replace("discount_percent = 10", "discount_percent = 12"),
                                           encoding="utf-8")
    files = sorted(tmp_path.glob("*.toml"))
    call_command("load_tariff_book", *files)
    out = capsys.readouterr().out
    assert "1397 council-1397 (approved): would be created" in out
    assert "1403 council-1403 (approved): would be updated: discount_percent" in out and "Dry run" in out
    assert not TariffBook.objects.filter(year=1397).exists()
    assert TariffBook.objects.get(year=1403, name="council-1403").discount_percent == 10
    call_command("load_tariff_book", *files, "--commit")
    assert "1397 council-1397 (approved): created" in capsys.readouterr().out
    assert TariffBook.objects.get(year=1403, name="council-1403").discount_percent == 12


def test_a_second_approved_book_of_a_year_is_refused_before_anything_is_written(tmp_path, demo_city):
    load_files(BOOKS)
    text = (ROOT / "data" / "tariffs" / "1403.toml").read_text(encoding="utf-8")
    (tmp_path / "rival.toml").write_text(text.replace('name = "council-1403"', 'name = "rival-1403"'),
                                         encoding="utf-8")
    with pytest.raises(CommandError, match="more than one approved book .*council-1403, rival-1403"):
        call_command("load_tariff_book", tmp_path / "rival.toml", "--commit")
    assert not TariffBook.objects.filter(name="rival-1403").exists()
    # the old book set to draft in the same load: the new one may be approved
    (tmp_path / "old.toml").write_text(text.replace('status = "approved"', 'status = "draft"'), encoding="utf-8")
    call_command("load_tariff_book", tmp_path / "rival.toml", tmp_path / "old.toml", "--commit")
    assert TariffBook.objects.approved(1403).name == "rival-1403"


def test_a_book_compiles_from_plain_data_without_the_database_model():
    book = read_file(ROOT / "data" / "tariffs" / "1403.toml")
    assert not hasattr(book, "pk")
    compiled = compile_book(book)
    assert compiled.book is book and "renewal_dues" in [line.code for line in compiled.lines]


def test_reduction_without_legal_basis_is_refused(books):
    book = TariffBook.objects.get(year=1405, name="council-1405")
    book.lines = [dict(line) for line in book.lines]
    book.lines[4].pop("legal_basis")
    with pytest.raises(TariffError, match="legal_basis"):
        book.compiled()
    book.lines[4].pop("legal_basis_en")
    with translation.override("en"), pytest.raises(TariffError, match="needs its legal_basis"):
        book.compiled()


def _mixed_legal_basis(text: str) -> str:
    """A book file as it was before legal_basis_en: Persian and English in one legal_basis."""
    return re.sub(r'legal_basis = "([^"]*)"( *#[^\n]*)?\nlegal_basis_en = "([^"]*)"', r'legal_basis = "\1 / \3"', text)


def test_the_legal_basis_is_kept_in_both_languages(tmp_path, demo_city, capsys):
    """legal_basis is the Persian, legal_basis_en its English; a book without legal_basis_en still loads (English
    pages then show the Persian), and loading the split file updates a book stored in the old form."""
    book = read_file(ROOT / "data" / "tariffs" / "1403.toml")
    line = next(ln for ln in compile_book(book).lines if ln.code == "renewal_dues")
    assert (line.legal_basis, line.legal_basis_en) == ("قانون نوسازی و عمران شهری ۱۳۴۷، ماده ۲",
                                                       "Law of Urban Renewal 1347, Article 2")
    english_only = [dict(ln) for ln in book.lines]
    english_only[3].pop("legal_basis")
    with translation.override("en"), pytest.raises(
            TariffError, match=r"line 4 \(renewal_dues\): legal_basis_en needs the Persian legal_basis"):
        compile_book(dataclasses.replace(book, lines=english_only))

    old = _mixed_legal_basis((ROOT / "data" / "tariffs" / "1403.toml").read_text(encoding="utf-8"))
    assert "legal_basis_en" not in old and "ماده ۲ / Law of Urban Renewal 1347, Article 2" in old
    (tmp_path / "1403.toml").write_text(old, encoding="utf-8")
    call_command("load_tariff_book", tmp_path / "1403.toml", "--commit")
    stored = TariffBook.objects.get(year=1403, name="council-1403")
    renewal = next(ln for ln in stored.compiled().lines if ln.code == "renewal_dues")
    assert renewal.legal_basis_en == "" and " / Law of" in renewal.legal_basis
    capsys.readouterr()
    call_command("load_tariff_book", ROOT / "data" / "tariffs" / "1403.toml")
    assert "1403 council-1403 (approved): would be updated: lines" in capsys.readouterr().out
    call_command("load_tariff_book", ROOT / "data" / "tariffs" / "1403.toml", "--commit")
    stored.refresh_from_db()
    renewal = next(ln for ln in stored.compiled().lines if ln.code == "renewal_dues")
    assert renewal.legal_basis_en == "Law of Urban Renewal 1347, Article 2" and "Law" not in renewal.legal_basis


def test_a_bad_formula_is_told_in_the_readers_language(tmp_path, demo_city):
    """dues.formulas gives the message's template and values; the book check says it in the reader's language:
    the command's --language, the admin's page."""
    text = (ROOT / "data" / "tariffs" / "1403.toml").read_text(encoding="utf-8")
    (tmp_path / "bad.toml").write_text(text.replace('formula = "rate * property_value"',
                                                    'formula = "rate * property_value * secret_sauce"'),
                                       encoding="utf-8")
    with pytest.raises(CommandError, match="unknown name 'secret_sauce' in 'rate \\* property_value \\* "
                                           "secret_sauce' at column 25"):
        call_command("load_tariff_book", tmp_path / "bad.toml")
    with pytest.raises(CommandError) as persian:
        call_command("load_tariff_book", tmp_path / "bad.toml", language="fa")
    assert "نام ناشناختهٔ 'secret_sauce'" in str(persian.value) and "unknown name" not in str(persian.value)


def test_a_year_without_a_book_is_an_error(books):
    with pytest.raises(NoTariffBook, match="1399"):
        assess_year(1399)
    with pytest.raises(CommandError, match="No approved tariff book for 1399"):
        call_command("assess_year", "1399")


def _python_assessment(book, parcel_ids=None):
    """Every parcel's dues by the pure calculator over the facts selected by the same fact SQL."""
    compiled = book.compiled()
    sql = facts_module.facts_query(compiled.facts, book.attributes)
    with connection.cursor() as cursor:
        cursor.execute(sql)
        names = [c.name for c in cursor.description]
        rows = [dict(zip(names, r)) for r in cursor.fetchall()]
    return {row["parcel_id"]: calculator.assess(compiled.lines, compiled.parameters, row) for row in rows}


def test_sql_assessment_equals_the_pure_calculator_on_the_whole_demo_city(books):
    result = assess_year(1403)
    stored = {a.parcel_id: a for a in Assessment.objects.filter(year=1403, is_current=True)}
    python = _python_assessment(books[1403])
    assert len(stored) == len(python) > 2000
    mismatches = [pid for pid, r in python.items()
                  if r.amount != stored[pid].amount or r.line_amounts() != stored[pid].lines]
    assert mismatches == []
    # the demo city exercises the formulas: buildings, exemptions, money
    assert sum(1 for r in python.values() if r.line_amounts()["building_value"] > 0) > 500
    assert sum(1 for r in python.values() if r.line_amounts()["heritage_exemption"] < 0) > 0
    assert result.run.created == len(stored) and result.run.reassessed == 0
    assert sum(row["dues"] for row in result.summary) == sum(a.amount for a in stored.values())
    assert {row["district"] for row in result.summary} == set(
        Assessment.objects.filter(year=1403, is_current=True).values_list("district__code", flat=True))


def test_attribute_facts_come_from_parcel_attributes(books):
    from parcels.models import Parcel

    parcel = Parcel.objects.filter(buildings__isnull=False).exclude(land_use="historic_heritage").first()
    parcel.attributes = {**parcel.attributes, "piped_water": False, "missing_other_utilities": "2"}
    parcel.save()
    assess_year(1403)
    a = Assessment.objects.get(parcel=parcel, year=1403, is_current=True)
    assert a.facts["piped_water"] == 0 and a.facts["missing_other_utilities"] == 2
    # −25%, rounded half away from zero (not Python's round-half-even)
    assert a.lines["utilities_reduction"] == calculator.rials(Decimal(a.lines["renewal_dues"]) * Decimal("-0.25"))
    assert _python_assessment(books[1403])[parcel.pk].line_amounts() == a.lines


def test_a_fronted_street_price_is_used_where_the_street_has_one(books):
    from parcels.models import Frontage

    frontage = Frontage.objects.select_related("street", "parcel__block").filter(
        parcel__block__land_price__gt=0).order_by("id").first()
    price = frontage.parcel.block.land_price * 3
    street = frontage.street
    street.attributes = {**street.attributes, "land_price": str(price)}
    street.save()
    facts = facts_module.for_parcel(frontage.parcel_id, {"street_land_price", "land_price"}, {})
    assert facts["street_land_price"] >= price and facts["land_price"] == frontage.parcel.block.land_price


def test_rerun_writes_nothing_and_a_changed_tariff_is_a_recorded_reassessment(books):
    first = assess_year(1402).run
    count = Assessment.objects.filter(year=1402).count()
    before = dict(Assessment.objects.filter(year=1402).values_list("parcel_id", "amount"))
    rerun = assess_year(1402).run
    assert (rerun.created, rerun.reassessed, rerun.unchanged) == (0, 0, count)
    assert Assessment.objects.filter(year=1402).count() == count

    # a bill issued before the change must not be silently overwritten
    parcel_id = Assessment.objects.filter(year=1402, facts__floor_area_concrete__gt=0).values_list(
        "parcel_id", flat=True)[0]
    bill = _issue(parcel_id, 1402)
    book = books[1402]
    book.parameters = {**book.parameters, "price_concrete": book.parameters["price_concrete"] * 2}
    book.save()
    changed = assess_year(1402).run
    assert changed.reassessed > 0 and changed.created == 0
    assert changed.reassessed + changed.unchanged == count
    old = Assessment.objects.filter(year=1402, is_current=False, superseded_by_run=changed)
    assert old.count() == changed.reassessed
    assert all(before[a.parcel_id] == a.amount and a.run_id == first.pk for a in old)
    assert Assessment.objects.filter(year=1402, is_current=True).count() == count
    issued_amount = bill.amount
    bill.refresh_from_db()
    assert bill.status == Bill.Status.SUPERSEDED and bill.superseded_code == Bill.Superseded.REASSESSED
    assert bill.superseded_params == {"year": 1402, "run": changed.pk}
    with translation.override("en"):
        assert bill.superseded_text() == f"The dues of 1402 were reassessed (assessment run {changed.pk})."
    with translation.override("fa"):
        assert bill.superseded_text().startswith("عوارض سال ۱۴۰۲ ")
    assert bill.amount == issued_amount                                   # its amount stays as issued
    assert changed.bills_superseded >= 1
    with pytest.raises(billing.BillError) as refused:
        billing.check_payable(bill)
    assert refused.value.code == "superseded"
    # the tariff book's change is in its history
    assert book.history.count() >= 2


def test_a_formula_that_divides_by_zero_stops_the_run_and_writes_nothing(books):
    book = books[1402]
    book.lines = book.lines + [{"code": "per_metre_of_frontage", "kind": "charge", "label_fa": "آزمایشی",
                                "formula": "renewal_dues / frontage_length"}]
    book.save()
    runs = AssessmentRun.objects.count()
    with pytest.raises(TariffError, match="division by zero"):
        assess_year(1402)
    assert not Assessment.objects.filter(year=1402).exists() and AssessmentRun.objects.count() == runs


def test_what_if_compares_a_draft_by_district_and_writes_nothing(books):
    draft = TariffBook.objects.get(year=1405, name="proposal-1405-b")
    runs = AssessmentRun.objects.count()
    rows = what_if(draft)
    assert AssessmentRun.objects.count() == runs and not Assessment.objects.filter(year=1405, run__book=draft).exists()
    assert len(rows) >= 2 and all(r["draft"] > r["current"] for r in rows)   # the proposal raises prices by 10%
    assert all(9 < r["change_percent"] < 11 for r in rows)


def _issue(parcel_id, year):
    import jdatetime
    from parcels.models import Parcel

    return billing.issue(Parcel.objects.get(pk=parcel_id), jdatetime.date(year, 6, 1))


def test_a_bad_formula_is_refused_and_the_admin_shows_the_book_and_its_history(books, client, role_users):
    from django.core.exceptions import ValidationError

    book = books[1401]
    book.lines = [dict(line) for line in book.lines]
    book.lines[3]["formula"] = "rate * property_value * __class__"
    with pytest.raises(ValidationError, match="__class__"):
        book.full_clean()
    with translation.override("fa"), pytest.raises(ValidationError, match="نام ناشناختهٔ '__class__'"):
        book.full_clean()
    client.force_login(role_users["admin"])
    page = client.get(f"/admin/dues/tariffbook/{book.pk}/change/")
    assert page.status_code == 200
    history = client.get(f"/admin/dues/tariffbook/{book.pk}/history/")
    assert history.status_code == 200
