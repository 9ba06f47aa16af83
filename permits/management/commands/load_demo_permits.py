"""manage.py load_demo_permits: demo permit cases on the loaded city (permits/demo.py), in one transaction."""

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from common.commands import BaseCommand
from permits import demo


class Command(BaseCommand):
    help = "Make demo permit cases (through the real service) on the loaded city; one transaction."

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, default=demo.DEFAULT_COUNT)
        parser.add_argument("--seed", type=int, default=demo.DEFAULT_SEED)
        parser.add_argument("--if-absent", action="store_true", help="do nothing when demo cases exist already")

    def handle(self, *args, **opts):
        if not 1 <= opts["count"] <= 10_000:
            raise CommandError(_("--count must be between 1 and 10,000"))
        if opts["if_absent"] and demo.demo_cases_exist():
            self.stdout.write(_("Demo permit cases already loaded; nothing to do."))
            return
        by_status = demo.generate(opts["count"], seed=opts["seed"],
                                  say=self.stdout.write if opts["verbosity"] > 1 else None)
        self.stdout.write(_("Demo permit cases loaded: %(counts)s")
                          % {"counts": ", ".join(f"{k} {v}" for k, v in sorted(by_status.items()))})
