from pathlib import Path

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from common.commands import BaseCommand
from permits import loader


class Command(BaseCommand):
    help = ("Load the permit office's desks and case types (workflow definitions) from a folder like data/permits/ "
            "or one case-type file. Checks everything; writes only with --commit.")

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", default=str(loader.DEFAULT_DIR))
        parser.add_argument("--commit", action="store_true", help="write them (otherwise only check)")

    def handle(self, *args, **opts):
        try:
            loaded = loader.read(Path(opts["path"]))
        except loader.PermitTypesError as exc:
            raise CommandError(str(exc)) from None
        if not opts["commit"]:
            self.stdout.write(_("%(desks)s desks and %(types)s case types checked; nothing written (--commit writes "
                                "them)") % {"desks": len(loaded.desks), "types": len(loaded.types)})
            return
        counts = loader.load(loaded)
        self.stdout.write(_("%(desks)s desks and %(types)s case types loaded: %(new)s new workflow versions, "
                            "%(same)s unchanged") % {"desks": counts["desks"], "types": counts["types"],
                                                    "new": counts["new_versions"], "same": counts["unchanged"]})
