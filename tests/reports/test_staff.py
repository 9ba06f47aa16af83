"""The staff side of reports against the real PostGIS: who sees which inbox and report (a department's staff, every
department's, nobody else), the SLA colours, the workflow's actions through the JSON API (409 out of order and nothing
changed, 400 for a rejection without its reason, a merge that keeps every follower), the reporter's number (masked in
the inbox, in full and recorded on the staff page), the parcel's facts for illegal construction, and the admin."""

import datetime as dt
import io
import json

import pytest
from django.contrib.gis.geos import Point
from django.utils import timezone

from notices.models import Message
from parcels.models import PersonalDataAccess
from reports import service, staff_views, workflow
from reports.models import Event, Follower, Photo, Report
from tests.conftest import make_user
from tests.reports.conftest import run_photo_jobs
from tests.test_privacy_recording import PHONE, _walk
from tests.test_privacy_recording import owned  # noqa: F401  (a fixture)

pytestmark = pytest.mark.django_db

INBOX = "/api/reports/staff/inbox"
FA = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


@pytest.fixture
def staff(categories, role_users):
    """A roads clerk and a lighting clerk (role "service", on their department's staff), the admin (every
    department) and a citizen."""
    roads_user = make_user("roads-clerk", "service", is_staff=True)
    lighting_user = make_user("light-clerk", "service", is_staff=True)
    categories["pothole"].department.staff.add(roads_user)
    categories["street-light"].department.staff.add(lighting_user)
    return {"roads": roads_user, "lighting": lighting_user, "admin": role_users["admin"],
            "engineer": role_users["engineer"], "citizen": role_users["citizen"]}


@pytest.fixture
def en_client(client):
    client.cookies["django_language"] = "en"
    return client


def _submit(categories, point, code="pothole", phone="09171112233", dx=0, description="چاله"):
    return service.submit(category=categories[code], point=Point(point.x + dx, point.y, srid=point.srid),
                          description=description, reporter=service.Reporter(phone=phone))


def _post(client, report, **body):
    return client.post(f"/api/reports/{report.tracking_code}/status", json.dumps(body),
                       content_type="application/json")


def _snapshot(report):
    report.refresh_from_db()
    return (report.status, report.status_note, report.crew, report.assignee_id, report.updated_at,
            Event.objects.filter(report=report).count(),
            Message.objects.filter(event__startswith="reports.").count())


# --- SLA -------------------------------------------------------------------------------------------------------------

def test_sla_state_from_the_due_time():
    now = timezone.now()
    assert staff_views.sla_state(workflow.SUBMITTED, now - dt.timedelta(minutes=1), now) == "overdue"
    assert staff_views.sla_state(workflow.IN_PROGRESS, now + dt.timedelta(hours=23), now) == "due_soon"
    assert staff_views.sla_state(workflow.ACCEPTED, now + dt.timedelta(hours=25), now) == "on_time"
    assert staff_views.sla_state(workflow.RESOLVED, now - dt.timedelta(days=9), now) == "finished"


def test_inbox_colours_rows_by_the_sla_and_sorts_by_due_time(en_client, categories, spot, staff):
    point, _parcel = spot
    now = timezone.now()
    dues = {"on_time": now + dt.timedelta(days=5), "due_soon": now + dt.timedelta(hours=3),
            "overdue": now - dt.timedelta(hours=1)}
    made = {}
    for i, (state, due) in enumerate(dues.items()):
        report = _submit(categories, point, phone=f"0917111220{i}", dx=i * 3)
        Report.objects.filter(pk=report.pk).update(due_at=due)
        made[report.tracking_code] = state
    en_client.force_login(staff["roads"])
    answer = en_client.get(INBOX).json()
    assert {r["tracking_code"]: r["sla"] for r in answer["results"]} == made
    assert [r["sla"] for r in answer["results"]] == ["overdue", "due_soon", "on_time"]  # most pressing first
    assert answer["counts"]["submitted"] == 3 and answer["overdue"] == 1
    overdue = en_client.get(INBOX, {"overdue": "1"}).json()
    assert [r["sla"] for r in overdue["results"]] == ["overdue"]
    page = en_client.get("/reports/staff/").content.decode()
    for code, state in made.items():
        assert f'class="sla-{state}" data-code="{code}"' in page


# --- who sees what ---------------------------------------------------------------------------------------------------

def test_only_handlers_see_reports(client, categories, spot, staff):
    point, _parcel = spot
    pothole = _submit(categories, point)
    light = _submit(categories, point, code="street-light", phone="09171112299")
    # anonymous: the API asks for a sign-in, the pages send to it
    assert client.get(INBOX).status_code == 401
    assert client.get("/reports/staff/").status_code == 302
    assert client.get(f"/reports/staff/{pothole.tracking_code}/").status_code == 302
    assert _post(client, pothole, status="accepted").status_code in (401, 403)
    # a citizen
    client.force_login(staff["citizen"])
    assert client.get(INBOX).status_code == 403
    assert client.get(f"/reports/staff/{pothole.tracking_code}/").status_code == 403
    assert _post(client, pothole, status="accepted").status_code == 403
    # a department's staff: their department's reports only
    client.force_login(staff["roads"])
    assert [r["tracking_code"] for r in client.get(INBOX).json()["results"]] == [pothole.tracking_code]
    assert client.get(f"/reports/staff/{light.tracking_code}/").status_code == 403
    before = _snapshot(light)
    assert _post(client, light, status="accepted").status_code == 403
    assert _snapshot(light) == before
    # staff with handle_report on no department's staff: nothing
    client.force_login(staff["engineer"])
    assert client.get(INBOX).json()["results"] == []
    assert client.get(f"/reports/staff/{pothole.tracking_code}/").status_code == 403
    # handle_all_reports: every department's
    client.force_login(staff["admin"])
    seen = {r["tracking_code"] for r in client.get(INBOX).json()["results"]}
    assert seen == {pothole.tracking_code, light.tracking_code}
    assert client.get(f"/reports/staff/{light.tracking_code}/").status_code == 200
    assert client.get("/reports/staff/0000000000/").status_code in (400, 404)


def test_inbox_filters(client, categories, spot, staff):
    point, _parcel = spot
    a = _submit(categories, point)
    b = _submit(categories, point, code="sidewalk", phone="09171112200", dx=5)
    client.force_login(staff["admin"])
    codes = lambda **q: [r["tracking_code"] for r in client.get(INBOX, q).json()["results"]]  # noqa: E731
    assert set(codes(department="roads")) == {a.tracking_code, b.tracking_code}
    assert codes(category="sidewalk") == [b.tracking_code]
    assert codes(department="waste") == []
    assert set(codes(district=str(a.district_id))) >= {a.tracking_code}
    assert codes(bbox="10,10,11,11") == []  # far away
    lon, lat = a.geom.transform(4326, clone=True).coords
    assert a.tracking_code in codes(bbox=f"{lon - 0.01},{lat - 0.01},{lon + 0.01},{lat + 0.01}")
    service.change_status(a, workflow.ACCEPTED, by=staff["admin"])
    assert codes(status="accepted") == [a.tracking_code]
    assert set(codes(status="all")) == {a.tracking_code, b.tracking_code}
    counts = client.get(INBOX, {"status": "submitted"}).json()["counts"]
    assert counts["accepted"] == 1 and counts["submitted"] == 1  # counts ignore the status filter
    assert client.get(INBOX, {"status": "nonsense"}).status_code == 400
    assert client.get(INBOX, {"bbox": "1,2,3"}).status_code == 400


# --- the workflow through the API ------------------------------------------------------------------------------------

def test_accept_assign_progress_resolve_and_the_reporter_hears(client, categories, spot, staff, english):
    point, _parcel = spot
    report = _submit(categories, point)
    client.force_login(staff["roads"])
    assert _post(client, report, status="accepted").json()["status"] == "accepted"
    other = staff["lighting"]
    assert _post(client, report, status="assigned", assignee=other.pk).status_code == 400  # not roads' staff
    answer = _post(client, report, status="assigned", crew="Crew 4", assignee=staff["roads"].pk).json()
    assert (answer["status"], answer["crew"], answer["assignee"]) == ("assigned", "Crew 4", "roads-clerk")
    assert _post(client, report, status="in_progress").status_code == 200
    answer = _post(client, report, status="resolved", note="Patched").json()
    assert answer["status"] == "resolved" and answer["sla"] == "finished" and answer["allowed"] == ["closed"]
    report.refresh_from_db()
    assert report.status_note == "Patched" and report.resolved_at is not None
    actors = set(Event.objects.filter(report=report, kind="status").exclude(actor=None)
                 .values_list("actor__username", flat=True))
    assert actors == {"roads-clerk"}
    told = Message.objects.filter(event="reports.status_changed", phone="09171112233")
    assert told.filter(channel="sms").count() == 4  # accepted, assigned, in progress, resolved


def test_out_of_order_is_a_409_and_changes_nothing(client, categories, spot, staff):
    point, _parcel = spot
    report = _submit(categories, point)
    client.force_login(staff["roads"])
    _post(client, report, status="resolved", note="done")
    before = _snapshot(report)
    answer = _post(client, report, status="accepted")
    assert answer.status_code == 409 and answer.json()["error"] == "status_conflict"
    assert _snapshot(report) == before
    assert _post(client, report, status="in_progress").status_code == 409
    assert _snapshot(report) == before


def test_reject_needs_a_reason(client, categories, spot, staff):
    point, _parcel = spot
    report = _submit(categories, point)
    client.force_login(staff["roads"])
    before = _snapshot(report)
    for note in (None, "", "   "):
        body = {"status": "rejected"} if note is None else {"status": "rejected", "note": note}
        answer = _post(client, report, **body)
        assert answer.status_code == 400 and answer.json()["error"] == "bad_parameter"
    assert _snapshot(report) == before
    assert _post(client, report, status="rejected", note="Private land").status_code == 200
    report.refresh_from_db()
    assert report.status == "rejected" and report.status_note == "Private land"


def test_bad_bodies_are_400(client, categories, spot, staff):
    point, _parcel = spot
    report = _submit(categories, point)
    client.force_login(staff["roads"])
    before = _snapshot(report)
    for body in ({}, {"status": "flying"}, {"status": "accepted", "assignee": "x"}, {"status": 3},
                 {"status": "merged"}, {"status": "merged", "into": report.tracking_code}):
        assert _post(client, report, **body).status_code == 400, body
    assert _snapshot(report) == before


def test_merge_through_the_api_keeps_every_follower(client, categories, spot, staff):
    point, _parcel = spot
    first = _submit(categories, point, phone="09171110001")
    second = _submit(categories, point, phone="09171110002", dx=15)
    service.add_voice(second, service.Reporter(phone="09171110003"))
    client.force_login(staff["roads"])
    page = client.get(f"/reports/staff/{second.tracking_code}/").content.decode()
    assert f'value="{first.tracking_code}"' in page  # offered: open, same category, nearby
    answer = _post(client, second, status="merged", into=first.tracking_code).json()
    assert answer["status"] == "merged" and answer["merged_into"] == first.tracking_code
    phones = set(Follower.objects.filter(report=first).values_list("phone", flat=True))
    assert phones == {"09171110001", "09171110002", "09171110003"}
    assert Message.objects.filter(event="reports.merged", phone="09171110003").exists()
    first.refresh_from_db()
    assert first.voices == 2  # the duplicate and its voice


def test_merge_into_an_unknown_report_is_a_404(client, categories, spot, staff):
    from reports import codes

    point, _parcel = spot
    report = _submit(categories, point)
    client.force_login(staff["roads"])
    free = next(c for c in (codes.new_code() for _ in range(50)) if not Report.objects.filter(tracking_code=c).exists())
    assert _post(client, report, status="merged", into=free).status_code == 404
    report.refresh_from_db()
    assert report.status == "submitted"


# --- the reporter's number -------------------------------------------------------------------------------------------

def test_inbox_masks_numbers_and_the_staff_page_records_showing_one(en_client, categories, spot, staff):
    client = en_client
    point, _parcel = spot
    phone = "09171234567"
    report = _submit(categories, point, phone=phone)
    client.force_login(staff["roads"])
    inbox = client.get(INBOX)
    assert phone not in inbox.content.decode()
    assert inbox.json()["results"][0]["reporter_phone"] == "0917****567"
    listing = client.get("/reports/staff/").content.decode()
    assert phone not in listing and "0917****567" in listing
    client.cookies["django_language"] = "fa"
    assert phone.translate(FA) not in client.get("/reports/staff/").content.decode()
    client.cookies["django_language"] = "en"
    assert not PersonalDataAccess.objects.filter(user=staff["roads"]).exists()  # the inbox shows no number
    page = client.get(f"/reports/staff/{report.tracking_code}/")
    assert page.status_code == 200 and phone in page.content.decode()
    row = PersonalDataAccess.objects.get(user=staff["roads"])
    assert row.action == "report_view" and row.path == f"/reports/staff/{report.tracking_code}/"
    assert row.subjects["reports.report"] == [report.pk]


def test_the_staff_page_shows_every_event_and_photo(en_client, categories, spot, staff):
    point, _parcel = spot
    first = _submit(categories, point, phone="09171110001")
    second = _submit(categories, point, phone="09171110002", dx=10)
    service.add_voice(first, service.Reporter(phone="09171110009"))
    service.merge(second, first, by=staff["roads"])
    en_client.force_login(staff["roads"])
    page = en_client.get(f"/reports/staff/{first.tracking_code}/").content.decode()
    assert 'data-kind="voice"' in page and 'data-kind="merge"' in page  # the voice and merge are not public
    assert "roads-clerk" in page  # who merged
    assert second.tracking_code in page
    assert '<dd data-testid="followers">3</dd>' in page


# --- illegal construction: the parcel's facts ------------------------------------------------------------------------

def test_illegal_construction_shows_the_parcel_sections(en_client, categories, spot, staff, english):
    from parcels import sheet

    point, parcel = spot
    report = _submit(categories, point, code="illegal-construction")
    user = make_user("builder-control", "service", is_staff=True)
    categories["illegal-construction"].department.staff.add(user)
    en_client.force_login(user)
    page = en_client.get(f"/reports/staff/{report.tracking_code}/").content.decode()
    assert 'data-testid="parcel-facts"' in page
    links = {link["key"]: link["url"] for link in sheet.section_links(parcel.pk)}
    assert links  # zoning's and dues' sections are registered in this project
    for section in sheet.sections():  # every registered section, with its link
        assert f'data-section="{section.key}"' in page
        assert section.title_en in page
        assert f'href="{links[section.key]}"' in page
    installed = sheet.SECTIONS.get("permits")  # the permits app registers its own (permits/sheet.py)
    assert ('data-testid="no-permits"' in page) == (installed is None)
    permits = sheet.SheetSection(key="permits", title_fa="پروانه", title_en="Building permits",
                                 url_name="parcels:parcel_page", build=lambda p, r: {"cases": 2},
                                 template="reports/staff_section_plain.html", script="", order=90)
    sheet.register_section(permits)
    try:
        page = en_client.get(f"/reports/staff/{report.tracking_code}/").content.decode()
    finally:
        del sheet.SECTIONS["permits"]
        if installed is not None:
            sheet.register_section(installed)
    assert 'data-section="permits"' in page and "Building permits" in page
    assert 'data-testid="no-permits"' not in page

    def refuses(parcel, request):
        from common.errors import ServiceUnavailable

        raise ServiceUnavailable("Overlays are being computed")

    sheet.register_section(sheet.SheetSection(key="refusing", title_fa="x", title_en="Refusing section",
                                              url_name="parcels:parcel_page", build=refuses,
                                              template="reports/staff_section_plain.html", script="", order=95))
    try:
        answer = en_client.get(f"/reports/staff/{report.tracking_code}/")
    finally:
        del sheet.SECTIONS["refusing"]
    assert answer.status_code == 200 and "Overlays are being computed" in answer.content.decode()
    pothole = _submit(categories, point, phone="09171112200")
    en_client.force_login(staff["roads"])
    page = en_client.get(f"/reports/staff/{pothole.tracking_code}/").content.decode()
    assert 'data-testid="parcel-facts"' not in page


# --- the photo of the fix --------------------------------------------------------------------------------------------

def _jpeg(size=(640, 480)):
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, (120, 90, 60)).save(out, "JPEG")
    out.seek(0)
    out.name = "fix.jpg"
    return out


def test_resolution_photo(client, categories, spot, staff, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    point, _parcel = spot
    report = _submit(categories, point)
    url = f"/api/reports/{report.tracking_code}/resolution-photo"
    client.force_login(staff["lighting"])
    assert client.post(url, {"photo": _jpeg()}).status_code == 403
    client.force_login(staff["roads"])
    assert client.post(url, {}).status_code == 400
    answer = client.post(url, {"photo": _jpeg()})
    assert answer.status_code == 201, answer.content
    photo = Photo.objects.get(report=report)
    assert (photo.kind, photo.moderation, photo.moderated_by) == ("resolution", "approved", staff["roads"])
    assert answer.json()["url"].endswith(f"{photo.public_id}.jpg") and answer.json()["state"] == "processing"
    from reports import photos

    pending = photos.add(report, _jpeg(), kind="report")  # a citizen's photo waits for moderation
    staff_page = f"/reports/staff/{report.tracking_code}/"
    page = client.get(staff_page).content.decode()
    assert page.count('data-testid="photo-processing"') == 2 and "-thumb.jpg" not in page  # nothing served yet
    assert client.get(answer.json()["thumbnail"]).status_code == 503
    assert run_photo_jobs() == {photo.pk: "ready", pending.pk: "ready"}
    page = client.get(staff_page).content.decode()
    assert pending.moderation == "pending"
    for shown in (photo, pending):  # staff see every photo, pending ones too
        assert f"{shown.public_id}-thumb.jpg" in page
    assert client.get(answer.json()["thumbnail"]).status_code == 200
    photo.refresh_from_db()
    assert (photo.width, photo.height, photo.state) == (640, 480, "ready")
    service.change_status(report, workflow.REJECTED, by=staff["roads"], note="no")
    assert client.post(url, {"photo": _jpeg()}).status_code == 409


# --- the admin -------------------------------------------------------------------------------------------------------

def test_admin_moves_reports_only_through_the_workflow(client, categories, spot, staff):
    point, _parcel = spot
    fresh = _submit(categories, point)
    done = _submit(categories, point, phone="09171112200", dx=5)
    service.change_status(done, workflow.RESOLVED, by=staff["admin"])
    client.force_login(staff["admin"])
    change = client.get(f"/admin/reports/report/{fresh.pk}/change/").content.decode()
    assert 'name="status"' not in change  # read-only: no field to edit the status with
    answer = client.post("/admin/reports/report/", {"action": "accept", "_selected_action": [fresh.pk, done.pk]},
                         follow=True)
    assert answer.status_code == 200
    fresh.refresh_from_db()
    done.refresh_from_db()
    assert fresh.status == "accepted" and done.status == "resolved"  # out of order: left as it was, and said
    assert done.tracking_code in answer.content.decode()
    client.cookies["django_language"] = "en"
    before = set(PersonalDataAccess.objects.values_list("pk", flat=True))
    listing = client.get("/admin/reports/report/").content.decode()
    assert "09171112233" in listing  # the admin role may see personal data: the page is recorded
    rows = PersonalDataAccess.objects.exclude(pk__in=before)
    assert [(r.user, r.action) for r in rows] == [(staff["admin"], "report_list")]
    from django.contrib.auth.models import Permission

    desk = make_user("report-desk", is_staff=True)  # may look at reports, not at personal data
    desk.user_permissions.set(Permission.objects.filter(content_type__app_label="reports", codename="view_report"))
    client.force_login(desk)
    for url in ("/admin/reports/report/", f"/admin/reports/report/{fresh.pk}/change/"):
        page = client.get(url).content.decode()
        assert "0917****233" in page and "09171112233" not in page, url
    assert rows.count() == 1  # the masked pages record nothing


def test_the_admin_walk_records_every_page_showing_a_reporters_number(client, role_users, categories, spot,
                                                                      owned):  # noqa: F811
    """tests/test_privacy_recording.py's walk of the admin, with a report whose reporter is the walk's owner (by
    number): every reports admin page that shows the number records it, naming the owner the number belongs to."""
    from django.contrib.auth.models import User

    point, _parcel = spot
    _owned_parcel, owner = owned
    citizen = User.objects.get(username=PHONE)
    report = service.submit(category=categories["pothole"], point=point, description="x",
                            reporter=service.Reporter(user=citizen, phone=PHONE))
    service.change_status(report, workflow.ACCEPTED, by=role_users["admin"])  # an event naming staff
    pages = _walk(client, User.objects.create_superuser("root-walker-c", password=None), owner, apps={"reports"})
    assert {"/admin/reports/report/", f"/admin/reports/report/{report.pk}/change/"} <= set(pages)


def test_the_maps_header_links_staff_who_handle_reports_to_their_inbox(client, role_users):
    client.force_login(role_users["engineer"])  # the engineer role handles reports (building control)
    page = client.get("/").content.decode()
    assert 'data-testid="reports-inbox"' in page and 'href="/reports/staff/"' in page
    client.force_login(role_users["planner"])  # planners do not
    assert 'data-testid="reports-inbox"' not in client.get("/").content.decode()
