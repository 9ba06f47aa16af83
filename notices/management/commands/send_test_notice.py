"""Send the notices.test notice to a mobile number (dry run unless --commit): checks templates, provider, workers."""

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from common.commands import BaseCommand
from notices import events, rendering
from notices.service import Recipient, _mobile, notify


class Command(BaseCommand):
    help = "Queue the test notice to a mobile number (dry run unless --commit); a worker sends it."

    def add_arguments(self, parser):
        parser.add_argument("phone")
        parser.add_argument("--notice-language", default="fa", choices=["fa", "en"],
                            help="the notice's language (default fa)")
        parser.add_argument("--email", default="", help="also send it to this e-mail address")
        parser.add_argument("--commit", action="store_true", help="queue it (default: show the text only)")

    def handle(self, *args, **options):
        phone = _mobile(options["phone"])
        if not phone:
            raise CommandError(_("%(phone)s is not a mobile number (09…).") % {"phone": options["phone"]})
        context = dict(events.get("notices.test").sample_context)
        _subject, body = rendering.render("notices.test", "sms", options["notice_language"], context)
        self.stdout.write(body)
        if not options["commit"]:
            self.stdout.write(_("Dry run: --commit queues it."))
            return
        ids = notify("notices.test", Recipient(phone=phone, email=options["email"],
                                               language=options["notice_language"]), context)
        self.stdout.write(_("Queued: messages %(ids)s. A worker sends them (sms_outbox shows the local backend's).")
                          % {"ids": ", ".join(map(str, ids))})

