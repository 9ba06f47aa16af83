"""manage.py load_tariff_book data/tariffs/*.toml [--commit] — check every tariff book file and, with --commit, load
them all or none.

A dry run by default (like load_rulebook and import_parcels): every problem is listed with its file and line code,
and what loading would change (books created, updated and which fields, unchanged); nothing is written. --commit
writes every book in one transaction, and only when there is no problem at all."""

from pathlib import Path

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from common.commands import BaseCommand
from dues import loader


class Command(BaseCommand):
    help = "Check (and with --commit load) tariff books: one TOML file per Jalali year and name; all files or none."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", type=Path)
        parser.add_argument("--commit", action="store_true", help="write them (default: check and report only)")

    def handle(self, *args, files, commit, **options):
        checked = loader.plan(files)
        if checked.problems:
            raise CommandError(_("%(count)s problem(s), nothing was written:") % {"count": len(checked.problems)}
                               + "\n  " + "\n  ".join(checked.problems))
        if not commit:
            for change in checked.changes:
                self.stdout.write(change.describe(committed=False))
            self.stdout.write(_("Dry run: nothing written (add --commit)."))
            return
        for _book, change in loader.apply(checked):
            self.stdout.write(change.describe(committed=True))
        self.stdout.write(self.style.SUCCESS(_("Loaded %(count)s tariff book file(s).") % {"count": len(files)}))
