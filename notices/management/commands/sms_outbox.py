"""Print the last SMS the local backend kept for a number (what a citizen would have received)."""

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from common.commands import BaseCommand
from notices.models import LocalSms
from parcels.identifiers import normalize_phone


class Command(BaseCommand):
    help = "Print the last SMS the local backend kept for a mobile number (Persian or Arabic digits accepted)."

    def add_arguments(self, parser):
        parser.add_argument("phone")
        parser.add_argument("--last", type=int, default=5, help="how many (default 5)")

    def handle(self, *args, **options):
        phone = normalize_phone(options["phone"])
        if not phone.isdigit():
            raise CommandError(_("%(phone)s is not a phone number.") % {"phone": options["phone"]})
        rows = list(LocalSms.objects.filter(phone=phone).order_by("-created_at", "-id")[:max(options["last"], 1)])
        if not rows:
            self.stdout.write(_("No SMS for %(phone)s.") % {"phone": phone})
            return
        for sms in rows:
            header = _("%(when)s  to %(phone)s from %(sender)s, %(parts)s parts") % {
                "when": sms.created_at.isoformat(timespec="seconds"), "phone": sms.phone, "sender": sms.sender,
                "parts": sms.parts}
            if sms.duplicates:
                header += "  " + _("(sent %(n)s more times, not delivered again)") % {"n": sms.duplicates}
            self.stdout.write(header)
            self.stdout.write(sms.body)
            self.stdout.write("")
