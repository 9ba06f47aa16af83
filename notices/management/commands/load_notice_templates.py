"""Load the notices' default templates from data/notices/templates.toml: a dry run lists what would change."""

from pathlib import Path

from django.core.management.base import CommandError
from django.template import TemplateSyntaxError
from django.utils.translation import gettext as _

from common.commands import BaseCommand
from notices import defaults, events, rendering
from notices.sms import parts


class Command(BaseCommand):
    help = "Load the default notice templates (dry run unless --commit; staff edits kept unless --replace)."

    def add_arguments(self, parser):
        parser.add_argument("--file", default=str(defaults.DEFAULT_FILE), help="the TOML file of templates")
        parser.add_argument("--commit", action="store_true", help="write the changes (default: only list them)")
        parser.add_argument("--replace", action="store_true", help="also overwrite templates staff edited")

    def handle(self, *args, **options):
        try:
            rows = defaults.read(Path(options["file"]))
        except (OSError, ValueError, TemplateSyntaxError) as exc:
            raise CommandError(str(exc)) from exc
        changes = defaults.plan(rows, replace=options["replace"])
        labels = {defaults.CREATE: _("new"), defaults.UPDATE: _("update"),
                  defaults.KEEP_EDITED: _("kept (edited by staff)"), defaults.UNCHANGED: _("unchanged")}
        for c in changes:
            line = f"{labels[c.action]:>24}  {c.event} / {c.channel} / {c.language}"
            if c.channel == "sms":
                line += "  " + self._size(c)
            if options["verbosity"] > 1 or (options["verbosity"] == 1 and c.action != defaults.UNCHANGED):
                self.stdout.write(line)
        todo = sum(c.action in (defaults.CREATE, defaults.UPDATE) for c in changes)
        if not options["commit"]:
            if options["verbosity"]:
                self.stdout.write(_("Dry run: %(count)s templates would be written; --commit writes them.")
                                  % {"count": todo})
            return
        written = defaults.apply(changes)
        if options["verbosity"]:
            self.stdout.write(self.style.SUCCESS(_("%(count)s templates written.") % {"count": written}))

    @staticmethod
    def _size(change) -> str:
        try:
            sample = events.get(change.event).sample_context
        except LookupError:
            return _("(event not registered: no sample)")
        try:
            text = rendering.render_text(change.body, sample, change.language)
        except Exception as exc:  # a sample that does not fit shows, not stops the load
            return _("(sample does not render: %(error)s)") % {"error": exc}
        return _("%(chars)s characters, %(parts)s SMS parts") % {"chars": len(text), "parts": parts(text)}
