"""What changed between two tariff books, for people to read: the payment terms, the parameters, the attribute facts
and the bill lines (added, removed, changed), with the changed parts of a formula or a text marked.

Pure (no Django, no database): the books come in as plain dicts of dues.tariffs.FIELDS (what TariffBook stores and a
book file holds), the differences go out as data the public tariff page renders (dues/public_pages.py).

The marking is difflib's: a formula is cut into tokens (names, numbers, operators, quoted text, spaces) and
SequenceMatcher pairs the two token lists, so `rate * property_value` against `rate2 * property_value` marks
`rate` / `rate2`, never half a name. Texts (labels, legal basis) are cut into words the same way.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

# The formula language's tokens (dues/formulas.py: Python expressions of names, numbers, text in quotes and
# operators); anything else is one character, so every formula is cut without loss ("".join(tokens) == text).
_FORMULA_TOKEN = re.compile(r"""\s+|[A-Za-z_][A-Za-z0-9_]*|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|"[^"]*"|'[^']*'"""
                            r"""|==|!=|<=|>=|\S""")
_WORD = re.compile(r"\s+|\w+|[^\w\s]")
# Operators as they are printed: the formula stays a formula, only the signs read as in arithmetic.
_SIGNS = {"*": "×", "/": "÷", "<=": "≤", ">=": "≥", "!=": "≠", "==": "="}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_KEYWORDS = {"and", "or", "not", "if", "else", "min", "max"}

TERMS = ("discount_percent", "penalty_percent_per_month", "penalty_cap_percent")
LINE_FIELDS = ("formula", "kind", "label_fa", "label_en", "legal_basis", "legal_basis_en", "hide_if_zero")
_LINE_DEFAULTS = {"kind": "charge", "hide_if_zero": False}

ADDED, REMOVED, CHANGED, SAME = "added", "removed", "changed", "same"


@dataclass(frozen=True)
class Piece:
    """A run of text, marked when it differs from the other side."""

    text: str
    changed: bool = False


@dataclass(frozen=True)
class Change:
    """A named value (a term, a parameter, an attribute fact's default) before and after; None where it is absent."""

    name: str
    old: object
    new: object

    @property
    def status(self) -> str:
        return ADDED if self.old is None else REMOVED if self.new is None else CHANGED


@dataclass
class FieldChange:
    name: str                 # one of LINE_FIELDS
    old: list[Piece]
    new: list[Piece]


@dataclass
class LineDiff:
    code: str
    status: str               # ADDED, REMOVED, CHANGED or SAME
    old: dict | None
    new: dict | None
    fields: list[FieldChange] = field(default_factory=list)
    parameters: list[Change] = field(default_factory=list)   # parameters the line uses whose value changed


@dataclass
class BookDiff:
    terms: list[Change]
    parameters: list[Change]
    attributes: list[Change]
    lines: list[LineDiff]

    def lines_with(self, status: str) -> list[LineDiff]:
        return [line for line in self.lines if line.status == status]

    @property
    def changed_lines(self) -> list[LineDiff]:
        return [line for line in self.lines if line.status != SAME]

    @property
    def has_changes(self) -> bool:
        return bool(self.terms or self.parameters or self.attributes or self.changed_lines)


def formula_tokens(text: str) -> list[str]:
    """A formula (its spaces normalised as dues.formulas.Formula does) as printed tokens."""
    return [_SIGNS.get(t, t) for t in _FORMULA_TOKEN.findall(" ".join(str(text).split()))]


def readable_formula(text: str) -> str:
    """A formula as people read it: one line, × ÷ ≤ ≥ ≠ = for the operators."""
    return "".join(formula_tokens(text))


def names_used(text: str) -> list[str]:
    """The names a formula refers to (facts, parameters, earlier lines), in order of first use."""
    seen: dict[str, None] = {}
    for token in _FORMULA_TOKEN.findall(str(text)):
        if _NAME.match(token) and token not in _KEYWORDS:
            seen.setdefault(token)
    return list(seen)


def marked(old: list[str], new: list[str]) -> tuple[list[Piece], list[Piece]]:
    """Two token lists as runs of text, each run marked where difflib finds it differs from the other side."""
    old_pieces, new_pieces = [], []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        same = tag == "equal"
        if i2 > i1:
            old_pieces.append(Piece("".join(old[i1:i2]), not same))
        if j2 > j1:
            new_pieces.append(Piece("".join(new[j1:j2]), not same))
    return _merged(old_pieces), _merged(new_pieces)


def _merged(pieces: list[Piece]) -> list[Piece]:
    out: list[Piece] = []
    for piece in pieces:
        if out and out[-1].changed == piece.changed:
            out[-1] = Piece(out[-1].text + piece.text, piece.changed)
        else:
            out.append(piece)
    return out


def _line_value(line: dict, name: str):
    return line.get(name, _LINE_DEFAULTS.get(name, ""))


def _field_change(name: str, old: dict, new: dict) -> FieldChange | None:
    a, b = _line_value(old, name), _line_value(new, name)
    if name == "formula":
        ta, tb = formula_tokens(a), formula_tokens(b)
        return None if ta == tb else FieldChange(name, *marked(ta, tb))
    if a == b:
        return None
    if isinstance(a, str) and isinstance(b, str):
        return FieldChange(name, *marked(_WORD.findall(a), _WORD.findall(b)))
    return FieldChange(name, [Piece(str(a), True)], [Piece(str(b), True)])


def _same_number(a, b) -> bool:
    try:
        return a is not None and b is not None and float(a) == float(b)
    except (TypeError, ValueError):
        return a == b


def _changes(old: dict, new: dict, names=None) -> list[Change]:
    names = names if names is not None else list(old) + [n for n in new if n not in old]
    return [Change(n, old.get(n), new.get(n)) for n in names if not _same_number(old.get(n), new.get(n))]


def _line_order(old_codes: list[str], new_codes: list[str]) -> list[str]:
    """Every code once: the new book's order, a removed line where it stood among its old neighbours."""
    order, common = [], set(old_codes) & set(new_codes)
    matcher = difflib.SequenceMatcher(None, old_codes, new_codes, autojunk=False)
    for _tag, i1, i2, j1, j2 in matcher.get_opcodes():
        order += [c for c in old_codes[i1:i2] if c not in common]
        order += new_codes[j1:j2]
    return order


def diff_books(old: dict, new: dict) -> BookDiff:
    """What changed from book `old` to book `new` (dicts of dues.tariffs.FIELDS)."""
    old_params, new_params = old.get("parameters") or {}, new.get("parameters") or {}
    old_lines = {line["code"]: line for line in old.get("lines") or []}
    new_lines = {line["code"]: line for line in new.get("lines") or []}
    lines = []
    for code in _line_order(list(old_lines), list(new_lines)):
        a, b = old_lines.get(code), new_lines.get(code)
        if a is None:
            lines.append(LineDiff(code, ADDED, None, b))
            continue
        if b is None:
            lines.append(LineDiff(code, REMOVED, a, None))
            continue
        fields_changed = [c for c in (_field_change(n, a, b) for n in LINE_FIELDS) if c is not None]
        used = [n for n in names_used(_line_value(a, "formula")) + names_used(_line_value(b, "formula"))
                if n in old_params or n in new_params]
        params = _changes(old_params, new_params, list(dict.fromkeys(used)))
        lines.append(LineDiff(code, CHANGED if fields_changed or params else SAME, a, b, fields_changed, params))
    return BookDiff(
        terms=_changes({t: old.get(t) for t in TERMS}, {t: new.get(t) for t in TERMS}),
        parameters=_changes(old_params, new_params),
        attributes=_changes(old.get("attributes") or {}, new.get("attributes") or {}),
        lines=lines,
    )
