"""Raw SQL of the permit office's city-wide SLA report (permits/sla.py): one query per table, so that PostgreSQL does
the counting and the percentiles over every case and event at once (100k cases, a million events) instead of Python.

Stays in a step come from the case events that move a case (`to_step` set: submit, approve, return, resubmit,
site_visit, payment...): a stay begins with the event that entered the step and ends with the case's next such
event, whose `desk` is the desk that acted there (empty for the applicant's steps and the payment)."""

from __future__ import annotations

import datetime as dt

from django.db import connection

from common import municipality

OPEN = ("open", "returned", "awaiting_payment")

MOVES = """
    SELECT e.case_id, e.to_step AS step, e.at AS entered,
           lead(e.at) OVER w AS left_at, lead(e.desk) OVER w AS left_desk
    FROM permits_caseevent e
    WHERE e.to_step <> ''
    WINDOW w AS (PARTITION BY e.case_id ORDER BY e.at, e.id)
"""

SLA_STEPS = """
WITH moves AS (""" + MOVES + """), stays AS (
    SELECT c.case_type_id, m.step, coalesce(m.left_desk, '') AS desk,
           extract(epoch FROM m.left_at - m.entered) / 86400.0 AS days
    FROM moves m JOIN permits_case c ON c.id = m.case_id
    WHERE m.left_at IS NOT NULL
), times AS (
    SELECT case_type_id, step, desk,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY days) AS median_days,
           percentile_cont(0.9) WITHIN GROUP (ORDER BY days) AS p90_days,
           count(*) AS stays
    FROM stays GROUP BY case_type_id, step, desk
), opened AS (
    SELECT c.case_type_id, c.step, coalesce(d.code, '') AS desk, count(*) AS open,
           count(*) FILTER (WHERE c.step_due_at < %(now)s) AS overdue
    FROM permits_case c LEFT JOIN permits_desk d ON d.id = c.desk_id
    WHERE c.status IN ('open', 'returned', 'awaiting_payment')
    GROUP BY c.case_type_id, c.step, coalesce(d.code, '')
)
SELECT t.code, coalesce(o.step, s.step), coalesce(o.desk, s.desk), coalesce(o.open, 0), coalesce(o.overdue, 0),
       s.median_days, s.p90_days, coalesce(s.stays, 0)
FROM opened o
FULL JOIN times s ON s.case_type_id = o.case_type_id AND s.step = o.step AND s.desk = o.desk
JOIN permits_casetype t ON t.id = coalesce(o.case_type_id, s.case_type_id)
"""

ISSUED = """
SELECT t.code, to_char(date_trunc('month', i.issued_at AT TIME ZONE %(zone)s), 'YYYY-MM') AS month, count(*)
FROM permits_issued i
JOIN permits_case c ON c.id = i.case_id
JOIN permits_casetype t ON t.id = c.case_type_id
WHERE i.issued_at >= %(since)s
GROUP BY t.code, month
ORDER BY month, t.code
"""


# The public dashboard (permits/dashboards.py): the median days of the finished stays per case type and step, all
# desks together (the staff report above splits them by desk and adds the open cases).
STEP_DAYS = """
WITH moves AS (""" + MOVES + """)
SELECT c.case_type_id, m.step, percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM m.left_at - m.entered)
                                                                           / 86400.0), count(*)
FROM moves m JOIN permits_case c ON c.id = m.case_id
WHERE m.left_at IS NOT NULL
GROUP BY c.case_type_id, m.step
"""

# Issued documents per Jalali month (width_bucket over the months' first instants) and kind, for the public dashboard.
ISSUED_BY_MONTH = """
SELECT width_bucket(i.issued_at, %(months)s::timestamptz[]) AS m, i.kind, count(*)
FROM permits_issued i
GROUP BY 1, 2
"""

# The dashboards' data versions: the newest event (events are only added) and the layers' versions of the cases,
# case types and issued documents (their tables have the version trigger: permits/layers.py reads them).
DATA_VERSION = """
SELECT (SELECT coalesce(max(id), 0) FROM permits_caseevent),
       (SELECT coalesce(sum(version), 0) FROM layers_tableversion
        WHERE table_name IN ('permits_case', 'permits_casetype', 'permits_issued'))
"""


def sla_steps(now: dt.datetime) -> list[dict]:
    """Per case type, step and desk: open and overdue cases now, median and 90th percentile days of the finished
    stays in the step and how many there were. Ordered by case type and the step's place in its current workflow."""
    with connection.cursor() as cursor:
        cursor.execute(SLA_STEPS, {"now": now})
        rows = cursor.fetchall()
    order = _step_order()
    out = [{"case_type": code, "step": step, "desk": desk, "open": n_open, "overdue": overdue,
            "median_days": None if median is None else float(median), "p90_days": None if p90 is None else float(p90),
            "stays": stays}
           for code, step, desk, n_open, overdue, median, p90, stays in rows]
    out.sort(key=lambda r: (*order.get((r["case_type"], r["step"]), (10_000, 10_000, r["case_type"])), r["step"],
                            r["desk"]))
    return out


def issued_per_month(now: dt.datetime, months: int = 12) -> list[dict]:
    since = now - dt.timedelta(days=31 * months)
    with connection.cursor() as cursor:
        cursor.execute(ISSUED, {"zone": municipality.current().time_zone, "since": since})
        return [{"case_type": code, "month": month, "issued": n} for code, month, n in cursor.fetchall()]


def _step_order() -> dict:
    """{(case type code, step code): (case type order, step index, code)} from the current workflows."""
    from permits.models import CaseType

    order = {}
    for case_type in CaseType.objects.all():
        workflow = case_type.current()
        if workflow is None:
            continue
        for index, step in enumerate(workflow.definition.get("steps", [])):
            order[(case_type.code, step.get("code"))] = (case_type.order, index, case_type.code)
    return order


def step_days() -> list[tuple]:
    """(case type id, step code, median days, stays) of every step a case left."""
    with connection.cursor() as cursor:
        cursor.execute(STEP_DAYS)
        return cursor.fetchall()


def issued_by_month(thresholds: list[dt.datetime]) -> list[tuple]:
    """(month bucket: 1 = the first threshold's month, kind, issued)."""
    with connection.cursor() as cursor:
        cursor.execute(ISSUED_BY_MONTH, {"months": thresholds})
        return cursor.fetchall()


def data_version() -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(DATA_VERSION)
        return cursor.fetchone()
