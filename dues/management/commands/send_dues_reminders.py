"""manage.py send_dues_reminders 1405 [--commit] [--rate N] [--report] — the year's renewal-dues reminder by SMS to
every mobile number whose owner owes that year's dues, one message per number and year (a rerun sends nothing
new). A dry run until --commit: it prints the counts and a sample text. --report prints the year's campaigns by
status."""

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from common.commands import BaseCommand
from dues import reminders
from dues.tariffs import NoTariffBook


class Command(BaseCommand):
    help = ("Renewal-dues reminders by SMS for a Jalali year: one per mobile number of owners who owe that year's "
            "dues (set-based, idempotent, throttled). Dry run unless --commit.")

    def add_arguments(self, parser):
        parser.add_argument("year", type=int)
        parser.add_argument("--commit", action="store_true", help="enqueue the messages (default: a dry run)")
        parser.add_argument("--rate", type=float, default=None,
                            help="messages per second (default: settings NOTICES_REMINDER_RATE)")
        parser.add_argument("--report", action="store_true", help="print the year's campaigns by status and stop")

    def handle(self, *args, year, commit=False, rate=None, report=False, **options):
        if rate is not None and rate <= 0:
            raise CommandError(_("--rate must be a positive number of messages per second."))
        if report:
            self._report(year)
            return
        try:
            preview = reminders.preview(year, rate)
        except NoTariffBook as exc:
            raise CommandError(str(exc)) from None
        out = self.stdout.write
        t = preview.terms
        out(_("Renewal-dues reminders %(year)s: %(discount)s%% discount until %(deadline)s")
            % {"year": year, "discount": t.discount_percent, "deadline": t.deadline})
        out(_("numbers and owners owing dues: %(rows)s") % {"rows": f"{preview.rows:,}"})
        out(_("  skipped, no mobile number: %(n)s") % {"n": f"{preview.invalid:,}"})
        out(_("  skipped, opted out of reminders: %(n)s") % {"n": f"{preview.opted_out:,}"})
        out(_("  skipped, already sent this year: %(n)s") % {"n": f"{preview.existing:,}"})
        out(_("  to send: %(n)s messages naming %(parcels)s parcels and %(total)s rials")
            % {"n": f"{preview.to_send:,}", "parcels": f"{preview.parcels:,}", "total": f"{preview.total_due:,}"})
        out(_("at %(rate)s messages per second: %(seconds)s seconds")
            % {"rate": f"{preview.rate:g}", "seconds": f"{preview.seconds:,.0f}"})
        if preview.sample_text:
            out(_("sample text:"))
            out(preview.sample_text)
        elif preview.to_send:
            raise CommandError(_("No SMS template for %(event)s: load the notice templates "
                                 "(manage.py load_notice_templates).") % {"event": reminders.EVENT})
        if not commit:
            out(_("Dry run: nothing was sent. Run again with --commit to send."))
            return
        batch = reminders.start(year, rate=rate)
        out(_("Campaign %(id)s: %(enqueued)s messages queued (%(opted)s opted out, %(invalid)s without a mobile "
              "number, %(existing)s already sent skipped)")
            % {"id": batch.pk, "enqueued": f"{batch.enqueued:,}", "opted": f"{batch.skipped_opted_out:,}",
               "invalid": f"{batch.skipped_invalid:,}", "existing": f"{batch.skipped_existing:,}"})

    def _report(self, year):
        batches = [b for b in reminders.campaigns() if b.name == reminders.batch_name(year)]
        if not batches:
            self.stdout.write(_("No reminder campaign for %(year)s yet.") % {"year": year})
            return
        for batch in batches:
            r = reminders.report(batch)
            self.stdout.write(_("Campaign %(id)s of %(when)s: %(enqueued)s queued of %(rows)s")
                              % {"id": batch.pk, "when": batch.created_at.strftime("%Y-%m-%d %H:%M"),
                                 "enqueued": f"{batch.enqueued:,}", "rows": f"{batch.rows:,}"})
            for row in r["statuses"] + r["skipped"]:
                self.stdout.write(f"  {row['label']:<40} {row['count']:>10,}")
