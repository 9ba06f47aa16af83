"""manage.py compute_tariff_effects [--year Y] [--all] [--commit] — the effect by district of each approved tariff book
against the approved book before it, computed over today's cadastre and kept for the public tariff pages
(dues/public_pages.py). A dry run lists which pairs are missing or stale; --commit computes those (--all: every
pair, e.g. after a large import changed the cadastre). Safe to rerun: a pair whose figures are up to date is left
alone."""

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from common.commands import BaseCommand
from dues import public_pages
from dues.tariffs import TariffError


class Command(BaseCommand):
    help = "Compute (with --commit) the effect by district of each approved tariff book against the previous one."

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, help="only the book of this year (against the one before it)")
        parser.add_argument("--all", action="store_true", help="recompute pairs whose figures are up to date too")
        parser.add_argument("--commit", action="store_true", help="compute and store (default: list what would be)")

    def handle(self, *args, year=None, all=False, commit=False, **options):
        pairs = [(b, p) for b, p in public_pages.pairs() if year is None or b.year == year]
        if year is not None and not pairs:
            raise CommandError(_("No approved tariff book of %(year)s with an approved book before it.")
                               % {"year": year})
        done = 0
        for book, previous in pairs:
            state = public_pages.effect_state(book, previous)
            label = f"{book.year} {book.name} ← {previous.year} {previous.name}"
            if state == "ready" and not all:
                self.stdout.write(_("%(pair)s: up to date") % {"pair": label})
                continue
            if not commit:
                self.stdout.write(_("%(pair)s: would be computed (%(state)s)") % {"pair": label, "state": state})
                continue
            try:
                effect = public_pages.compute_effect(book, previous)
            except TariffError as exc:
                raise CommandError(str(exc)) from None
            done += 1
            self.stdout.write(_("%(pair)s: computed over %(parcels)s parcels") % {"pair": label,
                                                                                   "parcels": effect.parcels})
        if not commit:
            self.stdout.write(_("Dry run: nothing written (add --commit)."))
        else:
            self.stdout.write(_("%(count)s pair(s) computed.") % {"count": done})
