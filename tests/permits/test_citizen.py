"""The citizen's side of permits through the test client: the JSON API (a draft, the proposal checked as typed, the
fee estimate, submit once, a parcel not one's own, another's case), the pages (apply, the case with a return, its
bill), the public status page (steps with the desk, days left, no names; a mistyped code, a wrong pair, too many
tries) and the parcel sheet's and "My properties" sections (what each person may see)."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from permits import service
from permits.models import Case, CaseEvent
from tests.permits.conftest import PDF, a_proposal, citizen_owning, owned_parcel
from tests.permits.test_core import attach, staff_act

MOBILE = "09171230001"   # the `applicant` fixture's


@pytest.fixture
def en_client(client):
    client.cookies["django_language"] = "en"
    return client


def _signed_in(client, user):
    client.force_login(user)
    return client


def _start(client, parcel, case_type="building_permit", work="new"):
    return client.post("/api/permits/cases", {"case_type": case_type, "parcel_id": parcel.pk, "work": work},
                       content_type="application/json")


def _draft(client, applicant):
    user, parcel = applicant
    _signed_in(client, user)
    response = _start(client, parcel)
    assert response.status_code == 201, response.content
    return Case.objects.get(public_id=response.json()["id"])


def _upload(client, case, kind, content=PDF, name="scan.pdf"):
    return client.post(f"/api/permits/cases/{case.public_id}/documents",
                       {"kind": kind, "file": SimpleUploadedFile(name, content, "application/pdf")})


def _submitted(client, applicant):
    case = _draft(client, applicant)
    user, parcel = applicant
    assert client.post(f"/api/permits/cases/{case.public_id}/proposal", a_proposal(parcel),
                       content_type="application/json").status_code == 200
    for kind in ("deed", "national_card"):
        assert _upload(client, case, kind).status_code == 201
    response = client.post(f"/api/permits/cases/{case.public_id}/submit")
    assert response.status_code == 200, response.content
    return Case.objects.get(pk=case.pk)


# -- the API ------------------------------------------------------------------------------------------------------

def test_a_citizen_applies_through_the_api_and_a_double_submit_makes_one_case(permit_types, applicant, en_client):
    from notices.models import Message

    user, parcel = applicant
    case = _draft(en_client, applicant)
    assert case.status == Case.Status.DRAFT and case.applicant == user and case.work == "new"
    # the same draft again, not a second one
    again = _start(en_client, parcel)
    assert again.status_code == 200 and again.json()["id"] == str(case.public_id)

    # the engine answers as one types: a proposal within the rules, then one over them
    url = f"/api/permits/cases/{case.public_id}/proposal"
    within = {**a_proposal(parcel), "parking_spaces": 3}       # the demo rules ask a space per 50 m² or so
    good = en_client.post(url, {"proposal": within}, content_type="application/json").json()
    assert good["check"] == "eligibility" and good["answer"]["status"] in ("eligible", "conditional")
    assert good["answer"]["rulebook"] and all(c["citation"] for c in good["answer"]["checks"] if c["status"] == "pass")
    assert good["fees"]["total"] > 0 and {line["code"] for line in good["fees"]["lines"]} == {"floor_area", "permit_fee"}
    big = en_client.post(url, {**within, "floors": 12,
                                    "gross_floor_area": within["footprint_area"] * 12},
                         content_type="application/json").json()
    assert big["answer"]["status"] == "not_eligible"
    assert big["fees"]["total"] > good["fees"]["total"]
    bad = en_client.post(url, {**within, "floors": "many"}, content_type="application/json")
    assert bad.status_code == 400 and bad.json()["error"] == "bad_proposal" and "floors" in bad.json()["fields"]
    en_client.post(url, within, content_type="application/json")
    assert en_client.get(f"/api/permits/cases/{case.public_id}/fees").json()["total"] == good["fees"]["total"]

    # submitting without the documents is refused, naming them
    refused = en_client.post(f"/api/permits/cases/{case.public_id}/submit")
    assert refused.status_code == 400 and "Title deed" in refused.json()["message"]
    for kind in ("deed", "national_card"):
        assert _upload(en_client, case, kind).status_code == 201
    first = en_client.post(f"/api/permits/cases/{case.public_id}/submit")
    second = en_client.post(f"/api/permits/cases/{case.public_id}/submit")
    assert first.status_code == second.status_code == 200
    code = first.json()["tracking_code"]
    assert re.fullmatch(r"\d{10}", code) and second.json()["tracking_code"] == code
    assert Case.objects.filter(applicant=user).count() == 1
    assert CaseEvent.objects.filter(case=case, kind="submit").count() == 1
    body = first.json()
    assert body["status"] == "open" and body["holder"] == "Site inspection" and body["days_left"] in (2, 3)
    assert body["decision"]["rulebook"] == good["answer"]["rulebook"]
    # the tracking code went by SMS (notices' outbox, delivered by the local backend)
    sms = Message.objects.get(event="permits.submitted", phone=MOBILE, channel="sms")
    assert code in sms.body.translate(str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789"))


def test_a_parcel_one_does_not_own_without_consent_is_403_and_another_persons_case_404(permit_types, applicant,
                                                                                          client):
    user, parcel = applicant
    case = _draft(client, applicant)
    other_parcel, other_owner = owned_parcel(1)
    stranger = citizen_owning(other_owner, "09171230002")
    _signed_in(client, stranger)
    refused = _start(client, parcel)
    assert refused.status_code == 403 and refused.json()["error"] == "forbidden"
    assert not Case.objects.filter(applicant=stranger).exists()
    # an inquiry needs no ownership
    assert _start(client, parcel, "planning_inquiry", "").status_code == 201
    # the owner's draft is not the stranger's to see or change
    for response in (client.get(f"/api/permits/cases/{case.public_id}"),
                     client.post(f"/api/permits/cases/{case.public_id}/proposal", a_proposal(parcel),
                                 content_type="application/json"),
                     client.post(f"/api/permits/cases/{case.public_id}/submit"),
                     client.get(f"/permits/cases/{case.public_id}/")):
        assert response.status_code == 404
    case.refresh_from_db()
    assert case.status == Case.Status.DRAFT and case.proposal == {}


def test_anonymous_and_staff_get_401_from_the_case_api(permit_types, applicant, client):
    from tests.conftest import make_user

    _user, parcel = applicant
    assert _start(client, parcel).json()["error"] == "signin_needed"
    client.force_login(make_user("permits-admin", "admin", is_staff=True))
    assert _start(client, parcel).status_code == 401
    assert client.get(f"/permits/apply/{parcel.pk}/").status_code == 403   # a page: not for staff accounts


def test_a_returned_case_shows_the_reason_and_the_documents_and_is_resubmitted(permit_types, applicant, desk_staff,
                                                                              en_client):
    case = _submitted(en_client, applicant)
    deed = case.documents.get(kind="deed")
    staff_act(case, "approve", desk_staff)
    staff_act(case, "return", desk_staff, note="The deed scan is unreadable", documents=[deed.pk])
    page = en_client.get(f"/permits/cases/{case.public_id}/")
    text = page.content.decode()
    assert page.status_code == 200 and 'data-testid="correction"' in text
    assert "The deed scan is unreadable" in text and "Title deed" in text.split('data-testid="to-correct"')[1][:200]
    assert 'data-testid="file-deed"' in text
    # re-upload: a new version, the old one kept
    assert _upload(en_client, case, "deed", name="deed-2.pdf").json()["version"] == 2
    case.refresh_from_db()
    stale = en_client.post(f"/api/permits/cases/{case.public_id}/resubmit", {"revision": case.revision - 1},
                           content_type="application/json")
    assert stale.status_code == 409
    done = en_client.post(f"/api/permits/cases/{case.public_id}/resubmit",
                          {"revision": case.revision, "note": "a clearer scan"}, content_type="application/json")
    assert done.status_code == 200 and done.json()["status"] == "open"
    assert done.json()["step"] == "Plan position, frontage and setbacks"
    kinds = [e["kind"] for e in done.json()["history"] if e["kind"] != "document"]
    assert kinds == ["submit", "approve", "return", "resubmit"]
    assert case.documents.filter(kind="deed").count() == 2


def test_the_case_page_shows_the_bill_with_its_ids_and_pay_link(permit_types, applicant, desk_staff, en_client):
    case = _submitted(en_client, applicant)
    user, _parcel = applicant
    for fields in ({}, {"plan_position": "residential", "frontage_m": "12", "setback_m": "2"},
                   {"instruction_number": "DN-1"}):
        staff_act(case, "approve", desk_staff, fields=fields)
    attach(case, "drawings", user)
    attach(case, "structure", user)
    staff_act(case, "approve", desk_staff)
    case = staff_act(case, "approve", desk_staff, fields={"renewal_dues": "settled"})
    assert case.status == Case.Status.AWAITING_PAYMENT
    from dues import api as dues_api

    bill = dues_api.fee_bill(service.fee_reference(case))
    text = en_client.get(f"/permits/cases/{case.public_id}/").content.decode()
    assert bill["bill_id"] in text and bill["payment_id"] in text
    assert f'href="{bill["page_url"]}" data-testid="pay"' in text
    assert en_client.get(f"/api/permits/cases/{case.public_id}").json()["bill"]["bill_id"] == bill["bill_id"]


def test_withdrawing_a_case(permit_types, applicant, en_client):
    case = _submitted(en_client, applicant)
    response = en_client.post(f"/api/permits/cases/{case.public_id}/withdraw", {"revision": case.revision},
                              content_type="application/json")
    assert response.status_code == 200 and response.json()["status"] == "withdrawn"
    again = en_client.post(f"/api/permits/cases/{case.public_id}/withdraw", {"revision": case.revision + 1},
                           content_type="application/json")
    assert again.status_code == 409


# -- the pages ----------------------------------------------------------------------------------------------------

def test_the_apply_page_offers_the_types_says_they_are_the_demos_and_opens_a_draft(permit_types, applicant,
                                                                                  en_client):
    user, parcel = applicant
    _signed_in(en_client, user)
    text = en_client.get(f"/permits/apply/{parcel.pk}/").content.decode()
    assert 'data-testid="demo-definitions"' in text and "the municipality replaces them" in text
    for code in permit_types:
        assert f'data-testid="type-{code}"' in text
    assert 'data-testid="work-building_permit"' in text and "Renovation" in text
    case = _draft(en_client, applicant)
    text = en_client.get(f"/permits/apply/{parcel.pk}/?case={case.public_id}").content.decode()
    assert 'data-testid="p-floors"' in text and 'data-testid="file-deed"' in text and 'data-testid="submit"' in text
    assert "Fee estimate" in text
    anonymous = en_client.__class__()
    assert anonymous.get(f"/permits/apply/{parcel.pk}/").status_code == 302


def test_a_stranger_sees_the_owner_only_types_disabled(permit_types, applicant, en_client):
    _user, parcel = applicant
    _other, other_owner = owned_parcel(1)
    _signed_in(en_client, citizen_owning(other_owner, "09171230002"))
    text = en_client.get(f"/permits/apply/{parcel.pk}/").content.decode()
    assert re.search(r'data-testid="type-building_permit"\s+disabled', text)
    assert not re.search(r'data-testid="type-planning_inquiry"\s+disabled', text)


# -- the public status page ---------------------------------------------------------------------------------------

def _personal(user, parcel):
    from parcels.models import Ownership

    owner = Ownership.objects.get(parcel=parcel).owner
    return [MOBILE, owner.national_id, owner.first_name, owner.last_name]


def test_the_status_page_shows_the_steps_and_the_desk_and_no_personal_data(permit_types, applicant, desk_staff,
                                                                          client):
    user, parcel = applicant
    case = _submitted(client, applicant)
    staff_act(case, "approve", desk_staff)                       # the site visit done: at the planning unit
    anonymous = client.__class__()
    anonymous.cookies["django_language"] = "en"
    page = anonymous.post("/permits/status/", {"code": case.tracking_code, "mobile": MOBILE})
    text = page.content.decode()
    assert page.status_code == 200 and 'data-testid="status"' in text
    assert 'data-testid="status-holder">Planning unit<' in text
    assert 'data-step="site_visit" data-state="done"' in text and 'data-step="planning_position" data-state="current"' in text
    assert re.search(r'data-testid="days-left" data-days="[45]"', text)
    for value in _personal(user, parcel) + [desk_staff["inspection"].username]:
        assert value and value not in text, value
    api = anonymous.post("/api/permits/status", {"code": case.tracking_code, "mobile": MOBILE},
                         content_type="application/json")
    assert api.status_code == 200 and api.json()["holder"] == "Planning unit"
    for value in _personal(user, parcel):
        assert value not in api.content.decode()
    # Persian: Jalali dates with Persian digits
    fa = client.__class__().post("/permits/status/", {"code": case.tracking_code, "mobile": MOBILE})
    assert re.search(r"[۰-۹]{4}/[۰-۹]{2}/[۰-۹]{2}", fa.content.decode())


def test_the_status_page_says_a_code_is_mistyped_and_a_wrong_pair_without_saying_which(permit_types, applicant,
                                                                                     client):
    case = _submitted(client, applicant)
    anonymous = client.__class__()
    anonymous.cookies["django_language"] = "en"
    code = case.tracking_code
    typo = code[:-1] + str((int(code[-1]) + 1) % 10)            # the check digit catches one wrong digit
    mistyped = anonymous.post("/permits/status/", {"code": typo, "mobile": MOBILE})
    assert mistyped.status_code == 404 and "check the digits" in mistyped.content.decode()
    wrong_mobile = anonymous.post("/permits/status/", {"code": code, "mobile": "09179999999"})
    assert wrong_mobile.status_code == 404
    assert "No case with this tracking code and mobile number" in wrong_mobile.content.decode()
    assert 'data-testid="status"' not in wrong_mobile.content.decode()
    # Persian digits, spaces and dashes as people type them
    persian = code.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    assert anonymous.post("/permits/status/", {"code": persian[:4] + "-" + persian[4:],
                                               "mobile": MOBILE}).status_code == 200


def test_the_status_look_ups_are_rate_limited(permit_types, applicant, client, settings):
    case = _submitted(client, applicant)
    settings.PERMITS_STATUS_RATE_PER_CODE = ["3/3600"]
    anonymous = client.__class__()
    answers = [anonymous.post("/api/permits/status", {"code": case.tracking_code, "mobile": f"0917999999{i}"},
                              content_type="application/json").status_code for i in range(3)]
    assert answers == [404, 404, 404]
    limited = anonymous.post("/api/permits/status", {"code": case.tracking_code, "mobile": MOBILE},
                             content_type="application/json")
    assert limited.status_code == 429 and int(limited["Retry-After"]) > 0
    page = anonymous.post("/permits/status/", {"code": case.tracking_code, "mobile": MOBILE})
    assert page.status_code == 429 and 'data-testid="status"' not in page.content.decode()


# -- the parcel sheet and "My properties" -------------------------------------------------------------------------

def test_the_sheet_section_shows_each_person_what_they_may_see(permit_types, applicant, desk_staff, client):
    from permits import issuing
    from parcels.sheet import SECTIONS

    assert "permit" in "".join(SECTIONS)                         # what reports' staff page looks for
    user, parcel = applicant
    case = _submitted(client, applicant)
    issued = issuing.issue(case, service.definition_of(case), case.submitted_at)
    url = f"/api/permits/parcels/{parcel.pk}/section"

    anonymous = client.__class__().get(url)
    data = anonymous.json()
    assert anonymous.status_code == 200 and data["mine"] is None and data["open_cases"] is None
    assert [i["number"] for i in data["issued"]] == [issued.number]
    assert data["issued"][0]["verification_url"] == f"/verify/{issued.verification_code}/"
    assert data["issued"][0]["approved"]["floors"] == 2
    assert {a["code"] for a in data["apply"]} == set(permit_types) and not any(a["allowed"] for a in data["apply"])
    for value in _personal(user, parcel) + [case.tracking_code]:
        assert value not in anonymous.content.decode(), value
    english = client.__class__()
    english.cookies["django_language"] = "en"
    text_page = english.get(f"/parcels/{parcel.pk}/").content.decode()
    assert issued.number in text_page and MOBILE not in text_page

    case_page = client.get(f"/permits/cases/{case.public_id}/").content.decode()
    assert issued.verification_code in case_page.translate(str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789"))
    assert f'href="/verify/{issued.verification_code}/" data-testid="verify-link"' in case_page

    mine = client.get(url).json()
    assert [c["tracking_code"] for c in mine["mine"]] == [case.tracking_code] and mine["open_cases"] is None
    assert all(a["allowed"] for a in mine["apply"])

    staff = client.__class__()
    staff.force_login(desk_staff["planning"])
    seen = staff.get(url).json()
    assert [c["tracking_code"] for c in seen["open_cases"]] == [case.tracking_code]
    assert seen["open_cases"][0]["holder"] and MOBILE not in staff.get(url).content.decode()


def test_my_properties_lists_the_cases_and_the_apply_link(permit_types, applicant, en_client):
    user, parcel = applicant
    case = _submitted(en_client, applicant)
    text = en_client.get("/accounts/properties/").content.decode()
    assert f'data-testid="permits-property-{parcel.pk}"' in text
    assert case.tracking_code in text and f"/permits/apply/{parcel.pk}/" in text


def test_a_subdivision_is_checked_from_a_line_drawn_across_the_parcel(permit_types, applicant, en_client):
    import json

    user, parcel = applicant
    _signed_in(en_client, user)
    started = _start(en_client, parcel, "subdivision", "")
    assert started.status_code == 201
    case_id = started.json()["id"]
    page = en_client.get(f"/permits/apply/{parcel.pk}/?case={case_id}").content.decode()
    assert 'id="split-map"' in page
    config = json.loads(re.search(r'<script id="permit-config" type="application/json">(.*?)</script>', page, re.S)[1])
    assert config["check"] == "subdivision" and config["parcel"]["type"] in ("Polygon", "MultiPolygon")
    # a line across the middle of the parcel, from beyond one side to beyond the other
    wgs = parcel.geom.transform(4326, clone=True)
    x0, x1, middle = wgs.extent[0], wgs.extent[2], wgs.point_on_surface
    line = {"type": "LineString", "coordinates": [[x0 - 0.0005, middle.y], [x1 + 0.0005, middle.y]]}
    answer = en_client.post(f"/api/permits/cases/{case_id}/proposal", {"lines": line},
                            content_type="application/json")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["check"] == "subdivision" and len(body["answer"]["parts"]) == 2 and body["answer"]["rulebook"]
    assert body["proposal"]["lines"] == line
    assert body["fees"]["lines"][0]["code"] == "subdivision_fee"
    short = en_client.post(f"/api/permits/cases/{case_id}/proposal",
                           {"lines": {"type": "LineString", "coordinates": [[middle.x, middle.y],
                                                                            [middle.x + 1e-6, middle.y]]}},
                           content_type="application/json")
    assert short.status_code == 400 and "lines" in short.json()["fields"]
