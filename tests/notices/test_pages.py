"""The staff pages (admin), the inbox page and the commands."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from notices import delivery
from notices.models import LocalSms, Message, Template
from notices.service import Recipient, notify

from ..conftest import make_user

pytestmark = pytest.mark.usefixtures("notice_templates")


def test_inbox_page_lists_and_marks_read(client, db):
    user = make_user("09121112233")
    other = make_user("09121112244")
    notify("test.case", Recipient(user_id=user.pk), {"case": "1405-3"})
    notify("test.case", Recipient(user_id=other.pk), {"case": "9999-9"})
    url = reverse("notices:inbox")
    assert client.get(url).status_code == 302  # sign in first
    client.force_login(user)
    page = client.get(url).content.decode()
    assert "پرونده ۱۴۰۵-۳ به مرحله بعد رفت." in page and "۹۹۹۹" not in page
    assert 'data-testid="unread-count"' in page
    client.post(url, {"all": "1"})
    assert not Message.objects.filter(user=user, read_at__isnull=True).exists()
    assert Message.objects.filter(user=other, read_at__isnull=True).exists()
    assert client.post(url, {"ids": "x"}).status_code == 400


def test_template_admin_previews_both_languages(client, role_users):
    client.force_login(role_users["admin"])
    template = Template.objects.get(event="test.case", channel="sms", language="fa")
    page = client.get(reverse("admin:notices_template_change", args=[template.pk])).content.decode()
    assert "پرونده ۱۴۰۵-۱ به مرحله بعد رفت." in page and "Case ۱۴۰۵-۱ moved on." in page
    response = client.post(reverse("admin:notices_template_change", args=[template.pk]), {
        "event": "test.case", "channel": "sms", "language": "fa", "subject": "", "body": "{% if %}"})
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    client.post(reverse("admin:notices_template_change", args=[template.pk]), {
        "event": "test.case", "channel": "sms", "language": "fa", "subject": "", "body": "ویرایش {{ case }}"})
    template.refresh_from_db()
    assert template.body == "ویرایش {{ case }}" and template.updated_by == role_users["admin"]
    # the defaults loader keeps the staff edit unless --replace
    out = StringIO()
    call_command("load_notice_templates", "--file", "tests/notices/data/edited.toml", stdout=out)
    assert "kept (edited by staff)" in out.getvalue()


def test_message_admin_retry_action_needs_the_permission(client, role_users, flaky_sms):
    flaky_sms.plan["09121234567"] = ["perm"]
    [mid] = notify("test.security", Recipient(phone="09121234567"), {"code": "1"})
    delivery.run_until_idle("w", max_seconds=5)
    assert Message.objects.get(id=mid).status == "failed"
    changelist = reverse("admin:notices_message_changelist")
    client.force_login(role_users["finance"])  # sees, may not retry
    assert client.get(changelist + "?status__exact=failed").status_code == 200
    client.post(changelist, {"action": "retry_messages", "_selected_action": [mid]})
    assert Message.objects.get(id=mid).status == "failed"
    client.force_login(role_users["admin"])
    assert client.get(changelist + "?q=۰۹۱۲۱۲۳۴۵۶۷").content.decode().count(f"/{mid}/change/") >= 1
    client.post(changelist, {"action": "retry_messages", "_selected_action": [mid]})
    assert Message.objects.get(id=mid).status == "queued"


def test_localsms_and_batch_pages(client, role_users):
    notify("test.security", Recipient(phone="09121234567"), {"code": "4321"})
    delivery.run_until_idle("w", max_seconds=5)
    client.force_login(role_users["admin"])
    assert "4321" in client.get(reverse("admin:notices_localsms_changelist")).content.decode()
    assert client.get(reverse("admin:notices_batch_changelist")).status_code == 200


def test_sms_outbox_and_send_test_notice_commands(db):
    out = StringIO()
    call_command("send_test_notice", "۰۹۱۲۱۲۳۴۵۶۷", stdout=out)
    assert "Dry run" in out.getvalue() and not Message.objects.exists()
    call_command("send_test_notice", "+989121234567", "--commit", stdout=StringIO())
    delivery.run_until_idle("w", max_seconds=5)
    assert LocalSms.objects.get().phone == "09121234567"
    out = StringIO()
    call_command("sms_outbox", "۰۹۱۲ ۱۲۳ ۴۵۶۷", "--last", "3", stdout=out)
    assert "پیام آزمایشی سامانه" in out.getvalue()
    out = StringIO()
    call_command("sms_outbox", "09120000000", stdout=out)
    assert "No SMS" in out.getvalue()


def test_load_notice_templates_dry_run_then_commit(db):
    Template.objects.all().delete()
    out = StringIO()
    call_command("load_notice_templates", stdout=out)
    assert "Dry run" in out.getvalue() and not Template.objects.exists()
    call_command("load_notice_templates", "--commit", stdout=StringIO())
    assert Template.objects.filter(event="dues.reminder", channel="sms", language="fa").exists()
    out = StringIO()
    call_command("load_notice_templates", stdout=out)
    assert "0 templates would be written" in out.getvalue()
