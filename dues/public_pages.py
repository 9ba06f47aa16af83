"""The tariff books in the open (شفافیت: دفترچه‌های تعرفه): the approved books by year, every line with its formula and
parameters, what changed from the previous approved book, its effect by district, the books as files, and their
entry in the open-data catalogue (registered from DuesConfig.ready()).

Drafts never leave here: only books with status approved are published.

The effect by district is two city-wide computations (dues.assessment.compare_books: each book over today's
cadastre), seconds at 100k parcels and more at a million, so a page view never runs it: it is computed once per pair
of books by `manage.py compute_tariff_effects --commit` (`./run demo` runs it after loading the books) and kept in
dues.TariffChangeEffect with a fingerprint of both books. A book edited since (the admin) makes its figures stale:
the page then says they are not computed for this version instead of showing figures of another one. A table rather
than the cache: the cache is per process (locmem) and forgets; the table survives restarts, goes into backups, and
says when the figures were computed and over how many parcels.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from decimal import Decimal

import tomli_w
from django.db.models import Max
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from dues import book_diff
from dues.models import TariffBook, TariffChangeEffect
from dues.tariffs import APPROVED, FIELDS

# What a formula's parcel facts mean (dues/facts.py), said to people next to the formula.
FACT_LABELS = {
    "land_area": _("land area (m²): the deed's, else the measured one"),
    "measured_area": _("measured area of the parcel (m²)"),
    "land_price": _("the block's regional land price (rials per m²)"),
    "street_land_price": _("land price of the dearest street the parcel fronts (rials per m²)"),
    "frontage_length": _("frontage length (m)"),
    "widest_street_width": _("width of the widest street fronted (m)"),
    "is_corner": _("corner parcel (1 or 0)"),
    "land_use": _("the parcel's land use"),
    "floor_area": _("gross floor area of the parcel's buildings (m²)"),
}
FLOOR_AREA_OF = gettext_noop("gross floor area of %(type)s buildings (m²)")
ATTRIBUTE_FACT = gettext_noop("from the parcel's recorded attributes (default %(default)s)")
PARAMETER, LINE, FACT = "parameter", "line", "fact"
KIND_LABELS = {"value": _("Value (not payable)"), "charge": _("Charge"), "reduction": _("Reduction or exemption")}
TERM_LABELS = {"discount_percent": _("Good-payer discount (%)"),
               "penalty_percent_per_month": _("Late penalty per month (%)"),
               "penalty_cap_percent": _("Cap of the late penalty (%)")}
FIELD_LABELS = {"formula": _("Formula"), "kind": _("Kind"), "label_fa": _("Title (Persian)"),
                "label_en": _("Title (English)"), "legal_basis": _("Legal basis"),
                "legal_basis_en": _("Legal basis (English)"), "hide_if_zero": _("Hidden when zero")}


def published():
    """The approved books, newest year first (drafts are never published)."""
    return TariffBook.objects.filter(status=APPROVED).order_by("-year")


def book_and_previous(year: int) -> tuple[TariffBook | None, TariffBook | None]:
    """The approved book of `year` and the approved book before it (the latest earlier year), in one query."""
    found = list(published().filter(year__lte=year)[:2])
    if not found or found[0].year != year:
        return None, None
    return found[0], found[1] if len(found) > 1 else None


def book_data(book: TariffBook) -> dict:
    """The book as its file holds it (dues.tariffs.FIELDS but where it was loaded from)."""
    return {name: getattr(book, name) for name in FIELDS if name != "source_file"}


def _plain(value):
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def fingerprint(book: TariffBook, previous: TariffBook) -> str:
    """The two books' contents hashed: the stored effect belongs to exactly these contents."""
    text = json.dumps([{k: _plain(v) for k, v in book_data(b).items()} for b in (previous, book)],
                      sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# -- a book's lines as people read them ------------------------------------------------------------------------------

def _fact_label(name: str, attributes: dict) -> str:
    if name in FACT_LABELS:
        return str(FACT_LABELS[name])
    if name in attributes:
        return gettext(ATTRIBUTE_FACT) % {"default": attributes[name]}
    if name.startswith("floor_area_"):
        return gettext(FLOOR_AREA_OF) % {"type": name.removeprefix("floor_area_")}
    return ""


def lines(book: TariffBook) -> list[dict]:
    """Every line with its formula as text and what each name in it is: a parameter (with its value), an earlier line
    (with its label) or a parcel fact (with what it means). No query: the book is one row."""
    parameters, attributes = book.parameters or {}, book.attributes or {}
    out, labels = [], {}
    for line in book.lines:
        names = []
        for name in book_diff.names_used(line.get("formula", "")):
            if name in parameters:
                names.append({"name": name, "kind": PARAMETER, "value": parameters[name]})
            elif name in labels:
                names.append({"name": name, "kind": LINE, "label": labels[name]})
            else:
                names.append({"name": name, "kind": FACT, "meaning": _fact_label(name, attributes)})
        out.append({**line, "kind": line.get("kind", "charge"),
                    "kind_label": KIND_LABELS.get(line.get("kind", "charge"), ""), "formula_text": book_diff.readable_formula(
            line.get("formula", "")), "names": names})
        labels[line["code"]] = line
    return out


def diff(book: TariffBook, previous: TariffBook | None) -> dict | None:
    """What changed from `previous` to `book`, ready for the page: the BookDiff, its terms with their labels, and the
    lines that changed (each field change with its label, each line with the book's line as `line`)."""
    if previous is None:
        return None
    found = book_diff.diff_books(book_data(previous), book_data(book))
    changed = found.changed_lines
    for line in changed:
        line.line = line.new or line.old
        line.formula_old = book_diff.readable_formula(line.old["formula"]) if line.old else ""
        line.formula_new = book_diff.readable_formula(line.new["formula"]) if line.new else ""
        for change in line.fields:
            change.label = FIELD_LABELS.get(change.name, change.name)
    return {"diff": found, "lines": changed, "unchanged": len(found.lines) - len(changed),
            "terms": [{"name": c.name, "label": TERM_LABELS[c.name], "old": c.old, "new": c.new} for c in found.terms],
            "counts": {status: len(found.lines_with(status))
                       for status in (book_diff.ADDED, book_diff.REMOVED, book_diff.CHANGED)}}


# -- the effect by district -------------------------------------------------------------------------------------------

def stored_effect(book: TariffBook, previous: TariffBook | None) -> dict | None:
    """The stored effect of `book` against `previous` (one query): {state, rows, totals, parcels, computed_at};
    state "missing" (not computed yet) or "stale" (a book changed since) carries no figures."""
    if previous is None:
        return None
    found = TariffChangeEffect.objects.filter(book=book, previous=previous).first()
    if found is None:
        return {"state": "missing"}
    if found.fingerprint != fingerprint(book, previous):
        return {"state": "stale", "computed_at": found.computed_at}
    before, after = sum(r["previous"] for r in found.rows), sum(r["current"] for r in found.rows)
    return {"state": "ready", "rows": found.rows, "parcels": found.parcels, "computed_at": found.computed_at,
            "totals": {"previous": before, "current": after,
                       "change_percent": None if not before else round((after - before) * 100 / before, 1)}}


def pairs() -> list[tuple[TariffBook, TariffBook]]:
    """Every approved book with the approved book before it."""
    books = list(published().order_by("year"))
    return [(book, previous) for previous, book in zip(books, books[1:])]


def effect_state(book: TariffBook, previous: TariffBook) -> str:
    """"ready", "stale" or "missing" (what compute_tariff_effects would do)."""
    return stored_effect(book, previous)["state"]


def compute_effect(book: TariffBook, previous: TariffBook) -> TariffChangeEffect:
    """Apply both books to today's cadastre by district and keep the figures (the city-wide work happens here)."""
    from dues.assessment import compare_books

    rows = [{"district": r["district"], "name": r["name"], "name_en": r["name_en"], "parcels": r["parcels"],
             "previous": r["current"], "current": r["draft"], "change_percent": r["change_percent"]}
            for r in compare_books(previous, book)]
    effect, _created = TariffChangeEffect.objects.update_or_create(
        book=book, previous=previous,
        defaults={"fingerprint": fingerprint(book, previous), "rows": rows, "computed_at": timezone.now(),
                  "parcels": sum(r["parcels"] for r in rows)})
    return effect


# -- the books as files -----------------------------------------------------------------------------------------------

def book_toml(book: TariffBook) -> str:
    """The book as a file `manage.py load_tariff_book` reads back (dues.tariffs.read_file)."""
    header = (f"# {book.title_en or book.title_fa}\n# {book.year} {book.name}: the approved tariff book as the portal "
              f"publishes it; manage.py load_tariff_book reads this file.\n")
    return header + tomli_w.dumps(book_data(book))


def book_json(book: TariffBook) -> str:
    return json.dumps({k: _plain(v) for k, v in book_data(book).items()}, ensure_ascii=False, indent=2)


CSV_COLUMNS = ("code", "kind", "label_fa", "label_en", "formula", "parameters", "legal_basis", "legal_basis_en",
               "hide_if_zero")


def lines_csv(book: TariffBook) -> str:
    """One row per line; `parameters` lists the book's parameters the formula uses, name=value separated by "; "."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for line in lines(book):
        used = "; ".join(f"{n['name']}={n['value']}" for n in line["names"] if n["kind"] == PARAMETER)
        writer.writerow([line["code"], line["kind"], line.get("label_fa", ""), line.get("label_en", ""),
                         " ".join(str(line.get("formula", "")).split()), used, line.get("legal_basis", ""),
                         line.get("legal_basis_en", ""), "true" if line.get("hide_if_zero") else "false"])
    return "\ufeff" + out.getvalue()     # with a BOM: spreadsheets read it as UTF-8


# -- the open-data catalogue ------------------------------------------------------------------------------------------

def _text(msgid: str, **params):
    """A catalogue label in the reader's language, worded when it is shown."""
    return lazy(lambda: gettext(msgid) % params, str)()


def _distributions():
    from transparency.registry import Distribution

    out = []
    for year in published().values_list("year", flat=True):
        out += [
            Distribution(_text(gettext_noop("Tariff book %(year)s (TOML, as the loader reads it)"), year=year),
                         "application/toml", "dues:tariff_book_toml", (year,), "TOML"),
            Distribution(_text(gettext_noop("Tariff book %(year)s (JSON)"), year=year), "application/json",
                         "dues:tariff_book_json", (year,), "JSON"),
            Distribution(_text(gettext_noop("Lines of the tariff book %(year)s (CSV)"), year=year), "text/csv",
                         "dues:tariff_book_csv", (year,), "CSV"),
        ]
    return out


def _modified():
    return published().aggregate(at=Max("loaded_at"))["at"]


def register() -> None:
    from transparency.registry import Dataset, register_dataset

    register_dataset(Dataset(
        key="tariff-books", title=_("Renewal-dues tariff books"),
        description=_("The council-approved tariff books of renewal dues by year: every bill line with its formula, "
                      "parameters and legal basis."),
        distributions=_distributions, modified=_modified, keywords=("tariff", "renewal dues", "عوارض نوسازی"),
        theme="finance", order=40, extra={"landing_page": "dues:tariff_books"},
    ))
