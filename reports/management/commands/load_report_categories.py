from pathlib import Path

from django.core.management.base import CommandError

from common.commands import BaseCommand
from reports import loader


class Command(BaseCommand):
    help = "Load report categories and departments from a TOML file (data/reports/categories.toml's shape)."

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", default=str(loader.DEFAULT_FILE))
        parser.add_argument("--commit", action="store_true", help="write them (otherwise only check the file)")

    def handle(self, *args, **opts):
        try:
            data = loader.read(Path(opts["file"]))
        except loader.CategoriesFileError as exc:
            raise CommandError(str(exc)) from None
        if not opts["commit"]:
            self.stdout.write(f"{len(data['departments'])} departments and {len(data['categories'])} categories "
                              "checked; nothing written (--commit writes them)")
            return
        departments, categories = loader.load(data)
        self.stdout.write(f"{departments} departments and {categories} categories loaded")
