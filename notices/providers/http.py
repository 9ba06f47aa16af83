"""RestSmsGateway: the common REST shape of Iranian SMS gateways (Kavenegar-like), over urllib (no dependency).

    POST {NOTICES_SMS_URL}/{NOTICES_SMS_API_KEY}/sms/send.json     receptor, message, sender, localid
      -> {"return": {"status": 200, "message": "..."}, "entries": [{"messageid": 123, "status": 1, ...}]}
    GET  {NOTICES_SMS_URL}/{NOTICES_SMS_API_KEY}/sms/status.json?messageid=1,2,3
      -> {"return": {...}, "entries": [{"messageid": 1, "status": 10, "statustext": "..."}, ...]}

`localid` carries the message's idempotency key: the gateway answers a second send with the same localid with the
first message's entry and sends nothing, so a message re-sent after a crash (or after a timeout whose request did
reach the gateway) is not delivered twice.

Errors are classified for the delivery loop (notices/delivery.py): TemporaryError backs off and retries,
PermanentError fails the message at once with the gateway's reason. The API key is part of the URL path: it is
never put in an error, a log line or an exception chain (`_redact`, `raise ... from None`).
"""

import email.utils
import http.client
import json
import logging
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable

from django.conf import settings
from django.utils.translation import gettext as _

from notices.providers.base import (DELIVERED, FAILED, PENDING, OutgoingSms, PermanentError, SendResult, SmsProvider,
                                    TemporaryError)

logger = logging.getLogger(__name__)

# The throttle runs at this share of NOTICES_SMS_RATE (the rate the gateway allows): requests spaced exactly at the
# limit still reach the gateway bunched by network jitter, and a gateway counting per sliding second then answers
# 429 (measured against tests/notices/fake_gateway.py at 50/s: ~2% of requests refused at 100%, none at 90%).
RATE_HEADROOM = 0.9
MAX_ANSWER_BYTES = 1_000_000  # an answer larger than this is not the gateway's JSON
STATUS_BATCH = 100  # message ids per status request (gateways cap the list; Kavenegar's documented cap is higher)

# --- Delivery status codes (entries[].status of status.json and of delivery callbacks) -------------------------
#
#   code | gateway's meaning                               | outcome here
#   -----+-------------------------------------------------+-------------------------------------------------
#     1  | queued at the gateway                           | pending: ask again later
#     2  | scheduled                                       | pending
#     4  | sent to the SMS centre                          | pending
#     5  | sent to the operator                            | pending
#     6  | failed at the operator / sender line            | failed
#    10  | delivered to the handset                        | delivered
#    11  | not delivered (handset off past the validity)   | failed
#    13  | cancelled                                       | failed
#    14  | blocked by the recipient (advertising block)    | failed
#   100  | message id unknown to the gateway               | pending: not ours to judge; logged
#  other | -                                               | pending; logged
#
PENDING_STATUSES = frozenset({1, 2, 4, 5})
DELIVERED_STATUSES = frozenset({10})
FAILED_STATUSES = {
    6: "failed at the operator",
    11: "not delivered to the handset",
    13: "cancelled",
    14: "blocked by the recipient",
}


def delivery_outcome(code: int) -> tuple[str, str]:
    """A delivery status code as (state, reason): state "delivered", "failed" (reason says why) or "pending" (still
    on its way, or unknown). Used for status polling and for delivery callbacks (notices.callbacks)."""
    if code in DELIVERED_STATUSES:
        return DELIVERED, ""
    if code in FAILED_STATUSES:
        return FAILED, f"gateway status {code}: {FAILED_STATUSES[code]}"
    return PENDING, ""


# --- Gateway-level error statuses (return.status, also the HTTP status with most gateways) --------------------
#
#   status | meaning                                  | class
#   -------+------------------------------------------+---------------------------------------------------------
#    200   | accepted                                 | -
#    400   | parameters missing or invalid            | permanent
#    401   | API key invalid / account inactive       | permanent (configuration: every message would fail alike,
#    403   | API key invalid / access denied          |   but retrying with the same key cannot succeed; staff
#          |                                          |   retry the failed messages after fixing the key)
#    408   | request timeout (a proxy's)              | temporary
#    409   | the gateway cannot answer now            | temporary
#    411   | receptor invalid                         | permanent
#    412   | sender line invalid                      | permanent
#    413   | message empty or too long                | permanent
#    418   | credit insufficient                      | TEMPORARY, see below
#    422   | invalid characters in the text           | permanent
#    429   | too many requests                        | temporary, Retry-After honoured
#    5xx   | gateway's own failure                    | temporary
#   other 4xx                                         | permanent
#
# Insufficient credit, temporary or permanent? Permanent would fail every message queued while the account is
# empty (sign-in codes, permit steps) and leave them for staff to retry one by one after the top-up; nothing about
# the message itself is wrong. Temporary backs them off (NOTICES_BACKOFF_SECONDS doubling) and sends them by
# themselves once the municipality tops up; past NOTICES_MAX_ATTEMPTS they become `dead`, which staff may retry.
# The cost is some requests to the gateway while empty, bounded by the back-off. So: temporary, logged as an
# ERROR so the operators are told to top up.
TEMPORARY_GATEWAY_STATUSES = frozenset({408, 409, 418, 429})
INSUFFICIENT_CREDIT = 418


def _retry_after(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - now())


class TokenBucket:
    """A client-side throttle: at most `rate` acquisitions per second on average, bursts up to `capacity`.

    acquire() reserves a token under a lock and sleeps outside it, so threads queue fairly; the clock and the sleep
    are injectable for tests. rate <= 0 turns it off."""

    def __init__(self, rate: float, capacity: float = 1.0, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.rate = float(rate)
        self.capacity = max(1.0, float(capacity))
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.capacity
        self._last = clock()
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Take a token; the seconds the caller must wait before using it (0 when one was available)."""
        if self.rate <= 0:
            return 0.0
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
            self._last = now
            self._tokens -= 1.0
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def acquire(self) -> float:
        wait = self.reserve()
        if wait > 0:
            self._sleep(wait)
        return wait


_buckets: dict[str, TokenBucket] = {}
_buckets_lock = threading.Lock()


def shared_bucket(url: str, rate: float) -> TokenBucket:
    """The process's throttle for one gateway address (all RestSmsGateway instances of a process share it)."""
    with _buckets_lock:
        bucket = _buckets.get(url)
        if bucket is None or bucket.rate != float(rate):
            bucket = _buckets[url] = TokenBucket(rate)
        return bucket


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is answered as it is (an error), not followed: urllib would re-send a POST as a GET without its
    fields, and the gateway's address is configuration, not something to discover."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


class RestSmsGateway(SmsProvider):
    """SMS through a Kavenegar-like REST gateway. Settings: NOTICES_SMS_URL, NOTICES_SMS_API_KEY,
    NOTICES_SMS_SENDER, NOTICES_SMS_TIMEOUT (seconds per network operation), NOTICES_SMS_RATE (requests per second
    the gateway allows; each process throttles itself to RATE_HEADROOM of it)."""

    name = "rest"

    def __init__(self, *, url: str | None = None, api_key: str | None = None, sender: str | None = None,
                 timeout: float | None = None, rate: float | None = None, bucket: TokenBucket | None = None):
        self.url = (settings.NOTICES_SMS_URL if url is None else url).rstrip("/")
        self.api_key = settings.NOTICES_SMS_API_KEY if api_key is None else api_key
        self.sender = settings.NOTICES_SMS_SENDER if sender is None else sender
        self.timeout = float(settings.NOTICES_SMS_TIMEOUT if timeout is None else timeout)
        rate = float(settings.NOTICES_SMS_RATE if rate is None else rate)
        self.bucket = bucket or shared_bucket(self.url, rate * RATE_HEADROOM)

    # --- the provider interface -------------------------------------------------------------------------------
    def send(self, sms: OutgoingSms) -> SendResult:
        fields = {"receptor": sms.phone, "message": sms.body, "sender": sms.sender or self.sender,
                  "localid": sms.key}
        data = self._call("send", fields, post=True)
        entry = self._first_entry(data)
        try:
            messageid = int(entry["messageid"])
        except (KeyError, TypeError, ValueError):
            # Accepted but unreadable: a retry is safe, the gateway answers the same localid with the same message.
            raise TemporaryError(_("The SMS gateway's answer has no message id.")) from None
        code = entry.get("status")
        state, reason = delivery_outcome(code) if isinstance(code, int) else (PENDING, "")
        if state == FAILED:
            raise PermanentError(_("The SMS gateway refused the message: %(reason)s") % {"reason": reason})
        return SendResult(provider_id=str(messageid), delivered=state == DELIVERED)

    def statuses(self, provider_ids: Iterable[str]) -> dict[str, tuple[str, str]]:
        """Delivery status of sent messages: {provider_id: ("delivered" | "failed" | "pending", reason)} (see
        delivery_outcome), for the ids the gateway answered about."""
        ids = []
        for provider_id in provider_ids:
            try:
                ids.append(int(provider_id))
            except (TypeError, ValueError):
                logger.warning("SMS status: %r is not one of this gateway's message ids", provider_id)
        outcomes: dict[str, tuple[str, str]] = {}
        for start in range(0, len(ids), STATUS_BATCH):
            chunk = ids[start:start + STATUS_BATCH]
            data = self._call("status", {"messageid": ",".join(map(str, chunk))}, post=False)
            for entry in data.get("entries") or []:
                try:
                    messageid, code = int(entry["messageid"]), int(entry["status"])
                except (KeyError, TypeError, ValueError):
                    continue
                if code not in PENDING_STATUSES and code not in DELIVERED_STATUSES and code not in FAILED_STATUSES:
                    logger.warning("SMS status: message %s has the unknown status %s", messageid, code)
                outcomes[str(messageid)] = delivery_outcome(code)
        return outcomes

    # --- HTTP ---------------------------------------------------------------------------------------------------
    def shown_url(self, method: str) -> str:
        """The endpoint's address as it may be shown: the API key replaced by ***."""
        return f"{self.url}/***/sms/{method}.json"

    def _redact(self, text: str) -> str:
        for secret in {self.api_key, urllib.parse.quote(self.api_key, safe="")}:
            if secret:
                text = text.replace(secret, "***")
        return text

    def _temporary(self, message: str, retry_after: float | None = None) -> TemporaryError:
        return TemporaryError(self._redact(message), retry_after)

    def _call(self, method: str, fields: dict[str, str], *, post: bool) -> dict:
        """One API call: the parsed JSON of a successful answer, or TemporaryError / PermanentError."""
        if not self.url or not self.api_key:
            # configuration, not the message: every message would fail alike until it is set; staff retry them
            raise PermanentError(_("The SMS gateway is not configured (NOTICES_SMS_URL, NOTICES_SMS_API_KEY)."))
        url = f"{self.url}/{urllib.parse.quote(self.api_key, safe='')}/sms/{method}.json"
        encoded = urllib.parse.urlencode(fields)
        if post:
            request = urllib.request.Request(url, data=encoded.encode(), method="POST", headers={
                "Content-Type": "application/x-www-form-urlencoded; charset=utf-8", "Accept": "application/json"})
        else:
            request = urllib.request.Request(f"{url}?{encoded}", method="GET", headers={"Accept": "application/json"})
        self.bucket.acquire()
        shown = self.shown_url(method)
        started = time.monotonic()
        error = None
        try:
            with _opener.open(request, timeout=self.timeout) as response:
                status, headers, body = response.status, response.headers, response.read(MAX_ANSWER_BYTES + 1)
        except urllib.error.HTTPError as http_error:
            try:
                status, headers, body = http_error.code, http_error.headers, http_error.read(MAX_ANSWER_BYTES + 1)
            except (OSError, http.client.HTTPException):
                status, headers, body = http_error.code, http_error.headers, b""
            finally:
                http_error.close()
        except (TimeoutError, socket.timeout):
            error = _("The SMS gateway did not answer within %(seconds)s seconds.") % {"seconds": self.timeout}
        except urllib.error.URLError as url_error:
            reason = url_error.reason
            if isinstance(reason, (TimeoutError, socket.timeout)):
                error = _("The SMS gateway did not answer within %(seconds)s seconds.") % {"seconds": self.timeout}
            else:
                error = _("The SMS gateway could not be reached: %(reason)s") % {"reason": reason}
        except (OSError, http.client.HTTPException) as io_error:  # reset mid-answer, bad status line, ...
            error = _("The SMS gateway could not be reached: %(reason)s") % {"reason": io_error}
        elapsed = time.monotonic() - started
        if error is not None:
            logger.warning("SMS gateway %s: %s (%.2f s)", shown, self._redact(str(error)), elapsed)
            raise self._temporary(error) from None
        logger.debug("SMS gateway %s: HTTP %s in %.2f s", shown, status, elapsed)
        return self._interpret(method, status, headers, body)

    def _interpret(self, method: str, status: int, headers, body: bytes) -> dict:
        shown = self.shown_url(method)
        retry_after = _retry_after(headers.get("Retry-After") if headers is not None else None)
        data = None
        if len(body) <= MAX_ANSWER_BYTES:
            try:
                data = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                data = None
        answer = data.get("return") if isinstance(data, dict) else None
        gateway_status = answer.get("status") if isinstance(answer, dict) else None
        gateway_message = answer.get("message") if isinstance(answer, dict) else None
        if not isinstance(gateway_status, int) or isinstance(gateway_status, bool):
            gateway_status = None
        reason = self._redact(str(gateway_message or http.client.responses.get(status, "")))[:300]

        if status == 429 or gateway_status == 429:
            logger.warning("SMS gateway %s: rate-limited (retry after %s s)", shown, retry_after)
            raise self._temporary(_("The SMS gateway asks to slow down (HTTP 429)."), retry_after)
        if status >= 500:
            logger.warning("SMS gateway %s: HTTP %s %s", shown, status, reason)
            raise self._temporary(_("The SMS gateway failed (HTTP %(status)s): %(reason)s")
                                  % {"status": status, "reason": reason}, retry_after)
        if 200 <= status < 300 and data is None:
            logger.warning("SMS gateway %s: an answer that is not JSON", shown)
            raise self._temporary(_("The SMS gateway's answer is not valid JSON."))
        if 200 <= status < 300 and gateway_status in (None, 200):
            if not isinstance(data, dict):
                raise self._temporary(_("The SMS gateway's answer is not valid JSON."))
            return data
        # an error: the gateway's own status when it gave one (most give the same as the HTTP status)
        code = gateway_status if gateway_status is not None else status
        if code in TEMPORARY_GATEWAY_STATUSES or code >= 500:
            log = logger.error if code == INSUFFICIENT_CREDIT else logger.warning
            log("SMS gateway %s: status %s %s", shown, code, reason)
            raise self._temporary(_("The SMS gateway cannot send now (status %(status)s): %(reason)s")
                                  % {"status": code, "reason": reason}, retry_after)
        if 300 <= status < 400:
            raise self._temporary(_("The SMS gateway answered an unexpected redirect (HTTP %(status)s).")
                                  % {"status": status})
        logger.warning("SMS gateway %s: refused, status %s %s", shown, code, reason)
        raise PermanentError(self._redact(_("The SMS gateway refused the request (status %(status)s): %(reason)s")
                                          % {"status": code, "reason": reason}))

    @staticmethod
    def _first_entry(data: dict) -> dict:
        entries = data.get("entries")
        if not isinstance(entries, list) or not entries or not isinstance(entries[0], dict):
            raise TemporaryError(_("The SMS gateway's answer has no message id."))
        return entries[0]
