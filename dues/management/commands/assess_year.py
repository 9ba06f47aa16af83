"""manage.py assess_year 1405 [--what-if NAME] — assess every parcel for a year with its approved tariff book,
or compare a draft book of that year with the approved one, by district (writes nothing)."""

from django.core.management.base import BaseCommand, CommandError

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
                    raise CommandError(f"No tariff book {what_if!r} for {year}.")
                self._what_if(draft)
                return
            result = assess_year(year, run_by="manage.py", progress=True)
        except TariffError as exc:
            raise CommandError(str(exc)) from None
        run = result.run
        self.stdout.write(f"{year} with {run.book.name}: {run.created} new, {run.reassessed} reassessed, "
                          f"{run.unchanged} unchanged, {run.bills_superseded} open bills superseded (run {run.pk})")
        self.stdout.write(f"{'district':<10} {'parcels':>9} {'dues (rials)':>22}")
        for row in result.summary:
            self.stdout.write(f"{row['district'] or '-':<10} {row['parcels']:>9,} {row['dues']:>22,}")

    def _what_if(self, draft):
        rows = what_if(draft)
        self.stdout.write(f"What-if {draft.year}: {draft.name} ({draft.status}) against the approved book")
        self.stdout.write(f"{'district':<10} {'parcels':>9} {'current':>20} {'draft':>20} {'change':>8}")
        for r in rows:
            change = "" if r["change_percent"] is None else f"{r['change_percent']:+.1f}%"
            self.stdout.write(f"{r['district'] or '-':<10} {r['parcels']:>9,} {r['current']:>20,} {r['draft']:>20,} "
                              f"{change:>8}")
        a, b = sum(r["current"] for r in rows), sum(r["draft"] for r in rows)
        self.stdout.write(f"{'total':<10} {'':>9} {a:>20,} {b:>20,}")
