"""Database helpers: batch sessions, the hot reads' prepared statements, the connection reads go to."""

from contextlib import contextmanager

from django.conf import settings
from django.db import connection


@contextmanager
def batch_session():
    """Let a batch job (import, assessment) use parallel query and JIT, which serving connections turn off.
    SET (not SET LOCAL) so it also holds across transactions the job opens; restored at the end."""
    with connection.cursor() as cursor:
        cursor.execute("SET max_parallel_workers_per_gather = %s", [settings.BATCH_PARALLEL_WORKERS])
        cursor.execute("SET jit = on")
    try:
        yield
    finally:
        if connection.connection is not None and not connection.needs_rollback:
            with connection.cursor() as cursor:
                cursor.execute("SET max_parallel_workers_per_gather = 0")
                cursor.execute("SET jit = off")


def read_connection():
    """The connection a hot read (a tile, the sheet, a search, an OGC page, an export) goes to: with read replicas
    configured, the one common/db_router.py chooses for the current request (a healthy replica, or the primary);
    without, django.db.connection, as before. Writes never go through it."""
    if not settings.DATABASE_REPLICAS:
        return connection
    from common import db_router

    return db_router.read_connection()


def prepared_fetchone(sql: str, params: dict | list, binary: bool = False, *, prepare: bool = True,
                      _all: bool = False):
    """Run one hot read statement (a map click, a vector tile) as a server-side prepared statement and return its
    first row, on the connection reads go to (read_connection).

    Django's cursors bind parameters on the client, so PostgreSQL parses and plans every statement afresh; for
    the parcel sheet that planning cost more than running it (bench/map_click.py). With prepare=True psycopg
    prepares the statement on its first run on a connection and afterwards only binds and executes it. Same
    connection and transaction as the ORM. Behind a transaction-pooling proxy (DATABASE_POOLER=transaction:
    pgbouncer before 1.21 keeps no prepared statement across transactions) the statement is sent unprepared, in
    one round trip of the extended protocol, and planned every time.

    binary=True has PostgreSQL send the row in binary: a bytea (a vector tile) arrives as it is, instead of as hex
    text that both ends encode and decode.

    prepare=False binds the values into the statement's text on the client, as Django's cursors do, so that
    PostgreSQL plans it for its values: for statements whose best plan depends on them (an OGC page's bbox: a generic
    plan cannot see the box and was 50x slower on a small one, 1,000x on the whole city). Sent with parameters, even
    unprepared, it would get the generic plan the serving connections force (plan_cache_mode). With binary=True too
    the text is made on the client (mogrify) and sent as a statement with no parameters. Either way one round trip,
    with no health-check query before it."""
    import psycopg
    from django.db import OperationalError

    conn = read_connection()
    # the caller's prepare=False binds on the client (planned for its values); behind a transaction pooler the rest
    # are bound on the server but not prepared
    kind = psycopg.Cursor if prepare else psycopg.ClientCursor
    prepare = prepare and settings.DATABASE_POOLER != "transaction"
    for attempt in (1, 2):
        conn.ensure_connection()
        raw = conn.connection
        if prepare and raw.prepare_threshold is None:
            # Django opens psycopg connections with prepared statements off (prepare_threshold=None), which makes
            # prepare=True a no-op. Django's own cursors bind on the client and are never prepared, so turning the
            # threshold on changes only these statements.
            raw.prepare_threshold = 5
        try:
            # Django's error wrapper, as its own cursors have: errors become django.db errors, and a failed
            # connection is marked so that the end of the request closes it.
            with conn.wrap_database_errors, kind(raw) as cursor:
                if binary and kind is psycopg.ClientCursor:
                    # a client-bound statement with a binary answer (psycopg's ClientCursor gives none): the values
                    # bound into the text on the client, the text sent with no parameters on a plain cursor
                    with psycopg.Cursor(raw) as plain:
                        plain.execute(cursor.mogrify(sql, params), binary=True)
                        return plain.fetchall() if _all else plain.fetchone()
                cursor.execute(sql, params, prepare=prepare, binary=binary)
                return cursor.fetchall() if _all else cursor.fetchone()
        except OperationalError as exc:
            # A persistent connection the server has dropped (a restart, a failover): Django's health check would
            # have caught it with a SELECT 1 on every request; this read is retried once on a new connection instead
            # (a replica's on the primary, the replica being left alone for a while).
            if attempt == 2 or not raw.broken or conn.in_atomic_block:
                raise
            conn.close()
            if settings.DATABASE_REPLICAS:
                from common import db_router

                if db_router.is_replica(conn.alias):
                    db_router.failed(conn.alias, exc)
                    conn = read_connection()


def prepared_fetchall(sql: str, params: dict | list, binary: bool = False) -> list:
    """prepared_fetchone's every row: one hot read statement (a search), prepared, its rows."""
    return prepared_fetchone(sql, params, binary, _all=True)


# SQLSTATE classes and codes that mean "the database is not there right now", not "this request is wrong":
# connection exceptions (08), insufficient resources (53: too many connections), operator intervention (57P01
# admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now: starting up or shutting down).
UNAVAILABLE_SQLSTATES = ("08", "53", "57P01", "57P02", "57P03")


def database_unavailable(exc: BaseException | None) -> bool:
    """Whether `exc` (Django's wrapper or psycopg's own) says the database could not be reached or dropped the
    connection, rather than refusing a statement: the edge answers 503 with Retry-After for these."""
    import psycopg
    from django.db import InterfaceError, OperationalError

    if not isinstance(exc, (InterfaceError, OperationalError, psycopg.InterfaceError, psycopg.OperationalError)):
        return False
    if isinstance(exc, (InterfaceError, psycopg.InterfaceError)):
        return True  # "the connection is closed"
    cause = exc if isinstance(exc, psycopg.Error) else exc.__cause__
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate is None:  # raised by the client: the connection failed or broke (no server answer to classify)
        return True
    return sqlstate.startswith(UNAVAILABLE_SQLSTATES)
