"""One building permit from the first click to the verified paper, in Debian's headless Chromium against the portal
server (gunicorn on the test database), the way the issue tells it: a citizen signs in on a phone, applies on their
parcel, uploads the deed and the ID card, submits; staff of each desk act from their own inbox pages; the planning
unit returns it once, the citizen corrects and resubmits; at the drawings step the citizen uploads the approved
drawings from their case page; the revenue unit sends it to payment and the citizen pays in the sandbox gateway; the
mayor signs; the permit's PDF is printed by its job; its QR code holds the verification page's address, which the
browser opens; the public status page shows every step done; an SMS went out at every step (local backend).

No django_db mark: what the test makes is committed for the server's connections to see it, and deleted afterwards."""

from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection

from tests.permits.conftest import PDF, a_proposal, owned_parcel
from tests.permits.test_citizen_browser import _last_code
from tests.permits.test_staff_browser import _session
from tests.zoning_fixtures import demo_rulebook  # noqa: F401  (a fixture: the decision needs rules)

pytestmark = pytest.mark.browser

PHONE = "09170007766"
PREFIX = "e2e-permit-"
ASCII = str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789")


def _cleanup(loaded_types: bool) -> None:
    from django.contrib.auth.models import User

    from accounts.models import AuditEvent, Citizen, PropertyLink, SigninCode
    from accounts.signin import mask_phone
    from dues.models import Bill, LedgerEntry, Payment, PaymentAttempt
    from notices.models import LocalSms, Message, Preference
    from parcels.models import PersonalDataAccess
    from documents.models import IssuedDocument
    from permits.models import Case, CaseEvent, CaseType, Desk, Document, Issued, SiteVisit, Workflow

    cases = list(Case.objects.filter(applicant_phone=PHONE))
    refs = [f"permits:{c.public_id}" for c in cases]
    bills = Bill.objects.filter(reference__in=refs)
    LedgerEntry.objects.filter(payment__bill__in=bills).delete()
    Payment.objects.filter(bill__in=bills).delete()
    PaymentAttempt.objects.filter(bill__in=bills).delete()
    bills.delete()
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
    for folder in {Path(django_settings.MEDIA_ROOT) / "permits" / str(c.parcel_id) for c in cases}:
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    users = User.objects.filter(username__in=[PHONE]) | User.objects.filter(username__startswith=PREFIX)
    AuditEvent.objects.filter(user__in=users).delete()
    AuditEvent.objects.filter(phone=mask_phone(PHONE)).delete()
    Message.objects.filter(user__in=users).delete()
    Message.objects.filter(phone=PHONE).delete()
    LocalSms.objects.filter(phone=PHONE).delete()
    Preference.objects.filter(phone=PHONE).delete()
    SigninCode.objects.filter(phone=PHONE).delete()
    PropertyLink.objects.filter(citizen__mobile=PHONE).delete()
    Citizen.objects.filter(mobile=PHONE).delete()
    PersonalDataAccess.objects.filter(user__in=users).delete()
    users.delete()
    with connection.cursor() as cursor:  # this run's counters, so that runs within the hour do not add up
        cursor.execute("DELETE FROM accounts_ratecounter WHERE key LIKE 'number:%%' OR key LIKE 'address:%%' "
                       "OR key LIKE 'permits-%%' OR key LIKE 'documents-%%'")
    if loaded_types and not Case.objects.exists():
        Workflow.objects.all().delete()
        CaseType.objects.all().delete()
        for desk in Desk.objects.all():
            desk.staff.clear()
        Desk.objects.all().delete()
        Desk.history.all().delete()


@pytest.fixture
def town(demo_city, demo_rulebook, django_db_blocker):
    """Committed: the demo desks and case types and notice texts, one member of staff at each desk (their sessions),
    and a parcel with one owner whose record the citizen's account is linked to once they sign in."""
    from notices import defaults
    from permits import loader
    from permits.models import CaseType, Desk
    from tests.conftest import make_user

    with django_db_blocker.unblock():
        loaded = not CaseType.objects.exists()
        _cleanup(False)
        defaults.load()
        loader.load(loader.read(loader.DEFAULT_DIR))
        sessions = {}
        for desk in Desk.objects.all():
            user = make_user(PREFIX + desk.code, "permits", is_staff=True)
            desk.staff.add(user)
            sessions[desk.code] = _session(user)
        parcel, owner = owned_parcel(3)
    yield {"parcel": parcel, "owner": owner, "sessions": sessions}
    with django_db_blocker.unblock():
        _cleanup(loaded)


def test_a_building_permit_from_the_application_to_the_verified_paper(browser, portal_url, town, django_db_blocker,
                                                                      settings):
    from accounts.models import Citizen, PropertyLink
    from notices.models import LocalSms
    from permits import issuing
    from permits.models import Case, CaseEvent, Issued
    from tests.permits.test_issuing import qr_matrix_of, run_deferred_jobs

    parcel, owner = town["parcel"], town["owner"]
    problems = []

    def watch(page):
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        return page

    def fresh(case_id):
        with django_db_blocker.unblock():
            return Case.objects.select_related("desk").get(pk=case_id)

    def staff_acts(case_id, desk, action="approve", fields=None, note=None):
        """The desk's staff open their inbox, the case from it, and act on the case page."""
        before = fresh(case_id)
        assert before.desk is not None and before.desk.code == desk, (before.step, before.desk)
        context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
        context.add_cookies([{"name": "sessionid", "value": town["sessions"][desk], "url": portal_url},
                             {"name": "django_language", "value": "en", "url": portal_url}])
        page = watch(context.new_page())
        try:
            page.goto(portal_url + "/permits/staff/")
            page.wait_for_function("() => document.body.dataset.inboxReady", timeout=20000)
            row = page.locator(f'tr[data-code="{before.tracking_code}"]')
            assert row.count() == 1, f"the case is not in the {desk} inbox"
            row.locator("a").click()
            page.wait_for_function("() => document.body.dataset.caseReady", timeout=20000)
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
        after = fresh(case_id)
        assert after.revision == before.revision + 1, (desk, action)
        return after

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                locale="fa-IR")
    page = watch(phone.new_page())
    try:
        # the citizen signs in with the SMS code; their claim on the owner record is verified (accounts' own tests)
        page.goto(f"{portal_url}/permits/apply/{parcel.pk}/")
        page.fill('[data-testid="phone"]', PHONE)
        page.tap('[data-testid="send-code"]')
        page.wait_for_selector('[data-testid="code"]')
        with django_db_blocker.unblock():
            page.fill('[data-testid="code"]', _last_code(PHONE))
        page.tap('[data-testid="verify"]')
        page.wait_for_selector('[data-testid="choose-form"]')
        with django_db_blocker.unblock():
            citizen = Citizen.objects.get(mobile=PHONE)
            citizen.national_id = owner.national_id
            citizen.save(update_fields=["national_id"])
            PropertyLink.objects.create(citizen=citizen, national_id=owner.national_id, status="verified",
                                        method="staff")
        page.reload()
        page.wait_for_selector('[data-testid="choose-form"]')

        # applies for a new building: the proposal, the engine's answer, the documents, the fee estimate, submit
        page.tap('label[for="type-building_permit"]')
        page.select_option('[data-testid="work-building_permit"]', "new")
        page.tap('[data-testid="start"]')
        page.wait_for_selector('[data-testid="proposal"]')
        proposal = {**a_proposal(parcel), "parking_spaces": 3}
        page.select_option('[data-testid="p-land_use"]', "residential")
        for name in ("footprint_area", "units", "parking_spaces", "floors", "gross_floor_area"):
            page.fill(f'[data-testid="p-{name}"]', str(proposal[name]))
        page.wait_for_selector('[data-testid="decision"][data-status="eligible"], '
                               '[data-testid="decision"][data-status="conditional"]')
        assert page.inner_text('[data-testid="fee-total"]').strip()
        for kind in ("deed", "national_card"):
            page.set_input_files(f'[data-testid="file-{kind}"]', files=[
                {"name": f"{kind}.pdf", "mimeType": "application/pdf", "buffer": PDF}])
            page.wait_for_selector(f'[data-testid="doc-{kind}"][data-present="1"]')
        # a last change typed and Submit tapped at once (within the debounce): the case holds what is on the screen
        page.fill('[data-testid="p-floors"]', "1")
        page.fill('[data-testid="p-gross_floor_area"]', str(proposal["footprint_area"]))
        page.tap('[data-testid="submit"]')
        page.wait_for_selector('[data-testid="done"]', state="visible", timeout=20000)
        tracking = page.inner_text('[data-testid="tracking-code"]').strip().translate(ASCII)
        with django_db_blocker.unblock():
            submitted = Case.objects.get(tracking_code=tracking)
            case_id = submitted.pk
            assert float(submitted.proposal["floors"]) == 1
            assert float(submitted.proposal["gross_floor_area"]) == proposal["footprint_area"]

        # the inspector approves the site visit; the planning unit returns the case
        assert staff_acts(case_id, "inspection").step == "planning_position"
        returned = staff_acts(case_id, "planning", "return", note="The deed scan is unreadable")
        assert returned.status == Case.Status.RETURNED

        # the citizen reads why, uploads a clear deed and sends it back
        page.goto(f"{portal_url}/permits/cases/{returned.public_id}/")
        page.wait_for_selector('[data-testid="correction"]')
        assert "The deed scan is unreadable" in page.inner_text('[data-testid="return-reason"]')
        page.set_input_files('[data-testid="file-deed"]', files=[
            {"name": "deed-clear.pdf", "mimeType": "application/pdf", "buffer": PDF.replace(b"200 200", b"300 300")}])
        page.wait_for_selector('[data-testid="doc-deed"][data-version="2"]')
        page.tap('[data-testid="resubmit"]')
        page.wait_for_selector('[data-testid="case"][data-status="open"]', timeout=20000)

        planning = {"plan_position": "residential", "frontage_m": "12.5", "setback_m": "2"}
        assert staff_acts(case_id, "planning", fields=planning).step == "drawing_instruction"
        assert staff_acts(case_id, "planning", fields={"instruction_number": "DN-5"}).step == "approved_drawings"

        # the drawings step waits for the approved drawings: the citizen uploads them from their case page
        page.goto(f"{portal_url}/permits/cases/{returned.public_id}/")
        page.wait_for_selector('[data-testid="documents-wanted"]')
        for kind in ("drawings", "structure"):
            page.set_input_files(f'[data-testid="file-{kind}"]', files=[
                {"name": f"{kind}.pdf", "mimeType": "application/pdf", "buffer": PDF}])
            page.wait_for_selector(f'[data-testid="doc-{kind}"][data-present="1"]')
        assert staff_acts(case_id, "planning").step == "revenue_referral"
        paying = staff_acts(case_id, "revenue", fields={"renewal_dues": "settled"})
        assert paying.status == Case.Status.AWAITING_PAYMENT

        # the citizen pays in the sandbox gateway from their case page; the case moves on by itself
        page.goto(f"{portal_url}/permits/cases/{returned.public_id}/")
        page.wait_for_selector('[data-testid="bill"]')
        page.tap('[data-testid="pay"]')
        page.wait_for_selector("[data-testid=bill] [data-testid=fee-lines]")
        page.tap("[data-testid=pay]")
        page.wait_for_selector("[data-testid=sandbox-pay]")
        page.tap("[data-testid=sandbox-pay]")
        page.wait_for_selector("[data-testid=paid-message]")
        assert fresh(case_id).step == "draft"

        assert staff_acts(case_id, "intake").step == "planning_head"
        assert staff_acts(case_id, "planning_head").step == "mayor"
        assert staff_acts(case_id, "mayor").status == Case.Status.ISSUED

        # the job prints the permit; its QR code is the verification page's address, which the browser opens
        settings.DOCUMENTS_PUBLIC_URL = portal_url
        with django_db_blocker.unblock():
            assert run_deferred_jobs() >= 1
            issued = Issued.objects.select_related("document").get(case_id=case_id)
            with issued.document.file.open("rb") as stored:
                pdf = stored.read()
        import io

        import segno
        from pypdf import PdfReader

        url = issuing.verification_url(issued)
        assert url == f"{portal_url}/verify/{issued.verification_code}/"
        image = PdfReader(io.BytesIO(pdf)).pages[0].images[0].image
        assert qr_matrix_of(image) == [[bool(v) for v in row] for row in segno.make(url, error="m").matrix]
        page.goto(f"{portal_url}/permits/cases/{returned.public_id}/")
        page.wait_for_selector('[data-testid="issued"]')
        shown = page.inner_text('[data-testid="verification-code"]').strip().translate(ASCII)
        assert shown == issued.verification_code
        checker = browser.new_context(locale="en-US")          # a bank clerk who scanned the code
        checker.add_cookies([{"name": "django_language", "value": "en", "url": portal_url}])
        verify = watch(checker.new_page())
        verify.goto(url)
        text = verify.inner_text("main")
        assert issued.number in text and "valid" in text.lower() and PHONE not in text
        assert issued.sha256 in text
        checker.close()

        # the public status page: every step done, the permit issued
        public = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
        public.add_cookies([{"name": "django_language", "value": "en", "url": portal_url}])
        status = watch(public.new_page())
        status.goto(f"{portal_url}/permits/status/")
        status.fill('[data-testid="status-code"]', tracking)
        status.fill('[data-testid="status-mobile"]', PHONE)
        status.tap('[data-testid="status-go"]')
        status.wait_for_selector('[data-testid="status"]')
        assert status.locator('[data-state="done"]').count() >= 10
        public.close()
    finally:
        phone.close()

    with django_db_blocker.unblock():
        kinds = list(CaseEvent.objects.filter(case_id=case_id).values_list("kind", flat=True))
        assert kinds.count("return") == 1 and kinds.count("resubmit") == 1 and kinds.count("payment") == 1
        from notices import delivery
        from notices.models import Message

        events = list(Message.objects.filter(phone=PHONE, channel="sms", event__startswith="permits.")
                      .values_list("event", flat=True))
        delivery.run_until_idle(max_seconds=60, idle_wait=0.5)     # what the worker does: the local SMS backend
        sms = list(LocalSms.objects.filter(phone=PHONE).values_list("body", flat=True))
    # an SMS at every step: submitted, each step entered, the return, the bill, the issue; all delivered
    assert events.count("permits.submitted") == 1 and events.count("permits.returned") == 1
    assert events.count("permits.payment_due") == 1 and events.count("permits.issued") == 1
    assert events.count("permits.step") >= 8
    about_the_case = [b for b in sms if tracking in b.translate(ASCII)]
    assert len(about_the_case) == len(events), (len(about_the_case), events)
    assert not [p for p in problems if "Content Security Policy" in p or "Uncaught" in p], problems
