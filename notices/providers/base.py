"""The SMS provider interface. A provider sends one SMS and says how it went; delivery (notices/delivery.py) does
the rest (retries, back-off, recording). Every send carries the message's idempotency key, which a provider passes
on to the gateway (its `localid`) so that a message sent again after a crash is not delivered twice."""

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass

from notices.sms import parts

DELIVERED, FAILED, PENDING = "delivered", "failed", "pending"
__all__ = ["OutgoingSms", "SendResult", "TemporaryError", "PermanentError", "SmsProvider", "parts",
           "DELIVERED", "FAILED", "PENDING"]


@dataclass(frozen=True)
class OutgoingSms:
    key: str  # the message's idempotency key: the gateway's localid
    phone: str  # normalised: 09xxxxxxxxx
    body: str
    sender: str  # the sender line number


@dataclass(frozen=True)
class SendResult:
    provider_id: str  # the gateway's message id (for status polling and delivery callbacks)
    delivered: bool = False  # True when the provider knows at once (the local backend)


class SendError(Exception):
    """A send that did not happen; `reason` is kept on the message."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class TemporaryError(SendError):
    """Worth trying again later: timeout, connection refused, HTTP 5xx, 429, the gateway's own 'busy' codes.
    `retry_after`: the seconds the provider asked us to wait (HTTP Retry-After), or None."""

    def __init__(self, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.retry_after = retry_after


class PermanentError(SendError):
    """Never worth trying again: invalid number, rejected text, bad API key (HTTP 4xx)."""


class SmsProvider(ABC):
    name: str = ""  # stored on each message as `provider`

    @abstractmethod
    def send(self, sms: OutgoingSms) -> SendResult:
        """Send one SMS; raise TemporaryError or PermanentError when it was not accepted."""

    def statuses(self, provider_ids: Iterable[str]) -> dict[str, tuple[str, str]]:
        """Delivery status of sent messages: provider_id -> ("delivered" | "failed" | "pending", reason).
        Providers that cannot tell leave this as is (the periodic status poll skips them)."""
        raise NotImplementedError

    @classmethod
    def polls_statuses(cls) -> bool:
        return cls.statuses is not SmsProvider.statuses
