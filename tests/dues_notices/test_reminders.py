"""Renewal-dues reminders on the demo city in the real PostGIS: who gets one (checked against an independent ORM
query), one per number, reruns, opt-outs, the throttle, the text, delivery through the local SMS backend with the
real delivery code, and the campaign's report."""

import re
from collections import defaultdict

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Sum
from django.utils import translation

from dues import billing, reminders
from dues.models import Assessment, LedgerEntry
from notices import delivery, service
from notices.models import Batch, LocalSms, Message
from parcels.models import Ownership

pytestmark = pytest.mark.django_db
MOBILE = re.compile(r"^09\d{9}$")


def expected_recipients(year: int) -> dict[str, dict]:
    """Independently of the campaign's SQL: the Django ORM and Python. phone -> {parcels, total}."""
    assessed = dict(Assessment.objects.filter(year=year, is_current=True).values_list("parcel_id", "amount"))
    settled = defaultdict(int)
    for row in (LedgerEntry.objects.filter(year=year).exclude(kind="credit").values("parcel_id", "kind")
                .annotate(s=Sum("amount"))):
        settled[row["parcel_id"]] += -row["s"] if row["kind"] == "penalty" else row["s"]
    owing = {pid: amount - settled[pid] for pid, amount in assessed.items() if amount - settled[pid] > 0}
    parcels_of = defaultdict(set)
    for parcel_id, phone in Ownership.objects.filter(parcel_id__in=list(owing)).values_list("parcel_id",
                                                                                          "owner__phone"):
        if phone and MOBILE.match(phone):
            parcels_of[phone].add(parcel_id)
    return {phone: {"parcels": len(ids), "total": sum(owing[i] for i in ids)} for phone, ids in parcels_of.items()}


def owners_without_mobile(year: int) -> int:
    owing = set(Assessment.objects.filter(year=year, is_current=True, amount__gt=0).values_list("parcel_id", flat=True))
    return (Ownership.objects.filter(parcel_id__in=owing).exclude(owner__phone__regex=r"^09[0-9]{9}$")
            .values("owner_id").distinct().count())


def pay_in_full(parcel_id: int):
    """Pay a parcel's bill of today in full through the sandbox's recording path (the ledger settles its years)."""
    from parcels.models import Parcel

    bill = billing.issue(Parcel.objects.get(pk=parcel_id))
    billing.record_payment(bill, "sandbox", f"TEST-{parcel_id}", bill.amount)


def test_the_campaign_reaches_exactly_the_owners_with_a_mobile_who_owe_the_year(year):
    # one parcel paid in full: its owners drop out unless they owe on another parcel
    paid = (Assessment.objects.filter(year=year, is_current=True, amount__gt=5_000_000)
            .exclude(parcel__dues_ledger__isnull=False)          # not paid by another test's committed data
            .exclude(parcel__dues_bills__isnull=False).order_by("parcel_id").values_list("parcel_id", flat=True)[0])
    pay_in_full(paid)
    expected = expected_recipients(year)
    assert len(expected) > 100
    batch = reminders.start(year, rate=1000)
    messages = list(Message.objects.filter(batch=batch))
    assert {m.phone for m in messages} == set(expected)
    assert len(messages) == len({m.phone for m in messages}) == batch.enqueued     # one message per number
    for m in messages:
        assert m.idempotency_key == reminders.key(year, m.phone) + ":sms"
        assert m.event == "dues.reminder" and m.kind == "reminder" and m.channel == "sms" and m.status == "queued"
        assert m.context["count"] == expected[m.phone]["parcels"]
        assert m.context["total_rials"] == expected[m.phone]["total"]
        assert m.context["total"] == f"{expected[m.phone]['total']:,}"
        assert m.context["year"] == year and m.context["discount_percent"] == "10"
        assert m.context["deadline"] == reminders.discount_deadline(year).strftime("%Y/%m/%d")
    assert batch.skipped_invalid == owners_without_mobile(year) > 0
    assert batch.rows == batch.enqueued + batch.skipped_invalid
    several = [m for m in messages if m.context["count"] > 1]
    assert several, "the demo city has owners of several parcels: each gets one message naming them all"


def test_a_rerun_adds_nothing_and_new_numbers_only_get_theirs(year):
    first = reminders.start(year, rate=1000)
    again = reminders.start(year, rate=1000)
    assert first.enqueued > 0 and again.enqueued == 0
    assert again.skipped_existing == first.enqueued
    assert Message.objects.filter(event="dues.reminder").count() == first.enqueued
    # a new mobile number on an owner who owes: the next run sends only that one
    ownership = (Ownership.objects.filter(parcel__dues_assessments__year=year, parcel__dues_assessments__amount__gt=0,
                                          parcel__dues_assessments__is_current=True)
                 .exclude(owner__phone__regex=r"^09[0-9]{9}$").select_related("owner").first())
    ownership.owner.phone = "09990001122"
    ownership.owner.save()
    third = reminders.start(year, rate=1000)
    assert third.enqueued == 1
    assert Message.objects.get(batch=third).phone == "09990001122"


def test_opted_out_numbers_are_skipped_and_counted(year):
    phones = sorted(expected_recipients(year))[:3]
    service.opt_out(phones[0], source="reply")
    service.set_preferences(phones[1], reminders=False)
    service.set_preferences(phones[2], reminders=True)          # a preference that still wants reminders
    preview = reminders.preview(year)
    assert preview.opted_out == 2
    batch = reminders.start(year, rate=1000)
    assert batch.skipped_opted_out == 2 and preview.to_send == batch.enqueued
    sent = set(Message.objects.filter(batch=batch).values_list("phone", flat=True))
    assert phones[0] not in sent and phones[1] not in sent and phones[2] in sent


def test_not_before_is_spaced_at_the_rate(year, settings):
    settings.NOTICES_REMINDER_RATE = 20
    batch = reminders.start(year)                        # the setting's rate
    assert batch.rate == 20
    times = sorted(Message.objects.filter(batch=batch).values_list("not_before", flat=True))
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:])]
    assert len(times) == batch.enqueued > 100
    assert all(abs(g - 0.05) < 1e-3 for g in gaps), sorted(set(round(g, 4) for g in gaps))[:5]
    assert abs((times[-1] - times[0]).total_seconds() - (len(times) - 1) / 20) < 0.01
    # a second campaign (another year) starts after the reminders already waiting, keeping the rate
    other = reminders.start(year - 1, rate=20)
    later = Message.objects.filter(batch=other).order_by("not_before").values_list("not_before", flat=True)[0]
    assert later >= times[-1]


def test_the_text_says_the_year_the_discount_and_its_deadline_in_persian_digits(year):
    preview = reminders.preview(year)
    fa_year = str(year).translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    assert fa_year in preview.sample_text and "۱۰٪" in preview.sample_text
    assert f"{fa_year}/۱۲/" in preview.sample_text                   # the last day of Esfand, Jalali
    assert not re.search(r"[0-9]", preview.sample_text)               # no ASCII digit in the Persian text
    english = reminders.preview(year, language="en").sample_text
    assert f"Your {year} renewal dues are ready; 10% off until {year}/12/" in english
    assert reminders.discount_deadline(1403).strftime("%m/%d") == "12/30"      # a leap year's Esfand has 30 days
    assert reminders.discount_deadline(1404).strftime("%m/%d") == "12/29"


def _due_now(batch):
    """The campaign's slots have come (the test's transaction keeps now() still): the same spacing, in the past."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE notices_message SET not_before = not_before - interval '1 day' WHERE batch_id = %s",
                       [batch.pk])


def test_every_message_is_delivered_by_the_local_backend_and_the_report_counts_them(year, settings):
    settings.NOTICES_SMS_BACKEND = "notices.providers.local.LocalSmsBackend"
    from notices.providers import reset

    reset()
    service.opt_out(sorted(expected_recipients(year))[0])
    batch = reminders.start(year, rate=1000)
    report = reminders.report(batch)
    assert report["by_status"]["queued"] == batch.enqueued and not report["done"]
    _due_now(batch)
    # the workers' loop (delivery.run_until_idle) without its connection handling, which a test's transaction
    # cannot have: claim and send until nothing is due
    claimed = 0
    while n := delivery.send_batch("test-worker"):
        claimed += n
    assert claimed == batch.enqueued
    report = reminders.report(Batch.objects.get(pk=batch.pk))
    assert report["by_status"] == {"queued": 0, "sending": 0, "sent": 0, "delivered": batch.enqueued, "failed": 0,
                                   "dead": 0}
    assert report["done"] and {s["what"]: s["count"] for s in report["skipped"]} == {
        "opted_out": 1, "invalid": batch.skipped_invalid, "existing": 0}
    stored = LocalSms.objects.filter(key__startswith=f"dues.reminder:{year}:")
    assert stored.count() == batch.enqueued and not stored.filter(duplicates__gt=0).exists()
    sms = stored.first()
    message = Message.objects.get(idempotency_key=sms.key)
    assert sms.phone == message.phone and sms.body == message.body and "۱۰٪" in sms.body
    assert message.provider == "local" and message.delivered_at is not None


def test_the_command_is_a_dry_run_until_commit(year, capsys):
    call_command("send_dues_reminders", str(year))
    out = capsys.readouterr().out
    assert "Dry run" in out and "to send:" in out and "sample text:" in out and "۱۰٪" in out
    assert not Message.objects.filter(event="dues.reminder").exists() and not Batch.objects.exists()
    call_command("send_dues_reminders", str(year), "--commit", "--rate", "50")
    out = capsys.readouterr().out
    batch = Batch.objects.get()
    assert batch.rate == 50 and f"{batch.enqueued:,} messages queued" in out
    call_command("send_dues_reminders", str(year), "--report")
    out = capsys.readouterr().out
    assert "Queued" in out and f"{batch.enqueued:,}" in out and "Opted out" in out
    call_command("send_dues_reminders", str(year))
    assert "already sent this year: " + f"{batch.enqueued:,}" in capsys.readouterr().out
    with translation.override("fa"):
        call_command("send_dues_reminders", str(year), "--language", "fa")


def test_a_year_without_a_tariff_book_is_refused(year):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("send_dues_reminders", "1399")
