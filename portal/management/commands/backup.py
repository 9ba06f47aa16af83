"""manage.py backup [DIR]: the database (pg_dump -Fc) and the stored files it refers to, with a manifest of row
counts, checksums and SHA-256s (portal/backup.py). `./run backup [DIR]` calls it."""

from datetime import datetime, timezone
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from common.commands import BaseCommand
from portal.backup import BackupError, backup


class Command(BaseCommand):
    # A backup or a restore is what an operator needs most when something is wrong: the deployment checks (a
    # gateway, a company code) must not stop it.
    requires_system_checks = []
    help = "Back up the database and its stored files into a new folder (default backups/<UTC time>)."

    def add_arguments(self, parser):
        parser.add_argument("dir", nargs="?", help="a new or empty folder (default: BACKUP_DIR/<UTC time>)")

    def handle(self, *args, **opts):
        out = Path(opts["dir"] or Path(settings.BACKUP_DIR) / datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S"))
        try:
            manifest = backup(out, say=self.stderr.write)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        rows = sum(t["rows"] for t in manifest["tables"].values())
        self.stdout.write(_("Backup in %(dir)s: %(tables)s tables, %(rows)s rows, %(files)s files, in %(seconds)s s")
                          % {"dir": out, "tables": len(manifest["tables"]), "rows": f"{rows:,}",
                             "files": len(manifest["files"]), "seconds": manifest["seconds"]})
