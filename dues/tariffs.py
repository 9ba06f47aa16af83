"""Tariff books: reading the yearly TOML files of data/tariffs/, checking them, and compiling their formulas.

A book file (see data/tariffs/1403.toml) has: year, name, status (draft | approved), title_fa, title_en, approval,
discount_percent, penalty_percent_per_month, penalty_cap_percent, a [parameters] table of named numbers, an
[attributes] table of facts read from parcels' attributes JSON (name = default) and [[lines]] with code,
label_fa, label_en, kind (value | charge | reduction), formula, legal_basis, hide_if_zero.

Loading is all-or-nothing: every file is checked first and every problem reported with its file and line code;
nothing is written unless all files are good.
"""

import re
import tomllib
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.db import transaction

from dues import facts as facts_module
from dues.formulas import Formula, FormulaError
from dues.models import TariffBook

KINDS = ("value", "charge", "reduction")
_CODE = re.compile(r"^[a-z][a-z0-9_]*$")
_REQUIRED = ("year", "name", "status", "title_fa", "discount_percent", "penalty_percent_per_month",
             "penalty_cap_percent", "lines")


class TariffError(ValueError):
    pass


class NoTariffBook(TariffError):
    """A year without an approved tariff book: an error, never a guess."""


@dataclass
class Line:
    code: str
    label_fa: str
    label_en: str
    kind: str
    formula: Formula
    legal_basis: str
    hide_if_zero: bool


@dataclass
class CompiledBook:
    book: TariffBook
    lines: list[Line]
    facts: set[str]          # the parcel facts the formulas use

    @property
    def parameters(self) -> dict[str, Decimal]:
        return {k: Decimal(str(v)) for k, v in self.book.parameters.items()}


def compile_book(book: TariffBook) -> CompiledBook:
    """Check a book and parse its formulas; TariffError lists every problem found."""
    problems = []
    if book.status not in TariffBook.Status.values:
        problems.append(f"status {book.status!r} is not draft or approved")
    if not 1300 <= int(book.year or 0) <= 1500:
        problems.append(f"year {book.year!r} is not a Jalali year (1300–1500)")
    for field in ("discount_percent", "penalty_percent_per_month", "penalty_cap_percent"):
        value = getattr(book, field)
        if value is None or not 0 <= Decimal(str(value)) <= 100:
            problems.append(f"{field} {value!r} must be a percentage between 0 and 100")
    attributes = book.attributes or {}
    fact_names = facts_module.fact_names(attributes)
    for name, default in attributes.items():
        if not _CODE.match(name) or name in facts_module.FIXED:
            problems.append(f"attribute fact {name!r} must be a new lower-case name")
        if not isinstance(default, (int, float)) or isinstance(default, bool):
            problems.append(f"attribute fact {name!r} needs a numeric default, not {default!r}")
    parameters = book.parameters or {}
    for name, value in parameters.items():
        if not _CODE.match(name) or name in fact_names:
            problems.append(f"parameter {name!r} must be a lower-case name that is not a fact")
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            problems.append(f"parameter {name!r} must be a number, not {value!r}")
    allowed = fact_names | set(parameters)
    lines, used = [], set()
    if not isinstance(book.lines, list) or not book.lines:
        problems.append("a book needs at least one line")
    for i, raw in enumerate(book.lines if isinstance(book.lines, list) else []):
        code = raw.get("code", "") if isinstance(raw, dict) else ""
        where = f"line {i + 1} ({code or 'no code'})"
        if not isinstance(raw, dict):
            problems.append(f"{where}: not a table")
            continue
        if not _CODE.match(code) or code in allowed:
            problems.append(f"{where}: code must be a new lower-case name (not a fact, parameter or earlier line)")
            continue
        kind = raw.get("kind", "charge")
        if kind not in KINDS:
            problems.append(f"{where}: kind {kind!r} is not one of {', '.join(KINDS)}")
        if kind == "reduction" and not raw.get("legal_basis"):
            problems.append(f"{where}: a reduction or exemption needs its legal_basis")
        if not raw.get("label_fa"):
            problems.append(f"{where}: label_fa is missing")
        try:
            formula = Formula(str(raw.get("formula", "")), allowed)
        except FormulaError as exc:
            problems.append(f"{where}: {exc}")
            allowed.add(code)
            continue
        used |= formula.names & fact_names
        allowed.add(code)
        lines.append(Line(code, raw.get("label_fa", ""), raw.get("label_en", ""), kind, formula,
                          raw.get("legal_basis", ""), bool(raw.get("hide_if_zero", False))))
    if not any(line.kind != "value" for line in lines) and not problems:
        problems.append("a book needs at least one charge line")
    if problems:
        raise TariffError(f"tariff book {book.year} {book.name}: " + "; ".join(problems))
    return CompiledBook(book, lines, used)


def approved_book(year: int) -> TariffBook:
    book = TariffBook.objects.filter(year=year, status=TariffBook.Status.APPROVED).first()
    if book is None:
        raise NoTariffBook(f"No approved tariff book for {year}: load and approve one (manage.py load_tariff_book).")
    return book


def read_file(path: Path) -> TariffBook:
    """A book file as an unsaved TariffBook (TariffError if it cannot be read)."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise TariffError(f"{path}: {exc}") from None
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        raise TariffError(f"{path}: missing {', '.join(missing)}")
    unknown = set(data) - set(_REQUIRED) - {"title_en", "approval", "parameters", "attributes"}
    if unknown:
        raise TariffError(f"{path}: unknown keys {', '.join(sorted(unknown))}")
    return TariffBook(
        year=data["year"], name=data["name"], status=data["status"], title_fa=data["title_fa"],
        title_en=data.get("title_en", ""), approval=data.get("approval", ""),
        discount_percent=Decimal(str(data["discount_percent"])),
        penalty_percent_per_month=Decimal(str(data["penalty_percent_per_month"])),
        penalty_cap_percent=Decimal(str(data["penalty_cap_percent"])),
        parameters=data.get("parameters", {}), attributes=data.get("attributes", {}), lines=data["lines"],
        source_file=str(path),
    )


_FIELDS = ("status", "title_fa", "title_en", "approval", "discount_percent", "penalty_percent_per_month",
           "penalty_cap_percent", "parameters", "attributes", "lines", "source_file")


def load_files(paths: list[Path]) -> list[tuple[TariffBook, str]]:
    """Check every file, then write all books in one transaction (created / updated / unchanged each).
    A changed book is updated in place and its history keeps the before and after."""
    books, problems = [], []
    for path in paths:
        try:
            book = read_file(path)
            compile_book(book)
            books.append(book)
        except TariffError as exc:
            problems.append(str(exc))
    keys = [(b.year, b.name) for b in books]
    duplicates = {k for k in keys if keys.count(k) > 1}
    if duplicates:
        problems.append("the same year and name in several files: " + ", ".join(f"{y} {n}" for y, n in duplicates))
    approved = [b.year for b in books if b.status == TariffBook.Status.APPROVED]
    if len(approved) != len(set(approved)):
        problems.append("more than one approved book for a year among the files")
    if problems:
        raise TariffError("nothing loaded:\n  " + "\n  ".join(problems))
    results = []
    with transaction.atomic():
        for book in books:
            existing = TariffBook.objects.filter(year=book.year, name=book.name).first()
            if existing is None:
                if book.status == TariffBook.Status.APPROVED:
                    _refuse_second_approved(book)
                book.save()
                results.append((book, "created"))
                continue
            changed = [f for f in _FIELDS if f != "source_file" and _norm(getattr(existing, f)) != _norm(getattr(book, f))]
            if not changed:
                results.append((existing, "unchanged"))
                continue
            if book.status == TariffBook.Status.APPROVED and existing.status != book.status:
                _refuse_second_approved(book)
            for f in _FIELDS:
                setattr(existing, f, getattr(book, f))
            existing.save()
            results.append((existing, "updated: " + ", ".join(changed)))
    return results


def _refuse_second_approved(book):
    other = TariffBook.objects.filter(year=book.year, status=TariffBook.Status.APPROVED).exclude(name=book.name).first()
    if other:
        raise TariffError(f"nothing loaded: {book.year} already has the approved book {other.name!r}; "
                          f"set it to draft first")


def _norm(value):
    return Decimal(str(value)) if isinstance(value, (Decimal, float, int)) and not isinstance(value, bool) else value
