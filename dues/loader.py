"""Loading tariff book files into the database (manage.py load_tariff_book), the shape of the other loaders: every
file is read and checked first (dues.tariffs), then the set as a whole (one file per year and name; at most one
approved book per year, counting the books already stored). A dry run reports every problem and what would change;
a commit writes all books in one transaction, or none. A changed book is updated in place and its history (the
admin's) keeps the before and after."""

from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path

from django.db import transaction
from django.utils.translation import gettext as _

from dues.models import TariffBook
from dues.tariffs import APPROVED, DRAFT, FIELDS, BookData, TariffError, compile_book, read_file

CREATE, UPDATE, UNCHANGED = "create", "update", "unchanged"


@dataclass
class Change:
    """What loading one file does to the stored books."""

    book: BookData
    action: str                                          # CREATE, UPDATE or UNCHANGED
    fields: list[str] = field(default_factory=list)     # the fields an UPDATE changes

    def describe(self, committed: bool) -> str:
        if self.action == CREATE:
            what = _("created") if committed else _("would be created")
        elif self.action == UPDATE:
            what = (_("updated: %(fields)s") if committed else _("would be updated: %(fields)s")) % {
                "fields": ", ".join(self.fields)}
        else:
            what = _("unchanged")
        return f"{self.book.year} {self.book.name} ({self.book.status}): {what}"


@dataclass
class Plan:
    changes: list[Change]
    problems: list[str]


def _norm(value):
    return Decimal(str(value)) if isinstance(value, (Decimal, float, int)) and not isinstance(value, bool) else value


def plan(paths: list[Path]) -> Plan:
    """Read and check every file and the set as a whole; writes nothing."""
    books, problems = [], []
    for path in paths:
        try:
            book = read_file(path)
            compile_book(book)
            books.append(book)
        except TariffError as exc:
            problems.append(str(exc))
    keys = [(b.year, b.name) for b in books]
    for year, name in sorted({k for k in keys if keys.count(k) > 1}):
        problems.append(_("%(year)s %(name)s is in several files") % {"year": year, "name": name})
    stored = {(b.year, b.name): b for b in TariffBook.objects.filter(year__in={b.year for b in books})}
    # The statuses once loaded: each year may end with one approved book at most.
    statuses = {key: b.status for key, b in stored.items()} | {(b.year, b.name): b.status for b in books}
    for year in sorted({year for year, _name in statuses}):
        approved = sorted(name for (y, name), status in statuses.items() if y == year and status == APPROVED)
        if len(approved) > 1:
            problems.append(_("%(year)s would have more than one approved book (%(names)s): set the others to "
                              "draft first") % {"year": year, "names": ", ".join(approved)})
    changes = []
    for book in books:
        existing = stored.get((book.year, book.name))
        if existing is None:
            changes.append(Change(book, CREATE))
            continue
        changed = [f for f in FIELDS if f != "source_file" and _norm(getattr(existing, f)) != _norm(getattr(book, f))]
        changes.append(Change(book, UPDATE, changed) if changed else Change(book, UNCHANGED))
    return Plan(changes, problems)


def apply(checked: Plan) -> list[tuple[TariffBook, Change]]:
    """Write a plan without problems, all in one transaction."""
    assert not checked.problems, "a plan with problems is never applied"
    results = []
    # Books becoming drafts first, so that a year's new approved book never meets the old one still approved
    # (the table allows one approved book per year).
    ordered = sorted(checked.changes, key=lambda c: c.book.status != DRAFT)
    with transaction.atomic():
        for change in ordered:
            book = change.book
            if change.action == CREATE:
                stored = TariffBook.objects.create(**asdict(book))
            else:
                stored = TariffBook.objects.get(year=book.year, name=book.name)
                if change.action == UPDATE:
                    for name in FIELDS:
                        setattr(stored, name, getattr(book, name))
                    stored.save()
            results.append((stored, change))
    order = {id(c): i for i, c in enumerate(checked.changes)}
    return sorted(results, key=lambda r: order[id(r[1])])   # in the files' order, as they were given


def load_files(paths: list[Path]) -> list[tuple[TariffBook, Change]]:
    """Check every file, then write all books (TariffError listing every problem, and nothing written)."""
    checked = plan(paths)
    if checked.problems:
        raise TariffError(_("nothing loaded:") + "\n  " + "\n  ".join(checked.problems))
    return apply(checked)
