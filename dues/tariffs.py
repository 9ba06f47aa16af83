"""Tariff books: reading the yearly TOML files of data/tariffs/, checking them, and compiling their formulas.

A book file (see data/tariffs/1403.toml) has: year, name, status (draft | approved), title_fa, title_en, approval,
discount_percent, penalty_percent_per_month, penalty_cap_percent, a [parameters] table of named numbers, an
[attributes] table of facts read from parcels' attributes JSON (name = default) and [[lines]] with code,
label_fa, label_en, kind (value | charge | reduction), formula, legal_basis (Persian, the text of record),
legal_basis_en (its English; a book without it still loads, and English pages show the Persian), hide_if_zero.

Plain data in, plain data out: no model here (dues.models.TariffBook stores a book and calls compile_book with its
fields; dues/loader.py writes the files' books into the database, all or none).
"""

import re
import tomllib
from dataclasses import dataclass, field, fields
from decimal import Decimal
from pathlib import Path

from django.utils.translation import gettext as _

from dues import facts as facts_module
from dues.formulas import Formula, FormulaError

DRAFT, APPROVED = "draft", "approved"
STATUSES = (DRAFT, APPROVED)
KINDS = ("value", "charge", "reduction")
_CODE = re.compile(r"^[a-z][a-z0-9_]*$")
_REQUIRED = ("year", "name", "status", "title_fa", "discount_percent", "penalty_percent_per_month",
             "penalty_cap_percent", "lines")


class TariffError(ValueError):
    pass


class NoTariffBook(TariffError):
    """A year without an approved tariff book: an error, never a guess."""


@dataclass
class BookData:
    """A tariff book as plain data: what a file holds and what dues.models.TariffBook stores, field for field."""

    year: int
    name: str
    status: str
    title_fa: str
    discount_percent: Decimal
    penalty_percent_per_month: Decimal
    penalty_cap_percent: Decimal
    lines: list
    title_en: str = ""
    approval: str = ""
    parameters: dict = field(default_factory=dict)
    attributes: dict = field(default_factory=dict)
    source_file: str = ""


FIELDS = tuple(f.name for f in fields(BookData))


@dataclass
class Line:
    code: str
    label_fa: str
    label_en: str
    kind: str
    formula: Formula
    legal_basis: str
    hide_if_zero: bool
    legal_basis_en: str = ""


@dataclass
class CompiledBook:
    book: BookData
    lines: list[Line]
    facts: set[str]          # the parcel facts the formulas use

    @property
    def parameters(self) -> dict[str, Decimal]:
        return {k: Decimal(str(v)) for k, v in self.book.parameters.items()}


def formula_message(exc: FormulaError) -> str:
    """A formula's problem in the reader's language (dues.formulas is pure: it gives the English template)."""
    return _(exc.msgid) % exc.params


def compile_book(book: BookData) -> CompiledBook:
    """Check a book and parse its formulas; TariffError lists every problem found."""
    problems = []
    if book.status not in STATUSES:
        problems.append(_("status %(status)r is not draft or approved") % {"status": book.status})
    if not 1300 <= int(book.year or 0) <= 1500:
        problems.append(_("year %(year)r is not a Jalali year (1300–1500)") % {"year": book.year})
    for name in ("discount_percent", "penalty_percent_per_month", "penalty_cap_percent"):
        value = getattr(book, name)
        if value is None or not 0 <= Decimal(str(value)) <= 100:
            problems.append(_("%(field)s %(value)r must be a percentage between 0 and 100")
                            % {"field": name, "value": value})
    attributes = book.attributes or {}
    fact_names = facts_module.fact_names(attributes)
    for name, default in attributes.items():
        if not _CODE.match(name) or name in facts_module.FIXED:
            problems.append(_("attribute fact %(name)r must be a new lower-case name") % {"name": name})
        if not isinstance(default, (int, float)) or isinstance(default, bool):
            problems.append(_("attribute fact %(name)r needs a numeric default, not %(value)r")
                            % {"name": name, "value": default})
    parameters = book.parameters or {}
    for name, value in parameters.items():
        if not _CODE.match(name) or name in fact_names:
            problems.append(_("parameter %(name)r must be a lower-case name that is not a fact") % {"name": name})
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            problems.append(_("parameter %(name)r must be a number, not %(value)r") % {"name": name, "value": value})
    allowed = fact_names | set(parameters)
    lines, used = [], set()
    if not isinstance(book.lines, list) or not book.lines:
        problems.append(_("a book needs at least one line"))
    for i, raw in enumerate(book.lines if isinstance(book.lines, list) else []):
        code = raw.get("code", "") if isinstance(raw, dict) else ""
        where = _("line %(number)s (%(code)s)") % {"number": i + 1, "code": code or _("no code")}
        if not isinstance(raw, dict):
            problems.append(_("%(where)s: not a table") % {"where": where})
            continue
        if not _CODE.match(code) or code in allowed:
            problems.append(_("%(where)s: code must be a new lower-case name (not a fact, parameter or earlier "
                              "line)") % {"where": where})
            continue
        kind = raw.get("kind", "charge")
        if kind not in KINDS:
            problems.append(_("%(where)s: kind %(kind)r is not one of %(kinds)s")
                            % {"where": where, "kind": kind, "kinds": ", ".join(KINDS)})
        if kind == "reduction" and not raw.get("legal_basis"):
            problems.append(_("%(where)s: a reduction or exemption needs its legal_basis") % {"where": where})
        if raw.get("legal_basis_en") and not raw.get("legal_basis"):
            problems.append(_("%(where)s: legal_basis_en needs the Persian legal_basis it translates")
                            % {"where": where})
        for name in ("legal_basis", "legal_basis_en"):
            if not isinstance(raw.get(name, ""), str):
                problems.append(_("%(where)s: %(field)s must be text") % {"where": where, "field": name})
        if not raw.get("label_fa"):
            problems.append(_("%(where)s: label_fa is missing") % {"where": where})
        try:
            formula = Formula(str(raw.get("formula", "")), allowed)
        except FormulaError as exc:
            problems.append(f"{where}: {formula_message(exc)}")
            allowed.add(code)
            continue
        used |= formula.names & fact_names
        allowed.add(code)
        lines.append(Line(code, raw.get("label_fa", ""), raw.get("label_en", ""), kind, formula,
                          str(raw.get("legal_basis", "")), bool(raw.get("hide_if_zero", False)),
                          str(raw.get("legal_basis_en", ""))))
    if not any(line.kind != "value" for line in lines) and not problems:
        problems.append(_("a book needs at least one charge line"))
    if problems:
        raise TariffError(_("tariff book %(year)s %(name)s: %(problems)s")
                          % {"year": book.year, "name": book.name, "problems": "; ".join(problems)})
    return CompiledBook(book, lines, used)


def read_file(path: Path) -> BookData:
    """A book file as plain data (TariffError if it cannot be read); compile_book checks its content."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise TariffError(f"{path}: {exc}") from None
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        raise TariffError(_("%(path)s: missing %(keys)s") % {"path": path, "keys": ", ".join(missing)})
    unknown = set(data) - set(_REQUIRED) - {"title_en", "approval", "parameters", "attributes"}
    if unknown:
        raise TariffError(_("%(path)s: unknown keys %(keys)s") % {"path": path, "keys": ", ".join(sorted(unknown))})
    return BookData(
        year=data["year"], name=data["name"], status=data["status"], title_fa=data["title_fa"],
        title_en=data.get("title_en", ""), approval=data.get("approval", ""),
        discount_percent=Decimal(str(data["discount_percent"])),
        penalty_percent_per_month=Decimal(str(data["penalty_percent_per_month"])),
        penalty_cap_percent=Decimal(str(data["penalty_cap_percent"])),
        parameters=data.get("parameters", {}), attributes=data.get("attributes", {}), lines=data["lines"],
        source_file=str(path),
    )
