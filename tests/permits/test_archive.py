"""The parcels' electronic archive (/permits/archive/): every document of a parcel across its cases, issued ones
included, searched by staff by renewal code, tracking code, kind and Jalali dates, what is shown recorded like
personal data; citizens and staff without permits.view_archive are kept out."""

import datetime as dt

import jdatetime
import pytest
from django.test import Client
from django.utils import timezone

from parcels.models import PersonalDataAccess
from permits import files, service
from permits.models import Document
from tests.conftest import make_user
from tests.permits.conftest import a_proposal, citizen_owning, owned_parcel
from tests.permits.test_files import image_bytes, pdf_bytes, upload


@pytest.fixture
def archive(permit_types, applicant):
    """Two cases on the applicant's parcel (a building permit with a deed in two versions, an inquiry) and one on
    another parcel; {name: Document}."""
    user, parcel = applicant
    permit = service.start(permit_types["building_permit"], parcel, user, work="new")
    service.save_proposal(permit, a_proposal(parcel), by=user)
    docs = {"deed1": files.add_document(case=permit, kind="deed", upload=upload(pdf_bytes(), "deed.pdf"), by=user)}
    docs["deed2"] = files.add_document(case=permit, kind="deed", upload=upload(image_bytes(), "deed.jpg"), by=user)
    docs["card"] = files.add_document(case=permit, kind="national_card", upload=upload(pdf_bytes(), "c.pdf"), by=user)
    permit = service.submit(permit, by=user)
    inquiry = service.start(permit_types["planning_inquiry"], parcel, user)
    docs["inquiry_deed"] = files.add_document(case=inquiry, kind="deed", upload=upload(pdf_bytes(), "d.pdf"),
                                              by=user)
    other_parcel, other_owner = owned_parcel(1)
    other_user = citizen_owning(other_owner, "09171230009")
    other = service.start(permit_types["building_permit"], other_parcel, other_user, work="new")
    docs["other"] = files.add_document(case=other, kind="deed", upload=upload(pdf_bytes(), "o.pdf"), by=other_user)
    # an old document, from last year
    Document.objects.filter(pk=docs["inquiry_deed"].pk).update(uploaded_at=timezone.now() - dt.timedelta(days=400))
    return {"parcel": parcel, "permit": permit, "other_parcel": other_parcel, **docs}


@pytest.fixture
def clerk(permit_types):
    client = Client()
    client.force_login(make_user("archivist", "permits", is_staff=True))
    client.cookies["django_language"] = "en"
    return client


def shown(response) -> set[int]:
    import re

    return {int(x) for x in re.findall(r'data-document="(\d+)"', response.content.decode())}


def test_the_archive_finds_every_document_of_a_parcel_across_its_cases(archive, clerk):
    response = clerk.get("/permits/archive/", {"renewal_code": archive["parcel"].renewal_code})
    assert response.status_code == 200
    mine = {archive[k].pk for k in ("deed1", "deed2", "card", "inquiry_deed")}
    assert shown(response) == mine                                     # both cases, every version; not the other parcel
    body = response.content.decode()
    assert "replaced" in body                                          # deed v1 is marked superseded
    assert f'/permits/documents/{archive["deed2"].pk}/' in body


def test_searches_by_tracking_code_kind_and_jalali_dates(archive, clerk):
    by_code = clerk.get("/permits/archive/", {"tracking_code": archive["permit"].tracking_code})
    assert shown(by_code) == {archive[k].pk for k in ("deed1", "deed2", "card")}
    by_kind = clerk.get("/permits/archive/", {"renewal_code": archive["parcel"].renewal_code, "kind": "deed"})
    assert shown(by_kind) == {archive[k].pk for k in ("deed1", "deed2", "inquiry_deed")}
    today = jdatetime.date.fromgregorian(date=timezone.localdate())
    since = (today - dt.timedelta(days=30)).strftime("%Y/%m/%d")
    persian = since.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))          # typed with Persian digits
    recent = clerk.get("/permits/archive/", {"renewal_code": archive["parcel"].renewal_code, "from": persian})
    assert shown(recent) == {archive[k].pk for k in ("deed1", "deed2", "card")}
    old = clerk.get("/permits/archive/", {"renewal_code": archive["parcel"].renewal_code, "to": since})
    assert shown(old) == {archive["inquiry_deed"].pk}
    assert clerk.get("/permits/archive/", {"from": "1404/13/40"}).status_code == 400


def test_what_the_archive_shows_is_recorded_and_an_empty_search_shows_nothing(archive, clerk):
    before = PersonalDataAccess.objects.count()
    assert shown(clerk.get("/permits/archive/")) == set()
    assert PersonalDataAccess.objects.count() == before                 # nothing shown, nothing recorded
    clerk.get("/permits/archive/", {"renewal_code": archive["parcel"].renewal_code})
    access = PersonalDataAccess.objects.latest("id")
    assert PersonalDataAccess.objects.count() == before + 1
    assert access.action == "permit_archive" and access.parcel_id == archive["parcel"].pk
    assert sorted(access.subjects["parcels.parcel"]) == [archive["parcel"].pk]
    clerk.get("/permits/archive/", {"kind": "deed"})                     # two parcels: both named
    access = PersonalDataAccess.objects.latest("id")
    assert access.parcel_id is None
    assert {archive["parcel"].pk, archive["other_parcel"].pk} <= set(access.subjects["parcels.parcel"])


def test_citizens_and_staff_without_the_permission_are_kept_out(archive, applicant):
    citizen = Client()
    citizen.force_login(applicant[0])
    assert citizen.get("/permits/archive/", {"renewal_code": "x"}).status_code == 403
    planner = Client()
    planner.force_login(make_user("a-planner", "planner", is_staff=True))
    assert planner.get("/permits/archive/", {"renewal_code": "x"}).status_code == 403
    assert Client().get("/permits/archive/").status_code == 302          # to the sign-in


def test_the_archive_page_costs_the_same_queries_however_many_documents_it_shows(archive, clerk, applicant):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    query = {"renewal_code": archive["parcel"].renewal_code}
    clerk.get("/permits/archive/", query)                               # the definitions' cache filled
    with CaptureQueriesContext(connection) as few:
        response = clerk.get("/permits/archive/", query)
    assert "Title deed" in response.content.decode()                  # kinds by their names
    for i in range(6):
        files.add_document(case=archive["permit"], kind="national_card",
                           upload=upload(pdf_bytes(), f"c{i}.pdf"), by=applicant[0])
    with CaptureQueriesContext(connection) as many:
        response = clerk.get("/permits/archive/", query)
    assert len(shown(response)) == 10
    assert len(many) == len(few), "\n".join(q["sql"][:150] for q in many.captured_queries)
