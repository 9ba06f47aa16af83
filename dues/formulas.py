"""The tariff book's formula language: one source of truth, evaluated in Python and compiled to SQL.

A bill line's formula is a Python-syntax expression parsed with `ast` and checked against a whitelist:

- names: declared parcel facts (dues/facts.py), the book's parameters (`[parameters]`), earlier lines' codes;
- numbers, and strings only as the other side of `==` / `!=` (e.g. ``land_use == "historic_heritage"``);
- ``+ - * /``, unary minus, ``min(a, b, ...)``, ``max(a, b, ...)``;
- comparisons, ``and`` / ``or`` / ``not``, and ``a if condition else b``.

Anything else (attribute access, calls to other functions, indexing, ``**``, ...) is refused with the position of
the offending part, so a tariff book that loads can always be evaluated. Python evaluates with `Decimal` (28
digits) and PostgreSQL with `numeric`, so both give the same rials once a line is rounded (dues/calculator.py);
tests/test_dues_assessment.py checks this on the whole demo city. Booleans are 1 and 0.
"""

import ast
from decimal import Decimal, getcontext

from common.text import MessageError, gettext_noop

getcontext().prec = 28

_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_CMPOPS = {ast.Eq: "=", ast.NotEq: "<>", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
_FUNCS = {"min": "LEAST", "max": "GREATEST"}


_OPERATOR = gettext_noop("operator %(operator)s is not allowed in %(formula)r at column %(column)s")


class FormulaError(MessageError):
    """A formula that is not allowed or refers to something undeclared. ``args`` is ``(msgid, params)``: the English
    message template (in the catalogue) and its values, so that the message is shown in the reader's language
    (``gettext(exc.msgid) % exc.params``, dues.tariffs.formula_message); ``str()`` is the English message."""


class Formula:
    """A checked formula: its text, parsed tree, and the names it uses."""

    def __init__(self, text: str, allowed_names: set[str]):
        self.text = " ".join(text.split())  # formulas may span lines in the book file
        try:
            tree = ast.parse(self.text, mode="eval")
        except SyntaxError as exc:
            raise FormulaError(gettext_noop("cannot parse %(formula)r: %(reason)s at column %(column)s"),
                               {"formula": self.text, "reason": exc.msg, "column": exc.offset}) from None
        self.tree = tree.body
        self.names: set[str] = set()
        self._check(self.tree, allowed_names)

    def __repr__(self):
        return f"Formula({self.text!r})"

    # --- checking ---------------------------------------------------------------------------------------

    def _check(self, node, allowed):
        # every message names the formula and the column of the offending part
        where = {"formula": self.text, "column": getattr(node, "col_offset", 0) + 1}
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float, str)):
                raise FormulaError(gettext_noop("constant %(value)r is not allowed in %(formula)r at column "
                                                "%(column)s"), {"value": node.value, **where})
            if isinstance(node.value, str):
                raise FormulaError(gettext_noop("text %(value)r is allowed only compared with == or != in "
                                                "%(formula)r at column %(column)s"), {"value": node.value, **where})
        elif isinstance(node, ast.Name):
            if node.id not in allowed:
                raise FormulaError(gettext_noop("unknown name %(name)r in %(formula)r at column %(column)s (not a "
                                                "fact, parameter or earlier line)"), {"name": node.id, **where})
            self.names.add(node.id)
        elif isinstance(node, ast.BinOp):
            if type(node.op) not in _BINOPS:
                raise FormulaError(_OPERATOR, {"operator": type(node.op).__name__, **where})
            self._check(node.left, allowed)
            self._check(node.right, allowed)
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.USub, ast.UAdd, ast.Not)):
                raise FormulaError(_OPERATOR, {"operator": type(node.op).__name__, **where})
            self._check(node.operand, allowed)
        elif isinstance(node, ast.BoolOp):
            for value in node.values:
                self._check(value, allowed)
        elif isinstance(node, ast.Compare):
            if len(node.ops) != 1 or type(node.ops[0]) not in _CMPOPS:
                raise FormulaError(gettext_noop("only single comparisons (==, !=, <, <=, >, >=) are allowed in "
                                                "%(formula)r at column %(column)s"), where)
            left, right = node.left, node.comparators[0]
            text_sides = [isinstance(s, ast.Constant) and isinstance(s.value, str) for s in (left, right)]
            if any(text_sides):
                if not isinstance(node.ops[0], (ast.Eq, ast.NotEq)) or all(text_sides):
                    raise FormulaError(gettext_noop("text may only be compared with == or != to a fact in "
                                                    "%(formula)r at column %(column)s"), where)
                other = right if text_sides[0] else left
                self._check(other, allowed)
            else:
                self._check(left, allowed)
                self._check(right, allowed)
        elif isinstance(node, ast.IfExp):
            for part in (node.test, node.body, node.orelse):
                self._check(part, allowed)
        elif isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCS or node.keywords or len(node.args) < 2:
                raise FormulaError(gettext_noop("only min(a, b, ...) and max(a, b, ...) may be called in "
                                                "%(formula)r at column %(column)s"), where)
            for arg in node.args:
                self._check(arg, allowed)
        else:
            raise FormulaError(gettext_noop("%(construct)s is not allowed in %(formula)r at column %(column)s"),
                               {"construct": type(node).__name__, **where})

    # --- Python -------------------------------------------------------------------------------------------

    def evaluate(self, values: dict) -> Decimal:
        return _num(self._eval(self.tree, values))

    def _eval(self, node, values):
        if isinstance(node, ast.Constant):
            return node.value if isinstance(node.value, str) else Decimal(str(node.value))
        if isinstance(node, ast.Name):
            value = values[node.id]
            return value if isinstance(value, str) else _num(value)
        if isinstance(node, ast.BinOp):
            a, b = self._eval(node.left, values), self._eval(node.right, values)
            if isinstance(node.op, ast.Add):
                return a + b
            if isinstance(node.op, ast.Sub):
                return a - b
            if isinstance(node.op, ast.Mult):
                return a * b
            if b == 0:
                raise FormulaError(gettext_noop("division by zero in %(formula)r"), {"formula": self.text})
            return a / b
        if isinstance(node, ast.UnaryOp):
            v = self._eval(node.operand, values)
            if isinstance(node.op, ast.Not):
                return Decimal(0 if _truth(v) else 1)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BoolOp):
            results = [_truth(self._eval(v, values)) for v in node.values]
            return Decimal(int(all(results) if isinstance(node.op, ast.And) else any(results)))
        if isinstance(node, ast.Compare):
            a, b = self._eval(node.left, values), self._eval(node.comparators[0], values)
            op = node.ops[0]
            result = {ast.Eq: a == b, ast.NotEq: a != b}.get(type(op))
            if result is None:
                result = {ast.Lt: a < b, ast.LtE: a <= b, ast.Gt: a > b, ast.GtE: a >= b}[type(op)]
            return Decimal(int(result))
        if isinstance(node, ast.IfExp):
            branch = node.body if _truth(self._eval(node.test, values)) else node.orelse
            return self._eval(branch, values)
        if isinstance(node, ast.Call):
            args = [self._eval(a, values) for a in node.args]
            return min(args) if node.func.id == "min" else max(args)
        raise AssertionError(node)  # _check refused it already

    # --- SQL ----------------------------------------------------------------------------------------------

    def to_sql(self, names: dict[str, str]) -> str:
        """The formula as a PostgreSQL numeric expression; `names` maps each name to an SQL expression (a column
        or a literal). Text constants become SQL literals with quotes doubled; nothing else of the formula's text
        reaches SQL, since every node was whitelisted."""
        return self._sql(self.tree, names)

    def _sql(self, node, names):
        if isinstance(node, ast.Constant):
            if isinstance(node.value, str):
                return "'" + node.value.replace("'", "''") + "'"
            return f"{Decimal(str(node.value))}::numeric"
        if isinstance(node, ast.Name):
            return names[node.id]
        if isinstance(node, ast.BinOp):
            # numeric division by zero raises in PostgreSQL as in the calculator: the run stops, nothing is written
            left, right = self._sql(node.left, names), self._sql(node.right, names)
            return f"({left} {_BINOPS[type(node.op)]} {right})"
        if isinstance(node, ast.UnaryOp):
            inner = self._sql(node.operand, names)
            if isinstance(node.op, ast.Not):
                return f"(CASE WHEN {_sql_truth(inner)} THEN 0 ELSE 1 END)::numeric"
            return f"(-{inner})" if isinstance(node.op, ast.USub) else inner
        if isinstance(node, ast.BoolOp):
            joiner = " AND " if isinstance(node.op, ast.And) else " OR "
            parts = joiner.join(_sql_truth(self._sql(v, names)) for v in node.values)
            return f"(CASE WHEN {parts} THEN 1 ELSE 0 END)::numeric"
        if isinstance(node, ast.Compare):
            left, right = self._sql(node.left, names), self._sql(node.comparators[0], names)
            return f"(CASE WHEN {left} {_CMPOPS[type(node.ops[0])]} {right} THEN 1 ELSE 0 END)::numeric"
        if isinstance(node, ast.IfExp):
            return (f"(CASE WHEN {_sql_truth(self._sql(node.test, names))} THEN {self._sql(node.body, names)} "
                    f"ELSE {self._sql(node.orelse, names)} END)")
        if isinstance(node, ast.Call):
            return f"{_FUNCS[node.func.id]}({', '.join(self._sql(a, names) for a in node.args)})"
        raise AssertionError(node)


def _num(value) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        return Decimal(int(value))
    if isinstance(value, (int, float, str)):
        return Decimal(str(value))
    raise FormulaError(gettext_noop("%(value)r is not a number"), {"value": value})


def _truth(value) -> bool:
    return value != 0 if not isinstance(value, str) else value != ""


def _sql_truth(expr: str) -> str:
    return f"({expr}) <> 0"
