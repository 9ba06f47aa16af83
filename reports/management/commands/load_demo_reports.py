"""manage.py load_demo_reports: years of demo reports on the loaded city (reports/demo.py), in one transaction.

A rerun replaces the demo reports (those of the 0990 test numbers); with --if-absent it does nothing when there are
some already (what ./run demo does)."""

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from common.commands import BaseCommand
from reports import demo


class Command(BaseCommand):
    help = "Generate demo reports (the 137 line) on the loaded city and its report categories; one transaction."

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, default=demo.DEFAULT_COUNT,
                            help=f"how many reports (default {demo.DEFAULT_COUNT:,})")
        parser.add_argument("--seed", type=int, default=demo.DEFAULT_SEED)
        parser.add_argument("--years", type=float, default=demo.DEFAULT_YEARS,
                            help=f"over how many years before now (default {demo.DEFAULT_YEARS})")
        parser.add_argument("--if-absent", action="store_true", help="do nothing when demo reports exist already")

    def handle(self, *args, **opts):
        if not 1 <= opts["count"] <= 5_000_000:
            raise CommandError(_("--count must be between 1 and 5,000,000"))
        if not 0 < opts["years"] <= 30:
            raise CommandError(_("--years must be more than 0 and at most 30"))
        if opts["if_absent"] and demo.demo_reports_exist():
            self.stdout.write(_("Demo reports already loaded; nothing to do."))
            return
        self.stdout.write(_("Generating %(count)s demo reports over %(years)s years (seed %(seed)s) …")
                          % {"count": f"{opts['count']:,}", "years": f"{opts['years']:g}", "seed": opts["seed"]})
        try:
            result = demo.generate(opts["count"], seed=opts["seed"], years=opts["years"],
                                   say=self.stdout.write if opts["verbosity"] > 1 else None)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(self.style.SUCCESS(
            _("Demo reports loaded: %(reports)s reports, %(events)s events, %(followers)s followers in %(seconds)s s")
            % {"reports": f"{result['reports']:,}", "events": f"{result['events']:,}",
               "followers": f"{result['followers']:,}", "seconds": result["seconds"]}
            + ((" " + _("(replacing %(count)s)") % {"count": f"{result['removed']:,}"}) if result["removed"] else "")))
