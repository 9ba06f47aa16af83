"""notify() and the rest of what other apps and the staff pages ask of the notices.

notify() writes outbox rows in the caller's transaction and never talks to a provider: a notice exists exactly
when the change that caused it commits, and workers (notices/delivery.py, run by notices/tasks.py) deliver it.
"""

import json
import logging
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, Q, Value, When
from django.utils import timezone

from notices import delivery, events, queries, rendering, rules
from notices.models import Batch, Channel, Message, Preference, Status
from parcels.identifiers import PHONE_RE, normalize_phone, normalize_text

logger = logging.getLogger(__name__)

MOBILE_PREFIX = "09"
SEND_DUE_TASK = "notices.send_due"  # notices/tasks.py (named, not imported: tasks import delivery)


@dataclass(frozen=True)
class Recipient:
    """Who a notice is for: a value (notices never imports accounts). Any of the addresses may be empty."""

    user_id: int | None = None
    phone: str = ""
    email: str = ""
    language: str = ""  # empty: the preference's, else Persian


def _mobile(raw: str) -> str:
    """The normalised mobile number, or "" when `raw` is not one (an SMS needs 09xxxxxxxxx)."""
    phone = normalize_phone(raw) if raw else ""
    return phone if phone.startswith(MOBILE_PREFIX) and PHONE_RE.match(phone) else ""


def notify(event: str, recipient: Recipient, context: dict, key: str | None = None) -> list[int]:
    """Queue the event's notice to the recipient on the channels its kind and their preferences choose; returns
    the Message ids (the existing ones when `key` was used before: the same key never makes a second message).

    Call it inside the transaction of the change that causes it (it opens its own atomic block, so it also works
    alone): without a savepoint of its own (two round trips less for a citizen waiting on a submission), so an error
    here fails the caller's whole transaction, the change with its notice. Raises LookupError for an unregistered
    event and rendering.NoTemplate when none of the chosen channels has a template."""
    ev = events.get(event)
    context = json.loads(json.dumps(context or {}, ensure_ascii=False, default=str))  # what is stored is what renders
    key = key or uuid.uuid4().hex
    phone = _mobile(recipient.phone)
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        # two statements (raw SQL: this runs inside the request that causes the notice, a citizen waiting on it)
        cursor.execute(queries.PREFERENCE_AND_TEMPLATES, {
            "user_id": recipient.user_id, "phone": phone, "event": event, "language": recipient.language or "",
            "fallback": rendering.FALLBACK_LANGUAGE})
        rows = cursor.fetchall()
        pref = dict(zip(("user_id", "phone", "email", "language", "by_sms", "by_email", "by_inbox",
                         "reminders_opt_out"), rows[0][1:9])) if rows[0][0] else None
        templates = {(c, lang): (subject, body) for *_, c, lang, subject, body in rows if c is not None}
        language = recipient.language or (pref["language"] if pref else "") or rendering.FALLBACK_LANGUAGE
        email = recipient.email or (pref["email"] if pref else "")
        user_id = recipient.user_id or (pref["user_id"] if pref else None)
        if not phone and pref is not None and pref["phone"]:
            phone = _mobile(pref["phone"])
        channels = rules.channels_for(ev.kind, ev.channels, has_phone=bool(phone), has_email=bool(email),
                                      has_user=bool(user_id), preference=pref)
        values = {"event": event, "kind": ev.kind, "priority": rules.PRIORITY[ev.kind], "user_id": user_id,
                  "language": language, "context": json.dumps(context, ensure_ascii=False), "lock": SEND_DUE_TASK}
        made, missing = [], []
        for channel in channels:
            found = language if (channel, language) in templates else rendering.FALLBACK_LANGUAGE
            if (channel, found) not in templates:
                missing.append(f"no template for {event} on {channel} ({language} or {rendering.FALLBACK_LANGUAGE})")
                continue
            subject, body = rendering.render_row(*templates[(channel, found)], found, context)
            inbox = channel == Channel.INBOX
            i = len(made)
            values.update({
                f"key{i}": f"{key}:{channel}", f"channel{i}": channel, f"phone{i}": phone if channel == Channel.SMS else "",
                f"email{i}": email if channel == Channel.EMAIL else "", f"subject{i}": subject, f"body{i}": body,
                f"status{i}": Status.DELIVERED if inbox else Status.QUEUED, f"provider{i}": "inbox" if inbox else ""})
            made.append((f"{key}:{channel}", inbox))
        if missing:
            logger.warning("notices: %s", "; ".join(missing))
            if not made:
                raise rendering.NoTemplate("; ".join(missing))
        if not made:  # no channel chosen (a number that opted out of everything)
            return []
        rows_sql = ", ".join(queries.MESSAGE_ROW.format(i=i) for i in range(len(made)))
        cursor.execute(queries.INSERT_MESSAGES.format(rows=rows_sql), values)
        returned = cursor.fetchall()
        ids_by_key = {message_key: pk for pk, message_key, _ in returned}
        waiting = bool(returned) and returned[0][2]  # a wake-up job waiting already
        new_outgoing = any(not inbox and k in ids_by_key for k, inbox in made)
        if len(ids_by_key) < len(made):  # keys used before: their messages as they are
            cursor.execute(queries.MESSAGE_IDS_BY_KEY, [[k for k, _ in made if k not in ids_by_key]])
            ids_by_key.update(dict(cursor.fetchall()))
        if new_outgoing and not waiting:
            wake_workers(checked=True)
    return [ids_by_key[k] for k, _ in made]


def wake_workers(checked: bool = False) -> None:
    """Defer one notices.send_due job (part of the current transaction): a queueing lock makes many notices one
    wake-up; when a job is already waiting, that one will do. `checked`: the caller found none waiting."""
    from procrastinate.contrib.django import app
    from procrastinate.exceptions import AlreadyEnqueued

    if not checked:
        with connection.cursor() as cursor:  # one indexed lookup instead of a savepoint and a refused insert
            cursor.execute(queries.WAKE_UP_WAITING, [SEND_DUE_TASK])
            if cursor.fetchone():
                return
    try:
        with transaction.atomic():  # a savepoint: the lock's unique violation must not break the caller's transaction
            app.configure_task(SEND_DUE_TASK, queueing_lock=SEND_DUE_TASK).defer()
    except AlreadyEnqueued:
        pass


def enqueue_campaign(event: str, rows_sql: str, params, batch_name: str, rate: float | None = None,
                     created_by=None) -> Batch:
    """Queue a reminder to many numbers in one statement. `rows_sql` is a SELECT (with %s placeholders for
    `params`) giving `phone` (normalised), `language` ('' for the preference's), `context` (jsonb) and `key` (a
    stable idempotency key per recipient, e.g. 'dues.reminder:1405:<owner id>'). Numbers that opted out of
    reminders, numbers that are no mobile numbers and keys already used are skipped and counted. Bodies are
    rendered by the worker; `not_before` spreads the messages at `rate` per second (NOTICES_REMINDER_RATE),
    after the reminders already waiting."""
    ev = events.get(event)
    if ev.kind != rules.REMINDER:
        raise ValueError(f"{event} is a {ev.kind} event; campaigns send reminders")
    if "sms" not in ev.channels:
        raise ValueError(f"{event} has no SMS channel")
    rate = float(rate or settings.NOTICES_REMINDER_RATE)
    if rate <= 0:
        raise ValueError("rate must be positive")
    rendering.find(event, Channel.SMS, rendering.FALLBACK_LANGUAGE)  # fail now, not in every worker
    with transaction.atomic():
        batch = Batch.objects.create(name=batch_name, event=event, rate=rate,
                                     created_by_id=getattr(created_by, "pk", created_by))
        with connection.cursor() as cursor:
            cursor.execute(queries.CAMPAIGN.format(rows_sql=rows_sql),
                           [*params, event, rules.PRIORITY[rules.REMINDER], rate, batch.pk])
            rows, invalid, opted_out, existing, enqueued = cursor.fetchone()
        Batch.objects.filter(pk=batch.pk).update(rows=rows, skipped_invalid=invalid, skipped_opted_out=opted_out,
                                                 skipped_existing=existing, enqueued=enqueued)
        batch.refresh_from_db()
        if enqueued:
            wake_workers()
    return batch


# --- Preferences -------------------------------------------------------------------------------------------------

def preference_for(phone: str | None = None, user=None) -> Preference | None:
    """The preference of a user (by link), else of a mobile number; None when there is none."""
    user_id = getattr(user, "pk", user)
    phone = normalize_phone(phone) if phone else None
    if not user_id and not phone:
        return None
    # one statement: the user's own preference first, else the number's
    match = Q(pk__in=[])
    if user_id:
        match |= Q(user_id=user_id)
    if phone:
        match |= Q(phone=phone)
    first = Case(When(user_id=user_id, then=Value(0)), default=Value(1)) if user_id else Value(0)
    return Preference.objects.filter(match).order_by(first).first()


def set_preferences(phone: str, *, user=None, email: str | None = None, language: str | None = None,
                    by_sms: bool | None = None, by_email: bool | None = None, by_inbox: bool | None = None,
                    reminders: bool | None = None, source: str = "settings") -> Preference:
    """Create or update the preference of a mobile number (None leaves a field as it is); `user` links it (a link
    the user had to another number moves here). `reminders=False` opts the number out of reminders."""
    phone = _mobile(phone)
    if not phone:
        raise ValueError("not a mobile number")
    user_id = getattr(user, "pk", user)
    with transaction.atomic():
        pref, _created = Preference.objects.select_for_update().get_or_create(phone=phone)
        if user_id and pref.user_id != user_id:
            Preference.objects.filter(user_id=user_id).exclude(pk=pref.pk).update(user=None)
            pref.user_id = user_id
        for name, value in (("email", email), ("language", language), ("by_sms", by_sms), ("by_email", by_email),
                            ("by_inbox", by_inbox)):
            if value is not None:
                setattr(pref, name, value)
        if reminders is not None:
            _set_opt_out(pref, not reminders, source)
        pref.save()
    return pref


def _set_opt_out(pref: Preference, out: bool, source: str) -> None:
    if out and not pref.reminders_opt_out:
        pref.reminders_opt_out, pref.opted_out_at, pref.opt_out_source = True, timezone.now(), source
    elif not out and pref.reminders_opt_out:
        pref.reminders_opt_out, pref.opted_out_at, pref.opt_out_source = False, None, ""


def opt_out(phone: str, source: str = "reply") -> Preference | None:
    """Stop reminders to a number (security and transactional notices still go). None for a non-mobile number."""
    phone = _mobile(phone)
    if not phone:
        return None
    with transaction.atomic():
        pref, _ = Preference.objects.select_for_update().get_or_create(phone=phone)
        _set_opt_out(pref, True, source)
        pref.save()
    return pref


def is_opt_out_reply(text: str) -> bool:
    """Whether a reply is one of NOTICES_OPT_OUT_KEYWORDS (Persian/Arabic digits and letters normalised)."""
    return rules.is_keyword(normalize_text(text or ""), [normalize_text(k) for k in settings.NOTICES_OPT_OUT_KEYWORDS])


def inbound_reply(phone: str, text: str) -> bool:
    """An SMS reply from a number (the gateway's inbound callback): True when it opted the number out."""
    if is_opt_out_reply(text):
        return opt_out(phone, source="reply") is not None
    return False


# --- Delivery reports, staff -------------------------------------------------------------------------------------

def record_delivery(provider: str, provider_id: str, delivered: bool, reason: str = "") -> bool:
    """A delivery report for a sent message (callback or status poll); False when no message was waiting for it
    (unknown id, or already delivered/failed: reports may come twice)."""
    return delivery.record_delivery(provider, provider_id, delivered, reason)


def retry(message_ids) -> list[int]:
    """Staff: failed and dead messages queued again with fresh attempts; returns the ids that were."""
    ids = [int(i) for i in message_ids]
    if not ids:
        return []
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(queries.RETRY, [ids])
            done = [row[0] for row in cursor.fetchall()]
        if done:
            wake_workers()
    return done


def inbox(user):
    """A user's in-app notices, newest first."""
    return Message.objects.filter(user=user, channel=Channel.INBOX).order_by("-created_at", "-id")


def unread_count(user) -> int:
    return inbox(user).filter(read_at__isnull=True).count()


def mark_read(user, ids=None) -> int:
    """Mark the user's inbox notices read (all of them when `ids` is None); returns how many changed."""
    qs = inbox(user).filter(read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(id__in=list(ids))
    return qs.update(read_at=timezone.now())
