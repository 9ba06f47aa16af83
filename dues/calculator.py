"""The pure dues calculator: parcel facts + tariff book → bill lines; unpaid years + date → what is owed.

No database here: the inputs are plain values, so every rule can be worked by hand in a test.

Rounding rule (stated once, used everywhere):
- every line is rounded to whole rials, half away from zero (PostgreSQL's `round(numeric)` does the same);
  later lines use the rounded amounts of earlier ones, so the bill's numbers add up as printed;
- a year's assessed dues are the sum of its charge and reduction lines, never below zero;
- discount and penalty are rounded to whole rials the same way;
- the payable amount of a bill is the total rounded **down** to whole thousands of rials (the payment ID carries
  thousands): the citizen never pays more than owed, and the rials left off are recorded as `rounding`.

Dates are Jalali (`jdatetime.date`). A year's dues fall due on 1 Farvardin and must be paid within that year
(to 29 Esfand, or 30 Esfand in a leap year). Paid within the year, the current year earns the book's good-payer
discount. Not paid, every whole month of delay from 1 Farvardin of the next year to the bill date adds the
book's penalty per month (each year under its own book), up to the cap.
"""

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import jdatetime

from dues.formulas import Formula


def rials(value) -> int:
    """Whole rials, half away from zero."""
    return int(Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass
class LineResult:
    code: str
    label_fa: str
    label_en: str
    kind: str
    formula: str
    inputs: dict          # every name the formula used, with its value
    amount: int
    legal_basis: str = ""      # Persian, the text of record
    hidden: bool = False
    legal_basis_en: str = ""


@dataclass
class Assessed:
    lines: list[LineResult]
    amount: int           # assessed dues of the year

    def line_amounts(self) -> dict[str, int]:
        return {line.code: line.amount for line in self.lines}


def assess(lines, parameters: dict, facts: dict) -> Assessed:
    """Evaluate a book's lines (dues.tariffs.Line) over one parcel's facts."""
    values = {**{k: Decimal(str(v)) for k, v in parameters.items()}, **facts}
    results = []
    for line in lines:
        formula: Formula = line.formula
        amount = rials(formula.evaluate(values))
        values[line.code] = Decimal(amount)
        inputs = {name: _plain(values[name]) for name in sorted(formula.names)}
        results.append(LineResult(line.code, line.label_fa, line.label_en, line.kind, formula.text, inputs, amount,
                                  line.legal_basis, line.hide_if_zero and amount == 0,
                                  line.legal_basis_en))
    total = sum(r.amount for r in results if r.kind != "value")
    return Assessed(results, max(0, total))


def _plain(value):
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


# --- Arrears, discount, penalty -------------------------------------------------------------------------


@dataclass(frozen=True)
class Terms:
    """A book's payment terms (percentages)."""
    discount_percent: Decimal
    penalty_percent_per_month: Decimal
    penalty_cap_percent: Decimal


@dataclass
class YearDue:
    year: int
    assessed: int
    paid: int               # paid, discounted, penalised and rounded so far (net already settled)
    terms: Terms


@dataclass
class BillItem:
    year: int
    assessed: int
    settled_before: int
    outstanding: int
    months_late: int
    penalty_percent: Decimal
    penalty: int
    discount_percent: Decimal
    discount: int
    due: int


@dataclass
class BillTotal:
    items: list[BillItem] = field(default_factory=list)
    total: int = 0
    rounding: int = 0
    payable: int = 0


def months_late(year: int, as_of: jdatetime.date) -> int:
    """Whole months of delay of `year`'s dues on `as_of`: 0 within the year and in Farvardin of the next year,
    1 from 1 Ordibehesht of the next year, and so on."""
    return max(0, (as_of.year - year - 1) * 12 + as_of.month - 1)


def bill(as_of: jdatetime.date, years: list[YearDue]) -> BillTotal:
    """What a bill dated `as_of` asks for: each year with an outstanding amount, oldest first."""
    result = BillTotal()
    for y in sorted(years, key=lambda d: d.year):
        if y.year > as_of.year:
            raise ValueError(f"cannot bill {y.year} on a date in {as_of.year}")
        outstanding = y.assessed - y.paid
        if outstanding <= 0:
            continue
        late = months_late(y.year, as_of)
        penalty_pct = min(y.terms.penalty_percent_per_month * late, y.terms.penalty_cap_percent)
        discount_pct = y.terms.discount_percent if y.year == as_of.year else Decimal(0)
        penalty = rials(Decimal(outstanding) * penalty_pct / 100)
        discount = rials(Decimal(outstanding) * discount_pct / 100)
        result.items.append(BillItem(y.year, y.assessed, y.paid, outstanding, late, penalty_pct, penalty,
                                     discount_pct, discount, outstanding + penalty - discount))
    result.total = sum(i.due for i in result.items)
    result.payable = result.total // 1000 * 1000
    result.rounding = result.total - result.payable
    return result
