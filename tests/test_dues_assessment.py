"""Tariff books loaded from files, and the city-wide assessment on the demo city in the real PostGIS."""

from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from dues import billing, calculator, facts as facts_module
from dues.assessment import assess_year, what_if
from dues.models import Assessment, AssessmentRun, Bill, TariffBook
from dues.tariffs import NoTariffBook, TariffError, compile_book, load_files

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
    assert all(what == "unchanged" for _, what in again)
    assert TariffBook.objects.get(year=1405, name="proposal-1405-b").status == "draft"


def test_a_bad_book_loads_nothing_and_says_why(tmp_path, demo_city):
    good = (ROOT / "data" / "tariffs" / "1403.toml").read_text(encoding="utf-8")
    bad = good.replace('name = "council-1403"', 'name = "broken-1399"').replace("year = 1403", "year = 1399")
    bad = bad.replace('formula = "rate * property_value"', 'formula = "rate * property_value * secret_sauce"')
    (tmp_path / "good.toml").write_text(good.replace("year = 1403", "year = 1398").replace(
        'name = "council-1403"', 'name = "council-1398"'), encoding="utf-8")
    (tmp_path / "bad.toml").write_text(bad, encoding="utf-8")
    (tmp_path / "broken.toml").write_text("year = ", encoding="utf-8")
    with pytest.raises(CommandError) as exc:
        call_command("load_tariff_book", *sorted(tmp_path.glob("*.toml")))
    message = str(exc.value)
    assert "renewal_dues" in message and "secret_sauce" in message and "broken.toml" in message
    assert not TariffBook.objects.filter(year__in=[1398, 1399]).exists()   # the good file was not loaded either


def test_reduction_without_legal_basis_is_refused(books):
    book = TariffBook.objects.get(year=1405, name="council-1405")
    book.lines = [dict(line) for line in book.lines]
    book.lines[4].pop("legal_basis")
    with pytest.raises(TariffError, match="legal_basis"):
        compile_book(book)


def test_a_year_without_a_book_is_an_error(books):
    with pytest.raises(NoTariffBook, match="1399"):
        assess_year(1399)
    with pytest.raises(CommandError, match="No approved tariff book for 1399"):
        call_command("assess_year", "1399")


def _python_assessment(book, parcel_ids=None):
    """Every parcel's dues by the pure calculator over the facts selected by the same fact SQL."""
    compiled = compile_book(book)
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
    assert bill.status == Bill.Status.SUPERSEDED and "reassessed" in bill.superseded_reason
    assert bill.amount == issued_amount                                   # its amount stays as issued
    assert changed.bills_superseded >= 1
    with pytest.raises(billing.BillError, match="changed"):
        billing.check_payable(bill)
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
    client.force_login(role_users["admin"])
    page = client.get(f"/admin/dues/tariffbook/{book.pk}/change/")
    assert page.status_code == 200
    history = client.get(f"/admin/dues/tariffbook/{book.pk}/history/")
    assert history.status_code == 200
