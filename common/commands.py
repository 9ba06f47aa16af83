"""The base of every project management command: it speaks the language it is asked to.

Commands print from the same gettext catalogues as the pages. A terminal does not lay out right-to-left text, so a
command speaks English unless told otherwise: `--language fa`, or the environment variable COMMAND_LANGUAGE for
every command of a shell or a cron job.

    from common.commands import BaseCommand

    class Command(BaseCommand):
        def handle(self, *args, **options):
            self.stdout.write(_("Loaded %(count)s rows.") % {"count": n})
"""

import os

from django.conf import settings
from django.core.management.base import BaseCommand as DjangoBaseCommand
from django.core.management.base import CommandError
from django.utils import translation

LANGUAGE_VARIABLE = "COMMAND_LANGUAGE"
DEFAULT_LANGUAGE = "en"


class BaseCommand(DjangoBaseCommand):
    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        # Added here rather than in add_arguments, which every command overrides without calling super().
        # The default is read when the command runs, so a changed environment counts.
        parser.add_argument(
            "--language", default=os.environ.get(LANGUAGE_VARIABLE) or DEFAULT_LANGUAGE,
            help=f"language of the output: {', '.join(self._languages())} "
                 f"(default: ${LANGUAGE_VARIABLE}, else {DEFAULT_LANGUAGE})",
        )
        return parser

    def execute(self, *args, **options):
        language = options["language"]
        if language not in self._languages():
            # In English: no usable language was given.
            raise CommandError(f"--language (or ${LANGUAGE_VARIABLE}) is {language!r}; "
                               f"use one of {', '.join(self._languages())}")
        with translation.override(language):  # the previous language comes back afterwards
            return super().execute(*args, **options)

    @staticmethod
    def _languages() -> list[str]:
        return [code for code, _name in settings.LANGUAGES]
