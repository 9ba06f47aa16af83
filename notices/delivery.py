"""Delivery: workers claim due messages with a lease, send each through its channel's provider and record the
outcome. Run by the notices.send_due task and the periodic sweep (notices/tasks.py).

A claim is `UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED LIMIT n)` committed at once: workers never
wait for each other, and a message whose worker died (SIGKILL, power cut, lost database connection) is due again
when its lease (NOTICES_LEASE_SECONDS) runs out. Sending again is safe: every send carries the message's
idempotency key to the provider, which delivers a key once. Outcomes are written only while the worker still holds
the lease (`claimed_by`), so a worker that comes back late does not overwrite another's result.
"""

import json
import logging
import os
import smtplib
import socket
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import DatabaseError, InterfaceError, OperationalError, close_old_connections, connection
from django.utils.translation import gettext as _

from notices import queries, rendering, rules
from notices.providers import get_sms_provider
from notices.providers.base import OutgoingSms, PermanentError, TemporaryError

logger = logging.getLogger(__name__)

IDLE_WAIT_SECONDS = 5.0  # a message due sooner than this keeps the worker (throttled campaigns); later: the sweep
CLAIM_LIMIT = 50


@dataclass
class Claimed:
    id: int
    key: str
    event: str
    kind: str
    channel: str
    phone: str
    email: str
    user_id: int | None
    language: str
    subject: str
    body: str
    context: dict
    attempts: int


def default_worker_id() -> str:
    """host:process:thread: a procrastinate worker runs sync jobs in threads, each its own claimant."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def claim(worker_id: str, limit: int = CLAIM_LIMIT) -> list[Claimed]:
    """Take up to `limit` due messages (and those whose lease expired) for this worker; committed at once."""
    with connection.cursor() as cursor:
        cursor.execute(queries.CLAIM, {"worker": worker_id, "lease": settings.NOTICES_LEASE_SECONDS, "limit": limit})
        rows = cursor.fetchall()
    claimed = []
    for row in rows:
        context = row[11]
        if isinstance(context, str):
            context = json.loads(context)
        claimed.append(Claimed(*row[:11], context or {}, row[12]))
    claimed.sort(key=lambda m: m.id)
    return claimed


def _ensure_rendered(message: Claimed) -> None:
    """A campaign's message is rendered when claimed, and the text kept."""
    if message.body:
        return
    message.subject, message.body = rendering.render(message.event, message.channel, message.language,
                                                     message.context)
    with connection.cursor() as cursor:
        cursor.execute(queries.STORE_RENDERED, [message.subject, message.body, message.id])


def _text(value) -> str:
    """An SMTP server's answer (bytes) as text for the message's record."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _refusals(recipients: dict) -> str:
    return "; ".join(f"{address}: {code} {_text(text)}" for address, (code, text) in recipients.items())


def _send_email(message: Claimed):
    if not settings.NOTICES_EMAIL_ENABLED:
        raise PermanentError(_("E-mail is not configured."))
    try:
        EmailMessage(subject=message.subject or message.event, body=message.body,
                     from_email=settings.DEFAULT_FROM_EMAIL, to=[message.email],
                     headers={"X-Notice-Key": message.key}).send()
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _msg in exc.recipients.values()]
        if codes and all(400 <= code < 500 for code in codes):
            raise TemporaryError(f"recipient refused for now: {_refusals(exc.recipients)}") from exc
        raise PermanentError(f"recipient refused: {_refusals(exc.recipients)}") from exc
    except smtplib.SMTPResponseException as exc:
        if 400 <= exc.smtp_code < 500:
            raise TemporaryError(f"SMTP {exc.smtp_code}: {_text(exc.smtp_error)}") from exc
        raise PermanentError(f"SMTP {exc.smtp_code}: {_text(exc.smtp_error)}") from exc
    except (smtplib.SMTPException, OSError) as exc:  # disconnects, refused connections, timeouts
        raise TemporaryError(f"{type(exc).__name__}: {exc}") from exc
    return "smtp", "", True  # handed to the mail server: as delivered as e-mail gets


def _send_sms(message: Claimed):
    provider = get_sms_provider()
    result = provider.send(OutgoingSms(key=message.key, phone=message.phone, body=message.body,
                                       sender=settings.NOTICES_SMS_SENDER))
    return provider.name, result.provider_id, result.delivered


def _provider_name(channel: str) -> str:
    if channel == "sms":
        return get_sms_provider().name
    return "smtp" if channel == "email" else channel


def send_one(message: Claimed, worker_id: str) -> str:
    """Send a claimed message and record the outcome; returns the new status (or "lost" when the lease was taken
    over meanwhile)."""
    try:
        _ensure_rendered(message)
        if message.channel == "sms":
            provider, provider_id, delivered = _send_sms(message)
        elif message.channel == "email":
            provider, provider_id, delivered = _send_email(message)
        else:  # inbox messages are delivered when written; one here was retried by staff
            provider, provider_id, delivered = "inbox", "", True
    except TemporaryError as exc:
        status, wait = rules.after_temporary_error(message.attempts, settings.NOTICES_MAX_ATTEMPTS,
                                                   settings.NOTICES_BACKOFF_SECONDS,
                                                   settings.NOTICES_BACKOFF_MAX_SECONDS)
        if status == "queued" and exc.retry_after:  # the provider said how long to wait: not sooner
            wait = max(wait, min(float(exc.retry_after), settings.NOTICES_BACKOFF_MAX_SECONDS))
        return _record(queries.MARK_RETRY, message, worker_id, status, status=status, wait=wait,
                       provider=_provider_name(message.channel), error=exc.reason[:1000])
    except (PermanentError, rendering.NoTemplate) as exc:
        reason = exc.reason if isinstance(exc, PermanentError) else str(exc)
        return _record(queries.MARK_FAILED, message, worker_id, "failed", provider=_provider_name(message.channel),
                       error=reason[:1000])
    except (DatabaseError, InterfaceError):
        raise  # the connection: the run stops and the lease brings the message back
    except Exception as exc:  # a provider's bug must not stop the batch: keep it as a temporary error
        logger.exception("notices: sending message %s failed unexpectedly", message.id)
        status, wait = rules.after_temporary_error(message.attempts, settings.NOTICES_MAX_ATTEMPTS,
                                                   settings.NOTICES_BACKOFF_SECONDS,
                                                   settings.NOTICES_BACKOFF_MAX_SECONDS)
        if status == "queued" and exc.retry_after:  # the provider said how long to wait: not sooner
            wait = max(wait, min(float(exc.retry_after), settings.NOTICES_BACKOFF_MAX_SECONDS))
        return _record(queries.MARK_RETRY, message, worker_id, status, status=status, wait=wait,
                       provider=_provider_name(message.channel), error=f"{type(exc).__name__}: {exc}"[:1000])
    return _record(queries.MARK_SENT, message, worker_id, "delivered" if delivered else "sent",
                   delivered=delivered, provider=provider, provider_id=provider_id or "")


def _record(sql: str, message: Claimed, worker_id: str, outcome: str, **params) -> str:
    with connection.cursor() as cursor:
        cursor.execute(sql, {"id": message.id, "worker": worker_id, **params})
        if cursor.rowcount == 0:
            logger.warning("notices: message %s was taken over by another worker before %s recorded %s",
                           message.id, worker_id, outcome)
            return "lost"
    return outcome


def seconds_until_next() -> float | None:
    with connection.cursor() as cursor:
        cursor.execute(queries.NEXT_DUE, {"lease": settings.NOTICES_LEASE_SECONDS})
        value = cursor.fetchone()[0]
    return None if value is None else float(value)


def send_batch(worker_id: str, limit: int = CLAIM_LIMIT) -> int:
    """One claim and its sends; returns how many were claimed."""
    claimed = claim(worker_id, limit)
    for message in claimed:
        send_one(message, worker_id)
    return len(claimed)


def run_until_idle(worker_id: str | None = None, max_seconds: float | None = None,
                   idle_wait: float = IDLE_WAIT_SECONDS) -> int:
    """Claim and send until nothing is due within `idle_wait` seconds or `max_seconds` have passed; returns how
    many messages were claimed. Database errors (a restart, a lost connection) close the connection and the run
    tries again after a second until its time is up."""
    worker_id = worker_id or default_worker_id()
    max_seconds = settings.NOTICES_SEND_MAX_SECONDS if max_seconds is None else max_seconds
    deadline = time.monotonic() + max_seconds
    total = 0
    if not connection.in_atomic_block:  # a job's fresh start (not inside a caller's transaction, as in tests)
        close_old_connections()
    while time.monotonic() < deadline:
        try:
            n = send_batch(worker_id)
            total += n
            if n:
                continue
            wait = seconds_until_next()
        except (OperationalError, InterfaceError) as exc:
            if connection.in_atomic_block:
                raise  # the caller's transaction is lost: theirs to handle
            logger.warning("notices: database unavailable (%s); trying again", exc)
            _drop_connection()
            time.sleep(1.0)
            continue
        if wait is None or wait > idle_wait:
            break
        time.sleep(min(max(wait, 0.05), max(deadline - time.monotonic(), 0)))
    return total


def _drop_connection() -> None:
    try:
        connection.close()
    except Exception:  # already broken
        pass


def record_delivery(provider: str, provider_id: str, delivered: bool, reason: str = "") -> bool:
    """A delivery report (notices.service.record_delivery): True when a sent message took it."""
    with connection.cursor() as cursor:
        cursor.execute(queries.RECORD_DELIVERY, {"provider": provider, "provider_id": str(provider_id),
                                                 "delivered": bool(delivered), "reason": (reason or "")[:1000]})
        return cursor.fetchone() is not None


def poll_statuses(limit: int = 500) -> int:
    """Ask the SMS provider about sent messages not yet known delivered (providers that answer); returns how many
    reports were recorded."""
    provider = get_sms_provider()
    if not provider.polls_statuses():
        return 0
    with connection.cursor() as cursor:
        cursor.execute(queries.TO_POLL, [provider.name, limit])
        ids = [row[0] for row in cursor.fetchall()]
    if not ids:
        return 0
    try:
        answers = provider.statuses(ids)
    except (TemporaryError, PermanentError) as exc:  # a bad key fails every poll: log it, never crash the task
        logger.warning("notices: status poll failed: %s", exc.reason)
        return 0
    recorded = 0
    for provider_id, (state, reason) in answers.items():
        if state in ("delivered", "failed"):
            recorded += record_delivery(provider.name, provider_id, state == "delivered", reason)
    return recorded
