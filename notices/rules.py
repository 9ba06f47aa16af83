"""Notice rules, pure (no Django): which channels a notice takes, how long to wait after a temporary error."""

from collections.abc import Iterable, Mapping

SECURITY, TRANSACTIONAL, REMINDER = "security", "transactional", "reminder"
KINDS = (SECURITY, TRANSACTIONAL, REMINDER)
CHANNELS = ("sms", "email", "inbox")

# Higher first: a sign-in code never waits behind a campaign.
PRIORITY = {SECURITY: 10, TRANSACTIONAL: 5, REMINDER: 0}


def channels_for(kind: str, event_channels: Iterable[str], *, has_phone: bool, has_email: bool, has_user: bool,
                 preference: Mapping[str, bool] | None) -> list[str]:
    """The channels a notice goes out on, in CHANNELS order.

    security: SMS only, always (never opted out). reminder: SMS unless the number opted out of reminders.
    transactional: the preference's channels (by_sms, by_email, by_inbox); without a preference SMS, plus the inbox
    when there is a user. Always within the event's own channels and only where there is an address (a mobile
    number for SMS, an e-mail address for e-mail, a user for the inbox)."""
    allowed = set(event_channels)
    reachable = {"sms": has_phone, "email": has_email, "inbox": has_user}
    if kind == SECURITY:
        wanted = {"sms"}
    elif kind == REMINDER:
        wanted = set() if preference and preference.get("reminders_opt_out") else {"sms"}
    elif kind == TRANSACTIONAL:
        if preference is not None:
            wanted = {c for c in CHANNELS if preference.get(f"by_{c}")}
        else:
            wanted = {"sms", "inbox"} if has_user else {"sms"}
    else:
        raise ValueError(f"unknown kind of notice {kind!r}")
    return [c for c in CHANNELS if c in wanted and c in allowed and reachable[c]]


def backoff_seconds(attempts: int, base: float, cap: float) -> float:
    """The wait after the `attempts`-th failed try (1, 2, ...): base, 2*base, 4*base ... capped at `cap`."""
    if attempts < 1:
        return 0.0
    return float(min(base * 2 ** min(attempts - 1, 62), cap))


def after_temporary_error(attempts: int, max_attempts: int, base: float, cap: float) -> tuple[str, float]:
    """("dead", 0) once `attempts` tries have failed and no more are allowed, else ("queued", seconds to wait)."""
    if attempts >= max_attempts:
        return "dead", 0.0
    return "queued", backoff_seconds(attempts, base, cap)


def is_keyword(reply: str, keywords: Iterable[str]) -> bool:
    """Whether a reply (already normalised: ASCII digits, Persian letters, single spaces) is one of the keywords
    (normalised the same way); case, surrounding spaces and punctuation do not count."""
    def norm(text: str) -> str:
        return "".join(ch for ch in text.casefold() if ch.isalnum())

    word = norm(reply)
    return bool(word) and any(word == norm(k) for k in keywords)
