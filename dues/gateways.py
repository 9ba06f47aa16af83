"""Payment gateways: the interface a bank's backend implements, and the local sandbox that runs the whole flow
on one machine (redirect → the sandbox's payment page → callback → verification).

A bank backend (Shaparak PSPs differ in details) implements `start` (where to send the citizen) and `verify`
(ask the bank, server to server, whether the transaction with this reference really paid this amount). The
backend in use is the setting DUES_GATEWAY.
"""

from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse
from django.utils.module_loading import import_string

from dues.models import PaymentAttempt, SandboxTransaction


@dataclass
class Verification:
    ok: bool
    reference: str
    amount: int
    message: str = ""


class Gateway:
    name = ""

    def start(self, attempt: PaymentAttempt, callback_url: str) -> str:
        """The URL the citizen is redirected to."""
        raise NotImplementedError

    def verify(self, attempt: PaymentAttempt, params: dict) -> Verification:
        """Check the callback's claim with the bank itself; never trust the callback's parameters alone."""
        raise NotImplementedError


class SandboxGateway(Gateway):
    """A bank on the same machine: its page (dues.views.sandbox_page) lets the user pay or cancel and keeps its
    own record (SandboxTransaction), which `verify` reads as a bank's verification service would answer."""

    name = "sandbox"

    def start(self, attempt, callback_url):
        return reverse("dues:sandbox_page", args=[attempt.token])

    def verify(self, attempt, params):
        reference = params.get("ref", "")
        tx = SandboxTransaction.objects.filter(token=attempt.token, reference=reference).first()
        if tx is None:
            return Verification(False, reference, 0, "the bank has no such transaction")
        if not tx.succeeded:
            return Verification(False, reference, 0, "the payment was cancelled at the bank")
        return Verification(True, reference, tx.amount)


def gateway() -> Gateway:
    return import_string(settings.DUES_GATEWAY)()
