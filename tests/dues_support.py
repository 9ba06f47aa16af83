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
