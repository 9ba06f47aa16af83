"""The permit office's side through HTTP: each desk's inbox (what a planner sees and the mayor's desk does not),
filters, SLA colours, assignment, the case page (the frozen decision beside today's when the rulebook changed, the
applicant's mobile only when asked, recorded), the actions with their revision (two staff at once: 409, one event),
an action out of order, a site visit with its position and a photo."""

import datetime as dt
import io
import json
import re

import pytest
from django.core.management import call_command
from django.utils import timezone

from parcels.models import PersonalDataAccess
from permits import service, sla
from permits.models import Case, CaseEvent, Document, SiteVisit
from tests.conftest import ROOT, make_user
from tests.permits.conftest import a_proposal, citizen_owning, owned_parcel
from tests.permits.test_core import attach

INBOX = "/api/permits/staff/inbox"


def submitted(permit_types, user, parcel, work="new"):
    case = service.start(permit_types["building_permit"], parcel, user, work=work)
    service.save_proposal(case, a_proposal(parcel), by=user)
    for kind in ("deed", "national_card"):
        attach(case, kind, user)
    return service.submit(case, by=user)


def move(case, action, desk_staff, **kw):
    case.refresh_from_db()
    return service.act(case, action, by=desk_staff[case.desk.code], revision=case.revision, **kw)


PLANNING = {"plan_position": "residential", "frontage_m": "12.5", "setback_m": "2"}


@pytest.fixture
def case(permit_types, applicant):
    user, parcel = applicant
    return submitted(permit_types, user, parcel)


def signed_in(client, user):
    client.force_login(user)
    client.cookies["django_language"] = "en"
    return client


def codes(client, **query):
    answer = client.get(INBOX, query)
    assert answer.status_code == 200, answer.content
    return [r["tracking_code"] for r in answer.json()["results"]]


# -- the inbox ----------------------------------------------------------------------------------------------------

def test_each_desk_sees_the_cases_it_holds_and_no_others(client, case, desk_staff, django_user_model):
    assert case.desk.code == "inspection"
    assert codes(signed_in(client, desk_staff["inspection"])) == [case.tracking_code]
    page = client.get("/permits/staff/")
    assert page.status_code == 200 and f'data-code="{case.tracking_code}"'.encode() in page.content
    for desk in ("planning", "mayor", "revenue"):
        assert codes(signed_in(client, desk_staff[desk])) == [], desk
    move(case, "approve", desk_staff)                                   # on to the planning desk
    assert codes(signed_in(client, desk_staff["planning"])) == [case.tracking_code]
    assert codes(signed_in(client, desk_staff["mayor"])) == []          # a planner's case: not the mayor's
    assert codes(signed_in(client, desk_staff["inspection"])) == []     # no longer held there...
    assert codes(client, status="all") == [case.tracking_code]        # ...but in its history
    # the admin role acts at every desk, with a desk filter
    boss = make_user("permit-boss", "admin", is_staff=True)
    assert codes(signed_in(client, boss)) == [case.tracking_code]
    assert codes(client, desk="planning") == [case.tracking_code]
    assert codes(client, desk="mayor") == []
    # no personal data in the inbox
    answer = client.get(INBOX).content.decode()
    assert case.applicant_phone not in answer and "applicant" not in answer
    # citizens and anonymous users: refused
    client.logout()
    assert client.get(INBOX).status_code == 401
    assert signed_in(client, case.applicant).get(INBOX).status_code == 403


def test_the_inbox_filters(client, permit_types, applicant, desk_staff):
    user, parcel = applicant
    first = submitted(permit_types, user, parcel)
    other_parcel, other_owner = owned_parcel(1)
    second = submitted(permit_types, citizen_owning(other_owner, "09171230002"), other_parcel, work="extension")
    move(second, "approve", desk_staff)                                # second: planning position
    boss = signed_in(client, make_user("permit-boss", "admin", is_staff=True))
    assert set(codes(boss)) == {first.tracking_code, second.tracking_code}
    assert codes(boss, step="planning_position") == [second.tracking_code]
    assert codes(boss, step="site_visit") == [first.tracking_code]
    assert codes(boss, case_type="no_violation") == []
    assert codes(boss, q=first.tracking_code) == [first.tracking_code]
    persian = first.tracking_code.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    assert codes(boss, q=persian) == [first.tracking_code]
    Case.objects.filter(pk=first.pk).update(step_due_at=timezone.now() - dt.timedelta(hours=2))
    assert codes(boss, overdue="1") == [first.tracking_code]
    assert client.get(INBOX).json()["overdue"] == 1
    inspector = desk_staff["inspection"]
    first.refresh_from_db()
    service.assign(first, inspector, by=inspector, revision=first.revision)
    assert codes(signed_in(client, inspector), assigned="me") == [first.tracking_code]
    assert codes(client, assigned="none") == []
    assert client.get(INBOX, {"status": "nonsense"}).status_code == 400
    assert client.get(INBOX, {"after": "x:y"}).status_code == 400


def test_keyset_pages_cover_every_case_once(client, permit_types, applicant, desk_staff, monkeypatch):
    from permits import staff_views

    user, parcel = applicant
    made = [submitted(permit_types, user, parcel).tracking_code for _ in range(5)]
    # two share a due time: the id breaks the tie
    Case.objects.filter(tracking_code__in=made[:2]).update(step_due_at=timezone.now() + dt.timedelta(days=1))
    monkeypatch.setattr(staff_views, "PAGE_SIZE", 2)
    signed_in(client, desk_staff["inspection"])
    seen, after = [], None
    for _ in range(5):
        body = client.get(INBOX, {"after": after} if after else {}).json()
        seen += [r["tracking_code"] for r in body["results"]]
        after = body["next"]
        if after is None:
            break
    assert sorted(seen) == sorted(made) and len(seen) == 5


def test_sla_colours_follow_the_step_due_time(client, permit_types, applicant, desk_staff):
    user, parcel = applicant
    now = timezone.now()
    due = {"overdue": now - dt.timedelta(hours=1), "due_soon": now + dt.timedelta(hours=5),
           "on_time": now + dt.timedelta(days=3)}
    made = {}
    for state, at in due.items():
        c = submitted(permit_types, user, parcel)
        Case.objects.filter(pk=c.pk).update(step_due_at=at)
        made[c.tracking_code] = state
    body = signed_in(client, desk_staff["inspection"]).get(INBOX).json()
    assert {r["tracking_code"]: r["sla"] for r in body["results"]} == made
    assert [r["sla"] for r in body["results"]] == ["overdue", "due_soon", "on_time"]   # the most pressing first
    page = client.get("/permits/staff/").content.decode()
    for code, state in made.items():
        assert re.search(rf'class="sla-{state}" data-code="{code}"', page), state
    assert sla.state("issued", now - dt.timedelta(days=9), now) == "finished"
    assert sla.state("open", None, now) == "no_due"


def test_a_case_is_assigned_only_to_its_desk_staff(client, case, desk_staff):
    inspector = desk_staff["inspection"]
    colleague = make_user("inspector-2", "permits", is_staff=True)
    case.desk.staff.add(colleague)
    signed_in(client, inspector)
    url = f"/api/permits/staff/cases/{case.public_id}/assign"
    refused = client.post(url, {"assignee": desk_staff["planning"].pk, "revision": case.revision},
                          content_type="application/json")
    assert refused.status_code == 400
    done = client.post(url, {"assignee": colleague.pk, "revision": case.revision}, content_type="application/json")
    assert done.status_code == 200 and done.json()["assignee"] == "inspector-2"
    case.refresh_from_db()
    assert case.assignee == colleague
    assert CaseEvent.objects.filter(case=case, kind="assign").count() == 1
    # staff of another desk may not assign it
    signed_in(client, desk_staff["planning"])
    assert client.post(url, {"assignee": None, "revision": case.revision},
                       content_type="application/json").status_code == 403


# -- the case page --------------------------------------------------------------------------------------------------

def _amended_rulebook(tmp_path):
    """A second version of the demo rulebook, in force since three days ago: one floor everywhere."""
    text = (ROOT / "data" / "rulebook" / "demo.toml").read_text(encoding="utf-8")
    text = text.replace('code = "demo-detailed-plan-1405"', 'code = "demo-plan-amended"')
    start = (timezone.localdate() - dt.timedelta(days=3)).isoformat()
    text = re.sub(r"(?m)^effective_from = .*$", f"effective_from = {start}", text, count=1)
    text = re.sub(r"max_far = \[.*?\n\]", 'max_far = { value = 200, article = "amended" }', text, flags=re.S)
    text = re.sub(r"floors_by_street_width = \{ value = \[.*?\]\],", "floors_by_street_width = { value = [[0, 1]],",
                  text)
    path = tmp_path / "amended.toml"
    path.write_text(text, encoding="utf-8")
    call_command("load_rulebook", str(path), "--commit")


def test_the_case_page_shows_the_frozen_decision_beside_todays_when_the_rules_changed(client, case, desk_staff,
                                                                                       tmp_path):
    signed_in(client, desk_staff["inspection"])
    url = f"/permits/staff/cases/{case.public_id}/"
    page = client.get(url).content.decode()
    assert 'data-testid="frozen-decision"' in page and case.decision["rulebook"] in page
    assert 'data-testid="fresh-decision"' not in page                      # the same rules: one decision
    _amended_rulebook(tmp_path)
    page = client.get(url).content.decode()
    assert 'data-testid="fresh-decision"' in page
    assert "demo-plan-amended" in page and case.decision["rulebook"] in page
    changed = re.findall(r'data-testid="changed-check" data-key="([^"]+)"', page)
    assert changed and any("floor" in key for key in changed), changed
    case.refresh_from_db()
    assert case.decision["rulebook"] != "demo-plan-amended"                # the frozen one is kept


def test_the_case_page_shows_the_applicants_mobile_only_when_asked_and_records_it(client, case, desk_staff):
    signed_in(client, desk_staff["inspection"])
    url = f"/permits/staff/cases/{case.public_id}/"
    page = client.get(url)
    assert page.status_code == 200
    assert case.applicant_phone not in page.content.decode()
    assert not PersonalDataAccess.objects.filter(user=desk_staff["inspection"]).exists()
    page = client.get(url, {"contact": "1"}).content.decode()
    assert case.applicant_phone in page
    record = PersonalDataAccess.objects.get(user=desk_staff["inspection"])
    assert record.parcel_id == case.parcel_id and "permits.case" in record.subjects


def test_the_case_page_lists_documents_with_a_viewer_and_the_history(client, case, desk_staff):
    signed_in(client, desk_staff["inspection"])
    service.comment(case, "Check the north wall", by=desk_staff["inspection"], internal=True)
    page = client.get(f"/permits/staff/cases/{case.public_id}/").content.decode()
    for doc in Document.objects.filter(case=case):
        assert f'data-url="/permits/documents/{doc.pk}/" data-viewer="pdf"' in page
    assert 'data-kind="submit"' in page and "Check the north wall" in page
    assert re.search(r'event-comment internal".*?internal-mark', page, re.S)


# -- actions --------------------------------------------------------------------------------------------------------

def act(client, case, action, revision, **body):
    return client.post(f"/api/permits/staff/cases/{case.public_id}/act",
                       {"action": action, "revision": revision, **body}, content_type="application/json")


def test_actions_through_http_move_the_case(client, case, desk_staff):
    signed_in(client, desk_staff["inspection"])
    answer = act(client, case, "approve", case.revision)
    assert answer.status_code == 200 and answer.json()["step"] == "planning_position"
    state = answer.json()
    signed_in(client, desk_staff["planning"])
    missing = act(client, case, "approve", state["revision"], fields={"plan_position": "residential"})
    assert missing.status_code == 400 and "Frontage" in missing.json()["message"]
    done = act(client, case, "approve", state["revision"], fields=PLANNING)
    assert done.status_code == 200 and done.json()["step"] == "drawing_instruction"
    case.refresh_from_db()
    assert case.outcome["planning_position"]["frontage_m"] == 12.5
    no_reason = act(client, case, "return", case.revision)
    assert no_reason.status_code == 400
    returned = act(client, case, "return", case.revision, note="Frontage on the deed differs")
    assert returned.status_code == 200 and returned.json()["status"] == "returned"
    assert CaseEvent.objects.get(case=case, kind="return").note == "Frontage on the deed differs"


def test_two_staff_on_one_revision_the_second_gets_409_and_the_case_has_one_event(client, case, desk_staff):
    from django.test import Client

    colleague = make_user("inspector-2", "permits", is_staff=True)
    case.desk.staff.add(colleague)
    first, second = signed_in(Client(), desk_staff["inspection"]), signed_in(Client(), colleague)
    seen = case.revision
    assert act(first, case, "approve", seen).status_code == 200
    late = act(second, case, "reject", seen, note="Not on this parcel")
    assert late.status_code == 409 and late.json()["error"] == "conflict"
    assert "reload" in late.json()["message"]
    case.refresh_from_db()
    assert case.step == "planning_position" and case.status == "open"
    moves = CaseEvent.objects.filter(case=case).exclude(kind="submit")
    assert [e.kind for e in moves] == ["approve"]


def test_an_action_out_of_order_is_409(client, case, desk_staff):
    signed_in(client, desk_staff["inspection"])
    # a site visit step cannot ask for a site visit
    answer = act(client, case, "site_visit", case.revision)
    assert answer.status_code == 409
    returned = act(client, case, "return", case.revision, note="Unreadable deed")
    assert returned.status_code == 200
    again = act(client, case, "approve", returned.json()["revision"])      # returned: nothing to approve
    assert again.status_code in (403, 409)
    assert CaseEvent.objects.filter(case=case, kind="approve").count() == 0
    # staff of another desk
    other = act(signed_in(client, desk_staff["mayor"]), case, "approve", returned.json()["revision"])
    assert other.status_code in (403, 409)


# -- site visits ----------------------------------------------------------------------------------------------------

def _jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 90, 60)).save(out, "JPEG")
    return out.getvalue()


def test_a_site_visit_with_its_position_and_a_photo(client, case, desk_staff):
    from django.core.files.uploadedfile import SimpleUploadedFile

    signed_in(client, desk_staff["inspection"])
    spot = case.parcel.geom.point_on_surface.transform(4326, clone=True)
    url = f"/api/permits/staff/cases/{case.public_id}/visits"
    photo = SimpleUploadedFile("wall.jpg", _jpeg(), content_type="image/jpeg")
    answer = client.post(url, {"findings": "Foundations poured; matches the drawings", "lon": f"{spot.x:.7f}",
                               "lat": f"{spot.y:.7f}", "photos": [photo]})
    assert answer.status_code == 201, answer.content
    visit = SiteVisit.objects.get(case=case)
    assert visit.point.distance(case.parcel.geom.point_on_surface) < 1
    photos = list(visit.photos.all())
    assert len(photos) == 1 and photos[0].kind == "site_photo" and photos[0].content_type == "image/jpeg"
    event = CaseEvent.objects.get(case=case, kind="visited")
    assert event.documents == [photos[0].pk] and event.internal and abs(event.data["lon"] - spot.x) < 1e-6
    # far from the parcel, or without findings: refused, nothing stored
    far = client.post(url, {"findings": "here", "lon": f"{spot.x + 0.05:.7f}", "lat": f"{spot.y:.7f}"})
    assert far.status_code == 400
    assert client.post(url, {"findings": " "}).status_code == 400
    assert SiteVisit.objects.filter(case=case).count() == 1
    # someone not at the desk
    assert signed_in(client, desk_staff["mayor"]).post(url, {"findings": "x"}).status_code == 403
    page = signed_in(client, desk_staff["inspection"]).get(f"/permits/staff/cases/{case.public_id}/")
    assert "Foundations poured" in page.content.decode()


def test_the_inbox_map_has_the_filtered_cases_without_personal_data(client, case, desk_staff):
    signed_in(client, desk_staff["inspection"])
    body = client.get("/api/permits/staff/inbox/map").json()
    assert [f["properties"]["tracking_code"] for f in body["features"]] == [case.tracking_code]
    assert case.applicant_phone not in json.dumps(body)
    assert signed_in(client, desk_staff["mayor"]).get("/api/permits/staff/inbox/map").json()["features"] == []


def test_the_admin_records_who_saw_a_cases_applicant(client, case):
    from django.contrib.auth.models import User

    root = User.objects.create_superuser("permit-root", password=None)
    client.force_login(root)
    page = client.get(f"/admin/permits/case/{case.pk}/change/")
    assert page.status_code == 200 and case.applicant_phone in page.content.decode()
    record = PersonalDataAccess.objects.get(user=root)
    assert record.action == "case_view" and record.parcel_id == case.parcel_id
    assert client.get("/admin/permits/case/").status_code == 200
    assert PersonalDataAccess.objects.filter(user=root).count() == 1       # the list shows no mobile


def test_the_pages_speak_persian_with_jalali_dates(client, case, desk_staff):
    client.force_login(desk_staff["inspection"])
    client.cookies["django_language"] = "fa"
    persian_code = case.tracking_code.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    for url in ("/permits/staff/", f"/permits/staff/cases/{case.public_id}/", "/permits/staff/sla/"):
        page = client.get(url)
        assert page.status_code == 200, url
        assert 'lang="fa"' in page.content.decode()
    page = client.get(f"/permits/staff/cases/{case.public_id}/").content.decode()
    assert persian_code in page
    assert re.search(r"۱۴[۰-۹]{2}/[۰-۹]{2}/[۰-۹]{2}", page)   # Jalali dates


def test_the_case_page_names_the_proposal_and_what_the_steps_recorded(client, case, desk_staff):
    """People read labels, not codes: the proposal's fields as the engineer's form names them, the land use by its
    name, the recorded values under their step's and field's names; a step past its time says how many days late."""
    import datetime as dt

    service.act(case, "approve", by=desk_staff["inspection"], revision=case.revision)
    case.refresh_from_db()
    service.act(case, "approve", by=desk_staff["planning"], revision=case.revision,
                fields={"plan_position": "residential", "frontage_m": "12.5", "setback_m": "2"})
    Case.objects.filter(pk=case.pk).update(step_due_at=timezone.now() - dt.timedelta(days=3, hours=1))
    page = signed_in(client, desk_staff["planning"]).get(f"/permits/staff/cases/{case.public_id}/").content.decode()
    proposal = re.search(r'data-testid="proposal">(.*?)</dl>', page, re.S)[1]
    assert "Gross floor area (m²)" in proposal and "Residential" in proposal and "gross_floor_area" not in proposal
    outcome = re.search(r'data-testid="outcome">(.*?)</dl>', page, re.S)[1]
    assert "Plan position, frontage and setbacks" in outcome and "Frontage (m): 12.5" in outcome
    assert "planning_position" not in outcome and "frontage_m" not in outcome
    assert "3 days overdue" in page and "days left" not in page
