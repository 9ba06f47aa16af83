"""Delivery by real procrastinate workers (`manage.py procrastinate worker --queues notices` processes): a worker
SIGKILLed in the middle of a batch, and a PostgreSQL restart while workers run. Both end with every message
delivered exactly once (one local-backend row per idempotency key)."""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import pytest
from django.db import transaction
from django.db.models import Count

from notices import service
from notices.models import LocalSms, Message
from notices.service import Recipient, notify

from .conftest import ROOT, WORKER_ENV, Workers, database_url, load_test_templates, wait_for

pytestmark = pytest.mark.usefixtures("defaults_restored")  # see tests/notices/conftest.py

# Transactional (the workers must see committed rows), limited to the notices' tables: the flush after the test
# empties only those, not the shared test database (users, groups, the demo city).
worker_test = pytest.mark.django_db(transaction=True, available_apps=["notices"])


@pytest.fixture
def workers(tmp_path):
    from django.db import connection as conn

    pool = Workers(database_url(conn.settings_dict), tmp_path, NOTICES_LOCAL_SMS_DELAY="0.01", **WORKER_ENV)
    yield pool
    pool.stop_all()
    with conn.cursor() as cursor:  # the queue's rows of these tests (procrastinate's tables are not flushed)
        cursor.execute("DELETE FROM procrastinate_jobs WHERE queue_name = 'notices'")


def _counts():
    return dict(Message.objects.values_list("status").annotate(n=Count("id")).order_by())


@worker_test
def test_worker_killed_mid_batch_then_another_delivers_everything_once(workers):
    load_test_templates()
    with transaction.atomic():
        for i in range(150):
            notify("test.security", Recipient(phone=f"0912{i:07d}"), {"code": f"{i:06d}"}, key=f"kill-test:{i}")
        rows_sql = ("SELECT phone, '' AS language, jsonb_build_object('year', 1405) AS context, "
                    "'kill-camp:' || phone AS key FROM unnest(%s::text[]) AS phone")
        batch = service.enqueue_campaign("test.reminder", rows_sql, [[f"0935{i:07d}" for i in range(150)]],
                                         "kill test", rate=1000)
    assert Message.objects.count() == 300 and batch.enqueued == 150

    first = workers.start("first")
    wait_for(lambda: LocalSms.objects.count() >= 60, 60, "the first worker to send 60 messages")
    workers.kill("first")
    held = set(Message.objects.filter(status="sending").values_list("id", flat=True))
    delivered_before = Message.objects.filter(status="delivered").count()
    assert held, "the kill should land while the worker holds claimed messages (the lease path)"
    assert delivered_before < 300, "the first worker finished before the kill: the test proves nothing"
    assert first.returncode == -9

    workers.start("second")
    wait_for(lambda: Message.objects.filter(status="delivered").count() == 300, 60,
             f"every message delivered (now {_counts()}; log: {workers.log('second')[-800:]})")
    keys = set(Message.objects.values_list("idempotency_key", flat=True))
    sms = list(LocalSms.objects.values_list("key", "duplicates"))
    assert len(sms) == 300 and {k for k, _ in sms} == keys  # one row per message: nothing delivered twice
    # a key may have been sent again only if the first worker held it when it died (sent, not yet recorded)
    again = {k for k, d in sms if d}
    held_keys = set(Message.objects.filter(id__in=held).values_list("idempotency_key", flat=True))
    assert again <= held_keys
    assert not Message.objects.filter(id__in=held, claimed_by__contains=":first").exists()
    # the campaign's bodies were rendered by the workers
    assert LocalSms.objects.get(phone="09350000007").body == "یادآوری عوارض ۱۴۰۵. لغو: ۱۱"


# --- A PostgreSQL restart: on a scratch cluster of its own (the shared one is never restarted) -------------------

PGBIN = Path("/usr/lib/postgresql/15/bin")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ScratchCluster:
    """A throwaway PostgreSQL 15 cluster in a temp dir (as root: owned by and run as `postgres`, as
    scripts/localdb.sh does), trust authentication on 127.0.0.1 only."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="notices-pg-", dir="/tmp"))
        self.data = self.dir / "data"
        self.log = self.dir / "postgresql.log"
        self.port = _free_port()
        self.runas = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *args, timeout=60):
        subprocess.run([*self.runas, *map(str, args)], check=True, timeout=timeout, stdout=subprocess.DEVNULL)

    def init_and_start(self):
        if self.runas:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run(PGBIN / "initdb", "-D", self.data, "-U", "gis", "--auth=trust", "--encoding=UTF8",
                  "--locale=C.UTF-8", "--no-sync")
        with open(self.data / "postgresql.conf", "a") as f:
            f.write(f"listen_addresses = '127.0.0.1'\nport = {self.port}\nunix_socket_directories = ''\n"
                    "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nshared_buffers = 64MB\n")
        self.pg_ctl("start")
        with psycopg.connect(self.url("postgres", "postgresql"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE notices_scratch")
        with psycopg.connect(self.url(scheme="postgresql"), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION postgis")

    def pg_ctl(self, action, *extra):
        self._run(PGBIN / "pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "60", action, *extra)

    def url(self, db="notices_scratch", scheme="postgis"):
        return f"{scheme}://gis:scratch@127.0.0.1:{self.port}/{db}"

    def destroy(self):
        try:
            self.pg_ctl("stop", "-m", "immediate")
        except subprocess.SubprocessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def scratch_cluster():
    if not (PGBIN / "initdb").exists():
        pytest.fail(f"PostgreSQL 15 binaries not found in {PGBIN} (Debian's postgresql-15)")
    cluster = ScratchCluster()
    try:
        cluster.init_and_start()
        yield cluster
    finally:
        cluster.destroy()


ENQUEUE = """
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count
from notices.service import Recipient, notify
call_command("load_notice_templates", "--commit", verbosity=0)
with transaction.atomic():
    for i in range({n}):
        notify("notices.test", Recipient(phone=f"0912{{i:07d}}", language="en"), {{"name": "restart"}},
               key=f"restart:{{i}}")
"""


def test_database_restart_while_workers_run(scratch_cluster, tmp_path):
    n = 300
    env = {**os.environ, "DATABASE_URL": scratch_cluster.url(), "PYTHONUNBUFFERED": "1"}
    python = str(ROOT / ".venv" / "bin" / "python")
    subprocess.run([python, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=env, check=True,
                   timeout=240, stdout=subprocess.DEVNULL)
    subprocess.run([python, "manage.py", "shell", "-c", ENQUEUE.format(n=n)], cwd=ROOT, env=env, check=True,
                   timeout=120)

    def query(sql):
        with psycopg.connect(scratch_cluster.url(scheme="postgresql"), autocommit=True, connect_timeout=3) as conn:
            return conn.execute(sql).fetchone()[0]

    def delivered():
        try:
            return query("SELECT count(*) FROM notices_message WHERE status = 'delivered'")
        except psycopg.OperationalError:
            return 0

    pool = Workers(scratch_cluster.url(), tmp_path, NOTICES_LOCAL_SMS_DELAY="0.02", **WORKER_ENV)
    restarts = 0
    try:
        for name in ("a", "b"):
            pool.start(name)
        wait_for(lambda: delivered() >= 60, 60, "the workers to deliver 60 messages")
        before = delivered()
        scratch_cluster.pg_ctl("restart", "-m", "fast")
        assert before < n, "the workers finished before the restart: the test proves nothing"
        # What a worker does when its database goes away: our sending loop (delivery.run_until_idle) drops the
        # broken Django connection and tries again each second; procrastinate's listener reconnects and its
        # pool replaces dead connections. In our runs the workers SURVIVED the restart (0 restarts printed);
        # should one exit on the lost connection, the test plays the service manager's part (systemd
        # Restart=always in production) and starts it again, and the count is printed. Messages a worker held
        # during the restart come back when their lease expires; the local backend's key makes them once.
        deadline = time.monotonic() + 90
        while delivered() < n and time.monotonic() < deadline:
            for name, proc in list(pool.procs.items()):
                if proc.poll() is not None:
                    restarts += 1
                    pool.start(name)
            time.sleep(0.3)
        assert delivered() == n, f"{delivered()} of {n} delivered; logs: {pool.log('a')[-1500:]}"
    finally:
        pool.stop_all()
    assert query("SELECT count(*) FROM notices_localsms") == n
    assert query("SELECT count(DISTINCT key) FROM notices_localsms") == n
    assert query("SELECT count(*) FROM notices_message m LEFT JOIN notices_localsms s ON s.key = m.idempotency_key "
                 "WHERE s.id IS NULL") == 0
    print(f"worker restarts after the database restart: {restarts}")
