"""Give a staff user a TOTP device and print what their authenticator app needs (the first admin's way in when
STAFF_OTP_REQUIRED is on):

    scripts/manage.sh staff_totp admin            # a confirmed device; prints the otpauth:// URL and a QR code
    scripts/manage.sh staff_totp admin --replace  # removes the user's other TOTP devices first
"""

import segno
from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.db import transaction
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.staff import secret_text
from common.commands import BaseCommand


class Command(BaseCommand):
    help = "Create a TOTP device for a staff user and print its otpauth URL and a terminal QR code."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--replace", action="store_true", help="delete the user's other TOTP devices first")
        parser.add_argument("--no-qr", action="store_true", help="print the URL and the secret only")

    def handle(self, *args, **options):
        User = get_user_model()
        try:
            user = User.objects.get(username=options["username"])
        except User.DoesNotExist:
            raise CommandError(_("There is no user %(username)s.") % {"username": options["username"]}) from None
        if not user.is_staff:
            raise CommandError(_("%(username)s is not staff: two-factor devices are for staff.")
                               % {"username": user.username})
        with transaction.atomic():
            if options["replace"]:
                TOTPDevice.objects.filter(user=user).delete()
            device = TOTPDevice.objects.create(user=user, name=_("Authenticator app"), confirmed=True)
        url = device.config_url
        self.stdout.write(_("A TOTP device was created for %(username)s. Scan the code with an authenticator app, "
                            "or type the secret.") % {"username": user.username})
        self.stdout.write(url)
        self.stdout.write(_("Secret: %(secret)s") % {"secret": secret_text(device)})
        if not options["no_qr"]:
            segno.make(url, error="m").terminal(out=self.stdout._out, compact=True)
