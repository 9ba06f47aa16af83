"""The city-wide SLA report: open and overdue cases per case type, step and desk, the median and 90th percentile days
of the stays in each step (from the case events), the cases issued per month; the page and its CSV."""

import csv
import datetime as dt
import io
import statistics

import pytest
from django.utils import timezone

from permits import service, sla
from permits.models import Case, Issued
from tests.permits.conftest import a_proposal
from tests.permits.test_core import attach
from tests.permits.test_staff import PLANNING, signed_in

DAY = dt.timedelta(days=1)


def _case(permit_types, user, parcel, at):
    case = service.start(permit_types["building_permit"], parcel, user, work="new")
    service.save_proposal(case, a_proposal(parcel), by=user)
    for kind in ("deed", "national_card"):
        attach(case, kind, user)
    return service.submit(case, by=user, now=at)


def _act(case, action, desk_staff, at, **kw):
    case.refresh_from_db()
    return service.act(case, action, by=desk_staff[case.desk.code], revision=case.revision, now=at, **kw)


def _p90(values):
    """PostgreSQL's percentile_cont(0.9): linear between the closest ranks."""
    values = sorted(values)
    rank = 0.9 * (len(values) - 1)
    low = int(rank)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (rank - low)


@pytest.fixture
def history(permit_types, applicant, desk_staff):
    """Three cases with known times: A visited after 2 days and past planning after 3 more; B visited after 4 days
    (now overdue at planning); C submitted yesterday (at the visit, on time)."""
    user, parcel = applicant
    now = timezone.now()
    t0 = now - 20 * DAY
    a = _case(permit_types, user, parcel, t0)
    _act(a, "approve", desk_staff, t0 + 2 * DAY)
    _act(a, "approve", desk_staff, t0 + 5 * DAY, fields=PLANNING)
    b = _case(permit_types, user, parcel, t0 + DAY)
    _act(b, "approve", desk_staff, t0 + 5 * DAY)
    c = _case(permit_types, user, parcel, now - DAY)
    return {"a": a, "b": b, "c": c, "now": now}


def _row(rows, step, desk):
    return next(r for r in rows if r["case_type"] == "building_permit" and r["step"] == step and r["desk"] == desk)


def test_the_report_counts_as_a_count_by_hand(history):
    report = sla.report(history["now"])
    rows = report["steps"]
    visits = [2.0, 4.0]                                  # A: 2 days at the site visit, B: 4
    site = _row(rows, "site_visit", "inspection")
    assert site["stays"] == 2 and site["open"] == 1 and site["overdue"] == 0
    assert site["median_days"] == pytest.approx(statistics.median(visits), abs=1e-6)
    assert site["p90_days"] == pytest.approx(_p90(visits), abs=1e-6)
    planning = _row(rows, "planning_position", "planning")
    assert planning["stays"] == 1 and planning["median_days"] == pytest.approx(3.0, abs=1e-6)
    assert planning["open"] == 1 and planning["overdue"] == 1        # B, due 10 days ago
    drawing = _row(rows, "drawing_instruction", "planning")
    assert drawing["open"] == 1 and drawing["overdue"] == 1 and drawing["stays"] == 0
    # open and overdue add up to what the cases say
    cases = Case.objects.filter(status__in=("open", "returned", "awaiting_payment"))
    assert sum(r["open"] for r in rows) == cases.count()
    assert sum(r["overdue"] for r in rows) == cases.filter(step_due_at__lt=history["now"]).count()
    # the steps in their workflow order
    steps = [r["step"] for r in rows if r["case_type"] == "building_permit"]
    assert steps.index("site_visit") < steps.index("planning_position") < steps.index("drawing_instruction")


def test_issued_per_month(history):
    now = history["now"]
    last_month = (timezone.localtime(now).replace(day=1) - DAY).replace(day=10)
    for case, at, number in ((history["a"], now, "T-1"), (history["b"], now, "T-2"), (history["c"], last_month, "T-3")):
        Issued.objects.create(case=case, parcel=case.parcel, kind="permit", number=number,
                              verification_code=number + "0000", issued_at=at)
    issued = {(r["case_type"], r["month"]): r["issued"] for r in sla.report(now)["issued"]}
    this = timezone.localtime(now).strftime("%Y-%m")
    assert issued[("building_permit", this)] == 2
    assert issued[("building_permit", last_month.strftime("%Y-%m"))] == 1


def test_the_page_and_the_csv(client, history, desk_staff, applicant):
    signed_in(client, desk_staff["planning"])
    page = client.get("/permits/staff/sla/")
    assert page.status_code == 200
    assert b'data-step="site_visit" data-desk="inspection"' in page.content
    answer = client.get("/permits/staff/sla.csv")
    assert answer.status_code == 200 and answer["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(answer.content.decode())))
    assert rows[0][:5] == ["case_type", "step", "desk", "open", "overdue"]
    site = next(r for r in rows if r[:3] == ["building_permit", "site_visit", "inspection"])
    assert site[3:] == ["1", "0", "3.00", "3.80", "2"]
    # not for citizens nor anonymous users
    user, _parcel = applicant
    assert signed_in(client, user).get("/permits/staff/sla/").status_code == 403
    client.logout()
    assert client.get("/permits/staff/sla.csv").status_code == 302
