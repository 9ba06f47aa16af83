"""Everything that changes comments, followers and what followers hear, in one place (views, the admin, the loader
and the tests come here):

- a comment: by a signed-in citizen only (401 otherwise), plain text of COMMENT_MIN..COMMENT_MAX characters, counted
  against the per-citizen and per-address limits (429 past them, as report submissions are: accounts/ratelimit.py),
  kept `pending` until a moderator (transparency.moderate_comment) publishes or rejects it;
- following a decision or a project, and the notices to its followers (notices.notify, in the caller's transaction)
  when its status changes or the municipality publishes an update on it.

Who wrote a comment is personal data: the public sees `pseudonym`, an HMAC of the author and the decision or project
(so one citizen's comments on two projects cannot be linked, and nothing in it leads to their number)."""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts import ratelimit
from accounts.audit import request_address
from accounts.decorators import SignInNeeded, citizen_of as _citizen_of
from accounts.models import Citizen
from accounts.service import TooManyRequests  # 429 rate_limited with Retry-After, as for reports
from accounts.signin import parse_limits
from common.errors import BadParameter, Forbidden
from notices.service import Recipient, notify
from transparency import events
from transparency.models import Comment, Decision, Follower, Project, Update

COMMENT_MIN, COMMENT_MAX = 2, 2000
MODERATE = "transparency.moderate_comment"
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # letters only: a pseudonym never looks like (part of) a number


# --- what a row is about ----------------------------------------------------------------------------------------------

def kind_of(target) -> str:
    if isinstance(target, Decision):
        return "decision"
    if isinstance(target, Project):
        return "project"
    raise TypeError(f"not a decision or a project: {target!r}")


def about(target) -> dict:
    """The keyword argument naming `target` on a Comment, Follower, Update or Attachment."""
    return {kind_of(target): target}


def path_of(target) -> str:
    from django.urls import reverse

    return reverse(f"transparency:{kind_of(target)}", args=[target.pk])


# --- comments ---------------------------------------------------------------------------------------------------------

def pseudonym(user_id: int, target) -> str:
    """Six letters, the same for one citizen on one decision or project, unrelated elsewhere."""
    message = f"transparency-comment:{user_id}:{kind_of(target)}:{target.pk}".encode()
    digest = hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).digest()
    return "".join(_ALPHABET[b % len(_ALPHABET)] for b in digest[:6])


def shown_as(comment: Comment) -> str:
    """How a comment's author is named in public: "Citizen QKZMRT", never anything of the person."""
    return _("Citizen %(tag)s") % {"tag": comment.pseudonym}


def citizen_of(user) -> Citizen | None:
    return _citizen_of(user)


def _require_citizen(user) -> Citizen:
    citizen = citizen_of(user)
    if citizen is None:
        raise SignInNeeded(_("Sign in with your mobile number first."))
    return citizen


def clean_body(body: str) -> str:
    """The comment as kept: plain text, line ends made \\n, surrounding space trimmed; refused when too short or
    too long. HTML in it stays text (pages escape it)."""
    text = "\n".join(line.rstrip() for line in str(body or "").replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    text = text.strip()
    if len(text) < COMMENT_MIN:
        raise BadParameter(_("Write your comment (at least %(min)s characters).") % {"min": COMMENT_MIN})
    if len(text) > COMMENT_MAX:
        raise BadParameter(_("A comment may be at most %(max)s characters; this one has %(count)s.")
                           % {"max": COMMENT_MAX, "count": len(text)})
    return text


def check_comment_rate(citizen: Citizen, request=None) -> None:
    """Count a comment against the per-citizen and per-address limits (429 past them)."""
    scopes = {"transparency-citizen": (citizen.mobile, parse_limits(settings.TRANSPARENCY_COMMENT_RATE_PER_CITIZEN))}
    if request is not None:
        scopes["transparency-address"] = (request_address(request),
                                          parse_limits(settings.TRANSPARENCY_COMMENT_RATE_PER_ADDRESS))
    decision = ratelimit.hit(scopes)
    if not decision.allowed:
        raise TooManyRequests(_("Too many comments from you or your network; you may comment again in %(minutes)s "
                                "minutes.") % {"minutes": max(1, round(decision.retry_after / 60))},
                              decision.retry_after)


def add_comment(target, user, body: str, *, request=None, now=None) -> Comment:
    """A signed-in citizen's comment on a decision or a project, waiting for moderation."""
    citizen = _require_citizen(user)
    text = clean_body(body)
    check_comment_rate(citizen, request)
    return Comment.objects.create(**about(target), author=user, pseudonym=pseudonym(user.pk, target), body=text,
                                  created_at=now or timezone.now())


def may_moderate(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.has_perm(MODERATE))


def moderate(comment: Comment, action: str, by, reason: str = "", *, now=None) -> Comment:
    """Publish or reject a comment (a published one may be withdrawn by rejecting it)."""
    if not may_moderate(by):
        raise Forbidden(_("Only comment moderators may publish or reject comments."))
    states = {"publish": Comment.State.PUBLISHED, "reject": Comment.State.REJECTED}
    if action not in states:
        raise BadParameter(_("Say publish or reject."))
    Comment.objects.filter(pk=comment.pk).update(state=states[action], moderated_by=by,
                                                 moderated_at=now or timezone.now(), reason=(reason or "")[:300])
    comment.refresh_from_db()
    return comment


def published_comments(target):
    return Comment.objects.filter(**about(target), state=Comment.State.PUBLISHED).order_by("created_at", "id")


def own_waiting_comments(target, user):
    """The asking citizen's own comments not (or no longer) public: only they see them, marked so."""
    if user is None or not user.is_authenticated:
        return Comment.objects.none()
    return (Comment.objects.filter(**about(target), author=user).exclude(state=Comment.State.PUBLISHED)
            .order_by("created_at", "id"))


# --- following --------------------------------------------------------------------------------------------------------

def follow(target, user) -> bool:
    """The signed-in citizen follows `target`; False when they did already."""
    _require_citizen(user)
    try:
        with transaction.atomic():
            Follower.objects.create(**about(target), user=user)
    except IntegrityError:
        return False
    return True


def unfollow(target, user) -> bool:
    _require_citizen(user)
    deleted, _rows = Follower.objects.filter(**about(target), user=user).delete()
    return deleted > 0


def is_following(target, user) -> bool:
    return bool(user is not None and user.is_authenticated
                and Follower.objects.filter(**about(target), user=user).exists())


def followers(target) -> list[Recipient]:
    """Each follower as a notice recipient: their account (inbox) and their mobile number (SMS), in their language."""
    users = Follower.objects.filter(**about(target)).values_list("user_id", flat=True)
    return [Recipient(user_id=c.user_id, phone=c.mobile, language=c.language)
            for c in Citizen.objects.filter(user_id__in=users).order_by("user_id")]


def _context(target, text: str = "") -> dict:
    labels = {}
    for language in ("fa", "en"):
        with translation.override(language):
            labels[language] = (str(target.Status(target.status).label),
                                str(_("Council decision") if kind_of(target) == "decision" else _("Project")))
    return {"kind": kind_of(target), "kind_fa": labels["fa"][1], "kind_en": labels["en"][1],
            "title": target.title, "title_en": target.title_en or target.title, "status": target.status,
            "status_fa": labels["fa"][0], "status_en": labels["en"][0], "text": text[:300], "path": path_of(target)}


def _tell(target, event: str, key: str, text: str = "") -> int:
    context = _context(target, text)
    recipients = followers(target)
    for recipient in recipients:
        notify(event, recipient, context, key=f"{key}:{recipient.user_id}")
    return len(recipients)


def status_changed(target, before: str, *, now=None) -> int:
    """Tell `target`'s followers its status is now `target.status` (was `before`); how many were told. Call it in
    the transaction that saved the change."""
    if before == target.status:
        return 0
    stamp = (now or timezone.now()).timestamp()
    return _tell(target, events.STATUS_CHANGED, f"transparency:{kind_of(target)}:{target.pk}:{target.status}:{stamp}")


def publish_update(target, text: str, by=None, *, published: bool = True) -> Update:
    """A word from the municipality on `target`; its followers are told when it is published."""
    text = (text or "").strip()
    if not text:
        raise BadParameter(_("Write the update."))
    with transaction.atomic():
        update = Update.objects.create(**about(target), text=text[:2000], published=False,
                                       by=by if getattr(by, "is_authenticated", False) else None)
        if published:
            update_published(update)
    return update


def update_published(update: Update, *, now=None) -> int:
    """Mark `update` published (once) and tell the followers of what it is about; how many were told."""
    now = now or timezone.now()
    with transaction.atomic():
        marked = Update.objects.filter(pk=update.pk, published_at__isnull=True).update(published=True,
                                                                                        published_at=now)
        update.refresh_from_db()
        if not marked:
            return 0
        return _tell(update.target, events.UPDATE_PUBLISHED,
                     f"transparency:{kind_of(update.target)}:{update.target.pk}:update:{update.pk}", update.text)
