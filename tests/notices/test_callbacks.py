"""The SMS gateway's callbacks (notices/callbacks.py): the token, the methods, the validation of what the gateway
sends, and what a report or a reply changes."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from notices.models import Message, Preference

TOKEN = "cb-Token-0123456789abcdef"
PHONE = "09121234567"


@pytest.fixture
def callbacks(db, settings):
    settings.NOTICES_CALLBACK_TOKEN = TOKEN
    return settings


def url(name: str, token: str = TOKEN) -> str:
    return reverse(f"notices:{name}", kwargs={"token": token})


def sent_message(provider_id: str = "8792343", provider: str = "rest", status: str = "sent") -> Message:
    now = timezone.now()
    return Message.objects.create(idempotency_key=f"k:{provider_id}:{provider}", event="test.security",
                                  kind="security", channel="sms", phone=PHONE, body="کد: ۱۲۳", status=status,
                                  attempts=1, not_before=now, created_at=now,
                                  sent_at=now - datetime.timedelta(seconds=5), provider=provider,
                                  provider_id=provider_id)


def test_the_paths():
    assert url("sms_delivery", "abc") == "/api/notices/sms/abc/delivery"
    assert url("sms_inbound", "abc") == "/api/notices/sms/abc/inbound"


@pytest.mark.parametrize("name", ["sms_delivery", "sms_inbound"])
def test_no_token_configured_is_404_always(db, settings, client, name):
    settings.NOTICES_CALLBACK_TOKEN = ""
    for token in ("x", "anything"):
        response = client.post(url(name, token), {"messageid": 1, "status": 10, "from": PHONE, "message": "لغو"})
        assert response.status_code == 404 and response.json()["error"] == "not_found"


@pytest.mark.parametrize("name", ["sms_delivery", "sms_inbound"])
def test_a_wrong_token_is_404(callbacks, client, name):
    for token in (TOKEN[:-1], TOKEN + "x", TOKEN.upper(), "x"):
        assert client.post(url(name, token), {"messageid": 1, "status": 10}).status_code == 404


def test_no_csrf_token_needed(callbacks):
    message = sent_message()
    client = Client(enforce_csrf_checks=True)
    response = client.post(url("sms_delivery"), {"messageid": message.provider_id, "status": 10})
    assert response.status_code == 200
    message.refresh_from_db()
    assert message.status == "delivered" and message.delivered_at is not None


def test_other_methods_are_405(callbacks, client):
    response = client.put(url("sms_delivery"), "messageid=1&status=10")
    assert response.status_code == 405 and response.json()["error"] == "method_not_allowed"


@pytest.mark.parametrize("data, name", [
    ({"status": 10}, "messageid"),
    ({"messageid": "", "status": 10}, "messageid"),
    ({"messageid": "abc", "status": 10}, "messageid"),
    ({"messageid": "1.5", "status": 10}, "messageid"),
    ({"messageid": "0", "status": 10}, "messageid"),
    ({"messageid": "9" * 30, "status": 10}, "messageid"),
    ({"messageid": "12\x0034", "status": 10}, "messageid"),
    ({"messageid": 5}, "status"),
    ({"messageid": 5, "status": "delivered"}, "status"),
])
def test_delivery_report_validation(callbacks, client, data, name):
    response = client.post(url("sms_delivery"), data)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"] == "bad_parameter" and name in body["message"]


def test_delivery_reports(callbacks, client):
    delivered, failed, pending = sent_message("101"), sent_message("102"), sent_message("103")
    other_provider = sent_message("101", provider="local")
    assert client.post(url("sms_delivery"), {"messageid": "101", "status": "10"}).json() == {
        "messageid": 101, "status": 10, "state": "delivered", "recorded": True}
    assert client.get(url("sms_delivery"), {"messageid": "۱۰۲", "status": "۱۴"}).json()["recorded"] is True
    assert client.post(url("sms_delivery"), {"messageid": "103", "status": "4"}).json() == {
        "messageid": 103, "status": 4, "state": "pending", "recorded": False}
    assert client.post(url("sms_delivery"), {"messageid": "999", "status": "10"}).json()["recorded"] is False
    for message in (delivered, failed, pending, other_provider):
        message.refresh_from_db()
    assert delivered.status == "delivered" and delivered.error == ""
    assert (failed.status, failed.error_kind) == ("failed", "permanent") and "blocked" in failed.error
    assert pending.status == "sent"
    assert other_provider.status == "sent"  # another provider's id space


def test_a_report_twice_or_late_changes_nothing(callbacks, client):
    message = sent_message("201")
    assert client.post(url("sms_delivery"), {"messageid": 201, "status": 10}).json()["recorded"] is True
    assert client.post(url("sms_delivery"), {"messageid": 201, "status": 10}).json()["recorded"] is False
    assert client.post(url("sms_delivery"), {"messageid": 201, "status": 11}).json()["recorded"] is False
    message.refresh_from_db()
    assert message.status == "delivered"


@pytest.mark.parametrize("reply", ["لغو", "۱۱", "١١", "11", "stop", " Off ", "لغو!", "‌لغو‌"])
def test_opt_out_replies(callbacks, client, reply):
    response = client.post(url("sms_inbound"), {"from": "0098 912 123 4567", "message": reply})
    assert response.status_code == 200 and response.json() == {"from": PHONE, "opted_out": True}
    preference = Preference.objects.get(phone=PHONE)
    assert preference.reminders_opt_out and preference.opted_out_at is not None and preference.opt_out_source


@pytest.mark.parametrize("reply", ["سلام", "لغو نکنید", "111", "۱۲", "ok"])
def test_other_replies_change_nothing(callbacks, client, reply):
    response = client.get(url("sms_inbound"), {"from": "۰۹۱۲۱۲۳۴۵۶۷", "message": reply})
    assert response.status_code == 200 and response.json() == {"from": PHONE, "opted_out": False}
    assert not Preference.objects.filter(phone=PHONE, reminders_opt_out=True).exists()


@pytest.mark.parametrize("data, name", [
    ({"message": "لغو"}, "from"),
    ({"from": "02112345678", "message": "لغو"}, "from"),  # a landline: no SMS came from it
    ({"from": "0912", "message": "لغو"}, "from"),
    ({"from": "+1 555 0100", "message": "لغو"}, "from"),
    ({"from": "0912123456x", "message": "لغو"}, "from"),
    ({"from": PHONE}, "message"),
    ({"from": PHONE, "message": "   "}, "message"),
    ({"from": PHONE, "message": "x" * 3000}, "message"),
])
def test_inbound_validation(callbacks, client, data, name):
    response = client.post(url("sms_inbound"), data)
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "bad_parameter" and name in response.json()["message"]
    assert not Preference.objects.exists()

