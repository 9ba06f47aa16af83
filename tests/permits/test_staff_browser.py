"""The permit office in Debian's headless Chromium against the portal server (gunicorn on the test database): a
submitted building permit goes from desk to desk, each desk's staff opening it from their own inbox page and acting
on the case page (the planning unit returns it once for correction; the applicant resubmits; a colleague's change
makes one action a 409 shown on the page; the payment is recorded by the test), through to the issued permit.

No django_db mark: what the test makes is committed for the server's connections to see it, and deleted afterwards
(the desks and case types too when the test loaded them)."""

from pathlib import Path

import pytest
from django.conf import settings

pytestmark = pytest.mark.browser

MOBILE = "09171239876"
PREFIX = "permit-browser-"
PLANNING = {"plan_position": "residential", "frontage_m": "12.5", "setback_m": "2"}


def _session(user) -> str:
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session.update({SESSION_KEY: str(user.pk), BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
                    HASH_SESSION_KEY: user.get_session_auth_hash()})
    session.create()
    return session.session_key


def _cleanup(loaded_types: bool):
    from django.contrib.auth.models import User
    from django.db import connection

    from accounts.models import Citizen, PropertyLink
    from dues.models import Bill
    from notices.models import LocalSms, Message
    from parcels.models import PersonalDataAccess
    from documents.models import IssuedDocument
    from permits.models import Case, CaseEvent, CaseType, Desk, Document, Issued, SiteVisit, Workflow

    cases = list(Case.objects.filter(applicant_phone=MOBILE))
    for case in cases:
        Bill.objects.filter(reference=f"permits:{case.public_id}").delete()
    issued = list(Issued.objects.filter(case__in=cases).values_list("pk", flat=True))
    records = list(Issued.objects.filter(case__in=cases, record__isnull=False).values_list("record_id", flat=True))
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('procrastinate_jobs') IS NOT NULL")
        if cursor.fetchone()[0] and issued:
            cursor.execute("DELETE FROM procrastinate_jobs WHERE (task_name = 'permits.render_issued' "
                           "AND (args->>'issued_id')::int = ANY(%s)) OR (task_name = 'documents.render' "
                           "AND (args->>'document_id')::int = ANY(%s))", [issued, records])
    Issued.objects.filter(case__in=cases).delete()
    IssuedDocument.objects.filter(pk__in=records).delete()    # its file is the archive Document's, deleted below
    SiteVisit.objects.filter(case__in=cases).delete()
    CaseEvent.objects.filter(case__in=cases).delete()
    for doc in Document.objects.filter(case__in=cases).order_by("-version"):
        doc.file.delete(save=False)
        Document.objects.filter(supersedes=doc).update(supersedes=None)
        doc.delete()
    Case.objects.filter(pk__in=[c.pk for c in cases]).delete()
    for folder in {Path(settings.MEDIA_ROOT) / "permits" / str(c.parcel_id) for c in cases}:
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    Message.objects.filter(phone=MOBILE).delete()
    LocalSms.objects.filter(phone=MOBILE).delete()
    PropertyLink.objects.filter(citizen__mobile=MOBILE).delete()
    Citizen.objects.filter(mobile=MOBILE).delete()
    PersonalDataAccess.objects.filter(user__username__startswith=PREFIX).delete()   # documents seen, recorded
    User.objects.filter(username__startswith=PREFIX).delete()
    if loaded_types:
        Workflow.objects.all().delete()
        CaseType.objects.all().delete()
        Desk.history.all().delete()
        Desk.objects.all().delete()


@pytest.fixture
def office(demo_city, demo_rulebook, django_db_blocker):
    """Committed: the demo desks and case types, one member of staff per desk, an owner signed up as a citizen and
    their submitted building permit (deed and ID card attached)."""
    from notices import defaults
    from permits import loader, service
    from permits.models import CaseType, Desk
    from tests.conftest import make_user
    from tests.permits.conftest import a_proposal, citizen_owning, owned_parcel
    from tests.permits.test_core import attach

    with django_db_blocker.unblock():
        loaded = not CaseType.objects.exists()
        _cleanup(False)
        defaults.load()
        loader.load(loader.read(loader.DEFAULT_DIR))
        staff = {}
        for desk in Desk.objects.all():
            user = make_user(PREFIX + desk.code, "permits", is_staff=True)
            desk.staff.add(user)
            staff[desk.code] = user
        parcel, owner = owned_parcel()
        applicant = citizen_owning(owner, MOBILE, PREFIX + "applicant")
        case = service.start(CaseType.objects.get(code="building_permit"), parcel, applicant, work="new")
        service.save_proposal(case, a_proposal(parcel), by=applicant)
        for kind in ("deed", "national_card"):
            attach(case, kind, applicant)
        case = service.submit(case, by=applicant)
        sessions = {code: _session(user) for code, user in staff.items()}
    yield {"case": case, "staff": staff, "sessions": sessions, "applicant": applicant}
    with django_db_blocker.unblock():
        _cleanup(loaded)


def test_each_desk_acts_from_its_inbox_through_to_the_issued_permit(portal_url, office, browser, django_db_blocker,
                                                                    tmp_path):
    from PIL import Image

    from dues import api as dues_api
    from permits import service
    from permits.models import Case, CaseEvent, SiteVisit
    from tests.permits.test_core import attach

    case = office["case"]
    errors = []

    def fresh():
        with django_db_blocker.unblock():
            return Case.objects.select_related("desk").get(pk=case.pk)

    def open_case(desk):
        """The desk's staff open their inbox and the case from it."""
        context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
        context.add_cookies([{"name": "sessionid", "value": office["sessions"][desk], "url": portal_url},
                             {"name": "django_language", "value": "en", "url": portal_url}])
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(portal_url + "/permits/staff/")
        page.wait_for_function("() => document.body.dataset.inboxReady", timeout=20000)
        row = page.locator(f'tr[data-code="{case.tracking_code}"]')
        assert row.count() == 1, f"the case is not in the {desk} inbox"
        row.locator("a").click()
        page.wait_for_function("() => document.body.dataset.caseReady", timeout=20000)
        return context, page

    def act(desk, action="approve", fields=None, note=None):
        now = fresh()
        assert now.desk.code == desk, (now.step, now.desk.code)
        context, page = open_case(desk)
        try:
            form = page.locator(f'form[data-action="{action}"]')
            for name, value in (fields or {}).items():
                field = form.locator(f'[name="field_{name}"]')
                if field.evaluate("el => el.tagName") == "SELECT":
                    field.select_option(value)
                else:
                    field.fill(value)
            if note:
                form.locator("textarea[name=note]").fill(note)
            with page.expect_navigation(timeout=20000):
                form.locator("button[type=submit]").click()
        finally:
            context.close()
        after = fresh()
        assert after.revision == now.revision + 1, (desk, action)
        return after

    # nobody else's inbox holds it
    context, page = browser.new_context(locale="en-US"), None
    context.add_cookies([{"name": "sessionid", "value": office["sessions"]["mayor"], "url": portal_url},
                         {"name": "django_language", "value": "en", "url": portal_url}])
    page = context.new_page()
    page.goto(portal_url + "/permits/staff/")
    assert page.locator(f'tr[data-code="{case.tracking_code}"]').count() == 0
    context.close()

    # the inspector's map view of the inbox, and the case page's document viewer
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    context.add_cookies([{"name": "sessionid", "value": office["sessions"]["inspection"], "url": portal_url},
                         {"name": "django_language", "value": "en", "url": portal_url}])
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(portal_url + "/permits/staff/?view=map")
    page.wait_for_function("() => document.body.dataset.inboxReady", timeout=20000)
    assert page.locator("path.sla-marker").count() == 1
    page.locator(f'tr[data-code="{case.tracking_code}"] a').click()
    page.wait_for_function("() => document.body.dataset.caseReady", timeout=20000)
    assert page.locator("#case-map path.leaflet-interactive").count() >= 1      # the parcel (and its envelope)
    page.locator('li[data-kind="deed"] button.view-document').click()
    frame = page.locator("[data-testid=document-viewer] iframe")
    assert frame.count() == 1 and frame.get_attribute("src").startswith("/permits/documents/")
    context.close()

    # the inspector on the site, on a phone: the phone's position, findings and a photo from the camera
    with django_db_blocker.unblock():
        spot = case.parcel.geom.point_on_surface.transform(4326, clone=True)
    phone = browser.new_context(locale="en-US", viewport={"width": 390, "height": 844}, is_mobile=True,
                                has_touch=True, geolocation={"latitude": spot.y, "longitude": spot.x},
                                permissions=["geolocation"])
    phone.add_cookies([{"name": "sessionid", "value": office["sessions"]["inspection"], "url": portal_url},
                       {"name": "django_language", "value": "en", "url": portal_url}])
    page = phone.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    photo = tmp_path / "site.jpg"
    Image.new("RGB", (640, 480), (140, 110, 80)).save(photo, "JPEG")
    try:
        page.goto(f"{portal_url}/permits/staff/cases/{case.public_id}/")
        page.wait_for_function("() => document.body.dataset.caseReady", timeout=20000)
        form = page.locator("form.visit-form")
        form.locator("button.locate").click()
        page.wait_for_function("() => document.querySelector('form.visit-form').elements.lat.value", timeout=10000)
        form.locator("textarea[name=findings]").fill("Vacant lot, fenced; as in the deed")
        form.locator("input[name=photos]").set_input_files(str(photo))
        with page.expect_navigation(timeout=20000):
            form.locator("button[type=submit]").click()
        assert "Vacant lot, fenced" in page.inner_text("[data-testid=visits]")
    finally:
        phone.close()
    with django_db_blocker.unblock():
        visit = SiteVisit.objects.get(case=case)
        assert visit.point.distance(case.parcel.geom.point_on_surface) < 2
        assert [p.kind for p in visit.photos.all()] == ["site_photo"]

    assert act("inspection").step == "planning_position"
    returned = act("planning", "return", note="The deed scan is unreadable")
    assert returned.status == "returned" and returned.status_note == "The deed scan is unreadable"
    with django_db_blocker.unblock():                       # the applicant corrects and resubmits
        attach(returned, "deed", office["applicant"])
        service.resubmit(returned, by=office["applicant"], revision=returned.revision)
    assert act("planning", fields=PLANNING).step == "drawing_instruction"

    # a colleague's change while the page is open: the action is refused with the conflict shown, nothing lost
    context, page = open_case("planning")
    try:
        with django_db_blocker.unblock():
            now = fresh()
            service.assign(now, office["staff"]["planning"], by=office["staff"]["planning"], revision=now.revision)
        form = page.locator('form[data-action="approve"]')
        form.locator('[name="field_instruction_number"]').fill("DN-77")
        form.locator("button[type=submit]").click()
        page.wait_for_selector("[data-testid=conflict]:not([hidden])", timeout=10000)
        assert "changed by someone else" in page.inner_text("[data-testid=conflict]")
        assert form.locator('[name="field_instruction_number"]').input_value() == "DN-77"
    finally:
        context.close()
    assert fresh().step == "drawing_instruction"

    assert act("planning", fields={"instruction_number": "DN-77"}).step == "approved_drawings"
    with django_db_blocker.unblock():
        for kind in ("drawings", "structure"):
            attach(fresh(), kind, office["applicant"])
    assert act("planning").step == "revenue_referral"
    paying = act("revenue", fields={"renewal_dues": "settled"})
    assert paying.step == "payment" and paying.status == "awaiting_payment"
    with django_db_blocker.unblock():                       # the payment recorded (dues' bill_paid)
        bill = dues_api.fee_bill(service.fee_reference(paying))
        service.payment_recorded(service.fee_reference(paying), bill["id"], bill["amount"])
    assert act("intake").step == "planning_head"
    assert act("planning_head").step == "mayor"
    issued = act("mayor")
    assert issued.status == "issued" and issued.step == "issued"
    with django_db_blocker.unblock():
        kinds = list(CaseEvent.objects.filter(case=case).values_list("kind", flat=True))
        assert kinds.count("return") == 1 and kinds.count("resubmit") == 1 and "payment" in kinds
        assert kinds.count("approve") == 8
        assert issued.issued.number
    assert errors == []
