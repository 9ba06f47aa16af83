"""The public tariff pages (/transparency/tariffs/…): anonymous, Persian first, approved books only.

Request → dues.public_pages → response. The book page reads two rows (this year's book with the previous one, in
one query, and the stored effect by district); nothing city-wide runs on a view."""

from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from common.errors import NotFound
from dues import public_pages


def _book(year: int):
    book, previous = public_pages.book_and_previous(year)
    if book is None:
        raise NotFound(_("No approved tariff book for %(year)s is published.") % {"year": year})
    return book, previous


@require_GET
def tariff_books(request):
    books = list(public_pages.published().only("year", "name", "title_fa", "title_en", "approval", "loaded_at"))
    return render(request, "dues/public/tariff_books.html", {"books": books})


@require_GET
def tariff_book(request, year):
    book, previous = _book(year)
    return render(request, "dues/public/tariff_book.html", {
        "book": book, "previous": previous, "lines": public_pages.lines(book),
        "diff": public_pages.diff(book, previous), "effect": public_pages.stored_effect(book, previous),
    })


def _download(text: str, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(text, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
def tariff_book_toml(request, year):
    book, _previous = _book(year)
    return _download(public_pages.book_toml(book), "application/toml; charset=utf-8", f"tariff-book-{year}.toml")


@require_GET
def tariff_book_json(request, year):
    book, _previous = _book(year)
    return _download(public_pages.book_json(book), "application/json; charset=utf-8", f"tariff-book-{year}.json")


@require_GET
def tariff_book_csv(request, year):
    book, _previous = _book(year)
    return _download(public_pages.lines_csv(book), "text/csv; charset=utf-8", f"tariff-book-{year}-lines.csv")
