"""The permit case's path through the service: definitions as data, submission with the frozen decision, each desk's
actions, return and resubmission, the fee bill paid through the gateway, issuing, concurrency and refusals."""

import pytest
from django.core.files.base import ContentFile

from permits import definitions, loader, service
from permits.models import Case, CaseEvent, Document, Issued, Workflow
from tests.permits.conftest import PDF, a_proposal, citizen_owning, owned_parcel


@pytest.fixture(autouse=True)
def _in_english(english):
    """The messages these tests match are the English ones (the Persian are the catalogue's)."""


def attach(case, kind, user, content=PDF, name="doc.pdf"):
    """A document row as the upload path stores it (permits/files.py checks real uploads; tests/permits/test_files)."""
    import hashlib

    doc = Document(parcel_id=case.parcel_id, case=case, kind=kind, name=name, extension=".pdf",
                   content_type="application/pdf", size=len(content), sha256=hashlib.sha256(content).hexdigest(),
                   uploaded_by=user, step=case.step)
    doc.file.save(name, ContentFile(content), save=False)
    doc.save()
    return doc


def staff_act(case, action, desk_staff, **kw):
    case.refresh_from_db()
    return service.act(case, action, by=desk_staff[case.desk.code], revision=case.revision, **kw)


def _draft(permit_types, applicant, work="new"):
    user, parcel = applicant
    case = service.start(permit_types["building_permit"], parcel, user, work=work)
    service.save_proposal(case, a_proposal(parcel), by=user)
    for kind in ("deed", "national_card"):
        attach(case, kind, user)
    return case


# -- definitions ------------------------------------------------------------------------------------------------

def test_the_demo_definitions_load_once_and_a_change_makes_a_new_version(permit_types, tmp_path):
    assert set(permit_types) == {"building_permit", "completion_certificate", "no_violation", "planning_inquiry",
                                 "subdivision", "land_use_change"}
    counts = loader.load(loader.read(loader.DEFAULT_DIR))
    assert counts["new_versions"] == 0 and counts["unchanged"] == 6
    text = (loader.DEFAULT_DIR / "no_violation.toml").read_text(encoding="utf-8").replace("days = 5", "days = 7")
    (tmp_path / "no_violation.toml").write_text(text, encoding="utf-8")
    assert loader.load(loader.read(tmp_path / "no_violation.toml"))["new_versions"] == 1
    versions = Workflow.objects.filter(case_type__code="no_violation").order_by("version")
    assert [w.version for w in versions] == [1, 2]
    assert service.definition_of(versions[1]).step("inspection").days == 7


@pytest.mark.parametrize("mutation, problem", [
    (lambda d: d["steps"].pop(0), "the first step must be of kind apply"),
    (lambda d: d["steps"].pop(), "the last step must be of kind issue"),
    (lambda d: d["steps"][2].update(desk="nowhere"), "unknown desk nowhere"),
    (lambda d: d["steps"][2].update(days=999), "days must be a whole number"),
    (lambda d: d["documents"][0].update(types=["exe"]), "types must be some of"),
    (lambda d: d["documents"][2].update(required_at="nowhere"), "unknown step nowhere"),
    (lambda d: d["steps"][2].update(actions=["approve", "dance"]), "unknown action dance"),
])
def test_a_bad_definition_is_refused_whole_naming_the_problem(permit_types, mutation, problem):
    import tomllib

    data = tomllib.loads((loader.DEFAULT_DIR / "building_permit.toml").read_text(encoding="utf-8"))
    mutation(data)
    with pytest.raises(definitions.DefinitionError) as info:
        definitions.parse(data, {"intake", "inspection", "planning", "revenue", "planning_head", "mayor"})
    assert problem in str(info.value)


def test_a_fee_formula_naming_an_unknown_fact_is_refused_by_the_loader(permit_types, tmp_path):
    text = (loader.DEFAULT_DIR / "completion_certificate.toml").read_text(encoding="utf-8")
    (tmp_path / "completion_certificate.toml").write_text(text.replace('formula = "2000000"',
                                                                       'formula = "2000000 * bedrooms"'), "utf-8")
    with pytest.raises(loader.PermitTypesError, match="bedrooms"):
        loader.read(tmp_path / "completion_certificate.toml")


# -- who may apply ------------------------------------------------------------------------------------------------

def test_only_the_owner_may_apply_for_a_parcel_that_needs_ownership(permit_types, applicant):
    _user, parcel = applicant
    other_parcel, other_owner = owned_parcel(1)
    stranger = citizen_owning(other_owner, "09171230002")
    with pytest.raises(service.NotAllowed):
        service.start(permit_types["building_permit"], parcel, stranger, work="new")
    # an inquiry needs no ownership
    assert service.start(permit_types["planning_inquiry"], parcel, stranger).status == Case.Status.DRAFT


# -- the whole path -----------------------------------------------------------------------------------------------

def test_a_building_permit_goes_through_every_step_to_an_issued_permit(permit_types, applicant, desk_staff,
                                                                        django_capture_on_commit_callbacks):
    from dues import api as dues_api
    from notices.models import Message

    user, parcel = applicant
    case = _draft(permit_types, applicant)
    with pytest.raises(Exception):
        service.act(case, "approve", by=desk_staff["inspection"], revision=case.revision)   # a draft: no desk
    case = service.submit(case, by=user)
    assert case.tracking_code and case.status == Case.Status.OPEN and case.step == "site_visit"
    assert case.desk.code == "inspection" and case.step_due_at is not None
    assert case.decision["rulebook"] and all("citation" in c for c in case.decision["checks"])
    assert service.submit(case, by=user).pk == case.pk                  # a double submit: the one case
    assert Case.objects.filter(applicant=user).count() == 1

    staff_act(case, "approve", desk_staff)                               # site visit
    with pytest.raises(Exception, match="Frontage|frontage"):            # the planning position must be recorded
        staff_act(case, "approve", desk_staff, fields={"plan_position": "residential"})
    case = staff_act(case, "approve", desk_staff,
                     fields={"plan_position": "residential", "frontage_m": "12.5", "setback_m": "2"})
    assert case.outcome["planning_position"]["frontage_m"] == 12.5
    case = staff_act(case, "approve", desk_staff, fields={"instruction_number": "DN-12"})
    assert case.step == "approved_drawings"
    with pytest.raises(Exception, match="drawings|Attach"):              # drawings not attached yet
        staff_act(case, "approve", desk_staff)
    attach(case, "drawings", user)
    attach(case, "structure", user)
    case = staff_act(case, "approve", desk_staff)
    case = staff_act(case, "approve", desk_staff, fields={"renewal_dues": "settled"})
    assert case.step == "payment" and case.status == Case.Status.AWAITING_PAYMENT and case.desk is None
    bill = dues_api.fee_bill(service.fee_reference(case))
    assert bill["amount"] == case.fee_total > 0 and bill["status"] == "issued" and not bill["paid"]

    # paid through the sandbox gateway: the case moves on once, however often the bank calls back
    service.payment_recorded(service.fee_reference(case), bill["id"], bill["amount"])
    service.payment_recorded(service.fee_reference(case), bill["id"], bill["amount"])
    case.refresh_from_db()
    assert case.step == "draft" and case.status == Case.Status.OPEN
    assert CaseEvent.objects.filter(case=case, kind="payment").count() == 1
    staff_act(case, "approve", desk_staff)
    staff_act(case, "approve", desk_staff)
    with django_capture_on_commit_callbacks(execute=False):
        case = staff_act(case, "approve", desk_staff)                    # the mayor signs
    assert case.status == Case.Status.ISSUED and case.step == "issued"
    issued = Issued.objects.get(case=case)
    assert issued.kind == "permit" and issued.valid_until and len(issued.verification_code) == 12
    assert issued.approved["proposal"]["floors"] == 2
    events = list(CaseEvent.objects.filter(case=case).values_list("kind", flat=True))
    assert events[0] == "submit" and events.count("approve") == 8 and "payment" in events
    sent = set(Message.objects.filter(phone=user.citizen.mobile).values_list("event", flat=True))
    assert {"permits.submitted", "permits.step", "permits.payment_due", "permits.issued"} <= sent


def test_a_returned_case_is_corrected_and_goes_back_to_the_step_that_returned_it(permit_types, applicant, desk_staff):
    user, _parcel = applicant
    case = service.submit(_draft(permit_types, applicant), by=user)
    staff_act(case, "approve", desk_staff)
    with pytest.raises(Exception, match="reason"):
        staff_act(case, "return", desk_staff)
    case = staff_act(case, "return", desk_staff, note="The deed scan is unreadable")
    assert case.status == Case.Status.RETURNED and case.desk is None and case.status_note
    attach(case, "deed", user)
    case = service.resubmit(case, by=user, revision=case.revision, note="new scan")
    assert case.step == "planning_position" and case.status == Case.Status.OPEN
    kinds = list(CaseEvent.objects.filter(case=case).values_list("kind", flat=True))
    assert kinds == ["submit", "approve", "return", "resubmit"]


def test_a_site_visit_asked_at_a_step_comes_back_to_it(permit_types, applicant, desk_staff):
    user, _parcel = applicant
    case = service.submit(_draft(permit_types, applicant), by=user)
    staff_act(case, "approve", desk_staff)                      # the first visit
    case = staff_act(case, "site_visit", desk_staff)
    assert case.step == "site_visit" and case.desk.code == "inspection"
    case = staff_act(case, "approve", desk_staff)
    assert case.step == "planning_position"


def test_out_of_order_and_wrong_desk_actions_are_refused(permit_types, applicant, desk_staff):
    user, _parcel = applicant
    case = service.submit(_draft(permit_types, applicant), by=user)
    with pytest.raises(service.NotAllowed):
        service.act(case, "approve", by=desk_staff["mayor"], revision=case.revision)
    with pytest.raises(service.CaseConflict):
        service.act(case, "site_visit", by=desk_staff["inspection"], revision=case.revision)  # not at a visit step
    with pytest.raises(service.CaseConflict):
        service.resubmit(case, by=user, revision=case.revision)                               # not returned


def test_two_staff_acting_at_once_the_second_gets_a_conflict_and_nothing_is_lost(permit_types, applicant,
                                                                                  desk_staff):
    user, _parcel = applicant
    case = service.submit(_draft(permit_types, applicant), by=user)
    seen = case.revision
    service.act(case, "approve", by=desk_staff["inspection"], revision=seen)
    with pytest.raises(service.CaseConflict) as info:
        service.act(case, "reject", by=desk_staff["inspection"], revision=seen, note="too late")
    assert info.value.status == 409
    case.refresh_from_db()
    assert case.step == "planning_position" and case.status == Case.Status.OPEN
    assert CaseEvent.objects.filter(case=case, kind="reject").count() == 0
