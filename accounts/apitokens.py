"""Personal API tokens for QGIS, GDAL and scripts: made, found, revoked. The token is `gis_` + 8 hex digits (its
prefix, shown in lists) + `_` + 43 random URL-safe characters (256 bits from `secrets`). Only its SHA-256 is stored:
a fast hash is enough for a random secret of that length (nobody can guess it back, unlike a password), and it makes
checking a token one indexed look-up, no password hasher. accounts/apiauth.py accepts tokens on API requests."""

import hashlib
import re
import secrets
from datetime import timedelta

from django.utils import timezone

from accounts import audit
from accounts.models import ApiToken, AuditEvent

TAG = "gis_"
TOKEN_RE = re.compile(r"gis_[0-9a-f]{8}_[A-Za-z0-9_-]{43}")
PREFIX_LENGTH = len(TAG) + 8
TOUCH_EVERY = timedelta(seconds=60)  # last_used_at is written at most this often (not on every tile)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def looks_like_token(text: str) -> bool:
    """Whether a string has a token's shape (so a basic-auth password of that shape is taken as a token)."""
    return bool(TOKEN_RE.fullmatch(text or ""))


def generate() -> str:
    return f"{TAG}{secrets.token_hex(4)}_{secrets.token_urlsafe(32)}"


def create(user, name: str, *, expires_at=None, created_by=None, two_factor: bool = False,
           request=None) -> tuple[ApiToken, str]:
    """A new token for `user`: the row and the token itself, which is not kept anywhere (show it once)."""
    token = generate()
    row = ApiToken.objects.create(user=user, name=(name or "").strip()[:100] or "API", prefix=token[:PREFIX_LENGTH],
                                  digest=digest(token), expires_at=expires_at, created_by=created_by,
                                  two_factor=two_factor)
    audit.record(AuditEvent.Kind.API_TOKEN_CREATED, request=request, user=user, token=row.prefix,
                 by=getattr(created_by, "username", ""))
    return row, token


def revoke(row: ApiToken, *, by=None, request=None) -> bool:
    """Revoke a token (from now on it is refused); False if it was revoked already."""
    changed = ApiToken.objects.filter(pk=row.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    if changed:
        audit.record(AuditEvent.Kind.API_TOKEN_REVOKED, request=request, user=row.user, token=row.prefix,
                     by=getattr(by, "username", ""))
    return bool(changed)


def find(token: str) -> ApiToken | None:
    """The token's row (with its user), revoked or expired ones included (the caller says why it is refused)."""
    if not looks_like_token(token):
        return None
    return ApiToken.objects.select_related("user").filter(digest=digest(token)).first()


def refusal(row: ApiToken | None, now=None) -> str:
    """Why a token is refused ("" when it is good): unknown, revoked, expired, or its user is inactive."""
    now = now or timezone.now()
    if row is None:
        return "unknown"
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None and row.expires_at <= now:
        return "expired"
    if not row.user.is_active:
        return "inactive"
    return ""


def touch(row: ApiToken, now=None) -> None:
    """Record the use (at most once per TOUCH_EVERY, so tiles do not write on every request)."""
    now = now or timezone.now()
    if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
        row.last_used_at = now


def status(row: ApiToken, now=None) -> str:
    """active / revoked / expired, for lists."""
    reason = refusal(row, now)
    return "active" if not reason or reason == "inactive" else reason
