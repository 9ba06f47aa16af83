"""manage.py refresh_overlays: recompute every parcel's zone, road-widening strip and hazard facts, set-based.

Imports and edits keep them fresh; this is for a database whose parcels were loaded before the zoning app (or after
a change of the rules' geometry outside the app). One transaction. --if-absent: only when some parcel has none."""

import time

from django.db import transaction
from django.utils.translation import gettext as _

from common.commands import BaseCommand
from common.db import batch_session
from zoning import overlays


class Command(BaseCommand):
    help = "Recompute the per-parcel overlay facts (zone, road widening, historic core, floodplain, fault distance)."

    def add_arguments(self, parser):
        parser.add_argument("--if-absent", action="store_true", help="do nothing when every parcel has its facts")

    def handle(self, *args, if_absent=False, **opts):
        from parcels.models import Parcel

        if if_absent and not Parcel.objects.filter(overlay__isnull=True).exists():
            self.stdout.write(_("Every parcel has its overlay facts; nothing to do."))
            return
        started = time.perf_counter()
        with batch_session(), transaction.atomic():
            overlays.refresh(None)
        self.stdout.write(self.style.SUCCESS(
            _("Overlay facts of %(count)s parcels refreshed in %(seconds)s s.")
            % {"count": f"{Parcel.objects.count():,}", "seconds": f"{time.perf_counter() - started:.1f}"}))
