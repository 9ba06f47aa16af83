"""The notices' jobs (procrastinate autodiscovers this module): the wake-up notify() defers, the periodic sweep for
messages due later (back-offs, throttled campaigns, expired leases) and the delivery-status poll."""

import logging

from django.conf import settings
from procrastinate.contrib.django import app

from notices import delivery

logger = logging.getLogger(__name__)


@app.task(queue="notices", name="notices.send_due", pass_context=True)
def send_due(context) -> int:
    """Send what is due now and what falls due within a few seconds; deferred by notify() (with a queueing lock)."""
    return delivery.run_until_idle(_worker_id(context))


@app.periodic(cron=settings.NOTICES_SWEEP_CRON, periodic_id="notices.sweep")
@app.task(queue="notices", name="notices.sweep", pass_context=True, queueing_lock="notices.sweep")
def sweep(context, timestamp: int) -> int:
    """Every few seconds: messages whose back-off or campaign slot came, and those a dead worker held."""
    return delivery.run_until_idle(_worker_id(context))


@app.periodic(cron="* * * * *", periodic_id="notices.poll_statuses")
@app.task(queue="notices", name="notices.poll_statuses", queueing_lock="notices.poll_statuses")
def poll_statuses(timestamp: int) -> int:
    """Every minute: delivery status of sent SMS, from providers that answer status queries."""
    return delivery.poll_statuses()


def _worker_id(context) -> str:
    return f"{delivery.default_worker_id()}:{getattr(context, 'worker_name', None) or 'worker'}"
