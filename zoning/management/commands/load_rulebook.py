"""manage.py load_rulebook FILE [--commit]: check a rulebook file (TOML) and, with --commit, load it.

A dry run by default: it lists every problem with its place in the file. --commit writes all or nothing; loading a
file whose code is already there replaces that version's rules (their history is kept in the admin)."""

from pathlib import Path

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from common.commands import BaseCommand
from zoning.rulebook import RulebookError, parse_rulebook, save_rulebook, words


class Command(BaseCommand):
    help = "Check (and with --commit load) a zoning rulebook file."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--commit", action="store_true", help="write it (default: check and report only)")
        parser.add_argument("--if-absent", action="store_true", help="do nothing when this rulebook code is loaded")

    def handle(self, *args, path, commit, if_absent, **opts):
        from parcels.models import LandUse
        from zoning.models import Rulebook

        try:
            book = parse_rulebook(path, set(LandUse.objects.values_list("code", flat=True)))
        except RulebookError as exc:
            heading = _("%(path)s: %(count)s problem(s), nothing was written:") % {"path": path,
                                                                                    "count": len(exc.problems)}
            raise CommandError(heading + "\n  " + "\n  ".join(p.words() for p in exc.problems)) from None
        self.stdout.write(words(book.summary()))
        if if_absent and Rulebook.objects.filter(code=book.code).exists():
            self.stdout.write(_("Rulebook %(code)s already loaded; nothing to do.") % {"code": book.code})
            return
        if not commit:
            self.stdout.write(_("Dry run: nothing written (add --commit)."))
            return
        rulebook = save_rulebook(book, source=str(path))
        self.stdout.write(self.style.SUCCESS(_("Loaded %(code)s: %(count)s rules.")
                                             % {"code": rulebook.code, "count": rulebook.rules.count()}))
