"""The dues module's signals (re-exported by dues.api, where other apps connect to them)."""

import logging

import django.dispatch

log = logging.getLogger(__name__)

# Sent (on commit) when a fee bill becomes fully paid: sender="dues", reference=<the caller's reference>,
# bill=<public id, str>, amount=<rials paid when it became paid>. A repeated or concurrent callback sends it once.
bill_paid = django.dispatch.Signal()


def announce_paid(bill_pk: int, amount: int) -> None:
    """Send bill_paid for a fee bill that became fully paid (dues.billing.record_payment calls this on commit, once:
    the bill's row lock orders the callbacks, and only the one that turns the bill paid calls it). A receiver's
    failure undoes neither the recorded payment nor the other receivers: it is logged with its traceback, and the
    calling app can always read the bill's state with dues.api.fee_bill(reference). `amount`: the rials paid on the
    bill when it became paid (a payment racing in after it is an over-payment, not announced)."""
    from dues.models import Bill

    bill = Bill.objects.get(pk=bill_pk)
    for receiver, result in bill_paid.send_robust(sender="dues", reference=bill.reference,
                                                  bill=str(bill.public_id), amount=amount):
        if isinstance(result, Exception):
            log.error("bill_paid receiver %r failed for fee bill %s (reference %s)", receiver, bill.bill_id,
                      bill.reference, exc_info=result)
