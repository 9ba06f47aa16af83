"""The permit office's SLA: each step has its days (the workflow definition), a case's `step_due_at` is when its step
must be done. Here: the colour of a case in the inbox (on time / due within a day / overdue) and the city-wide report
per case type, step and desk (open, overdue, days spent per step, cases issued per month), each table one SQL query
(permits/queries.py) so that it stays close to what the plain SQL costs on 100k cases."""

from __future__ import annotations

import csv
import datetime as dt
import io

from django.utils import timezone

from permits import queries

DUE_SOON = dt.timedelta(hours=24)   # due within this: amber; past its due time: overdue (red)

ON_TIME, DUE_SOON_STATE, OVERDUE, NO_DUE, FINISHED = "on_time", "due_soon", "overdue", "no_due", "finished"
STATES = (ON_TIME, DUE_SOON_STATE, OVERDUE, NO_DUE, FINISHED)
COLOURS = {ON_TIME: "#2e7d32", DUE_SOON_STATE: "#f9a825", OVERDUE: "#c62828", NO_DUE: "#546e7a",
           FINISHED: "#757575"}
OPEN_STATUSES = ("open", "returned", "awaiting_payment")


def state(status: str, due_at: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """The SLA state of a case from its status and its step's due time."""
    if status not in OPEN_STATUSES:
        return FINISHED
    if due_at is None:
        return NO_DUE
    now = now or timezone.now()
    if due_at < now:
        return OVERDUE
    if due_at - now <= DUE_SOON:
        return DUE_SOON_STATE
    return ON_TIME


# -- the city-wide report --------------------------------------------------------------------------------------------

def report(now: dt.datetime | None = None, months: int = 12) -> dict:
    """{"steps": [...], "issued": [...]}: per case type, step and desk the open and overdue cases and the median and
    90th percentile of days spent in the step (finished stays, from the case events); per case type and month the
    cases issued (the last `months` months)."""
    now = now or timezone.now()
    return {"steps": queries.sla_steps(now), "issued": queries.issued_per_month(now, months), "now": now}


def as_csv(data: dict) -> str:
    """The report as CSV (UTF-8, one header row per table, the tables separated by an empty line)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["case_type", "step", "desk", "open", "overdue", "median_days", "p90_days", "stays"])
    for row in data["steps"]:
        writer.writerow([row["case_type"], row["step"], row["desk"], row["open"], row["overdue"],
                         _num(row["median_days"]), _num(row["p90_days"]), row["stays"]])
    writer.writerow([])
    writer.writerow(["case_type", "month", "issued"])
    for row in data["issued"]:
        writer.writerow([row["case_type"], row["month"], row["issued"]])
    return out.getvalue()


def _num(value) -> str:
    return "" if value is None else f"{value:.2f}"
