"""manage.py setup_municipality: migrate the current municipality's database (MUNICIPALITY) and load what every
city needs before its own data: the default notice texts, the 137 line's categories and departments, the permit
office's desks and case types. Its own parcels, rulebook and tariff books are its own to load. A rerun changes
nothing that is already there (each loader keeps what staff edited). add_municipality runs it."""

import io

from django.core.management import call_command
from django.utils.translation import gettext as _

from common import municipality
from common.commands import BaseCommand

SEEDS = (("load_notice_templates", "--commit"), ("load_report_categories", "--commit"),
         ("load_permit_types", "--commit"))


class Command(BaseCommand):
    help = "Migrate the current municipality's database (MUNICIPALITY) and load the data every city needs."

    def add_arguments(self, parser):
        parser.add_argument("--no-migrate", action="store_true", help="only load the data (already migrated)")

    def handle(self, *args, **opts):
        m = municipality.current()
        quiet = max(0, opts["verbosity"] - 1)
        if not opts["no_migrate"]:
            call_command("migrate", interactive=False, verbosity=quiet)
        for seed in SEEDS:
            call_command(*seed, verbosity=quiet, stdout=self.stdout._out if quiet else io.StringIO())
        self.stdout.write(_("%(name)s is ready: migrated, default notices, report categories and permit types "
                            "loaded.") % {"name": m.name_en or m.name})
