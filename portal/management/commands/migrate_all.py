"""manage.py migrate_all: `migrate` in every municipality's database, one after the other (README, "Many
municipalities").

Each runs in a process of its own with MUNICIPALITY set, as a job worker of that municipality would: the geometry
columns a migration creates take the CRS of the municipality current when the models are loaded and migrated, and a
process of its own cannot mix two. The first failure stops the rest and says which municipality failed."""

import os
import subprocess
import sys

from django.conf import settings
from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from common import municipality
from common.commands import BaseCommand


def manage(slug: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """`manage.py ARGS` for the municipality `slug` (MUNICIPALITY=slug), its output passed through."""
    return subprocess.run([sys.executable, str(settings.BASE_DIR / "manage.py"), *args],
                          env={**os.environ, **(env or {}), "MUNICIPALITY": slug}, cwd=settings.BASE_DIR)


class Command(BaseCommand):
    help = "Run migrate in every municipality's database (a process each, MUNICIPALITY set); stop at the first failure."

    def add_arguments(self, parser):
        parser.add_argument("--only", nargs="+", metavar="SLUG", help="only these municipalities (in this order)")

    def handle(self, *args, **opts):
        slugs = opts["only"] or list(municipality.registry())
        for slug in slugs:
            municipality.get(slug)  # an unknown slug is refused before anything runs
        for slug in slugs:
            m = municipality.get(slug)
            self.stdout.write(_("Migrating %(name)s (%(slug)s, EPSG:%(srid)s) …")
                              % {"name": m.name_en or m.name, "slug": slug, "srid": m.srid})
            done = manage(slug, "migrate", "--no-input", "--verbosity", str(max(0, opts["verbosity"] - 1)))
            if done.returncode != 0:
                raise CommandError(_("migrate failed for %(slug)s (exit status %(code)s); the municipalities after "
                                     "it were not migrated") % {"slug": slug, "code": done.returncode})
        self.stdout.write(_("Migrated %(count)s municipalities.") % {"count": len(slugs)})
