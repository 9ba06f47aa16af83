"""RestSmsGateway over real HTTP to a fake gateway on loopback (tests/notices/fake_gateway.py): sending, localid
idempotency, the classification of every failure (temporary / permanent), status polling, the client-side throttle,
the API key kept out of every error and log; then end to end with the notices' delivery (notify -> outbox ->
delivery.run_until_idle -> gateway), the status poll and the gateway's callbacks."""

import datetime
import email.utils
import json
import logging
import threading
import time
import traceback

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone, translation

from notices import delivery, providers, service
from notices.models import Message, Preference
from notices.providers.base import OutgoingSms, PermanentError, TemporaryError
from notices.providers.http import RestSmsGateway, TokenBucket, _retry_after, delivery_outcome
from notices.service import Recipient, notify

from .conftest import load_test_templates
from .fake_gateway import FakeGateway

pytestmark = pytest.mark.usefixtures("defaults_restored")  # see tests/notices/conftest.py

API_KEY = "TEST-K3Y/s3cret+7"  # needs quoting in the path: redacted in both forms
TIMEOUT = 0.5
PERSIAN = "شهروند گرامی، پرونده ۱۴۰۵-۰۰۱۲ شما تأیید شد. شهرداری"


@pytest.fixture(autouse=True)
def english():
    """The reasons stored on messages are gettext'd: the English msgids are asserted here."""
    with translation.override("en"):
        yield


@pytest.fixture
def gateway():
    with FakeGateway(api_key=API_KEY, slow_seconds=3 * TIMEOUT) as fake:
        yield fake


def make_adapter(gateway, **extra):
    options = {"url": gateway.url, "api_key": API_KEY, "sender": "10004346", "timeout": TIMEOUT,
               "bucket": TokenBucket(0)}
    options.update(extra)
    return RestSmsGateway(**options)


@pytest.fixture
def adapter(gateway):
    return make_adapter(gateway)


def sms(n: int = 1, key: str | None = None, phone: str | None = None, body: str = PERSIAN) -> OutgoingSms:
    return OutgoingSms(key=key or f"test:{n}", phone=phone or f"0912{n:07d}", body=body, sender="10004346")


def assert_no_key(exc: Exception, caplog=None):
    texts = [str(exc), repr(exc), getattr(exc, "reason", ""), "".join(traceback.format_exception(exc))]
    if caplog is not None:
        texts.append(caplog.text)
    for text in texts:
        assert API_KEY not in text and "s3cret" not in text, text


# --- sending -----------------------------------------------------------------------------------------------------

def test_send_ok_records_the_provider_id_and_sends_the_fields(gateway, adapter):
    result = adapter.send(sms(1))
    (message,) = gateway.messages.values()
    assert result.provider_id == str(message.messageid) and result.delivered is False
    assert (message.receptor, message.message, message.sender, message.localid) == (
        "09120000001", PERSIAN, "10004346", "test:1")
    (request,) = gateway.requests
    assert request.method == "POST" and request.path.endswith("/sms/send.json")


def test_a_repeated_localid_returns_the_first_messageid_and_is_delivered_once(gateway, adapter):
    first = adapter.send(sms(1, key="permit.approved:123"))
    again = adapter.send(sms(1, key="permit.approved:123"))
    other = adapter.send(sms(1, key="permit.approved:124"))
    assert first.provider_id == again.provider_id != other.provider_id
    assert len(gateway.sends()) == 3 and gateway.deliveries == 2
    assert len(gateway.sent_to("09120000001")) == 2


def test_a_timeout_is_temporary_and_comes_within_the_timeout(gateway, adapter, caplog):
    gateway.mode = "slow"
    started = time.monotonic()
    with pytest.raises(TemporaryError) as info:
        adapter.send(sms(1))
    elapsed = time.monotonic() - started
    assert TIMEOUT * 0.8 < elapsed < TIMEOUT + 0.7, elapsed
    assert "did not answer" in info.value.reason
    assert_no_key(info.value, caplog)


def test_a_timeout_after_the_gateway_accepted_is_not_a_second_delivery(gateway, adapter):
    gateway.mode = "slow"
    with pytest.raises(TemporaryError):
        adapter.send(sms(1, key="k-1"))
    time.sleep(gateway.slow_seconds - TIMEOUT + 0.3)  # the slow request goes through on the gateway's side
    assert gateway.deliveries == 1
    gateway.mode = "ok"
    result = adapter.send(sms(1, key="k-1"))  # the delivery loop's retry
    assert gateway.deliveries == 1 and result.provider_id == str(next(iter(gateway.messages)))


def test_down_is_temporary_and_the_same_address_works_again(gateway, adapter, caplog):
    gateway.mode = "down"
    with pytest.raises(TemporaryError) as info:
        adapter.send(sms(1))
    assert "could not be reached" in info.value.reason and "refused" in info.value.reason.lower()
    assert_no_key(info.value, caplog)
    gateway.mode = "ok"
    assert adapter.send(sms(1)).provider_id


@pytest.mark.parametrize("mode", ["unavailable", "error", "hangup", "garbage", "no_credit", "redirect"])
def test_temporary_failures(gateway, adapter, mode, caplog):
    gateway.mode = mode
    with pytest.raises(TemporaryError) as info:
        adapter.send(sms(1))
    assert_no_key(info.value, caplog)
    assert gateway.deliveries == 0 and len(gateway.requests) == 1  # a redirect is not followed


def test_unreachable_host_is_temporary(caplog):
    adapter = RestSmsGateway(url="http://unresolvable.invalid", api_key=API_KEY, timeout=TIMEOUT,
                             bucket=TokenBucket(0))
    with pytest.raises(TemporaryError) as info:
        adapter.send(sms(1))
    assert_no_key(info.value, caplog)


def test_invalid_receptor_is_permanent_with_the_gateways_message(gateway, adapter, caplog):
    gateway.mode = "invalid_receptor"
    with pytest.raises(PermanentError) as info:
        adapter.send(sms(1))
    assert "411" in info.value.reason and "receptor invalid" in info.value.reason
    assert_no_key(info.value, caplog)


def test_a_number_the_gateway_refuses_is_permanent(gateway, adapter):
    with pytest.raises(PermanentError, match="receptor invalid"):
        adapter.send(sms(1, phone="0212345678"))


@pytest.mark.parametrize("how", ["mode", "wrong key"])
def test_a_bad_api_key_is_permanent_and_not_shown(gateway, how, caplog):
    caplog.set_level(logging.DEBUG, logger="notices")
    if how == "mode":
        gateway.mode = "bad_key"
        adapter = make_adapter(gateway)
    else:
        adapter = make_adapter(gateway, api_key=API_KEY + "x")
    with pytest.raises(PermanentError) as info:
        adapter.send(sms(1))
    assert "401" in info.value.reason
    assert_no_key(info.value, caplog)
    assert "***" in caplog.text


def test_rate_limited_is_temporary_with_retry_after(gateway, adapter, caplog):
    gateway.mode, gateway.retry_after = "rate_limit", 7
    with pytest.raises(TemporaryError) as info:
        adapter.send(sms(1))
    assert info.value.retry_after == 7.0
    assert_no_key(info.value, caplog)


@pytest.mark.parametrize("http_status, body, expected", [
    (200, {"return": {"status": 411, "message": "receptor invalid"}, "entries": None}, PermanentError),  # HTTP 200
    (200, {"return": {"status": 418, "message": "credit insufficient"}, "entries": None}, TemporaryError),
    (200, {"return": {"status": 409, "message": "busy"}, "entries": None}, TemporaryError),
    (408, None, TemporaryError),
    (404, None, PermanentError),  # a wrong NOTICES_SMS_URL: configuration
    (302, None, TemporaryError),
    (502, None, TemporaryError),
    (200, ["not", "an", "object"], TemporaryError),
    (200, {"return": {"status": 200}, "entries": []}, None),
])
def test_classification_table(adapter, http_status, body, expected):
    raw = b"<html>proxy</html>" if body is None else json.dumps(body).encode()
    if expected is None:
        assert adapter._interpret("send", http_status, {}, raw) == body
        with pytest.raises(TemporaryError, match="no message id"):
            adapter._first_entry(body)
    else:
        with pytest.raises(expected):
            adapter._interpret("send", http_status, {}, raw)


def test_retry_after_as_a_date():
    now = time.time()
    header = email.utils.formatdate(now + 30, usegmt=True)
    assert 28 <= _retry_after(header, now=lambda: now) <= 31
    assert _retry_after("soon") is None and _retry_after(None) is None and _retry_after("5") == 5.0


def test_unconfigured_gateway_fails_permanently():
    adapter = RestSmsGateway(url="", api_key="", bucket=TokenBucket(0))
    with pytest.raises(PermanentError, match="not configured"):
        adapter.send(sms(1))


# --- status polling ------------------------------------------------------------------------------------------------

def test_status_codes_map_to_delivered_failed_pending():
    assert delivery_outcome(10) == ("delivered", "")
    for code in (6, 11, 13, 14):
        state, reason = delivery_outcome(code)
        assert state == "failed" and str(code) in reason
    for code in (1, 2, 4, 5, 100, 999):
        assert delivery_outcome(code) == ("pending", "")


def test_status_polling(gateway, adapter):
    ids = [adapter.send(sms(n)).provider_id for n in range(1, 5)]
    for provider_id, code in zip(ids, (10, 11, 1, 14)):
        gateway.set_status(int(provider_id), code)
    answers = adapter.statuses(ids + ["123456789", "not-a-number"])
    assert answers[ids[0]] == ("delivered", "")
    assert answers[ids[1]][0] == "failed" and "11" in answers[ids[1]][1]
    assert answers[ids[2]] == ("pending", "")
    assert answers[ids[3]][0] == "failed"
    assert answers["123456789"] == ("pending", "")  # 100: unknown to the gateway
    (status_request,) = [r for r in gateway.requests if r.path.endswith("/status.json")]
    assert status_request.method == "GET" and status_request.params["messageid"].count(",") == 4
    assert RestSmsGateway.polls_statuses()


def test_status_polling_when_down_is_temporary(gateway, adapter):
    gateway.mode = "down"
    with pytest.raises(TemporaryError):
        adapter.statuses(["1", "2"])


# --- the throttle ---------------------------------------------------------------------------------------------------

class FakeClock:
    def __init__(self):
        self.now = 100.0
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def test_token_bucket_spaces_acquisitions_at_the_rate():
    clock = FakeClock()
    bucket = TokenBucket(10, clock=clock, sleep=clock.sleep)
    for _ in range(11):
        bucket.acquire()
    assert clock.now == pytest.approx(101.0)  # the first free, then one every 0.1 s
    assert clock.slept == pytest.approx([0.1] * 10)
    clock.now += 5  # idle: the bucket refills only up to its capacity (1): no burst of 50
    bucket.acquire()
    bucket.acquire()
    assert clock.slept[-1] == pytest.approx(0.1)


def test_token_bucket_with_a_burst_capacity_and_threads():
    clock = FakeClock()
    bucket = TokenBucket(20, capacity=5, clock=clock, sleep=lambda s: None)
    waits = [bucket.reserve() for _ in range(5)]
    assert waits == [0.0] * 5
    waits = []
    lock = threading.Lock()

    def take():
        wait = bucket.reserve()
        with lock:
            waits.append(wait)

    threads = [threading.Thread(target=take) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(waits) == pytest.approx([0.05 * i for i in range(1, 9)])  # each its own slot, none shared


def test_token_bucket_off():
    bucket = TokenBucket(0, sleep=lambda s: pytest.fail("no sleeping when off"))
    assert all(bucket.acquire() == 0 for _ in range(1000))


def test_the_throttle_keeps_under_the_gateways_own_limit(gateway):
    gateway.rate = 40
    unthrottled = make_adapter(gateway)
    errors = 0
    for n in range(60):
        try:
            unthrottled.send(sms(n))
        except TemporaryError as exc:
            errors += 1
            assert exc.retry_after == gateway.retry_after
    assert errors > 0 and gateway.rate_limited == errors  # the fake's limit works

    time.sleep(1.1)
    gateway.requests.clear()
    throttled = make_adapter(gateway, bucket=TokenBucket(30))
    started = time.monotonic()
    for n in range(100, 145):
        throttled.send(sms(n))  # no 429
    elapsed = time.monotonic() - started
    assert 44 / 30 * 0.95 <= elapsed < 44 / 30 + 1.0, elapsed


# --- end to end with the notices' delivery --------------------------------------------------------------------------

@pytest.fixture
def rest_sms(settings, gateway, db):
    settings.NOTICES_SMS_BACKEND = "notices.providers.http.RestSmsGateway"
    settings.NOTICES_SMS_URL = gateway.url
    settings.NOTICES_SMS_API_KEY = API_KEY
    settings.NOTICES_SMS_TIMEOUT = TIMEOUT
    settings.NOTICES_SMS_RATE = 0  # the throttle is tested above
    settings.NOTICES_CALLBACK_TOKEN = "cb-token-1234567890"
    providers.reset()
    load_test_templates()
    yield gateway
    providers.reset()


def run_delivery() -> int:
    return delivery.run_until_idle("test-worker", max_seconds=30, idle_wait=0)


def make_due() -> None:
    with connection.cursor() as cursor:
        cursor.execute("UPDATE notices_message SET not_before = statement_timestamp() WHERE status = 'queued'")


def queue_codes(n: int, prefix: str = "e2e") -> list[int]:
    ids = []
    for i in range(n):
        ids += notify("test.security", Recipient(phone=f"0912{i:07d}", language="fa"), {"code": f"{i:06d}"},
                      key=f"{prefix}:{i}")
    return ids


def test_provider_down_for_minutes_messages_wait_and_go_later(rest_sms):
    gateway = rest_sms
    ids = queue_codes(5)
    gateway.mode = "down"
    assert run_delivery() == 5
    rows = list(Message.objects.filter(id__in=ids))
    assert {m.status for m in rows} == {"queued"} and {m.attempts for m in rows} == {1}
    assert all(m.error_kind == "temporary" and "could not be reached" in m.error for m in rows)
    assert all(m.not_before > timezone.now() + datetime.timedelta(seconds=20) for m in rows)  # backing off
    assert all(API_KEY not in m.error for m in rows)
    assert run_delivery() == 0  # not due yet

    make_due()  # minutes later: still down
    assert run_delivery() == 5
    assert set(Message.objects.filter(id__in=ids).values_list("attempts", flat=True)) == {2}
    first_wait = rows[0].not_before - rows[0].created_at

    gateway.mode = "ok"
    make_due()
    assert run_delivery() == 5
    rows = list(Message.objects.filter(id__in=ids).order_by("id"))
    assert {m.status for m in rows} == {"sent"} and {m.attempts for m in rows} == {3}
    assert all(m.provider == "rest" and m.provider_id for m in rows)
    assert gateway.deliveries == 5 and len(gateway.sends()) == 5
    assert sorted(m.localid for m in gateway.messages.values()) == sorted(m.idempotency_key for m in rows)
    assert {m.provider_id for m in rows} == {str(i) for i in gateway.messages}
    assert first_wait.total_seconds() > 0


def test_a_timeout_then_a_retry_delivers_once(rest_sms):
    gateway = rest_sms
    (message_id,) = queue_codes(1, "slow")
    gateway.mode = "slow"
    run_delivery()
    message = Message.objects.get(id=message_id)
    assert message.status == "queued" and "did not answer" in message.error
    time.sleep(gateway.slow_seconds - TIMEOUT + 0.3)
    gateway.mode = "ok"
    make_due()
    run_delivery()
    message.refresh_from_db()
    assert message.status == "sent" and gateway.deliveries == 1 and len(gateway.sends()) == 2


def test_provider_answering_4xx_fails_at_once_and_is_not_retried(rest_sms):
    gateway = rest_sms
    (message_id,) = queue_codes(1, "bad")
    gateway.mode = "invalid_receptor"
    assert run_delivery() == 1
    message = Message.objects.get(id=message_id)
    assert (message.status, message.attempts, message.error_kind) == ("failed", 1, "permanent")
    assert "receptor invalid" in message.error
    make_due()
    assert run_delivery() == 0
    assert len(gateway.sends()) == 1


def test_bad_key_fails_without_showing_the_key(rest_sms, settings):
    settings.NOTICES_SMS_API_KEY = API_KEY + "-wrong"
    providers.reset()
    (message_id,) = queue_codes(1, "key")
    run_delivery()
    message = Message.objects.get(id=message_id)
    assert message.status == "failed" and "401" in message.error and "s3cret" not in message.error


def test_rate_limited_messages_back_off(rest_sms):
    gateway = rest_sms
    ids = queue_codes(3, "429")
    gateway.mode = "rate_limit"
    run_delivery()
    assert set(Message.objects.filter(id__in=ids).values_list("status", "error_kind")) == {("queued", "temporary")}


def _sent_a_while_ago():
    with connection.cursor() as cursor:
        cursor.execute("UPDATE notices_message SET sent_at = statement_timestamp() - interval '5 minutes' "
                       "WHERE status = 'sent'")


def test_status_poll_marks_messages_delivered_or_failed(rest_sms):
    gateway = rest_sms
    ids = queue_codes(4, "poll")
    run_delivery()
    rows = {m.id: m for m in Message.objects.filter(id__in=ids)}
    for message_id, code in zip(ids, (10, 11, 1, 14)):
        gateway.set_status(int(rows[message_id].provider_id), code)
    _sent_a_while_ago()
    assert delivery.poll_statuses() == 3
    states = {m.id: (m.status, m.error) for m in Message.objects.filter(id__in=ids)}
    assert states[ids[0]] == ("delivered", "")
    assert states[ids[1]][0] == "failed" and "not delivered" in states[ids[1]][1]
    assert states[ids[2]] == ("sent", "")
    assert states[ids[3]][0] == "failed" and "blocked" in states[ids[3]][1]
    assert Message.objects.get(id=ids[0]).delivered_at is not None
    gateway.set_status(int(rows[ids[2]].provider_id), 10)
    assert delivery.poll_statuses() == 1


def test_status_poll_with_the_gateway_down_changes_nothing(rest_sms):
    gateway = rest_sms
    ids = queue_codes(2, "poll-down")
    run_delivery()
    _sent_a_while_ago()
    gateway.mode = "down"
    assert delivery.poll_statuses() == 0
    assert set(Message.objects.filter(id__in=ids).values_list("status", flat=True)) == {"sent"}


def test_delivery_callback_marks_messages(rest_sms, client):
    gateway = rest_sms
    ids = queue_codes(2, "cb")
    run_delivery()
    first, second = Message.objects.filter(id__in=ids).order_by("id")
    url = reverse("notices:sms_delivery", kwargs={"token": "cb-token-1234567890"})
    response = client.post(url, {"messageid": first.provider_id, "status": 10})
    assert response.status_code == 200 and response.json()["recorded"] is True
    response = client.get(url, {"messageid": second.provider_id, "status": "۱۱"})  # GET, Persian digits
    assert response.status_code == 200 and response.json()["state"] == "failed"
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == "delivered" and second.status == "failed" and "11" in second.error
    assert client.post(url, {"messageid": first.provider_id, "status": 11}).json()["recorded"] is False  # late
    first.refresh_from_db()
    assert first.status == "delivered"
    assert gateway.deliveries == 2


@pytest.mark.parametrize("reply", ["لغو", "۱۱", " STOP ", "لغو."])
def test_inbound_opt_out_keyword_stops_reminders(rest_sms, client, reply):
    phone = "09351234567"
    url = reverse("notices:sms_inbound", kwargs={"token": "cb-token-1234567890"})
    response = client.post(url, {"from": "+98 935 123 4567", "to": "10004346", "message": reply})
    assert response.status_code == 200 and response.json() == {"from": phone, "opted_out": True}
    assert Preference.objects.get(phone=phone).reminders_opt_out
    assert notify("test.reminder", Recipient(phone=phone), {"year": 1405}, key=f"rem:{reply}") == []
    assert notify("test.security", Recipient(phone=phone), {"code": "1"}, key=f"sec:{reply}")  # still sent


def test_inbound_other_text_changes_nothing(rest_sms, client):
    url = reverse("notices:sms_inbound", kwargs={"token": "cb-token-1234567890"})
    response = client.post(url, {"from": "۰۹۳۵۱۲۳۴۵۶۷", "message": "لغو کنید لطفا پرونده را"})
    assert response.status_code == 200 and response.json()["opted_out"] is False
    assert not Preference.objects.filter(phone="09351234567", reminders_opt_out=True).exists()


# --- callbacks made by the gateway over real HTTP ----------------------------------------------------------------

@pytest.mark.django_db(transaction=True, available_apps=["notices"])
def test_the_gateway_calls_back_over_http(live_server, settings, gateway):
    settings.NOTICES_SMS_BACKEND = "notices.providers.http.RestSmsGateway"
    settings.NOTICES_SMS_URL, settings.NOTICES_SMS_API_KEY = gateway.url, API_KEY
    settings.NOTICES_SMS_TIMEOUT, settings.NOTICES_SMS_RATE = TIMEOUT, 0
    settings.NOTICES_CALLBACK_TOKEN = "cb-token-1234567890"
    providers.reset()
    try:
        load_test_templates()
        (message_id,) = queue_codes(1, "live")
        run_delivery()
        message = Message.objects.get(id=message_id)
        assert message.status == "sent"
        base = live_server.url + "/api/notices/sms/cb-token-1234567890"
        status, body = gateway.post_delivery(base + "/delivery", int(message.provider_id), 10)
        assert status == 200, body
        message.refresh_from_db()
        assert message.status == "delivered"
        status, body = gateway.post_inbound(base + "/inbound", "09121112233", "۱۱")
        assert status == 200 and service.preference_for("09121112233").reminders_opt_out
        assert service.preference_for("09121112233").opt_out_source
        status, _body = gateway.post_delivery(live_server.url + "/api/notices/sms/wrong/delivery",
                                              int(message.provider_id), 11)
        assert status == 404
    finally:
        providers.reset()
