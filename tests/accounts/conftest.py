"""Fixtures of the accounts tests: the notice templates loaded (committed, so the portal server sees them too),
generous rate limits unless a test sets its own, a demo owner reachable by mobile number, and reading the code a
citizen was sent."""

import re

import pytest
from django.core.management import call_command

from parcels.models import Owner

MOBILE = r"^09[0-9]{9}$"


@pytest.fixture(scope="session")
def notice_templates(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        call_command("load_notice_templates", "--commit", verbosity=0)


@pytest.fixture(autouse=True)
def _signin_settings(settings):
    settings.SIGNIN_RATE_PER_NUMBER = ["1000/600"]
    settings.SIGNIN_RATE_PER_ADDRESS = ["1000/3600"]
    settings.SIGNIN_CODE_DIGITS = 6
    settings.SIGNIN_MAX_TRIES = 5
    settings.SIGNIN_COOLDOWN_SECONDS = 900
    settings.SIGNIN_CODE_TTL_SECONDS = 120
    settings.STAFF_OTP_REQUIRED = False


@pytest.fixture
def db_ready(db, notice_templates):
    return True


def last_code(phone: str) -> str:
    """The code in the newest sign-in SMS queued for the number (the outbox row; no worker runs in these tests)."""
    from notices.models import Message

    message = Message.objects.filter(event="accounts.signin_code", phone=phone).order_by("-id").first()
    assert message is not None, f"no sign-in code was queued for {phone}"
    return re.search(r"\b(\d{5,6})\b", message.body)[1]


def owners_with_mobile():
    """Demo owners (people) whose record carries a mobile number and who own something, co-owned parcels first."""
    from django.db.models import Count

    return (Owner.objects.filter(kind="person", phone__regex=MOBILE, national_id__isnull=False)
            .annotate(n=Count("ownerships")).filter(n__gt=0).order_by("id"))


@pytest.fixture
def owner(demo_city, db):
    """A demo owner with a mobile number who shares a parcel with another owner (for the co-owners' shares)."""
    from parcels.models import Ownership

    for candidate in owners_with_mobile()[:500]:
        parcels = candidate.ownerships.values_list("parcel_id", flat=True)
        if Ownership.objects.filter(parcel_id__in=parcels).exclude(owner=candidate).exists():
            return candidate
    pytest.skip("the demo city has no co-owned parcel of an owner with a mobile number")


def signed_in(client, phone: str):
    """Sign a citizen in through the pages; the client keeps the session."""
    assert client.post("/accounts/signin/", {"phone": phone}).status_code == 302
    from accounts.service import clean_mobile

    response = client.post("/accounts/signin/code/", {"code": last_code(clean_mobile(phone))})
    assert response.status_code == 302, response.content.decode()[:500]
    return response
