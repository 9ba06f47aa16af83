"""Citizens' sign-in and claims on owner records: gathers the facts, applies the rules of accounts/signin.py, stores
the result, writes the audit log and queues the notices. Views call one function each.

The functions return a Result whose `error` (an ApiError, rendered by common.edge) says why a request was refused;
the JSON API raises it, the pages show it on their form. The rows that record a refusal (a wrong try, a counter, an
audit event) are committed before it is returned.
"""

import datetime as dt
import math
import re
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts import audit, ratelimit, signin
from accounts.models import AuditEvent, Citizen, PropertyLink, SigninCode
from common.errors import ApiError, BadParameter
from notices.service import Recipient, notify, set_preferences
from parcels.identifiers import normalize_phone, to_ascii_digits, validate_national_id
from parcels.models import Owner, Ownership, Parcel

Kind = AuditEvent.Kind
CITIZEN_GROUP = "citizen"
SIGNIN_EVENT = "accounts.signin_code"
LINKED_EVENT = "accounts.property_linked"


# --- Errors (rendered by common.edge: JSON on /api/, a page or the form's message elsewhere) ---------------------


class InvalidMobile(BadParameter):
    code = "invalid_mobile"


class InvalidCode(BadParameter):
    code = "invalid_code"


class InvalidNationalId(BadParameter):
    code = "invalid_national_id"


class CodeRejected(ApiError):
    status = 400
    code = "code_rejected"


class SigninNotAllowed(ApiError):
    status = 403
    code = "signin_not_allowed"


class TooManyRequests(ApiError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}


class LockedOut(TooManyRequests):
    code = "locked_out"


@dataclass
class Result:
    error: ApiError | None = None
    phone: str = ""
    user: object = None
    citizen: Citizen | None = None
    created: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


def _minutes(seconds: int) -> int:
    return max(1, math.ceil(seconds / 60))


def _wait_message(seconds: int) -> str:
    minutes = _minutes(seconds)
    return ngettext("Try again in %(n)d minute.", "Try again in %(n)d minutes.", minutes) % {"n": minutes}


# --- Numbers and codes -------------------------------------------------------------------------------------------


def clean_mobile(raw) -> str:
    """A mobile number as typed (Persian or Arabic digits, spaces, +98 / 0098, or without the leading 0) in its
    normal form 09xxxxxxxxx; InvalidMobile (400) otherwise."""
    text = str(raw or "").strip()
    if "\x00" in text or len(text) > 40:
        raise InvalidMobile(_("Type a mobile number of 11 digits starting with 09, e.g. 09121234567."))
    phone = normalize_phone(text)
    if re.fullmatch(r"9\d{9}", phone):
        phone = "0" + phone
    if not signin.is_mobile(phone):
        if not text:
            raise InvalidMobile(_("Type your mobile number."))
        raise InvalidMobile(_("%(phone)s is not a mobile number: type 11 digits starting with 09, e.g. 09121234567.")
                            % {"phone": text[:20]})
    return phone


def clean_code(raw) -> str:
    code = re.sub(r"[\s\-]", "", to_ascii_digits(str(raw or "")))[:20]
    if not code:
        raise InvalidCode(_("Type the code we sent you by SMS."))
    return code


def _key() -> bytes:
    return signin.derive_key(settings.SECRET_KEY)


def _state(row: SigninCode) -> signin.CodeState:
    return signin.CodeState(code_hash=row.code_hash, expires_at=row.expires_at, used_at=row.used_at,
                            tries=row.tries, locked_until=row.locked_until)


def _store(phone: str, state: signin.CodeState) -> None:
    SigninCode.objects.filter(phone=phone).update(
        code_hash=state.code_hash, expires_at=state.expires_at, used_at=state.used_at, tries=state.tries,
        locked_until=state.locked_until, updated_at=timezone.now())


def _locked_row(phone: str) -> SigninCode:
    """The number's code row, created when absent, locked for this transaction (concurrent requests for one number
    take turns)."""
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO accounts_signincode (phone, code_hash, tries, updated_at) "
                       "VALUES (%s, '', 0, now()) ON CONFLICT (phone) DO NOTHING", [phone])
    return SigninCode.objects.select_for_update().get(phone=phone)


def _limits(name: str) -> list[signin.Limit]:
    return signin.parse_limits(getattr(settings, name))


def request_code(raw_phone, *, request=None, language: str = "fa") -> Result:
    """Send a new sign-in code to a number. The same work and the same answer whether or not the number belongs to
    anyone: no account is looked up here (a new number becomes an account on its first verified code)."""
    try:
        phone = clean_mobile(raw_phone)
    except InvalidMobile as exc:
        return Result(error=exc)
    address = audit.request_address(request)
    with transaction.atomic():
        rate = ratelimit.hit({"number": (phone, _limits("SIGNIN_RATE_PER_NUMBER")),
                              "address": (signin.address_key(address), _limits("SIGNIN_RATE_PER_ADDRESS"))})
        if not rate.allowed:
            audit.record(Kind.RATE_LIMITED, request=request, phone=phone, scope=rate.scope, limit=str(rate.limit))
            return Result(phone=phone, error=TooManyRequests(
                _("Too many codes were asked for. %(wait)s") % {"wait": _wait_message(rate.retry_after)},
                rate.retry_after))
        now = timezone.now()
        row = _locked_row(phone)
        state = _state(row)
        wait = signin.locked_for(state, now)
        if wait:
            audit.record(Kind.LOCKOUT, request=request, phone=phone, during="code_request")
            return Result(phone=phone, error=LockedOut(
                _("Too many wrong codes were typed for this number. %(wait)s") % {"wait": _wait_message(wait)}, wait))
        code = signin.generate_code(settings.SIGNIN_CODE_DIGITS)
        ttl = settings.SIGNIN_CODE_TTL_SECONDS
        _store(phone, signin.issue(state, signin.code_hash(_key(), phone, code), now, ttl))
        notify(SIGNIN_EVENT, Recipient(phone=phone, language=language), {"code": code, "minutes": _minutes(ttl)},
               key=f"{SIGNIN_EVENT}:{phone}:{uuid.uuid4().hex}")
        audit.record(Kind.CODE_REQUESTED, request=request, phone=phone)
    return Result(phone=phone)


_REFUSALS = {
    signin.Verdict.WRONG: Kind.SIGNIN_FAILED,
    signin.Verdict.EXPIRED: Kind.SIGNIN_FAILED,
    signin.Verdict.REPLAYED: Kind.SIGNIN_FAILED,
    signin.Verdict.NO_CODE: Kind.SIGNIN_FAILED,
    signin.Verdict.LOCKED: Kind.LOCKOUT,
    signin.Verdict.LOCKED_NOW: Kind.LOCKOUT,
}


def _refusal(decision: signin.Decision) -> ApiError:
    verdict = decision.verdict
    if verdict == signin.Verdict.WRONG:
        return CodeRejected(ngettext("The code is not right. You may try %(n)d more time.",
                                     "The code is not right. You may try %(n)d more times.", decision.tries_left)
                            % {"n": decision.tries_left})
    if verdict == signin.Verdict.EXPIRED:
        return CodeRejected(_("The code has expired. Ask for a new one."))
    if verdict == signin.Verdict.REPLAYED:
        return CodeRejected(_("This code has been used already. Ask for a new one."))
    if verdict == signin.Verdict.NO_CODE:
        return CodeRejected(_("No code is waiting for this number. Ask for a code first."))
    if verdict == signin.Verdict.LOCKED_NOW:
        return LockedOut(_("Too many wrong codes. This number may not sign in for a while. %(wait)s")
                         % {"wait": _wait_message(decision.retry_after)}, decision.retry_after)
    return LockedOut(_("Too many wrong codes were typed for this number. %(wait)s")
                     % {"wait": _wait_message(decision.retry_after)}, decision.retry_after)


def verify_code(raw_phone, raw_code, *, request=None, language: str = "fa") -> Result:
    """Check a code for a number; on success the citizen's account (created on the first verified code)."""
    try:
        phone = clean_mobile(raw_phone)
        code = clean_code(raw_code)
    except BadParameter as exc:
        return Result(error=exc)
    with transaction.atomic():
        row = SigninCode.objects.select_for_update().filter(phone=phone).first()
        state = _state(row) if row is not None else signin.CodeState()
        decision = signin.verify(state, signin.code_hash(_key(), phone, code), timezone.now(),
                                 settings.SIGNIN_MAX_TRIES, settings.SIGNIN_COOLDOWN_SECONDS)
        if row is not None and decision.state != state:
            _store(phone, decision.state)
        if decision.verdict != signin.Verdict.OK:
            audit.record(_REFUSALS[decision.verdict], request=request, phone=phone, reason=decision.verdict.value)
            return Result(phone=phone, error=_refusal(decision))
        result = _citizen_for(phone, language)
        if result.ok:
            audit.record(Kind.CODE_VERIFIED, request=request, user=result.user, phone=phone, new=result.created)
        else:
            audit.record(Kind.SIGNIN_FAILED, request=request, phone=phone, reason="not_a_citizen_account")
        return result


def _citizen_for(phone: str, language: str) -> Result:
    """The citizen with the number, created with its user on the first verified code. A staff account whose
    username is the number is never signed in this way (staff sign in with a password and a second factor)."""
    User = get_user_model()
    citizen = Citizen.objects.select_related("user").filter(mobile=phone).first()
    user = citizen.user if citizen else User.objects.filter(username=phone).first()
    if user is not None and (user.is_staff or user.is_superuser or not user.is_active):
        return Result(phone=phone, error=SigninNotAllowed(
            _("This number cannot sign in here. Staff sign in on the staff page.")))
    if citizen is not None:
        return Result(phone=phone, user=user, citizen=citizen)
    if user is None:
        user = User(username=phone)
        user.set_unusable_password()
        user.save()
    group, _created = Group.objects.get_or_create(name=CITIZEN_GROUP)
    user.groups.add(group)
    language = language if language in {code for code, _name in settings.LANGUAGES} else "fa"
    citizen = Citizen.objects.create(user=user, mobile=phone, language=language)
    set_preferences(phone, user=user, language=language, source="signin")
    return Result(phone=phone, user=user, citizen=citizen, created=True)


def needs_national_id(citizen: Citizen) -> bool:
    """Whether to ask the citizen for their national ID: none verified and no claim waiting for staff."""
    return citizen.national_id is None and not citizen.links.filter(status=PropertyLink.Status.PENDING).exists()


# --- Claims on owner records (PropertyLink) ---------------------------------------------------------------------


@dataclass
class Claim:
    """What became of a citizen's national ID: `outcome` is verified, pending, no_owner or already (a claim of
    theirs exists)."""

    outcome: str = ""
    link: PropertyLink | None = None
    error: ApiError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def clean_national_id(raw) -> str:
    nid = re.sub(r"[\s\-]", "", to_ascii_digits(str(raw or "")))[:20]
    if not nid:
        raise InvalidNationalId(_("Type your national ID (10 digits)."))
    try:
        validate_national_id(nid)
    except ValidationError as exc:
        if exc.code == "national_id_format":
            raise InvalidNationalId(_("A national ID has 10 digits, not all the same.")) from None
        raise InvalidNationalId(_("This national ID is not valid: its last digit (the check digit) does not match. "
                                  "Check the number on your national card.")) from None
    return nid


def claim_national_id(citizen: Citizen, raw, *, request=None) -> Claim:
    """Link the citizen to the owner records with a national ID: verified at once when one of those records carries
    the citizen's mobile number, pending for staff otherwise; an ID on no owner record links nothing."""
    try:
        nid = clean_national_id(raw)
    except InvalidNationalId as exc:
        return Claim(error=exc)
    with transaction.atomic():
        rate = ratelimit.hit({"claim": (str(citizen.pk), _limits("ACCOUNTS_CLAIM_RATE"))})
        if not rate.allowed:
            audit.record(Kind.RATE_LIMITED, request=request, phone=citizen.mobile, scope="claim")
            return Claim(error=TooManyRequests(_("Too many national IDs were tried. %(wait)s")
                                               % {"wait": _wait_message(rate.retry_after)}, rate.retry_after))
        existing = citizen.links.filter(national_id=nid).exclude(status=PropertyLink.Status.REJECTED).first()
        if existing is not None:
            return Claim("already", existing)
        owners = Owner.objects.filter(national_id=nid)
        if not owners.exists():
            return Claim("no_owner")
        taken = PropertyLink.objects.filter(national_id=nid, status=PropertyLink.Status.VERIFIED).exists()
        matches = owners.filter(phone=citizen.mobile).exists()
        link = PropertyLink(citizen=citizen, national_id=nid)
        if matches and not taken:
            link.status, link.method, link.decided_at = (PropertyLink.Status.VERIFIED,
                                                         PropertyLink.Method.MOBILE_MATCH, timezone.now())
        link.save()
        audit.record(Kind.LINK_CREATED, request=request, user=citizen.user, phone=citizen.mobile, link=link.pk,
                     status=link.status)
        if link.status == PropertyLink.Status.VERIFIED:
            _verified(link)
            audit.record(Kind.LINK_VERIFIED, request=request, user=citizen.user, phone=citizen.mobile, link=link.pk,
                         method=link.method)
        _notify_link(link)
    return Claim(link.status, link)


def _verified(link: PropertyLink) -> None:
    citizen = link.citizen
    if citizen.national_id is None and not Citizen.objects.filter(national_id=link.national_id).exists():
        citizen.national_id = link.national_id
        citizen.save(update_fields=["national_id"])


NOTICES_PER_LINK = 10  # a verified link tells of at most this many parcels (one notice each), not a flood of SMS


def _notify_link(link: PropertyLink) -> None:
    """A verified link tells the citizen of each parcel it added (the event's context: renewal_code, address)."""
    if link.status != PropertyLink.Status.VERIFIED:
        return
    citizen = link.citizen
    recipient = Recipient(user_id=citizen.user_id, phone=citizen.mobile, language=citizen.language)
    parcel_ids = (Ownership.objects.filter(owner__national_id=link.national_id)
                  .order_by("parcel_id").values_list("parcel_id", flat=True).distinct()[:NOTICES_PER_LINK])
    for parcel in Parcel.objects.filter(pk__in=list(parcel_ids)).prefetch_related("addresses__street").order_by("id"):
        address = next(iter(parcel.addresses.all()), None)
        text = " ".join(x for x in [address.street.name if address and address.street_id else "",
                                     address.plaque if address else ""] if x)
        notify(LINKED_EVENT, recipient, {"renewal_code": parcel.renewal_code or str(parcel.pk), "address": text},
               key=f"{LINKED_EVENT}:{link.pk}:{parcel.pk}")


def decide_link(link_id: int, approve: bool, staff_user, *, request=None) -> str:
    """Staff confirm or reject a pending claim. Returns what happened: verified, rejected, not_pending or taken (the
    ID is verified for another citizen already)."""
    with transaction.atomic():
        link = PropertyLink.objects.select_for_update().select_related("citizen", "citizen__user").get(pk=link_id)
        if link.status != PropertyLink.Status.PENDING:
            return "not_pending"
        if approve and PropertyLink.objects.filter(national_id=link.national_id,
                                                   status=PropertyLink.Status.VERIFIED).exists():
            return "taken"
        link.status = PropertyLink.Status.VERIFIED if approve else PropertyLink.Status.REJECTED
        link.method = PropertyLink.Method.STAFF
        link.decided_by, link.decided_at = staff_user, timezone.now()
        link.save()
        if approve:
            _verified(link)
        audit.record(Kind.LINK_VERIFIED if approve else Kind.LINK_REJECTED, request=request, user=staff_user,
                     phone=link.citizen.mobile, link=link.pk, citizen=link.citizen_id)
        _notify_link(link)
        return link.status


def verified_national_ids(citizen: Citizen) -> list[str]:
    return list(citizen.links.filter(status=PropertyLink.Status.VERIFIED).values_list("national_id", flat=True))


# --- Settings ---------------------------------------------------------------------------------------------------


def save_settings(citizen: Citizen, *, email: str, language: str, by_sms: bool, by_email: bool, by_inbox: bool,
                  reminders: bool):
    """The citizen's notice preferences and language (notices.Preference, keyed by the mobile number)."""
    with transaction.atomic():
        if citizen.language != language:
            citizen.language = language
            citizen.save(update_fields=["language"])
        return set_preferences(citizen.mobile, user=citizen.user, email=email, language=language, by_sms=by_sms,
                               by_email=by_email, by_inbox=by_inbox, reminders=reminders, source="settings")


def purge(now: dt.datetime | None = None) -> tuple[int, int]:
    """Housekeeping: rate counters whose window is over, and code rows with no code, no tries and no lock."""
    now = now or timezone.now()
    counters = ratelimit.prune(now.timestamp())
    codes, _by_model = SigninCode.objects.filter(expires_at__lt=now - dt.timedelta(days=1), locked_until__isnull=True).delete()
    return counters, codes
