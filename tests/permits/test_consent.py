"""An engineer applies for an owner with the owner's consent: the engineer registers their licence (verified by
staff), a code goes by SMS to the mobile on the owner's record, the engineer types it back; a wrong code, an expired
one, one past its tries and one already used are refused; the consent is used once, by the case submitted with it."""

import datetime as dt
import re

import pytest
from django.utils import timezone

from permits import consent, service
from permits.models import Case, CaseType, Consent, Engineer
from tests.permits.conftest import a_proposal
from tests.permits.test_core import attach

OWNER_MOBILE = "09171239876"
ENGINEER_MOBILE = "09171230055"
ASCII = str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789")


@pytest.fixture
def owner_with_mobile(applicant):
    """The applicant fixture's parcel, its owner's record carrying a mobile number."""
    from parcels.models import Ownership

    _user, parcel = applicant
    owner = Ownership.objects.get(parcel=parcel).owner
    owner.phone = OWNER_MOBILE
    owner.save(update_fields=["phone"])
    return parcel


@pytest.fixture
def engineer(permit_types):
    """A citizen account of a licensed engineer, verified by staff."""
    from accounts.models import Citizen
    from tests.conftest import make_user

    user = make_user("engineer-" + ENGINEER_MOBILE, "citizen")
    Citizen.objects.create(user=user, mobile=ENGINEER_MOBILE)
    return Engineer.objects.create(user=user, licence_number="1-234-56789", full_name="Mina Sadeghi",
                                   verified_at=timezone.now())


def _sent_code() -> str:
    from notices.models import Message

    message = Message.objects.filter(event="permits.consent", phone=OWNER_MOBILE, channel="sms").order_by("-id").first()
    assert message is not None, "no consent SMS to the owner"
    return re.search(r"\b(\d{6})\b", message.body.translate(ASCII))[1]


def test_an_engineer_with_the_owners_code_applies_and_the_consent_is_used_once(owner_with_mobile, engineer, client):
    parcel = owner_with_mobile
    user = engineer.user
    # without consent: refused
    with pytest.raises(service.NotAllowed):
        service.start(CaseType.objects.get(code="building_permit"), parcel, user, work="new")
    client.force_login(user)
    client.cookies["django_language"] = "en"
    asked = client.post("/api/permits/consents", {"parcel_id": parcel.pk}, content_type="application/json")
    assert asked.status_code == 201 and asked.json()["sent_to"] == ["0917***9876"]
    code = _sent_code()
    assert Consent.objects.get(engineer=engineer).code_hash != code and code not in Consent.objects.get().code_hash
    confirmed = client.post("/api/permits/consents/confirm", {"parcel_id": parcel.pk, "code": code},
                            content_type="application/json")
    assert confirmed.status_code == 200
    started = client.post("/api/permits/cases", {"case_type": "building_permit", "parcel_id": parcel.pk,
                                                 "work": "new"}, content_type="application/json")
    assert started.status_code == 201
    case = Case.objects.get(public_id=started.json()["id"])
    assert case.engineer == engineer and case.applicant_phone == ENGINEER_MOBILE
    service.save_proposal(case, a_proposal(parcel), by=user)
    for kind in ("deed", "national_card"):
        attach(case, kind, user)
    assert client.post(f"/api/permits/cases/{case.public_id}/submit").status_code == 200
    assert Consent.objects.get(engineer=engineer).used_by == case
    # used: a second application needs a new consent
    again = client.post("/api/permits/cases", {"case_type": "building_permit", "parcel_id": parcel.pk,
                                               "work": "extension"}, content_type="application/json")
    assert again.status_code == 403
    reused = client.post("/api/permits/consents/confirm", {"parcel_id": parcel.pk, "code": code},
                         content_type="application/json")
    assert reused.status_code == 400 and reused.json()["error"] == "consent_refused"


def test_a_wrong_code_counts_its_tries_and_voids_the_request_at_the_limit(owner_with_mobile, engineer, settings,
                                                                          english):
    settings.PERMITS_CONSENT_MAX_TRIES = 3
    parcel = owner_with_mobile
    consent.ask(engineer, parcel)
    code = _sent_code()
    wrong = "000000" if code != "000000" else "111111"
    with pytest.raises(consent.ConsentRefused, match="2 tries left"):
        consent.confirm(engineer, parcel, wrong)
    with pytest.raises(consent.ConsentRefused, match="1 tries left"):
        consent.confirm(engineer, parcel, wrong)
    with pytest.raises(consent.ConsentRefused, match="Too many wrong codes"):
        consent.confirm(engineer, parcel, wrong)
    with pytest.raises(consent.ConsentRefused):          # void: even the right code no longer works
        consent.confirm(engineer, parcel, code)
    assert service.usable_consent(engineer, parcel.pk) is None


def test_an_expired_code_is_refused(owner_with_mobile, engineer, english):
    parcel = owner_with_mobile
    asked_at = timezone.now() - dt.timedelta(hours=2)
    consent.ask(engineer, parcel, now=asked_at)
    with pytest.raises(consent.ConsentRefused, match="expired"):
        consent.confirm(engineer, parcel, _sent_code())
    assert service.usable_consent(engineer, parcel.pk) is None


def test_a_new_request_voids_the_earlier_code(owner_with_mobile, engineer, settings):
    settings.PERMITS_CONSENT_RATE = ["10/600"]
    parcel = owner_with_mobile
    consent.ask(engineer, parcel)
    first = _sent_code()
    consent.ask(engineer, parcel)
    second = _sent_code()
    if first != second:
        with pytest.raises(consent.ConsentRefused):
            consent.confirm(engineer, parcel, first)
    assert consent.confirm(engineer, parcel, second).confirmed_at is not None


def test_only_a_verified_engineer_may_ask_and_owners_without_a_mobile_cannot_be_asked(applicant, engineer, english):
    _user, parcel = applicant
    from parcels.models import Ownership

    owner = Ownership.objects.get(parcel=parcel).owner
    owner.phone = ""
    owner.save(update_fields=["phone"])
    with pytest.raises(Exception, match="mobile number on record"):
        consent.ask(engineer, parcel)
    engineer.verified_at = None
    engineer.save()
    with pytest.raises(Exception, match="verified"):
        consent.ask(engineer, parcel)


def test_the_consent_codes_asked_are_rate_limited(owner_with_mobile, engineer, settings):
    settings.PERMITS_CONSENT_RATE = ["2/600"]
    consent.ask(engineer, owner_with_mobile)
    consent.ask(engineer, owner_with_mobile)
    with pytest.raises(Exception) as info:
        consent.ask(engineer, owner_with_mobile)
    assert info.value.status == 429


def test_the_engineer_page_registers_a_licence_then_asks_and_confirms(owner_with_mobile, permit_types, client):
    from accounts.models import Citizen
    from tests.conftest import make_user

    parcel = owner_with_mobile
    user = make_user("engineer-page", "citizen")
    Citizen.objects.create(user=user, mobile="09171230066")
    client.force_login(user)
    client.cookies["django_language"] = "en"
    page = client.post("/permits/engineer/", {"action": "register", "licence_number": "۱-۲۳۴-۵۶۷",
                                              "full_name": "Reza Karimi"})
    assert page.status_code == 200 and "The municipality checks it" in page.content.decode()
    row = Engineer.objects.get(user=user)
    assert row.licence_number == "1-234-567" and row.verified_at is None
    refused = client.post("/permits/engineer/", {"action": "ask", "parcel": parcel.renewal_code})
    assert refused.status_code == 403                        # not verified yet
    row.verified_at = timezone.now()
    row.save()
    asked = client.post("/permits/engineer/", {"action": "ask", "parcel": parcel.renewal_code})
    assert asked.status_code == 200 and "0917***9876" in asked.content.decode()
    wrong = client.post("/permits/engineer/", {"action": "confirm", "parcel": parcel.renewal_code, "code": "x1"})
    assert wrong.status_code == 400
    done = client.post("/permits/engineer/", {"action": "confirm", "parcel": parcel.renewal_code,
                                              "code": _sent_code()})
    assert done.status_code == 200 and f"/permits/apply/{parcel.pk}/" in done.content.decode()
    assert service.usable_consent(row, parcel.pk) is not None
    # the sheet now offers the engineer the owner-only types
    section = client.get(f"/api/permits/parcels/{parcel.pk}/section").json()
    assert {a["code"]: a["allowed"] for a in section["apply"]}["building_permit"] is True
