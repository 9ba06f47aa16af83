"""Payment gateways: the interface a bank's backend implements, and the local sandbox that runs the whole flow
on one machine (redirect → the sandbox's payment page → callback → verification).

A bank backend (Shaparak PSPs differ in details) implements `start` (where to send the citizen) and `verify`
(ask the bank, server to server, whether the transaction with this reference really paid this amount), and has
a `name` (the code stored with its payments) and a `label` (what people read, translated). The backend in use is
the setting DUES_GATEWAY.
"""

from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from dues.models import PaymentAttempt, SandboxTransaction


@dataclass
class Verification:
    ok: bool
    reference: str
    amount: int
    failure: str = ""     # when not ok: a code of PaymentAttempt.Failure (what the citizen reads, translated)
    message: str = ""     # what the bank said in its own words, if it said anything (kept for staff as it is)


_BY_NAME: dict[str, type["Gateway"]] = {}


class Gateway:
    name = ""
    label = ""            # the gateway's name as people read it (gettext_lazy)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.name:
            _BY_NAME[cls.name] = cls

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
    label = _("Local sandbox gateway")

    def start(self, attempt, callback_url):
        return reverse("dues:sandbox_page", args=[attempt.token])

    def verify(self, attempt, params):
        reference = params.get("ref", "")
        if not sandbox_allowed():             # a production site never takes the sandbox's word (dues.E001)
            return Verification(False, reference, 0, PaymentAttempt.Failure.NOT_CONFIRMED)
        tx = SandboxTransaction.objects.filter(token=attempt.token, reference=reference).first()
        if tx is None:
            return Verification(False, reference, 0, PaymentAttempt.Failure.NO_SUCH_TRANSACTION)
        if not tx.succeeded:
            return Verification(False, reference, 0, PaymentAttempt.Failure.CANCELLED)
        return Verification(True, reference, tx.amount)


def gateway() -> Gateway:
    return import_string(settings.DUES_GATEWAY)()


def sandbox_in_use() -> bool:
    """Whether the configured gateway is the sandbox (or a subclass of it)."""
    return issubclass(import_string(settings.DUES_GATEWAY), SandboxGateway)


def staging() -> bool:
    """A site declared staging or demo (DUES_ALLOW_SANDBOX_IN_PRODUCTION): the sandbox may run with DEBUG off."""
    return bool(settings.DUES_ALLOW_SANDBOX_IN_PRODUCTION)


def sandbox_allowed() -> bool:
    """The sandbox marks bills paid without money: only on a development (DEBUG) or a declared staging site."""
    return bool(settings.DEBUG) or staging()


def label(name: str) -> str | None:
    """The name people read of the gateway whose payments carry `name` (the configured one or any backend
    defined); None for a name no backend has (payments recorded by hand or from a bank's file)."""
    import_string(settings.DUES_GATEWAY)       # defining a backend's class registers it
    backend = _BY_NAME.get(name)
    return str(backend.label) if backend is not None and backend.label else None
