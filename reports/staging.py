"""Photos uploaded while the citizen fills in the report form, attached to the report by token when it is submitted.

The form uploads each photo as soon as it is picked (POST /api/reports/photos): it is checked there exactly as a
photo sent with the report is (reports.photos.check_upload: size, content by libmagic, header, shape), its EXIF place
read (the form offers it), and its raw bytes kept as they came under reports/incoming/ (nothing serves them) with a
StagedPhoto row. The answer is an opaque token. The submission then names tokens instead of sending bytes: receiving
and parsing a 7.7 MB phone photo (~10 ms) happens while the citizen types, not while they wait for their tracking
code. A token is used once, only by the citizen and the session that uploaded it, until REPORTS_STAGED_PHOTO_HOURS
have passed; attaching turns its row into the photo's row in one statement (`attach`: the raw file is not moved),
and the photo is processed by the same job as any photo (reports.photos.process). Uploads never attached are deleted
by the periodic job reports.purge_staged_photos (`purge`)."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import ratelimit
from accounts.audit import request_address
from accounts.service import TooManyRequests
from accounts.signin import parse_limits
from common.errors import BadParameter
from reports import photos
from reports.models import Photo, Report, StagedPhoto


def session_of(request) -> str:
    """What a token is bound to besides its citizen: the session (a hash of its key; a device signed in elsewhere
    has another)."""
    key = request.session.session_key or ""
    return hashlib.sha256(key.encode()).hexdigest()


def _check_rate(phone: str, request) -> None:
    decision = ratelimit.hit({
        "reports-photo-number": (phone, parse_limits(settings.REPORTS_PHOTO_RATE_PER_NUMBER)),
        "reports-photo-address": (request_address(request), parse_limits(settings.REPORTS_PHOTO_RATE_PER_ADDRESS))})
    if not decision.allowed:
        raise TooManyRequests(_("Too many photos uploaded from this number or place; try again in %(minutes)s "
                                "minutes.") % {"minutes": max(1, round(decision.retry_after / 60))},
                              decision.retry_after)


def stage(uploaded, *, user, phone: str, request) -> StagedPhoto:
    """Check `uploaded` (reports.photos.check_upload's refusals: 413, 400), count it against the photo rate limits
    (429) and keep it for REPORTS_STAGED_PHOTO_HOURS, with the place its EXIF carries."""
    if request.session.session_key is None:
        request.session.cycle_key()  # a token needs a session to belong to
    width, height = photos.check_upload(uploaded)  # refused before it counts against the limits
    _check_rate(phone, request)
    place = photos.location_of(uploaded)
    now = timezone.now()
    staged = StagedPhoto(user=user, session=session_of(request), width=width, height=height, created_at=now,
                         expires_at=now + dt.timedelta(hours=settings.REPORTS_STAGED_PHOTO_HOURS),
                         lon=place[0] if place else None, lat=place[1] if place else None)
    uploaded.seek(0)
    # a large upload Django spooled to a temporary file is moved, not copied (FileSystemStorage)
    staged.incoming.save(staged.token.hex, uploaded, save=False)
    try:
        staged.save()
    except BaseException:
        photos._delete_names(staged.incoming.name)
        raise
    return staged


def tokens_of(values) -> list[uuid.UUID]:
    """The `photo_tokens` of a submission as UUIDs, each once, in their order; 400 for one that is not a token."""
    tokens = []
    for value in values:
        try:
            token = uuid.UUID(str(value).strip())
        except ValueError:
            raise BadParameter(_("'%(token)s' is not a photo token.") % {"token": str(value)[:40]}) from None
        if token not in tokens:
            tokens.append(token)
    return tokens


def _unknown() -> BadParameter:
    return BadParameter(_("A photo token is unknown, used already or expired: upload the photo again."))


def waiting(tokens: list[uuid.UUID], *, user, request) -> list[StagedPhoto]:
    """The staged photos of `tokens` that this citizen uploaded in this session and may still attach, in the
    tokens' order; 400 when any is not (unknown, someone else's, another session's, used or expired)."""
    if not tokens:
        return []
    found = {s.token: s for s in StagedPhoto.objects.filter(token__in=tokens, user=user, session=session_of(request),
                                                            expires_at__gt=timezone.now())}
    if len(found) != len(tokens):
        raise _unknown()
    return [found[t] for t in tokens]


_ATTACH = """
WITH claimed AS (  -- the staged rows, taken: a token works once (a second submission finds nothing)
    DELETE FROM reports_stagedphoto s
     WHERE s.token = ANY(%(tokens)s) AND s.user_id = %(user)s AND s.session = %(session)s AND s.expires_at > %(now)s
    RETURNING s.token, s.incoming, s.width, s.height
),
photo AS (
    INSERT INTO reports_photo (public_id, report_id, kind, state, refusal, incoming, image, thumbnail, width, height,
                               bytes, sha256, moderation, created_at)
    SELECT gen_random_uuid(), %(report)s, 'report', 'processing', '', c.incoming, '', '', c.width, c.height, 0, '',
           'pending', %(now)s
      FROM claimed c JOIN unnest(%(tokens)s::uuid[]) WITH ORDINALITY t(token, n) ON t.token = c.token
     ORDER BY t.n
    RETURNING id, public_id, incoming, width, height
),
event AS (
    INSERT INTO reports_event (report_id, at, actor_id, kind, from_status, to_status, note, public)
    SELECT %(report)s, %(now)s, %(user)s, 'photo', '', '', 'report:' || p.public_id, false FROM photo p
)
SELECT id, public_id, incoming, width, height FROM photo ORDER BY id
"""


def attach(report: Report, tokens: list[uuid.UUID], *, user, request) -> list[Photo]:
    """Make the staged photos of `tokens` photos of the new `report` (a citizen's, waiting for moderation,
    processing), with their events and jobs, in the caller's transaction: one statement and the jobs' one. 400 when
    a token is not this citizen's and session's to use (unknown, used, expired; or used meanwhile by a submission
    at the same moment): the caller's transaction, and its report, are rolled back."""
    from procrastinate.contrib.django import app

    if not tokens:
        return []
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(_ATTACH, {"tokens": tokens, "user": user.pk, "session": session_of(request), "now": now,
                                 "report": report.pk})
        rows = cursor.fetchall()
    if len(rows) != len(tokens):
        raise _unknown()
    app.configure_task(photos.PROCESS_TASK).batch_defer(*({"photo_id": row[0]} for row in rows))
    # as recorded (the submission's answer lists them without reading them back)
    return [Photo(pk=pk, public_id=public_id, report=report, kind=Photo.Kind.REPORT, state=Photo.State.PROCESSING,
                  incoming=incoming, width=width, height=height, moderation=Photo.Moderation.PENDING, created_at=now)
            for pk, public_id, incoming, width, height in rows]


def purge(now: dt.datetime | None = None, limit: int = 1000) -> int:
    """Delete the staged photos whose time has passed (rows, then their raw files); returns how many."""
    now = now or timezone.now()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM reports_stagedphoto WHERE id IN (SELECT id FROM reports_stagedphoto "
                           "WHERE expires_at <= %s ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING incoming",
                           [now, limit])
            names = [row[0] for row in cursor.fetchall()]
    # files after the commit: a rolled-back delete keeps its rows, and so their files
    photos._delete_names(*names)
    return len(names)

