"""In Debian's headless Chromium on a phone-size screen (390×844, touch) against the portal server (gunicorn on the
test database): a citizen who owns a parcel signs in with the SMS code, applies for a building permit, sees the
eligibility decision change as they type, uploads the deed and the ID card, sees the fee estimate and submits (the
tracking code, also by SMS); staff return the case (through the service); the citizen reads the reason, uploads a
new deed and sends it back; then follows it on the public status page.

No django_db mark: what these tests make must be committed for the server's connections to see it, and they delete
it afterwards."""

import re

import pytest
from django.db import connection

from tests.permits.conftest import PDF, a_proposal, owned_parcel
from tests.test_map_browser import axe_violations
from tests.zoning_fixtures import demo_rulebook  # noqa: F401  (a fixture: the decision needs rules)

pytestmark = pytest.mark.browser

PHONE = "09170008877"
STAFF = "permits-browser-staff"
ASCII = str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789")


def _cleanup():
    from django.contrib.auth.models import User

    from accounts.models import AuditEvent, Citizen, PropertyLink, SigninCode
    from accounts.signin import mask_phone
    from documents.models import IssuedDocument
    from notices.models import LocalSms, Message, Preference
    from permits.models import Case, CaseEvent, Consent, Document, Issued, SiteVisit

    users = User.objects.filter(username__in=[PHONE, STAFF])
    cases = Case.objects.filter(applicant_phone=PHONE)
    docs = Document.objects.filter(case__in=cases)
    for doc in docs:
        if doc.file.name:
            doc.file.storage.delete(doc.file.name)
    records = list(Issued.objects.filter(case__in=cases, record__isnull=False).values_list("record_id", flat=True))
    Issued.objects.filter(case__in=cases).delete()
    IssuedDocument.objects.filter(pk__in=records).delete()    # its file is the archive Document's, deleted above
    SiteVisit.objects.filter(case__in=cases).delete()
    Consent.objects.filter(used_by__in=cases).update(used_by=None)
    Document.objects.filter(pk__in=docs.filter(supersedes__isnull=False).values("pk")).delete()
    docs.delete()
    CaseEvent.objects.filter(case__in=cases).delete()
    cases.delete()
    AuditEvent.objects.filter(user__in=users).delete()
    AuditEvent.objects.filter(phone=mask_phone(PHONE)).delete()
    Message.objects.filter(user__in=users).delete()
    Message.objects.filter(phone=PHONE).delete()
    LocalSms.objects.filter(phone=PHONE).delete()
    Preference.objects.filter(phone=PHONE).delete()
    SigninCode.objects.filter(phone=PHONE).delete()
    PropertyLink.objects.filter(citizen__mobile=PHONE).delete()
    Citizen.objects.filter(mobile=PHONE).delete()
    users.delete()
    with connection.cursor() as cursor:  # this run's counters, so that runs within the hour do not add up
        cursor.execute("DELETE FROM accounts_ratecounter WHERE key LIKE 'number:%%' OR key LIKE 'address:%%' "
                       "OR key LIKE 'permits-%%'")


def _forget_types(loaded: bool) -> None:
    """The demo desks and case types this test committed (the served portal reads them), removed again when no case
    uses them, so that later tests find the database as it was."""
    from permits.models import Case, CaseType, Desk, Workflow

    if not loaded or Case.objects.exists():
        return
    Workflow.objects.all().delete()
    CaseType.objects.all().delete()
    for desk in Desk.objects.all():
        desk.staff.clear()
    Desk.objects.all().delete()
    Desk.history.all().delete()


@pytest.fixture
def committed(demo_city, demo_rulebook, django_db_blocker):
    """The demo case types and notice texts (committed: the server reads them), a parcel with one owner (whose
    record the citizen's account is linked to once they sign in), and a member of staff at every desk."""
    from notices import defaults
    from permits import loader
    from permits.models import CaseType, Desk
    from tests.conftest import make_user

    with django_db_blocker.unblock():
        loaded = not CaseType.objects.exists()
        defaults.load()
        loader.load(loader.read(loader.DEFAULT_DIR))
        _cleanup()
        parcel, owner = owned_parcel(2)
        staff = make_user(STAFF, "permits", is_staff=True)
        for desk in Desk.objects.all():
            desk.staff.add(staff)
    yield parcel, owner, staff
    with django_db_blocker.unblock():
        _cleanup()
        _forget_types(loaded)


def _last_code(phone: str) -> str:
    from notices.models import Message

    message = Message.objects.filter(event="accounts.signin_code", phone=phone).order_by("-id").first()
    assert message is not None, f"no sign-in code was queued for {phone}"
    return re.search(r"\b(\d{5,6})\b", message.body.translate(ASCII))[1]


def _link_property(owner) -> None:
    from accounts.models import Citizen, PropertyLink

    citizen = Citizen.objects.get(mobile=PHONE)
    citizen.national_id = owner.national_id
    citizen.save(update_fields=["national_id"])
    PropertyLink.objects.get_or_create(citizen=citizen, national_id=owner.national_id,
                                       defaults={"status": "verified", "method": "staff"})


@pytest.mark.django_db  # (also what makes pytest-django set the test database up when this module runs alone)
def test_the_demo_building_permit_asks_the_deed_and_the_id_card_at_the_application(permit_types):
    """The flow below uploads these two before submitting: the demo definition's documents due at the application."""
    from permits import service

    definition = service.definition_of(permit_types["building_permit"].current())
    assert {d.code for d in definition.documents_due(definition.first.code)} == {"deed", "national_card"}


def test_a_citizen_applies_on_a_phone_is_returned_resubmits_and_follows_the_status(browser, portal_url, committed,
                                                                                   django_db_blocker):
    from permits import service
    from permits.models import Case, CaseEvent

    parcel, owner, staff = committed
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True, locale="fa-IR")
    page = context.new_page()
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    try:
        # signs in with the SMS code, on the way to the apply page
        page.goto(f"{portal_url}/permits/apply/{parcel.pk}/")
        page.fill('[data-testid="phone"]', PHONE)
        page.tap('[data-testid="send-code"]')
        page.wait_for_selector('[data-testid="code"]')
        with django_db_blocker.unblock():
            code = _last_code(PHONE)
        page.fill('[data-testid="code"]', code)
        page.tap('[data-testid="verify"]')
        page.wait_for_selector('[data-testid="choose-form"]')
        assert page.is_disabled('[data-testid="type-building_permit"]')      # not (yet) an owner of it
        with django_db_blocker.unblock():
            _link_property(owner)       # the citizen's claim on the owner record, verified (accounts' own tests)
        page.reload()
        page.wait_for_selector('[data-testid="choose-form"]')
        assert page.get_attribute("html", "dir") == "rtl"
        assert page.is_visible('[data-testid="demo-definitions"]')
        assert page.evaluate("document.documentElement.scrollWidth") <= 390

        page.tap('label[for="type-building_permit"]')
        page.select_option('[data-testid="work-building_permit"]', "new")
        page.tap('[data-testid="start"]')
        page.wait_for_selector('[data-testid="proposal"]')
        assert page.evaluate("document.documentElement.scrollWidth") <= 390

        # the decision follows the typing: too many floors, then a proposal within the rules
        proposal = {**a_proposal(parcel), "parking_spaces": 3}
        page.select_option('[data-testid="p-land_use"]', "residential")
        for name in ("footprint_area", "units", "parking_spaces"):
            page.fill(f'[data-testid="p-{name}"]', str(proposal[name]))
        page.fill('[data-testid="p-floors"]', "12")
        page.fill('[data-testid="p-gross_floor_area"]', str(round(proposal["footprint_area"] * 12, 1)))
        page.wait_for_selector('[data-testid="decision"][data-status="not_eligible"]')
        assert page.locator('[data-testid="decision-box"] tr.status-fail').count() >= 1
        assert page.locator('[data-testid="decision-box"] cite').count() >= 3       # the rules' citations
        page.fill('[data-testid="p-floors"]', "2")
        page.fill('[data-testid="p-gross_floor_area"]', str(proposal["gross_floor_area"]))
        page.wait_for_selector('[data-testid="decision"][data-status="eligible"], '
                               '[data-testid="decision"][data-status="conditional"]')
        assert axe_violations(page, "main", min_contrast_checks=10) == []   # WCAG 2.1 AA, the form as it stands
        total = page.inner_text('[data-testid="fee-total"]')
        assert re.fullmatch(r"[۰-۹٬,]+", total.strip()) and int(re.sub(r"\D", "", total.translate(ASCII))) > 0

        # the deed and the ID card, through the documents API
        for kind in ("deed", "national_card"):
            page.set_input_files(f'[data-testid="file-{kind}"]', files=[
                {"name": f"{kind}.pdf", "mimeType": "application/pdf", "buffer": PDF}])
            page.wait_for_selector(f'[data-testid="doc-{kind}"][data-present="1"]')

        page.tap('[data-testid="submit"]')
        done = page.wait_for_selector('[data-testid="done"]', state="visible", timeout=20000)
        shown = page.inner_text('[data-testid="tracking-code"]').strip()
        assert re.fullmatch("[۰-۹]{10}", shown), shown
        tracking = shown.translate(ASCII)
        assert done.get_attribute("data-code") == tracking
        with django_db_blocker.unblock():
            from notices.models import Message

            case = Case.objects.get(tracking_code=tracking)
            assert case.status == Case.Status.OPEN and case.decision["status"] in ("eligible", "conditional")
            assert Message.objects.filter(event="permits.submitted", phone=PHONE, channel="sms").exists()
            # staff: the site visit done, the planning unit returns it for a better deed scan
            case = service.act(case, "approve", by=staff, revision=case.revision)
            deed = case.documents.get(kind="deed")
            service.act(case, "return", by=staff, revision=case.revision, note="سند خوانا نیست",
                        documents=[deed.pk])

        page.tap('[data-testid="case-link"]')
        page.wait_for_selector('[data-testid="correction"]')
        assert page.inner_text('[data-testid="return-reason"]').find("سند خوانا نیست") >= 0
        assert axe_violations(page, "main", min_contrast_checks=10) == []
        page.set_input_files('[data-testid="file-deed"]', files=[
            {"name": "deed-clear.pdf", "mimeType": "application/pdf", "buffer": PDF.replace(b"200 200", b"300 300")}])
        page.wait_for_selector('[data-testid="doc-deed"][data-version="2"]')
        page.fill('[data-testid="resubmit-note"]', "اسکن تازه")
        page.tap('[data-testid="resubmit"]')
        page.wait_for_selector('[data-testid="case"][data-status="open"]', timeout=20000)
        assert page.inner_text('[data-testid="case-holder"]').strip()
        with django_db_blocker.unblock():
            kinds = list(CaseEvent.objects.filter(case=case).exclude(kind="document")
                         .values_list("kind", flat=True))
            assert kinds == ["submit", "approve", "return", "resubmit"]
            assert case.documents.filter(kind="deed").count() == 2

        # the map's parcel sheet: the permits section lists the citizen's case
        point = parcel.geom.point_on_surface.transform(4326, clone=True)
        page.goto(f"{portal_url}/#19/{point.y:.7f}/{point.x:.7f}/{parcel.pk}")
        page.wait_for_selector("#sheet-permits[data-loaded='1']", timeout=45000)
        mine = page.inner_text("#sheet-permits [data-testid=permits-mine]")
        assert shown in mine, mine
        assert page.locator("#sheet-permits [data-testid=permits-apply] a").count() == 6

        # the public status page, in a fresh context (no sign-in), in English
        public = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
        public.add_cookies([{"name": "django_language", "value": "en", "url": portal_url}])
        status = public.new_page()
        status.goto(f"{portal_url}/permits/status/")
        status.fill('[data-testid="status-code"]', tracking)
        status.fill('[data-testid="status-mobile"]', PHONE)
        status.tap('[data-testid="status-go"]')
        status.wait_for_selector('[data-testid="status"]')
        assert status.inner_text('[data-testid="status-holder"]').strip() == "Planning unit"
        assert axe_violations(status, "main", min_contrast_checks=10) == []
        assert status.locator('[data-state="done"]').count() >= 2
        text = status.inner_text("main")
        assert PHONE not in text and owner.national_id not in text and "سند خوانا نیست" not in text
        assert status.evaluate("document.documentElement.scrollWidth") <= 390
        public.close()
        assert not [p for p in problems if "Content Security Policy" in p or "Uncaught" in p], problems
    finally:
        context.close()
