"""The e-mail channel against a real SMTP server on loopback (aiosmtpd): a notice to a citizen who prefers e-mail
goes through Django's SMTP backend with its Persian subject and body intact; a server that is down makes the
message wait (back-off) and go once it is back; a permanent refusal (550) fails it with the server's reason, a
temporary one (451) backs off."""

import email
import email.policy
import socket
import time

import pytest
from aiosmtpd.controller import Controller
from django.db import connection

from notices import delivery, service
from notices.models import Message
from notices.service import Recipient, notify

from .conftest import load_test_templates

PHONE = "09121234567"
ADDRESS = "citizen@example.org"
FROM = "شهرداری نمونه <no-reply@city.example>"
CASE = "۱۴۰۵-۰۰۱۲"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Recorder:
    """An aiosmtpd handler: keeps every message; refuses the recipients in `refuse` with their reply."""

    def __init__(self):
        self.received: list[tuple[str, list[str], bytes]] = []
        self.refuse: dict[str, str] = {}

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 Message accepted for delivery"


class SmtpServer:
    """A real SMTP server on 127.0.0.1 that can be stopped and started again on the same port."""

    def __init__(self):
        self.port = free_port()
        self.handler = Recorder()
        self.controller = None

    def start(self):
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def messages(self) -> list[email.message.EmailMessage]:
        return [email.message_from_bytes(raw, policy=email.policy.default) for _f, _t, raw in self.handler.received]


@pytest.fixture
def smtp_server():
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def email_notices(db, settings, smtp_server):
    # pytest-django puts Django's locmem backend in place for every test: the real SMTP backend again, here
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_server.port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS, settings.EMAIL_TIMEOUT = False, 3
    settings.DEFAULT_FROM_EMAIL = FROM
    settings.NOTICES_EMAIL_ENABLED = True
    load_test_templates()
    service.set_preferences(PHONE, by_sms=False, by_email=True, by_inbox=False, email=ADDRESS)
    return smtp_server


def run_delivery() -> int:
    return delivery.run_until_idle("smtp-test", max_seconds=20, idle_wait=0)


def make_due() -> None:
    with connection.cursor() as cursor:
        cursor.execute("UPDATE notices_message SET not_before = statement_timestamp() WHERE status = 'queued'")


def test_a_notice_by_email_arrives_with_persian_intact(email_notices):
    server = email_notices
    [message_id] = notify("test.case", Recipient(phone=PHONE), {"case": CASE}, key="permit.step:1")
    assert run_delivery() == 1
    message = Message.objects.get(id=message_id)
    assert (message.channel, message.status, message.provider, message.attempts) == ("email", "delivered", "smtp", 1)

    (mail_from, rcpt_tos, raw) = server.handler.received[0]
    assert mail_from == "no-reply@city.example" and rcpt_tos == [ADDRESS]
    headers, _sep, body = raw.partition(b"\r\n\r\n")
    headers.decode("ascii")  # every header encoded (RFC 2047)
    body.decode("utf-8")  # the body as UTF-8 (8-bit), declared as such
    (mail,) = server.messages()
    assert mail["Content-Transfer-Encoding"] in ("8bit", "base64", "quoted-printable")
    assert mail["Subject"] == f"پرونده {CASE}" == message.subject
    assert mail["From"].addresses[0].display_name == "شهرداری نمونه"
    assert mail["From"].addresses[0].addr_spec == "no-reply@city.example"
    assert mail["To"] == ADDRESS
    assert mail["X-Notice-Key"] == "permit.step:1:email"
    assert mail["Message-ID"] and mail["Date"]
    assert mail.get_content_type() == "text/plain" and mail.get_content_charset() == "utf-8"
    assert mail.get_content().strip() == message.body.strip()
    assert f"پرونده {CASE} به مرحله بعد رفت" in mail.get_content()


def test_server_down_the_message_waits_and_goes_when_it_is_back(email_notices):
    server = email_notices
    server.stop()
    [message_id] = notify("test.case", Recipient(phone=PHONE), {"case": CASE}, key="down:1")
    started = time.monotonic()
    assert run_delivery() == 1
    assert time.monotonic() - started < 5
    message = Message.objects.get(id=message_id)
    assert (message.status, message.error_kind, message.attempts) == ("queued", "temporary", 1)
    assert "refused" in message.error.lower()
    assert run_delivery() == 0  # backing off

    make_due()  # still down at the next try
    run_delivery()
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("queued", 2)

    server.start()
    assert run_delivery() == 0  # not due yet: the back-off holds
    make_due()
    assert run_delivery() == 1
    message.refresh_from_db()
    assert (message.status, message.attempts, message.error) == ("delivered", 3, "")
    assert len(server.handler.received) == 1


def test_permanent_refusal_fails_with_the_reason(email_notices):
    server = email_notices
    server.handler.refuse[ADDRESS] = "550 5.1.1 <citizen@example.org>: Recipient address rejected: User unknown"
    [message_id] = notify("test.case", Recipient(phone=PHONE), {"case": CASE}, key="refused:1")
    run_delivery()
    message = Message.objects.get(id=message_id)
    assert (message.status, message.error_kind, message.attempts) == ("failed", "permanent", 1)
    assert "550" in message.error and "User unknown" in message.error
    make_due()
    assert run_delivery() == 0 and server.handler.received == []


def test_temporary_refusal_backs_off(email_notices):
    server = email_notices
    server.handler.refuse[ADDRESS] = "451 4.7.1 Greylisted, try again later"
    [message_id] = notify("test.case", Recipient(phone=PHONE), {"case": CASE}, key="grey:1")
    run_delivery()
    message = Message.objects.get(id=message_id)
    assert (message.status, message.error_kind) == ("queued", "temporary") and "451" in message.error
    server.handler.refuse.clear()
    make_due()
    run_delivery()
    message.refresh_from_db()
    assert message.status == "delivered" and len(server.handler.received) == 1
