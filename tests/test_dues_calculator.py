"""The pure dues calculator, the formula language and the bill ID standard, worked by hand (no database)."""

import ast
import re
import subprocess
from decimal import Decimal
from pathlib import Path

import jdatetime
import pytest

from dues import billid, calculator
from dues.formulas import Formula, FormulaError
from dues.tariffs import Line

DUES = Path(__file__).resolve().parent.parent / "dues"
FACTS = {"land_area", "land_price", "floor_area_steel", "land_use", "piped_water"}
TERMS = calculator.Terms(Decimal(10), Decimal(2), Decimal(24))


def _lines(*specs):
    allowed, out = set(FACTS) | {"rate", "price_steel"}, []
    for code, kind, text in specs:
        out.append(Line(code, code, code, kind, Formula(text, allowed), "basis" if kind == "reduction" else "", False))
        allowed.add(code)
    return out


DOMAIN_BOOK = _lines(
    ("land_value", "value", "land_area * land_price"),
    ("building_value", "value", "floor_area_steel * price_steel"),
    ("renewal_dues", "charge", "rate * (land_value + building_value)"),
)
DOMAIN_FACTS = {"land_area": Decimal(200), "land_price": Decimal(2_000_000), "floor_area_steel": Decimal(150),
                "land_use": "residential", "piped_water": Decimal(1)}
PARAMS = {"rate": Decimal("0.015"), "price_steel": Decimal(5_000_000)}


def _year(year, assessed, paid=0, terms=TERMS):
    return calculator.YearDue(year, assessed, paid, terms)


def test_domain_illustration_lines_show_formula_and_values():
    result = calculator.assess(DOMAIN_BOOK, PARAMS, DOMAIN_FACTS)
    # 200 m² × 2,000,000 = 400,000,000; 150 m² × 5,000,000 = 750,000,000; 1.5% of 1,150,000,000 = 17,250,000
    assert result.line_amounts() == {"land_value": 400_000_000, "building_value": 750_000_000,
                                     "renewal_dues": 17_250_000}
    assert result.amount == 17_250_000
    dues_line = result.lines[2]
    assert dues_line.formula == "rate * (land_value + building_value)"
    assert dues_line.inputs == {"rate": 0.015, "land_value": 400_000_000, "building_value": 750_000_000}


def test_domain_illustration_on_time_and_eight_months_late():
    on_time = calculator.bill(jdatetime.date(1403, 5, 1), [_year(1403, 17_250_000)])
    assert on_time.items[0].discount == 1_725_000
    assert on_time.payable == 15_525_000 and on_time.rounding == 0
    # 1402's dues billed on 1 Azar 1403: Farvardin..Aban 1403 are eight whole months of delay → 16%
    late = calculator.bill(jdatetime.date(1403, 9, 1), [_year(1402, 17_250_000)])
    item = late.items[0]
    assert (item.months_late, item.penalty_percent, item.penalty, item.discount) == (8, 16, 2_760_000, 0)
    assert late.payable == 17_250_000 + 2_760_000


def test_arrears_each_year_with_its_own_terms_and_only_current_year_discounted():
    old_law = calculator.Terms(Decimal(10), Decimal("0.75"), Decimal(24))   # 9% a year, as a book may say
    bill = calculator.bill(jdatetime.date(1405, 3, 15), [
        _year(1405, 1_000_000), _year(1404, 2_000_000), _year(1403, 3_000_000, terms=old_law),
        _year(1402, 500_000, paid=500_000),          # settled: not billed
    ])
    assert [i.year for i in bill.items] == [1403, 1404, 1405]
    by_year = {i.year: i for i in bill.items}
    assert by_year[1403].months_late == 14 and by_year[1403].penalty == 315_000          # 14 × 0.75% = 10.5%
    assert by_year[1404].months_late == 2 and by_year[1404].penalty == 80_000            # 4%
    assert by_year[1404].discount == 0 and by_year[1403].discount == 0
    assert by_year[1405].discount == 100_000 and by_year[1405].penalty == 0
    assert bill.total == 3_315_000 + 2_080_000 + 900_000


def test_penalty_edges_last_day_of_year_leap_esfand_and_cap():
    assert jdatetime.date(1403, 1, 1).isleap() and not jdatetime.date(1404, 1, 1).isleap()
    # 30 Esfand 1403 exists (leap year) and is still within 1403: discount, no penalty
    last = calculator.bill(jdatetime.date(1403, 12, 30), [_year(1403, 1_000_000)]).items[0]
    assert (last.discount, last.penalty, last.months_late) == (100_000, 0, 0)
    # a common year ends on 29 Esfand
    with pytest.raises(ValueError):
        jdatetime.date(1404, 12, 30)
    assert calculator.bill(jdatetime.date(1404, 12, 29), [_year(1404, 1_000_000)]).items[0].discount == 100_000
    # the next day: no discount, and not yet a whole month late
    first = calculator.bill(jdatetime.date(1404, 1, 1), [_year(1403, 1_000_000)]).items[0]
    assert (first.discount, first.penalty, first.months_late) == (0, 0, 0)
    assert calculator.months_late(1403, jdatetime.date(1404, 1, 31)) == 0
    assert calculator.months_late(1403, jdatetime.date(1404, 2, 1)) == 1
    # twelve months reach the cap exactly; more stay at the cap
    assert calculator.bill(jdatetime.date(1405, 1, 1), [_year(1403, 1_000_000)]).items[0].penalty == 240_000
    capped = calculator.bill(jdatetime.date(1405, 6, 1), [_year(1401, 1_000_000)]).items[0]
    assert capped.months_late == 41 and capped.penalty_percent == 24 and capped.penalty == 240_000


def test_payable_is_rounded_down_to_thousands_and_the_rest_recorded():
    bill = calculator.bill(jdatetime.date(1405, 1, 10), [_year(1405, 1_234_567)])
    assert bill.items[0].discount == 123_457                # 123,456.7 rounded half away from zero
    assert bill.total == 1_111_110 and bill.payable == 1_111_000 and bill.rounding == 110
    with pytest.raises(ValueError):
        calculator.bill(jdatetime.date(1404, 1, 10), [_year(1405, 1_000)])


def test_reductions_conditionals_and_text_comparison():
    book = _lines(
        ("renewal_dues", "charge", "rate * land_area * land_price"),
        ("utilities", "reduction", "-0.25 * renewal_dues if piped_water == 0 else 0"),
        ("heritage", "reduction", '-(renewal_dues + utilities) if land_use == "historic_heritage" else 0'),
    )
    facts = {**DOMAIN_FACTS, "piped_water": Decimal(0)}
    result = calculator.assess(book, PARAMS, facts)
    assert result.line_amounts() == {"renewal_dues": 6_000_000, "utilities": -1_500_000, "heritage": 0}
    assert result.amount == 4_500_000
    heritage = calculator.assess(book, PARAMS, {**facts, "land_use": "historic_heritage"})
    assert heritage.amount == 0 and heritage.line_amounts()["heritage"] == -4_500_000


REFUSED = [
    ("land_area ** 2", "Pow"),
    ("__import__('os')", "min"),
    ("land_area.real", "Attribute"),
    ("unknown_fact * 2", "unknown name"),
    ('land_use + "x"', "text"),
    ("land_area[0]", "Subscript"),
    ("1 < land_area < 5", "single comparisons"),
    ("land_area *", "cannot parse"),
    ("lambda: 1", "Lambda"),
    ("not_a_name if True else 1", "constant True"),
    ('"a" == "b"', "compared with == or != to a fact"),
]


@pytest.mark.parametrize("text, message", REFUSED)
def test_formula_language_refuses_what_it_does_not_know(text, message):
    with pytest.raises(FormulaError, match=message):
        Formula(text, FACTS)


@pytest.fixture(scope="module")
def marked_messages() -> set[str]:
    """The messages of dues/formulas.py that makemessages extracts: xgettext finds them by the marker's name."""
    po = subprocess.run(["xgettext", "--language=Python", "--keyword=gettext_noop", "--from-code=UTF-8",
                         "--output=-", str(DUES / "formulas.py")], check=True, capture_output=True, text=True).stdout
    found = set()
    for entry in po.split("\n\n"):
        msgid = re.search(r'^msgid ((?:".*"\n)+)msgstr', entry + "\n", re.M)
        if msgid:
            found.add("".join(ast.literal_eval(part) for part in msgid.group(1).splitlines()))
    return found - {""}


@pytest.mark.parametrize("text, message", REFUSED)
def test_a_formula_error_is_a_marked_message_template_and_its_values(text, message, marked_messages):
    """The pure module gives (msgid, params); whoever shows the message translates it (dues.tariffs)."""
    with pytest.raises(FormulaError) as exc:
        Formula(text, FACTS)
    msgid, params = exc.value.args
    assert msgid in marked_messages and (exc.value.msgid, exc.value.params) == (msgid, params)
    assert str(exc.value) == msgid % params and params["formula"] == text
    with pytest.raises(FormulaError) as zero:
        Formula("land_area / land_price", FACTS).evaluate({"land_area": 3, "land_price": 0})
    assert zero.value.msgid in marked_messages and zero.value.params == {"formula": "land_area / land_price"}


@pytest.mark.parametrize("module", ["formulas.py", "calculator.py"])
def test_the_rule_modules_import_no_django(module):
    tree = ast.parse((DUES / module).read_text(encoding="utf-8"))
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not [name for name in imported if name.split(".")[0] == "django"]


def test_formula_compiles_to_sql_with_only_whitelisted_parts():
    f = Formula("max(land_area * 2, 10) if land_use != \"it's\" else -land_price / 4", FACTS)
    sql = f.to_sql({"land_area": "f.land_area", "land_use": "f.land_use", "land_price": "f.land_price"})
    assert "GREATEST(" in sql and "'it''s'" in sql and "(-f.land_price) / 4" in sql
    assert f.evaluate({"land_area": 3, "land_use": "x", "land_price": 8}) == 10
    with pytest.raises(FormulaError, match="division by zero"):
        Formula("land_area / land_price", FACTS).evaluate({"land_area": 3, "land_price": 0})


# --- Bill ID / payment ID (DOMAIN.md 2) ---------------------------------------------------------------------

PUBLISHED = [("7748317800142", "1770160", 17_000), ("9985235404124", "880000568", 8_800_000),
             ("2050327604613", "1070189", 10_000)]


@pytest.mark.parametrize("bill, payment, amount", PUBLISHED)
def test_published_bill_and_payment_ids(bill, payment, amount):
    assert billid.is_valid_bill_id(bill)
    assert billid.is_valid_pair(bill, payment)
    assert billid.amount_of(payment) == amount
    # rebuilding the payment ID from its parts gives the published one (both check digits)
    assert billid.payment_id(bill, amount, int(payment[-5]), int(payment[-4:-2])) == payment
    assert billid.bill_id(int(bill[:-5]), bill[-5:-2], int(bill[-2])) == bill


@pytest.mark.parametrize("bill, payment, _", PUBLISHED)
def test_a_changed_digit_breaks_the_checks(bill, payment, _):
    wrong_bill = bill[:3] + str((int(bill[3]) + 1) % 10) + bill[4:]
    assert not billid.is_valid_bill_id(wrong_bill)
    wrong_payment = str((int(payment[0]) + 1) % 10) + payment[1:]
    assert not billid.is_valid_pair(bill, wrong_payment)


def test_municipality_bill_ids_and_barcode():
    bill = billid.bill_id(1234, "401")
    assert bill[-2] == "6" and billid.is_valid_bill_id(bill)            # service type 6: municipality
    payment = billid.payment_id(bill, 15_525_000, 1405, 8)
    assert payment.startswith("15525") and payment[5:8] == "508" and billid.is_valid_pair(bill, payment)
    code = billid.barcode(bill, payment)
    assert len(code) == 26 and code == bill.zfill(13) + payment.zfill(13)
    with pytest.raises(ValueError, match="thousands"):
        billid.payment_id(bill, 15_525_500, 1405, 8)
