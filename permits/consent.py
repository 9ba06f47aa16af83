"""An owner's consent that a licensed engineer applies for their parcel (رضایت مالک): the engineer asks, a code goes
by SMS to the mobile number on the owner record (parcels.Owner.phone of the parcel's owners, not a number the engineer
types), the engineer types it back. Only the code's HMAC is kept (accounts.signin's hashing, with a key of its own);
a code expires, allows a few wrong tries, and works once. A confirmed consent lets the engineer apply for that parcel
(service.start checks it) and is used by the one case it is submitted with (service.submit).

With several owners, each owner with a mobile number gets a code of their own: one owner's code is their consent."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import ratelimit
from accounts.service import TooManyRequests
from accounts.signin import code_hash, derive_key, generate_code, is_mobile, mask_phone, parse_limits
from common.errors import ApiError, BadParameter, Forbidden
from notices.service import Recipient, notify
from parcels.models import Owner, Parcel
from permits.models import Consent, Engineer

CODE_DIGITS = 6


class ConsentRefused(ApiError):
    """A wrong, expired or used code (nothing is confirmed)."""

    status = 400
    code = "consent_refused"


def _key() -> bytes:
    return derive_key(settings.SECRET_KEY, "permits.consent-code")


def owner_phones(parcel: Parcel) -> list[str]:
    """The mobile numbers on the records of the parcel's owners (people and legal persons), each once."""
    phones = (Owner.objects.filter(ownerships__parcel=parcel).exclude(phone="").order_by("id")
              .values_list("phone", flat=True))
    out = []
    for phone in phones:
        if is_mobile(phone) and phone not in out:
            out.append(phone)
    return out


def _check_rate(engineer: Engineer, parcel: Parcel) -> None:
    """Codes asked per engineer and per parcel (an owner is not flooded with SMS)."""
    limits = parse_limits(settings.PERMITS_CONSENT_RATE)
    decision = ratelimit.hit({"permits-consent-engineer": (str(engineer.pk), limits),
                              "permits-consent-parcel": (str(parcel.pk), limits)})
    if not decision.allowed:
        raise TooManyRequests(_("Too many consent codes asked; try again in %(minutes)s minutes.")
                              % {"minutes": max(1, round(decision.retry_after / 60))}, decision.retry_after)


def ask(engineer: Engineer | None, parcel: Parcel, now: dt.datetime | None = None) -> list[Consent]:
    """Send a consent code to each owner's mobile on record; earlier unconfirmed requests of the engineer for the
    parcel are void. Returns the new requests (one per number)."""
    if engineer is None or not engineer.active or engineer.verified_at is None:
        raise Forbidden(_("Only a licensed engineer whose licence the municipality verified may ask for consent."))
    phones = owner_phones(parcel)
    if not phones:
        raise BadParameter(_("No owner of this parcel has a mobile number on record: the owner can apply "
                             "themselves, or ask the municipality to record their number."))
    _check_rate(engineer, parcel)
    now = now or timezone.now()
    expires = now + dt.timedelta(seconds=settings.PERMITS_CONSENT_CODE_TTL_SECONDS)
    made = []
    with transaction.atomic():
        Consent.objects.filter(engineer=engineer, parcel=parcel, confirmed_at__isnull=True,
                               expires_at__gt=now).update(expires_at=now)
        for phone in phones:
            code = generate_code(CODE_DIGITS)
            consent = Consent.objects.create(engineer=engineer, parcel=parcel, owner_phone=phone,
                                             code_hash=code_hash(_key(), phone, code), expires_at=expires)
            notify("permits.consent", Recipient(phone=phone),
                   {"code": code, "engineer": engineer.full_name, "licence": engineer.licence_number,
                    "parcel": parcel.renewal_code or str(parcel.pk)}, key=f"permits:consent:{consent.pk}")
            made.append(consent)
    return made


def confirm(engineer: Engineer | None, parcel: Parcel, code: str, now: dt.datetime | None = None) -> Consent:
    """The engineer types the code an owner was sent: the consent is confirmed (and lasts
    PERMITS_CONSENT_VALID_DAYS, until a case is submitted with it). ConsentRefused for a wrong, expired or used code;
    after PERMITS_CONSENT_MAX_TRIES wrong tries the requests are void (ask again)."""
    if engineer is None:
        raise Forbidden(_("Only a licensed engineer whose licence the municipality verified may ask for consent."))
    now = now or timezone.now()
    code = (code or "").strip()
    with transaction.atomic():
        pending = list(Consent.objects.select_for_update()
                       .filter(engineer=engineer, parcel=parcel, confirmed_at__isnull=True, expires_at__gt=now)
                       .order_by("-created_at"))
        if not pending:
            raise ConsentRefused(_("There is no consent code waiting for this parcel (it expired, was used or was "
                                   "never asked): ask for a new code."))
        key = _key()
        for consent in pending:
            if consent.tries < settings.PERMITS_CONSENT_MAX_TRIES and code and \
                    _same(consent.code_hash, code_hash(key, consent.owner_phone, code)):
                consent.confirmed_at = now
                consent.expires_at = now + dt.timedelta(days=settings.PERMITS_CONSENT_VALID_DAYS)
                consent.save(update_fields=["confirmed_at", "expires_at"])
                return consent
        for consent in pending:
            consent.tries += 1
            if consent.tries >= settings.PERMITS_CONSENT_MAX_TRIES:
                consent.expires_at = now           # too many wrong tries: void
            consent.save(update_fields=["tries", "expires_at"])
    left = max(settings.PERMITS_CONSENT_MAX_TRIES - max(c.tries for c in pending), 0)
    if left == 0:
        raise ConsentRefused(_("Too many wrong codes: the request is void. Ask for a new code."))
    raise ConsentRefused(_("This is not the code the owner was sent (%(left)s tries left).") % {"left": left})


def _same(a: str, b: str) -> bool:
    import hmac

    return hmac.compare_digest(a, b)


def consents_of(engineer: Engineer, now: dt.datetime | None = None) -> list[dict]:
    """The engineer's consent requests, newest first, for their page (the owner's number masked)."""
    now = now or timezone.now()
    out = []
    for c in (Consent.objects.filter(engineer=engineer).select_related("parcel", "used_by")
              .order_by("-created_at")[:50]):
        if c.used_by_id:
            state = "used"
        elif c.confirmed_at and c.expires_at > now:
            state = "confirmed"
        elif c.expires_at <= now:
            state = "expired"
        else:
            state = "waiting"
        out.append({"id": c.pk, "parcel_id": c.parcel_id, "renewal_code": c.parcel.renewal_code or "",
                    "phone": mask_phone(c.owner_phone), "state": state, "created_at": c.created_at,
                    "expires_at": c.expires_at, "confirmed_at": c.confirmed_at,
                    "case": c.used_by.tracking_code if c.used_by_id else None})
    return out
