"""The life of a report, as data: which status may follow which, and who may make the move. Pure Python (no Django):
the service (reports/service.py) asks `check` before every change, so an out-of-order change is refused the same way
from the staff inbox, the admin, Open311 and the tests.

    submitted -> accepted -> assigned -> in_progress -> resolved -> closed
         \\           \\          \\            \\           \\-> submitted (the reporter reopens it, within the window)
          \\-> rejected, merged (from any open status)

A report is *open* until it is resolved, rejected or merged; *closed* is the end of a resolved one (rated by the
reporter, or the reopen window passed). Open311 calls the open ones "open" and every other one "closed".
"""

from common.text import MessageError, gettext_noop

SUBMITTED, ACCEPTED, ASSIGNED, IN_PROGRESS = "submitted", "accepted", "assigned", "in_progress"
RESOLVED, REJECTED, MERGED, CLOSED = "resolved", "rejected", "merged", "closed"

STATUSES = (SUBMITTED, ACCEPTED, ASSIGNED, IN_PROGRESS, RESOLVED, REJECTED, MERGED, CLOSED)
OPEN = frozenset({SUBMITTED, ACCEPTED, ASSIGNED, IN_PROGRESS})
FINISHED = frozenset({RESOLVED, REJECTED, MERGED, CLOSED})

# Who moves a report: "staff" (the department's staff, reports.handle_report), "reporter" (whoever reported it or
# added their voice), "system" (the periodic closing of resolved reports).
STAFF, REPORTER, SYSTEM = "staff", "reporter", "system"

# from -> {to: who may}
TRANSITIONS: dict[str, dict[str, frozenset[str]]] = {
    SUBMITTED: {ACCEPTED: frozenset({STAFF}), ASSIGNED: frozenset({STAFF}), IN_PROGRESS: frozenset({STAFF}),
                RESOLVED: frozenset({STAFF}), REJECTED: frozenset({STAFF}), MERGED: frozenset({STAFF})},
    ACCEPTED: {ASSIGNED: frozenset({STAFF}), IN_PROGRESS: frozenset({STAFF}), RESOLVED: frozenset({STAFF}),
               REJECTED: frozenset({STAFF}), MERGED: frozenset({STAFF})},
    ASSIGNED: {IN_PROGRESS: frozenset({STAFF}), ASSIGNED: frozenset({STAFF}), RESOLVED: frozenset({STAFF}),
               REJECTED: frozenset({STAFF}), MERGED: frozenset({STAFF})},
    IN_PROGRESS: {RESOLVED: frozenset({STAFF}), ASSIGNED: frozenset({STAFF}), REJECTED: frozenset({STAFF}),
                  MERGED: frozenset({STAFF})},
    RESOLVED: {CLOSED: frozenset({REPORTER, SYSTEM, STAFF}), SUBMITTED: frozenset({REPORTER})},
    REJECTED: {},
    MERGED: {},
    CLOSED: {},
}

# What a move needs besides the new status.
NEEDS_REASON = frozenset({REJECTED})  # a rejection says why (the reporter reads it)
NEEDS_TARGET = frozenset({MERGED})  # a merge names the report it is merged into


class TransitionRefused(MessageError):
    """A status change that does not follow the workflow (or not by this actor): the message says what may follow."""


def allowed(current: str, actor: str) -> list[str]:
    """The statuses `actor` may move a report in `current` to."""
    return [to for to, who in TRANSITIONS.get(current, {}).items() if actor in who]


def check(current: str, new: str, actor: str) -> None:
    """Raise TransitionRefused unless `actor` may move a report from `current` to `new`."""
    if current not in TRANSITIONS:
        raise TransitionRefused(gettext_noop("Unknown status '%(status)s'."), {"status": current})
    if new not in TRANSITIONS:
        raise TransitionRefused(gettext_noop("Unknown status '%(status)s'."), {"status": new})
    who = TRANSITIONS[current].get(new)
    if who is None or actor not in who:
        nexts = ", ".join(allowed(current, actor)) or "-"
        raise TransitionRefused(
            gettext_noop("A report that is %(current)s cannot become %(new)s; it may become: %(next)s."),
            {"current": current, "new": new, "next": nexts})


def is_open(status: str) -> bool:
    return status in OPEN


def open311_status(status: str) -> str:
    """GeoReport v2 knows two: open and closed."""
    return "open" if status in OPEN else "closed"
