"""Fee lines (a permit's fees, a certificate's charge): checked and evaluated with the tariff book's formula language
(dues/formulas.py) and the calculator's rounding (dues/calculator.py). Pure: plain data in, plain data out, no
Django; dues.api translates the problems for people and bills the result.

A fee line is {code, label_fa, label_en, formula, [kind], [legal_basis], [legal_basis_en]}. Its formula may name the
facts the caller gives and the codes of earlier lines (their rounded amounts, as a tariff book's lines do). `kind` is
`charge` (the default), `reduction` (a discount or an exemption: it needs its legal basis) or `value` (shown, not
billed: an intermediate figure such as an area). The total is the sum of the charge and reduction lines; a negative
total is refused, never silently made zero (a definition that can give one is wrong).
"""

import re
from decimal import Decimal, InvalidOperation

from common.text import MessageError, gettext_noop
from dues.calculator import rials
from dues.formulas import Formula, FormulaError

KINDS = ("charge", "reduction", "value")
_CODE = re.compile(r"^[a-z][a-z0-9_]*$")


class FeeLineError(MessageError):
    """A problem of the fee lines: ``(msgid, params)`` as FormulaError, plus the line it is in (``line``: its
    1-based number, ``code``) and, for a formula's problem, the FormulaError (``cause``)."""

    def __init__(self, msgid: str, params: dict | None = None, *, line: int | None = None, code: str = "",
                 cause: FormulaError | None = None):
        super().__init__(msgid, params)
        self.line, self.code, self.cause = line, code, cause


def check(lines: list, names: set[str]) -> list[Formula]:
    """Each line's parsed formula; FeeLineError for the first line that is not allowed (its formula, code, kind,
    labels), naming only `names` and earlier codes."""
    if not isinstance(lines, list) or not lines:
        raise FeeLineError(gettext_noop("there are no fee lines"))
    allowed, formulas = set(names), []
    for number, raw in enumerate(lines, start=1):
        code = raw.get("code", "") if isinstance(raw, dict) else ""
        where = {"line": number, "code": code if isinstance(code, str) else ""}
        if not isinstance(raw, dict):
            raise FeeLineError(gettext_noop("it is not a table"), line=number)
        if not isinstance(code, str) or not _CODE.match(code) or code in allowed:
            raise FeeLineError(gettext_noop("its code must be a new lower-case name (not a fact or an earlier "
                                            "line's code)"), **where)
        kind = raw.get("kind", "charge")
        if kind not in KINDS:
            raise FeeLineError(gettext_noop("kind %(kind)r is not one of %(kinds)s"),
                               {"kind": kind, "kinds": ", ".join(KINDS)}, **where)
        if not isinstance(raw.get("label_fa"), str) or not raw["label_fa"].strip():
            raise FeeLineError(gettext_noop("label_fa is missing"), **where)
        for name in ("label_en", "legal_basis", "legal_basis_en"):
            if not isinstance(raw.get(name, ""), str):
                raise FeeLineError(gettext_noop("%(field)s must be text"), {"field": name}, **where)
        if kind == "reduction" and not raw.get("legal_basis"):
            raise FeeLineError(gettext_noop("a reduction or exemption needs its legal_basis"), **where)
        formula_text = raw.get("formula")
        if not isinstance(formula_text, (str, int, float)) or isinstance(formula_text, bool) or formula_text == "":
            raise FeeLineError(gettext_noop("its formula is missing"), **where)
        try:
            formulas.append(Formula(str(formula_text), allowed))
        except FormulaError as exc:
            raise FeeLineError(exc.msgid, exc.params, cause=exc, **where) from None
        allowed.add(code)
    return formulas


def evaluate(lines: list, facts: dict) -> list[dict]:
    """Each line (as given) with `amount` (whole rials, half away from zero, as the calculator rounds a tariff line)
    and `inputs` (every name its formula used, with its value), in order. FeeLineError on a missing fact, a fact that
    is not a number or a text, a division by zero, or a negative total."""
    for name, value in facts.items():
        if isinstance(value, float) and value != value:  # NaN has no amount
            raise FeeLineError(gettext_noop("fact %(name)r is not a number"), {"name": name})
        if not isinstance(value, (int, float, Decimal, str)):
            raise FeeLineError(gettext_noop("fact %(name)r is not a number or a text"), {"name": name})
    formulas = check(lines, set(facts) | _used_names(lines))
    values: dict = {}
    result = []
    for number, (raw, formula) in enumerate(zip(lines, formulas), start=1):
        where = {"line": number, "code": raw["code"]}
        missing = sorted(n for n in formula.names if n not in values and n not in facts)
        if missing:
            raise FeeLineError(gettext_noop("fact %(name)r is missing"), {"name": missing[0]}, **where)
        scope = {**{n: facts[n] for n in formula.names if n in facts}, **values}
        try:
            amount = rials(formula.evaluate(scope))
        except FormulaError as exc:
            raise FeeLineError(exc.msgid, exc.params, cause=exc, **where) from None
        except (TypeError, InvalidOperation):   # a text fact in arithmetic
            raise FeeLineError(gettext_noop("a text fact is used as a number in %(formula)r"),
                               {"formula": formula.text}, **where) from None
        values[raw["code"]] = Decimal(amount)
        inputs = {n: _plain(scope[n]) for n in sorted(formula.names)}
        result.append({**raw, "kind": raw.get("kind", "charge"), "amount": amount, "inputs": inputs})
    if total(result) < 0:
        raise FeeLineError(gettext_noop("the fees add up to %(total)s rials: a negative total is not allowed"),
                           {"total": total(result)})
    return result


def total(lines: list[dict]) -> int:
    """What evaluated lines ask: the sum of their charge and reduction lines (value lines are only shown)."""
    return sum(line["amount"] for line in lines if line.get("kind", "charge") != "value")


def payable(amount: int) -> tuple[int, int]:
    """(payable, rounding): the amount rounded down to whole thousands of rials, as a renewal bill is (the payment
    ID carries thousands; the citizen never pays more than owed), and the rials left off."""
    payable_amount = amount // 1000 * 1000
    return payable_amount, amount - payable_amount


def _used_names(lines) -> set[str]:
    """Names the formulas use that are not earlier codes: allowed here so that a missing fact is reported as missing
    (with the line) rather than as an unknown name; check_fee_formulas is where unknown names are refused."""
    import ast

    names = set()
    for raw in lines if isinstance(lines, list) else []:
        text = raw.get("formula") if isinstance(raw, dict) else None
        if isinstance(text, str):
            try:
                names |= {n.id for n in ast.walk(ast.parse(" ".join(text.split()), mode="eval"))
                          if isinstance(n, ast.Name)}
            except SyntaxError:
                pass                               # check() reports it with its position
    codes = {raw.get("code") for raw in lines if isinstance(raw, dict)} if isinstance(lines, list) else set()
    return names - codes - {"min", "max"}


def _plain(value):
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value
