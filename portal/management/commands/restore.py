"""manage.py restore DIR [--database NAME] [--var-dir DIR]: a backup made by `manage.py backup` restored into a
new database and VAR_DIR, every table and file checked against its manifest (portal/backup.py). `./run restore DIR`
calls it."""

from pathlib import Path

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from common.commands import BaseCommand
from portal.backup import BackupError, restore


class Command(BaseCommand):
    # A backup or a restore is what an operator needs most when something is wrong: the deployment checks (a
    # gateway, a company code) must not stop it.
    requires_system_checks = []
    help = "Restore a backup into a new database (never over an existing one) and VAR_DIR, checked against its manifest."

    def add_arguments(self, parser):
        parser.add_argument("dir", help="the backup's folder (with manifest.json)")
        parser.add_argument("--database", help="name of the database to create (default: the one DATABASE_URL names)")
        parser.add_argument("--var-dir", help="where the stored files go (default: VAR_DIR)")

    def handle(self, *args, **opts):
        try:
            summary = restore(Path(opts["dir"]), opts["database"], opts["var_dir"], say=self.stderr.write)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(_("Restored into %(database)s: %(tables)s tables and %(rows)s rows match the manifest, "
                            "%(files)s files checked, in %(seconds)s s")
                          % {**summary, "rows": f"{summary['rows']:,}"})
