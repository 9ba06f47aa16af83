"""The demo permit cases (permits/demo.py, `./run demo`): made through the service, so every case has a consistent
history; a rerun replaces them."""

from django.core.management import call_command

from permits import demo
from permits.models import Case, CaseEvent


def test_demo_cases_are_made_through_the_service_and_replaced_on_a_rerun(permit_types):
    by_status = demo.generate(count=15, seed=3)
    cases = Case.objects.filter(applicant_phone__startswith=demo.DEMO_PHONE_PREFIX)
    assert cases.count() == 15 == sum(by_status.values())
    assert len(by_status) >= 2                      # not all at one place
    for case in cases:
        kinds = list(CaseEvent.objects.filter(case=case).values_list("kind", flat=True))
        assert kinds[0] == "submit" and case.tracking_code
        moves = list(CaseEvent.objects.filter(case=case).exclude(to_step="").order_by("at", "id")
                     .values_list("from_step", "to_step"))
        for (_a, to), (frm, _b) in zip(moves, moves[1:]):
            assert to == frm                        # each move starts where the last one ended
        if case.is_open and case.status == Case.Status.OPEN:
            assert case.desk is not None and case.step_due_at is not None
    call_command("load_demo_permits", "--count", "5", "--seed", "4")
    assert Case.objects.filter(applicant_phone__startswith=demo.DEMO_PHONE_PREFIX).count() == 5
    call_command("load_demo_permits", "--count", "9", "--if-absent")
    assert Case.objects.filter(applicant_phone__startswith=demo.DEMO_PHONE_PREFIX).count() == 5
