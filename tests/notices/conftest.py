"""Fixtures of the notices' tests: test events and their templates, the default templates, an SMS provider that
fails on demand, and procrastinate workers run as real processes."""

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from notices.events import Event, register
from notices.providers.base import OutgoingSms, PermanentError, SendResult, SmsProvider, TemporaryError

ROOT = Path(__file__).resolve().parents[2]

# Events of every kind, registered for the tests (apps register their own in ready()).
register(Event("test.security", "کد آزمایشی", "Test code", "security", channels=("sms", "email", "inbox"),
               sample_context={"code": "123456"}))
register(Event("test.case", "مرحله پرونده", "Case step", "transactional", channels=("sms", "email", "inbox"),
               sample_context={"case": "۱۴۰۵-۱"}))
register(Event("test.reminder", "یادآوری", "Reminder", "reminder", channels=("sms",),
               sample_context={"year": 1405}))

TEST_TEMPLATES = [
    ("test.security", "sms", "fa", "", "کد: {{ code }}"),
    ("test.security", "sms", "en", "", "Code: {{ code }}"),
    ("test.case", "sms", "fa", "", "پرونده {{ case|digits }} به مرحله بعد رفت."),
    ("test.case", "sms", "en", "", "Case {{ case }} moved on."),
    ("test.case", "inbox", "fa", "پرونده {{ case|digits }}", "پرونده {{ case|digits }} به مرحله بعد رفت."),
    ("test.case", "email", "fa", "پرونده {{ case }}", "پرونده {{ case }} به مرحله بعد رفت & تمام."),
    ("test.reminder", "sms", "fa", "", "یادآوری عوارض {{ year|digits }}. لغو: ۱۱"),
    ("test.reminder", "sms", "en", "", "Dues reminder {{ year }}. Stop: 11"),
]


def load_test_templates():
    from notices import defaults
    from notices.models import Template

    defaults.load()
    for event, channel, language, subject, body in TEST_TEMPLATES:
        Template.objects.update_or_create(event=event, channel=channel, language=language,
                                          defaults={"subject": subject, "body": body})


@pytest.fixture
def notice_templates(db):
    """The test templates, and an empty outbox: the messages other tests committed (permit cases walked through the
    live server; a reused test database keeps them from an earlier run) are not this test's, deleted in its
    transaction and so back after it."""
    from notices.models import LocalSms, Message

    LocalSms.objects.all().delete()
    Message.objects.all().delete()
    load_test_templates()


@pytest.fixture(scope="module")
def defaults_restored(django_db_blocker):
    """For modules with transactional tests limited to the notices (available_apps): their teardown empties every
    notices table, the default templates included, which later tests of the session (and the portal server they
    drive) rely on. Module teardown runs after the last test's flush: the defaults are loaded again, committed."""
    yield
    from notices import defaults

    with django_db_blocker.unblock():
        defaults.load()


class FlakySms(SmsProvider):
    """Fails as told: `FlakySms.plan[phone]` is a list of outcomes ("temp", "perm", "ok") used up in order; a
    number without a plan is sent."""

    name = "flaky"
    plan: dict[str, list[str]] = {}
    sent: list[OutgoingSms] = []

    def send(self, sms):
        outcome = self.plan.get(sms.phone, ["ok"]).pop(0) if self.plan.get(sms.phone) else "ok"
        if outcome == "temp":
            raise TemporaryError("gateway busy (HTTP 503)")
        if outcome == "perm":
            raise PermanentError("invalid number (HTTP 400)")
        self.sent.append(sms)
        return SendResult(provider_id=f"flaky-{len(self.sent)}", delivered=False)

    def statuses(self, provider_ids):
        return {pid: ("delivered", "") for pid in provider_ids}


@pytest.fixture
def flaky_sms(settings):
    from notices import providers

    settings.NOTICES_SMS_BACKEND = "tests.notices.conftest.FlakySms"
    FlakySms.plan, FlakySms.sent = {}, []
    providers.reset()
    yield FlakySms
    providers.reset()


# --- real workers --------------------------------------------------------------------------------------------------

def database_url(settings_dict) -> str:
    d = settings_dict
    return f"postgis://{d['USER']}:{d['PASSWORD']}@{d['HOST']}:{d['PORT']}/{d['NAME']}"


class Workers:
    """procrastinate workers (`manage.py procrastinate worker --queues notices`) as processes, as in production."""

    def __init__(self, url: str, log_dir: Path, **env):
        self.url, self.log_dir, self.env = url, log_dir, env
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, name: str, concurrency: int = 2) -> subprocess.Popen:
        env = {**os.environ, "DATABASE_URL": self.url, "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "gis_portal.settings_test"),
               "PYTHONUNBUFFERED": "1", **self.env}
        log = open(self.log_dir / f"{name}.log", "ab")
        proc = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "python"), "manage.py", "procrastinate", "worker", "--queues", "notices",
             "--name", name, "--concurrency", str(concurrency), "--fetch-job-polling-interval", "1"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.procs[name] = proc
        return proc

    def kill(self, name: str) -> None:
        proc = self.procs[name]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    def log(self, name: str) -> str:
        return (self.log_dir / f"{name}.log").read_text(errors="replace")[-4000:]

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# Workers in tests: a short lease and a sweep every 2 s, so a dead worker's messages come back within seconds.
WORKER_ENV = {"NOTICES_LEASE_SECONDS": "3", "NOTICES_SWEEP_CRON": "* * * * * */2", "NOTICES_SEND_MAX_SECONDS": "20"}


def wait_for(predicate, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
