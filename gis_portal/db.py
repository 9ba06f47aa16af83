"""Database helpers shared by batch jobs."""

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


def prepared_fetchone(sql: str, params: dict):
    """Run one hot read statement (a map click, a vector tile) as a server-side prepared statement and return its
    first row.

    Django's cursors bind parameters on the client, so PostgreSQL parses and plans every statement afresh; for
    the parcel sheet that planning cost more than running it (bench/map_click.py). With prepare=True psycopg
    prepares the statement on its first run on a connection and afterwards only binds and executes it. Same connection and transaction
    as the ORM; not for use through a transaction-pooling proxy (pgbouncer in transaction mode)."""
    import psycopg

    connection.ensure_connection()
    raw = connection.connection
    if raw.prepare_threshold is None:
        # Django opens psycopg connections with prepared statements off (prepare_threshold=None), which makes
        # prepare=True a no-op. Django's own cursors bind on the client and are never prepared, so turning the
        # threshold on changes only these statements.
        raw.prepare_threshold = 5
    with psycopg.Cursor(raw) as cursor:
        cursor.execute(sql, params, prepare=True)
        return cursor.fetchone()
