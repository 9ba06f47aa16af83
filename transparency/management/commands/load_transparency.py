"""manage.py load_transparency [path] [--commit]: council decisions and municipal projects from a data file
(data/transparency/demo.toml's shape; transparency/loader.py). Checks every row and names each bad one; writes only
with --commit, all or nothing."""

from pathlib import Path

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from common.commands import BaseCommand
from transparency import loader


class Command(BaseCommand):
    help = ("Load council decisions and municipal projects from a TOML file (default: the demo file). Checks every "
            "row; writes only with --commit, in one transaction.")

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", default=str(loader.DEMO_FILE))
        parser.add_argument("--commit", action="store_true", help="write them (otherwise only check)")

    def handle(self, *args, **opts):
        try:
            loaded = loader.read(Path(opts["path"]))
            if not opts["commit"]:
                self.stdout.write(_("%(projects)s projects and %(decisions)s decisions checked; nothing written "
                                    "(--commit writes them)") % {"projects": len(loaded.projects),
                                                                 "decisions": len(loaded.decisions)})
                return
            counts = loader.load(loaded)
        except loader.TransparencyFileError as exc:
            raise CommandError(_("The file is refused, nothing was written:") + "\n  " + "\n  ".join(exc.problems)) \
                from None
        self.stdout.write(self.style.SUCCESS(
            _("%(projects)s projects and %(decisions)s decisions loaded (%(created)s new); %(told)s followers told of "
              "a new status") % counts))
