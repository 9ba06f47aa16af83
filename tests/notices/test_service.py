"""notify(), preferences, campaigns, delivery with back-off, dead messages and staff retry: in one process, on the
real database (the workers' own tests are in test_workers.py)."""

import datetime as dt

import pytest
from django.db import connection, transaction
from django.utils import timezone

from notices import delivery, rendering, rules, service
from notices.models import Batch, LocalSms, Message, Preference, Template
from notices.service import Recipient, notify

pytestmark = pytest.mark.usefixtures("notice_templates")

PHONE = "09121234567"


def procrastinate_jobs(task="notices.send_due"):
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM procrastinate_jobs WHERE task_name = %s AND status = 'todo'", [task])
        return cursor.fetchone()[0]


def test_notify_is_part_of_the_callers_transaction(db):
    class Boom(Exception):
        pass

    before = procrastinate_jobs()
    with pytest.raises(Boom), transaction.atomic():
        ids = notify("test.security", Recipient(phone=PHONE), {"code": "111111"})
        assert Message.objects.filter(id__in=ids).count() == 1
        raise Boom
    assert not Message.objects.exists()
    assert procrastinate_jobs() == before  # the wake-up job went with it


def test_notify_wakes_workers_once_for_many_notices(db):
    with transaction.atomic():
        for i in range(5):
            notify("test.security", Recipient(phone=f"0912000000{i}"), {"code": str(i)})
    assert procrastinate_jobs() == 1  # the queueing lock: one wake-up for all


def test_same_key_makes_one_message(db):
    first = notify("test.security", Recipient(phone=PHONE), {"code": "1"}, key="signin:42")
    again = notify("test.security", Recipient(phone="۰۹۱۲۱۲۳۴۵۶۷"), {"code": "2"}, key="signin:42")
    assert first == again
    message = Message.objects.get()
    assert message.idempotency_key == "signin:42:sms" and message.body == "کد: 1"


def test_security_goes_by_sms_only_and_first(db):
    set_all = service.set_preferences(PHONE, by_sms=False, by_email=True, by_inbox=True, email="a@example.org",
                                      reminders=False)
    assert set_all.reminders_opt_out
    ids = notify("test.security", Recipient(phone="+98 912 123 4567"), {"code": "654321"})
    message = Message.objects.get(id__in=ids)
    assert (message.channel, message.phone, message.priority) == ("sms", PHONE, rules.PRIORITY["security"])


def test_transactional_follows_preferences(db, django_user_model):
    user = django_user_model.objects.create_user("09121234567")
    # no preference: SMS, and the inbox since there is a user
    ids = notify("test.case", Recipient(user_id=user.pk, phone=PHONE), {"case": "1405-1"})
    assert sorted(Message.objects.filter(id__in=ids).values_list("channel", flat=True)) == ["inbox", "sms"]
    inbox = Message.objects.get(id__in=ids, channel="inbox")
    assert inbox.status == "delivered" and inbox.delivered_at and inbox.subject == "پرونده ۱۴۰۵-۱"

    service.set_preferences(PHONE, user=user, by_sms=False, by_email=True, by_inbox=False,
                            email="citizen@example.org")
    ids = notify("test.case", Recipient(user_id=user.pk), {"case": "1405-2"})  # phone and e-mail from the preference
    message = Message.objects.get(id__in=ids)
    assert (message.channel, message.email) == ("email", "citizen@example.org")
    assert message.body == "پرونده 1405-2 به مرحله بعد رفت & تمام."  # plain text: nothing escaped


def test_channels_rule():
    base = dict(has_phone=True, has_email=True, has_user=True)
    assert rules.channels_for("security", rules.CHANNELS, preference={"by_sms": False}, **base) == ["sms"]
    assert rules.channels_for("reminder", ("sms",), preference={"reminders_opt_out": True}, **base) == []
    assert rules.channels_for("transactional", ("sms", "inbox"), preference=None, has_phone=True, has_email=False,
                              has_user=False) == ["sms"]
    assert rules.channels_for("transactional", ("sms", "email"),
                              preference={"by_sms": True, "by_email": True, "by_inbox": True}, **base) == \
        ["sms", "email"]


def test_templates_per_language_with_persian_fallback(db):
    en = notify("test.case", Recipient(phone=PHONE, language="en"), {"case": "1405-7"})
    assert Message.objects.get(id__in=en).body == "Case 1405-7 moved on."
    fa = notify("test.case", Recipient(phone="09121234568"), {"case": "1405-7"})
    assert Message.objects.get(id__in=fa).body == "پرونده ۱۴۰۵-۷ به مرحله بعد رفت."
    # no English e-mail template: the Persian one
    service.set_preferences("09121234569", by_sms=False, by_email=True, by_inbox=False, email="x@example.org",
                            language="en")
    ids = notify("test.case", Recipient(phone="09121234569"), {"case": "8"})
    assert Message.objects.get(id__in=ids).language == "en"
    assert Message.objects.get(id__in=ids).body.startswith("پرونده 8")


def test_missing_templates_and_unknown_events(db):
    Template.objects.filter(event="test.security").delete()
    with pytest.raises(rendering.NoTemplate):
        notify("test.security", Recipient(phone=PHONE), {"code": "1"})
    with pytest.raises(LookupError):
        notify("nobody.registered", Recipient(phone=PHONE), {})


def test_default_templates_render_short_persian_sms(db):
    from notices.sms import parts

    text = rendering.render_text(Template.objects.get(event="dues.reminder", channel="sms", language="fa").body,
                                 {"year": 1405, "discount_percent": 10, "deadline": "پایان اسفند"}, "fa")
    assert text == "عوارض نوسازی ۱۴۰۵ شما آماده است؛ ۱۰٪ تخفیف تا پایان اسفند.\nلغو: ۱۱"
    assert parts(text) == 1
    code = rendering.render("accounts.signin_code", "sms", "fa", {"code": "482913", "minutes": 2})[1]
    assert "482913" in code and "۲ دقیقه" in code and parts(code) == 1


def test_sms_parts():
    from notices.sms import parts

    assert parts("a" * 160) == 1 and parts("a" * 161) == 2 and parts("a" * 306) == 2 and parts("a" * 307) == 3
    assert parts("س" * 70) == 1 and parts("س" * 71) == 2 and parts("س" * 134) == 2 and parts("س" * 135) == 3
    assert parts("{" * 80) == 1 and parts("{" * 81) == 2  # the extension table counts twice


def test_opted_out_numbers_get_no_reminders_but_still_security_codes(db):
    assert service.inbound_reply("۰۹۱۲۱۲۳۴۵۶۷", " ۱۱ ")  # Persian digits, spaces
    assert not service.inbound_reply("09121234568", "thanks")
    assert service.is_opt_out_reply("لغو") and service.is_opt_out_reply("stop") and service.is_opt_out_reply("لغو.")
    pref = Preference.objects.get(phone=PHONE)
    assert pref.reminders_opt_out and pref.opt_out_source == "reply" and pref.opted_out_at
    assert notify("test.reminder", Recipient(phone=PHONE), {"year": 1405}) == []
    assert len(notify("test.security", Recipient(phone=PHONE), {"code": "1"})) == 1
    assert len(notify("test.reminder", Recipient(phone="09121234568"), {"year": 1405})) == 1


def test_campaign_is_throttled_and_skips_opted_out_and_repeated(db):
    service.opt_out("09120000003", source="staff")
    rows_sql = ("SELECT phone, '' AS language, jsonb_build_object('year', %s) AS context, "
                "'camp:' || phone AS key FROM unnest(%s::text[]) AS phone")
    phones = [f"0912000000{i}" for i in range(6)] + ["02112345678", "garbage"]
    batch = service.enqueue_campaign("test.reminder", rows_sql, [1405, phones], "dues 1405", rate=2)
    assert (batch.rows, batch.enqueued, batch.skipped_opted_out, batch.skipped_invalid) == (8, 5, 1, 2)
    messages = list(Message.objects.filter(batch=batch).order_by("not_before"))
    gaps = [(b.not_before - a.not_before).total_seconds() for a, b in zip(messages, messages[1:])]
    assert gaps == [0.5] * 4  # 2 per second
    assert all(m.body == "" for m in messages)  # rendered by the worker
    again = service.enqueue_campaign("test.reminder", rows_sql, [1405, phones], "dues 1405 again", rate=2)
    assert (again.enqueued, again.skipped_existing) == (0, 5)
    with pytest.raises(ValueError):
        service.enqueue_campaign("test.case", rows_sql, [1405, phones], "not a reminder")
    # the worker renders each body when it sends it, and keeps it
    Message.objects.filter(batch=batch).update(not_before=timezone.now())
    delivery.run_until_idle("w", max_seconds=5)
    assert set(Message.objects.filter(batch=batch).values_list("status", flat=True)) == {"delivered"}
    assert LocalSms.objects.get(phone="09120000001").body == "یادآوری عوارض ۱۴۰۵. لغو: ۱۱"
    assert Message.objects.get(batch=batch, phone="09120000001").body == "یادآوری عوارض ۱۴۰۵. لغو: ۱۱"
    assert Batch.objects.get(pk=batch.pk).report()["delivered"] == 5


def test_local_backend_delivers_and_keeps_one_row_per_key(db):
    ids = notify("test.security", Recipient(phone=PHONE), {"code": "777"})
    assert delivery.run_until_idle("w1", max_seconds=5) == 1
    message = Message.objects.get(id=ids[0])
    assert (message.status, message.provider, message.attempts) == ("delivered", "local", 1)
    assert message.provider_id == f"local-{LocalSms.objects.get().pk}"
    # a crash after sending, before recording: the lease runs out, the message is sent again, not delivered twice
    Message.objects.filter(id=message.id).update(status="sending", claimed_at=timezone.now() - dt.timedelta(hours=1),
                                                 claimed_by="dead-worker")
    assert delivery.run_until_idle("w2", max_seconds=5) == 1
    sms = LocalSms.objects.get()
    assert sms.duplicates == 1 and LocalSms.objects.count() == 1
    assert Message.objects.get(id=message.id).status == "delivered"


def test_backoff_schedule_then_dead_then_staff_retry(db, settings, flaky_sms):
    settings.NOTICES_MAX_ATTEMPTS, settings.NOTICES_BACKOFF_SECONDS, settings.NOTICES_BACKOFF_MAX_SECONDS = 4, 30, 100
    assert [rules.backoff_seconds(n, 30, 100) for n in (1, 2, 3, 4)] == [30, 60, 100, 100]
    flaky_sms.plan[PHONE] = ["temp"] * 4 + ["ok"]
    [mid] = notify("test.security", Recipient(phone=PHONE), {"code": "1"})
    waits = []
    for attempt in range(1, 5):
        before = timezone.now()
        assert delivery.send_batch("w") == 1
        message = Message.objects.get(id=mid)
        assert message.attempts == attempt and message.error_kind == "temporary"
        if attempt < 4:
            assert message.status == "queued"
            waits.append(round((message.not_before - before).total_seconds()))
            assert delivery.send_batch("w") == 0  # not due yet
            Message.objects.filter(id=mid).update(not_before=timezone.now())
    assert waits == [30, 60, 100]
    assert message.status == "dead" and "503" in message.error

    assert service.retry([mid]) == [mid]
    assert Message.objects.get(id=mid).attempts == 0
    assert delivery.send_batch("w") == 1
    message = Message.objects.get(id=mid)
    assert (message.status, message.provider) == ("sent", "flaky")
    # a delivery report (callback or poll) completes it; a second report changes nothing
    assert service.record_delivery("flaky", message.provider_id, True)
    assert not service.record_delivery("flaky", message.provider_id, False, "late")
    assert Message.objects.get(id=mid).status == "delivered"


def test_permanent_error_fails_at_once(db, flaky_sms):
    flaky_sms.plan[PHONE] = ["perm"]
    [mid] = notify("test.security", Recipient(phone=PHONE), {"code": "1"})
    delivery.run_until_idle("w", max_seconds=5)
    message = Message.objects.get(id=mid)
    assert (message.status, message.error_kind, message.attempts) == ("failed", "permanent", 1)
    assert "invalid number" in message.error


def test_email_not_configured_fails_permanently(db, settings):
    settings.NOTICES_EMAIL_ENABLED = False
    service.set_preferences(PHONE, by_sms=False, by_email=True, by_inbox=False, email="a@example.org")
    [mid] = notify("test.case", Recipient(phone=PHONE), {"case": "1"})
    delivery.run_until_idle("w", max_seconds=5)
    assert (Message.objects.get(id=mid).status, Message.objects.get(id=mid).error_kind) == ("failed", "permanent")


def test_email_sent_when_enabled(db, settings, mailoutbox):
    settings.NOTICES_EMAIL_ENABLED = True
    service.set_preferences(PHONE, by_sms=False, by_email=True, by_inbox=False, email="a@example.org")
    [mid] = notify("test.case", Recipient(phone=PHONE), {"case": "9"})
    delivery.run_until_idle("w", max_seconds=5)
    assert Message.objects.get(id=mid).status == "delivered"
    assert mailoutbox[0].to == ["a@example.org"] and mailoutbox[0].subject == "پرونده 9"


def test_status_poll(db, flaky_sms):
    [mid] = notify("test.security", Recipient(phone=PHONE), {"code": "1"})
    delivery.send_batch("w")
    assert delivery.poll_statuses() == 0  # sent less than a minute ago
    Message.objects.filter(id=mid).update(sent_at=timezone.now() - dt.timedelta(minutes=2))
    assert delivery.poll_statuses() == 1
    assert Message.objects.get(id=mid).status == "delivered"


def test_priority_security_before_reminders(db):
    rows_sql = "SELECT phone, '' AS language, '{}'::jsonb AS context, phone AS key FROM unnest(%s::text[]) AS phone"
    service.enqueue_campaign("test.reminder", rows_sql, [[f"0912000{i:04d}" for i in range(20)]], "c", rate=1000)
    Message.objects.update(not_before=timezone.now() - dt.timedelta(minutes=1))
    [mid] = notify("test.security", Recipient(phone=PHONE), {"code": "1"})
    claimed = delivery.claim("w", limit=1)
    assert [m.id for m in claimed] == [mid]


def test_inbox_and_mark_read(db, django_user_model):
    user = django_user_model.objects.create_user("u1")
    other = django_user_model.objects.create_user("u2")
    a = notify("test.case", Recipient(user_id=user.pk), {"case": "1"})
    b = notify("test.case", Recipient(user_id=user.pk), {"case": "2"})
    notify("test.case", Recipient(user_id=other.pk), {"case": "3"})
    assert list(service.inbox(user).values_list("id", flat=True)) == b + a
    assert service.mark_read(other, a) == 0
    assert service.mark_read(user, a) == 1 and service.unread_count(user) == 1
    assert service.mark_read(user) == 1 and service.unread_count(user) == 0
