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
