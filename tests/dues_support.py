"""Shared by the dues tests that need committed data (the gunicorn server reads it from another connection)."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BOOKS = sorted((ROOT / "data" / "tariffs").glob("*.toml"))


@pytest.fixture(scope="session")
def dues_city(demo_city, django_db_blocker):
    """The demo tariff books loaded and this year and last year assessed, committed once per session. When the
    clock has passed the demo books' last year, the last demo book is copied to the years needed (so the tests
    keep working next year; a real city loads its own books)."""
    from dataclasses import asdict

    from dues import billing
    from dues.assessment import assess_year
    from dues.loader import load_files
    from dues.models import TariffBook
    from dues.tariffs import read_file

    this = billing.today().year
    with django_db_blocker.unblock():
        load_files(BOOKS)
        for year in (this - 1, this):
            if not TariffBook.objects.filter(year=year, status="approved").exists():
                book = read_file([p for p in BOOKS if "draft" not in p.name][-1])
                TariffBook.objects.create(**{**asdict(book), "year": year, "name": f"test-copy-{year}",
                                             "status": "approved"})
            assess_year(year)
    return this


def forget_documents(docs) -> None:
    """Remove committed issued documents (bills', receipts'), their files and their waiting render jobs: a job left
    waiting would be printed by every later test that runs the render jobs (tests/documents/conftest.py)."""
    from django.db import connection

    docs = list(docs)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs WHERE task_name = 'documents.render' "
                       "AND (args->>'document_id')::int = ANY(%s)", [[d.pk for d in docs]])
    for doc in docs:
        if doc.file:
            doc.file.delete(save=False)
        doc.delete()


@pytest.fixture(scope="module")
def forget_module_documents(django_db_blocker):
    """Documents of dues (bills and receipts) the module's tests committed are removed when the module ends."""
    from django.db.models import Max

    from documents.models import IssuedDocument

    with django_db_blocker.unblock():
        before = IssuedDocument.objects.aggregate(m=Max("pk"))["m"] or 0
    yield
    with django_db_blocker.unblock():
        forget_documents(IssuedDocument.objects.filter(pk__gt=before, source__startswith="dues."))
