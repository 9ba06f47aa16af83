"""The rules of citizens' sign-in by one-time code, as pure functions (no Django, no database): facts in, a decision
out. accounts/service.py gathers the facts (the number's code row, the clock, the settings) and stores the result.

- A code is `digits` random decimal digits (secrets), kept only as HMAC-SHA256(key, number + ":" + code), so a copy
  of the table gives no code away and a code is bound to its number.
- A number has one code at a time: a new request supersedes the old one (its hash is replaced).
- A code works once (`used_at`), until `expires_at`.
- Wrong tries are counted per number, across codes (asking for a new code does not reset them, or the limit would be
  `max_tries` per code rather than per number); the `max_tries`-th wrong try locks the number for `cooldown` seconds
  and voids its code: while locked nothing is accepted, not even the right code, and no new code is sent.
- Rate limits: "count/seconds" rules in fixed windows aligned to the epoch (window = floor(t / seconds)); every rule
  of a scope must hold. A fixed window lets at most twice the count through around a window's edge: acceptable for
  limits meant to stop floods, and it needs one counter row per (scope, rule, value) instead of a log of requests.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import hmac
import ipaddress
import re
import secrets
from dataclasses import dataclass, replace

MOBILE_RE = re.compile(r"^09\d{9}$")


# --- Codes -----------------------------------------------------------------------------------------


def generate_code(digits: int, randbelow=secrets.randbelow) -> str:
    """A code of exactly `digits` decimal digits (leading zeros kept)."""
    if not 4 <= digits <= 10:
        raise ValueError(f"a sign-in code has 4 to 10 digits, not {digits}")
    return str(randbelow(10**digits)).zfill(digits)


def code_hash(key: bytes, phone: str, code: str) -> str:
    """HMAC-SHA256 of the number and the code, hex."""
    return hmac.new(key, f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def derive_key(secret: str, purpose: str = "accounts.signin-code") -> bytes:
    """A key for one purpose derived from the site's secret (so the secret itself never keys two things)."""
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).digest()


@dataclass(frozen=True)
class CodeState:
    """A number's sign-in state: its current code (hash, expiry, use), wrong tries and lock."""

    code_hash: str = ""
    expires_at: dt.datetime | None = None
    used_at: dt.datetime | None = None
    tries: int = 0
    locked_until: dt.datetime | None = None


class Verdict(enum.Enum):
    OK = "ok"
    WRONG = "wrong"              # a wrong code: one try fewer
    EXPIRED = "expired"          # the code's time is over
    REPLAYED = "replayed"        # the code was used already
    NO_CODE = "no_code"          # no code was asked for (or it was voided by a lock-out)
    LOCKED = "locked"            # the number is cooling down
    LOCKED_NOW = "locked_now"    # this wrong try was the last one allowed: the number cools down from now


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    state: CodeState             # the state to store
    tries_left: int = 0
    retry_after: int = 0         # seconds until the number may try again (LOCKED, LOCKED_NOW)


def _unlocked(state: CodeState, now: dt.datetime) -> CodeState:
    """A lock whose time is over is lifted, with a fresh count of tries."""
    if state.locked_until is not None and now >= state.locked_until:
        return replace(state, locked_until=None, tries=0)
    return state


def locked_for(state: CodeState, now: dt.datetime) -> int:
    """Seconds the number is still locked (0 when it is not)."""
    if state.locked_until is None or now >= state.locked_until:
        return 0
    return max(1, int((state.locked_until - now).total_seconds() + 0.999))


def issue(state: CodeState, new_hash: str, now: dt.datetime, ttl_seconds: int) -> CodeState:
    """The state after a new code is sent: it replaces any earlier code; tries carry over."""
    state = _unlocked(state, now)
    return replace(state, code_hash=new_hash, expires_at=now + dt.timedelta(seconds=ttl_seconds), used_at=None)


def verify(state: CodeState, given_hash: str, now: dt.datetime, max_tries: int, cooldown_seconds: int) -> Decision:
    """Decide on a code given for a number, from the number's state and the given code's hash."""
    wait = locked_for(state, now)
    if wait:
        return Decision(Verdict.LOCKED, state, retry_after=wait)
    state = _unlocked(state, now)
    if not state.code_hash:
        return Decision(Verdict.NO_CODE, state, tries_left=max_tries - state.tries)
    if state.used_at is not None:
        return Decision(Verdict.REPLAYED, state, tries_left=max_tries - state.tries)
    if state.expires_at is None or now >= state.expires_at:
        return Decision(Verdict.EXPIRED, state, tries_left=max_tries - state.tries)
    if hmac.compare_digest(state.code_hash, given_hash):
        return Decision(Verdict.OK, replace(state, used_at=now, tries=0))
    tries = state.tries + 1
    if tries >= max_tries:
        locked = replace(state, code_hash="", expires_at=None, used_at=None, tries=0,
                         locked_until=now + dt.timedelta(seconds=cooldown_seconds))
        return Decision(Verdict.LOCKED_NOW, locked, retry_after=cooldown_seconds)
    return Decision(Verdict.WRONG, replace(state, tries=tries), tries_left=max_tries - tries)


# --- Phone numbers as people may read them in a log -----------------------------------------------------


def is_mobile(phone: str) -> bool:
    """An Iranian mobile number in its normal form: 11 digits starting 09 (DOMAIN.md 6)."""
    return bool(MOBILE_RE.match(phone or ""))


def mask_phone(phone: str) -> str:
    """0912***4567: enough to tell numbers apart in a log, not enough to call one."""
    phone = phone or ""
    if len(phone) < 8:
        return "*" * len(phone)
    return phone[:4] + "***" + phone[-4:]


# --- Rate limits ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Limit:
    count: int
    seconds: int

    def __str__(self) -> str:
        return f"{self.count}/{self.seconds}"


def parse_limits(specs) -> list[Limit]:
    """["3/600", "10/86400"] -> [Limit(3, 600), Limit(10, 86400)]; a bad rule is a ValueError."""
    limits = []
    for spec in specs:
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(spec))
        if not match or int(match[1]) < 1 or int(match[2]) < 1:
            raise ValueError(f"a rate limit is 'count/seconds' with both at least 1, not {spec!r}")
        limits.append(Limit(int(match[1]), int(match[2])))
    return limits


def window_start(epoch_seconds: float, seconds: int) -> int:
    """The start (epoch seconds) of the fixed window of `seconds` holding the instant."""
    return int(epoch_seconds // seconds) * seconds


@dataclass(frozen=True)
class Counter:
    """One counter to bump: its key (scope, rule and value), its window and the rule."""

    key: str
    window: int
    limit: Limit


def counters(scope: str, value: str, limits: list[Limit], epoch_seconds: float) -> list[Counter]:
    return [Counter(f"{scope}:{limit.seconds}:{value}", window_start(epoch_seconds, limit.seconds), limit)
            for limit in limits]


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    scope: str = ""              # the scope whose rule was broken ("number", "address")
    limit: Limit | None = None
    retry_after: int = 0


def rate_decision(bumped: list[Counter], counts: dict[str, int], epoch_seconds: float) -> RateDecision:
    """Whether every counter is within its rule after the bump; else the rule that waits longest."""
    worst = None
    for counter in bumped:
        if counts.get(counter.key, 0) > counter.limit.count:
            wait = max(1, int(counter.window + counter.limit.seconds - epoch_seconds + 0.999))
            if worst is None or wait > worst.retry_after:
                worst = RateDecision(False, counter.key.split(":", 1)[0], counter.limit, wait)
    return worst or RateDecision(True)


def address_key(address: str) -> str:
    """The part of a client address a rate limit counts: the address itself for IPv4, its /64 network for IPv6 (one
    subscriber usually holds a whole /64). Whatever does not parse is counted as it is."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return (address or "unknown")[:64]
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def client_address(remote_addr: str, header_value: str | None, trusted_proxies: int) -> str:
    """The client's address: REMOTE_ADDR, or, behind `trusted_proxies` proxies that append to a forwarding header
    (X-Forwarded-For), the entry that many places from its end (the one our nearest trusted proxy wrote; entries
    further left can be forged by the client)."""
    if trusted_proxies > 0 and header_value:
        parts = [p.strip() for p in header_value.split(",") if p.strip()]
        if len(parts) >= trusted_proxies:
            return parts[-trusted_proxies]
    return remote_addr or ""
