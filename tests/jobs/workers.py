"""Real procrastinate workers in subprocesses on the test database (they see committed rows only)."""

import contextlib
import os
import signal
import subprocess
import sys
import time

from tests.conftest import ROOT

FAST = {"JOBS_HEARTBEAT_SECONDS": "0.5", "JOBS_STALLED_SECONDS": "2", "JOBS_STALL_CHECK_CRON": "* * * * * *"}


def database_url(django_db_blocker) -> str:
    from django.db import connection

    with django_db_blocker.unblock():
        db = connection.settings_dict
    return f"postgis://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@contextlib.contextmanager
def running_worker(django_db_blocker, *, plain=False, concurrency=2, log=None, queues=None, **extra_env):
    """A worker on every queue of the test database. plain: exactly `manage.py procrastinate worker`; otherwise
    the same command with the test job kinds registered (tests/jobs/worker_main.py)."""
    from django.conf import settings

    env = {**os.environ, "DATABASE_URL": database_url(django_db_blocker),
           "DJANGO_SETTINGS_MODULE": "gis_portal.settings_test", "VAR_DIR": str(settings.VAR_DIR),
           "PYTHONUNBUFFERED": "1", **extra_env}
    script = [str(ROOT / "manage.py"), "procrastinate"] if plain else [str(ROOT / "tests" / "jobs" / "worker_main.py")]
    cmd = [sys.executable, *script, *(["worker"] if plain else []), "--concurrency", str(concurrency),
           *(["--queues", ",".join(queues)] if queues else [])]
    process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log or subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_for(predicate, timeout=60.0, interval=0.2, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
