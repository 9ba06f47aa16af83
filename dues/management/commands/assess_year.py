"""manage.py assess_year 1405 [--what-if NAME] — assess every parcel for a year with its approved tariff book,
or compare a draft book of that year with the approved one, by district (writes nothing)."""

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from common.commands import BaseCommand
from dues.assessment import assess_year, what_if
from dues.models import TariffBook
from dues.tariffs import TariffError


class Command(BaseCommand):
    help = "City-wide assessment of renewal dues for a Jalali year (set-based, idempotent), or a what-if run."

    def add_arguments(self, parser):
        parser.add_argument("year", type=int)
        parser.add_argument("--what-if", metavar="BOOK_NAME", help="a draft book of the year to compare")

    def handle(self, *args, year, what_if: str | None = None, **options):
        try:
            if what_if:
                draft = TariffBook.objects.filter(year=year, name=what_if).first()
                if draft is None:
                    raise CommandError(_("No tariff book %(name)r for %(year)s.") % {"name": what_if, "year": year})
                self._what_if(draft)
                return
            result = assess_year(year, run_by="manage.py", progress=True)
        except TariffError as exc:
            raise CommandError(str(exc)) from None
        run = result.run
        self.stdout.write(_("%(year)s with %(book)s: %(created)s new, %(reassessed)s reassessed, %(unchanged)s "
                            "unchanged, %(superseded)s open bills superseded (run %(run)s)")
                          % {"year": year, "book": run.book.name, "created": run.created, "reassessed": run.reassessed,
                             "unchanged": run.unchanged, "superseded": run.bills_superseded, "run": run.pk})
        # headings as plain gettext calls: xgettext does not look inside f-strings
        self.stdout.write("{:<10} {:>9} {:>22}".format(_("district"), _("parcels"), _("dues (rials)")))
        for row in result.summary:
            self.stdout.write(f"{row['district'] or '-':<10} {row['parcels']:>9,} {row['dues']:>22,}")

    def _what_if(self, draft):
        rows = what_if(draft)
        self.stdout.write(_("What-if %(year)s: %(name)s (%(status)s) against the approved book")
                          % {"year": draft.year, "name": draft.name, "status": draft.get_status_display()})
        self.stdout.write("{:<10} {:>9} {:>20} {:>20} {:>8}".format(_("district"), _("parcels"), _("current"),
                                                                    _("draft"), _("change")))
        for r in rows:
            change = "" if r["change_percent"] is None else f"{r['change_percent']:+.1f}%"
            self.stdout.write(f"{r['district'] or '-':<10} {r['parcels']:>9,} {r['current']:>20,} {r['draft']:>20,} "
                              f"{change:>8}")
        a, b = sum(r["current"] for r in rows), sum(r["draft"] for r in rows)
        self.stdout.write("{:<10} {:>9} {:>20,} {:>20,}".format(_("total"), "", a, b))
