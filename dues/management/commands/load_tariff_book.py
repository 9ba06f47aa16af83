"""manage.py load_tariff_book data/tariffs/*.toml — check every file, then load all of them or none."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from dues.tariffs import TariffError, load_files


class Command(BaseCommand):
    help = "Load tariff books (one TOML file per Jalali year and name); all files or none."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", type=Path)

    def handle(self, *args, files, **options):
        try:
            results = load_files(files)
        except TariffError as exc:
            raise CommandError(str(exc)) from None
        for book, what in results:
            self.stdout.write(f"{book.year} {book.name} ({book.status}): {what}")
