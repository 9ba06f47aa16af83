"""Read replicas: the reads of a safe request go to a healthy streaming replica, everything else to the primary.

With no replica configured (DATABASE_REPLICA_URLS empty) neither this router nor its middleware is installed and
every query goes to DATABASE_URL, as before. With replicas (`replica_1`, `replica_2` … in DATABASES, listed per
primary in DATABASE_REPLICAS):

- Only the reads of a GET/HEAD/OPTIONS request (ReadRoutingMiddleware; the tile shortcut through `reads_for`) may
  go to a replica: the ORM's through `db_for_read`, the hot raw-SQL reads through `common.db.read_connection()`.
  Commands, jobs and every other request read from the primary, so a read-modify-write never reads stale rows.
- Read-your-writes: a request that wrote (any non-safe method, or any ORM write in a GET) sends a signed cookie
  that keeps this client's reads on the primary for DATABASE_STICKY_SECONDS, across gunicorn workers, for
  anonymous citizens too. Inside an atomic block reads go to the primary.
- One request reads from one server: the first read picks it and later reads keep it (a tile's data version and
  the tile, an OGC page's count and page are then of one state). If that replica fails, the rest of the request
  reads from the primary (newer, never older data).
- A replica is used while its replay lag is under DATABASE_REPLICA_MAX_LAG_SECONDS, checked at most every
  DATABASE_REPLICA_CHECK_SECONDS per process by comparing WAL positions (`Health`), and not for
  DATABASE_REPLICA_RETRY_SECONDS after it refused a connection or broke one; the read is then made on the primary.
- DATABASE_PRIMARY_READ_SHARE of the safe requests read from the primary anyway (default 0: replicas only), so that
  with one replica both servers' cores serve reads.

Many municipalities: `primary_alias()` is the one place that says which primary the current request uses (the
current municipality's database alias); DATABASE_REPLICA_URLS are the first municipality's replicas, another
municipality has none and reads from its primary.
"""

import contextlib
import itertools
import logging
import random
import threading
import time
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.db import connections
from django.db import Error as DatabaseError  # InterfaceError (a closed connection) included

logger = logging.getLogger(__name__)

PRIMARY = "default"
COOKIE = "db_primary"  # "this client wrote a moment ago": its reads stay on the primary until the cookie expires
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_SIGNER_SALT = "common.db_router.sticky"


@dataclass
class ReadState:
    """What the current request may read from: `replicas_ok` (a safe request of a client that did not write a
    moment ago), whether it wrote, and the server its reads were pinned to by the first one."""
    replicas_ok: bool
    wrote: bool = False
    alias: str | None = None


_state: ContextVar[ReadState | None] = ContextVar("db_read_state", default=None)


def primary_alias() -> str:
    """The primary of the current request: the current municipality's database (common/tenancy.py)."""
    from common import municipality

    return municipality.current().database


def replicas_of(primary: str) -> list[str]:
    return settings.DATABASE_REPLICAS.get(primary, [])


_turn = itertools.count()


def read_alias() -> str:
    """The database alias the current read goes to (see the module's docstring)."""
    primary = primary_alias()
    state = _state.get()
    if state is None or not state.replicas_ok or state.wrote or connections[primary].in_atomic_block:
        return primary
    if state.alias is not None and (state.alias == primary or health.is_up(state.alias)):
        return state.alias
    replicas = replicas_of(primary)
    start = next(_turn)
    state.alias = primary
    if settings.DATABASE_PRIMARY_READ_SHARE and random.random() < settings.DATABASE_PRIMARY_READ_SHARE:
        return primary  # the primary takes its share of the reads (a small cluster: one replica beside it)
    for i in range(len(replicas)):
        alias = replicas[(start + i) % len(replicas)]
        if health.usable(alias, primary):
            state.alias = alias
            break
    return state.alias


def read_connection():
    """The connection of the current read, connected: a replica's connection is opened (or health-checked, as Django
    does once per request) here, so that a replica that refuses is marked down and the primary's is returned."""
    alias = read_alias()
    conn = connections[alias]
    if alias == primary_alias():
        return conn
    try:
        conn.close_if_health_check_failed()
        conn.ensure_connection()
    except DatabaseError as exc:
        failed(alias, exc)
        return connections[read_alias()]
    return conn


def failed(alias: str, exc: BaseException) -> None:
    """A replica refused or broke a connection: not used for a while; the current request reads from the primary."""
    with contextlib.suppress(DatabaseError):
        connections[alias].close()
    health.mark_down(alias, exc)
    state = _state.get()
    if state is not None and state.alias == alias:
        state.alias = primary_alias()


def is_replica(alias: str) -> bool:
    return alias != primary_alias() and alias in replicas_of(primary_alias())


# --- health: lag and failures, per process ------------------------------------------------------------------------

class Health:
    """Per process: whether each replica may be read from.

    Lag is measured by WAL position, not by `now() - pg_last_xact_replay_timestamp()` (which grows on an idle primary
    without any lag): each check reads the primary's `pg_current_wal_lsn()` and the replica's
    `pg_last_wal_replay_lsn()`, and keeps the (time, primary position) samples the replica has not replayed yet. The
    lag is the age of the oldest of them: a lower bound of the real lag, within one check interval, and 0 when the
    replica has replayed everything the primary had written at the last check (an idle primary included)."""

    MAX_SAMPLES = 64

    def __init__(self):
        self.lock = threading.Lock()
        self.down_until: dict[str, float] = {}
        self.checked_at: dict[str, float] = {}
        self.lagging: dict[str, bool] = {}
        self.unreplayed: dict[str, list[tuple[float, int]]] = {}

    def reset(self) -> None:
        with self.lock:
            self.down_until.clear(), self.checked_at.clear(), self.lagging.clear(), self.unreplayed.clear()

    def is_up(self, alias: str) -> bool:
        return self.down_until.get(alias, 0.0) <= time.monotonic()

    def usable(self, alias: str, primary: str) -> bool:
        now = time.monotonic()
        if not self.is_up(alias):
            return False
        if now - self.checked_at.get(alias, -1e9) >= settings.DATABASE_REPLICA_CHECK_SECONDS \
                and self.lock.acquire(blocking=False):  # one thread checks; the others take the last verdict
            try:
                self.checked_at[alias] = now
                self._check(alias, primary, now)
            finally:
                self.lock.release()
        return self.is_up(alias) and not self.lagging.get(alias, False)

    def mark_down(self, alias: str, exc: BaseException) -> None:
        retry = settings.DATABASE_REPLICA_RETRY_SECONDS
        if self.is_up(alias):
            logger.warning("Replica %s cannot be read (%s): reads go to the primary for %s s",
                           alias, str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__, retry)
        self.down_until[alias] = time.monotonic() + retry
        self.checked_at.pop(alias, None)  # checked again as soon as it is tried again
        self.unreplayed.pop(alias, None)

    def _check(self, alias: str, primary: str, now: float) -> None:
        try:
            with connections[alias].cursor() as cursor:
                cursor.execute("SELECT pg_is_in_recovery(), pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0')")
                in_recovery, replayed = cursor.fetchone()
        except DatabaseError as exc:
            failed(alias, exc)
            return
        if not in_recovery or replayed is None:  # promoted, or not a streaming replica: it would diverge
            if not self.lagging.get(alias):
                logger.error("Database %s is not a replica in recovery: not used for reads", alias)
            self.lagging[alias] = True
            return
        try:
            with connections[primary].cursor() as cursor:
                cursor.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')")
                written = int(cursor.fetchone()[0])
        except DatabaseError:  # the primary is away: the replica cannot fall further behind it
            written = None
        samples = [s for s in self.unreplayed.get(alias, []) if s[1] > int(replayed)]
        if written is not None and written > int(replayed) and (not samples or samples[-1][1] < written):
            samples.append((now, written))
            if len(samples) > self.MAX_SAMPLES:
                del samples[1]  # the oldest stays: it says how far behind the replica is
        self.unreplayed[alias] = samples
        lag = now - samples[0][0] if samples else 0.0
        lagging = lag > settings.DATABASE_REPLICA_MAX_LAG_SECONDS
        if lagging != self.lagging.get(alias, False):
            if lagging:
                logger.warning("Replica %s is %.1f s behind the primary (limit %s s): reads go elsewhere",
                               alias, lag, settings.DATABASE_REPLICA_MAX_LAG_SECONDS)
            else:
                logger.info("Replica %s has caught up with the primary: used for reads again", alias)
        self.lagging[alias] = lagging


health = Health()


# --- the router -------------------------------------------------------------------------------------------------

class ReplicaRouter:
    """DATABASE_ROUTERS: ORM reads where `read_alias` says, writes to the primary (and the request is then one that
    wrote: its later reads, and this client's for DATABASE_STICKY_SECONDS, go to the primary); migrations only on
    primaries (a replica is the primary's copy)."""

    def db_for_read(self, model, **hints):
        return read_alias()

    def db_for_write(self, model, **hints):
        state = _state.get()
        if state is not None:
            state.wrote = True
        return primary_alias()

    def allow_relation(self, obj1, obj2, **hints):
        return True  # a replica holds the primary's rows

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db not in {alias for aliases in settings.DATABASE_REPLICAS.values() for alias in aliases}


# --- request state: the middleware, and the tile shortcut's equivalent ------------------------------------------

def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=_SIGNER_SALT)


def sticky(cookie: str | None) -> bool:
    """Whether the client's cookie says it wrote less than DATABASE_STICKY_SECONDS ago."""
    if not cookie:
        return False
    try:
        _signer().unsign(cookie, max_age=settings.DATABASE_STICKY_SECONDS)
    except signing.BadSignature:  # expired ones included
        return False
    return True


@contextlib.contextmanager
def reading(method: str, cookie: str | None):
    """The reads inside are those of a request with this method and sticky cookie; yields its ReadState."""
    state = ReadState(replicas_ok=method in SAFE_METHODS and not sticky(cookie))
    token = _state.set(state)
    try:
        yield state
    finally:
        _state.reset(token)


def reads_for(environ):
    """For a WSGI request answered outside Django's middleware (layers/tile_app.py): `reading` for its method and
    cookie, or nothing when no replica is configured."""
    if not settings.DATABASE_REPLICAS:
        return contextlib.nullcontext()
    from django.http.cookie import parse_cookie

    header = environ.get("HTTP_COOKIE", "")
    return reading(environ.get("REQUEST_METHOD", "GET"), parse_cookie(header).get(COOKIE) if COOKIE in header else None)


class ReadRoutingMiddleware:
    """Marks each request's reads (see `reading`) and, after a request that wrote, sends the sticky cookie."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with reading(request.method, request.COOKIES.get(COOKIE)) as state:
            response = self.get_response(request)
        if request.method not in SAFE_METHODS or state.wrote:
            response.set_cookie(COOKIE, _signer().sign("1"), max_age=settings.DATABASE_STICKY_SECONDS,
                                httponly=True, samesite="Lax", secure=getattr(settings, "SESSION_COOKIE_SECURE", False))
        return response
