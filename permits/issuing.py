"""Issuing: the last step of a case makes its document (a permit, a certificate, an inquiry's answer, a recorded
decision): a numbered Issued row with a verification code, in the case's transaction; its PDF is made once, after
commit, in the job queue (permits/tasks.py) and kept in the parcel's archive (a Document)."""

from __future__ import annotations

import datetime as dt

import jdatetime
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from common import codes
from permits.models import Case, Issued

VERIFICATION_LENGTH = 12


def _number(kind: str, year: int) -> str:
    prefix = {"permit": "P", "completion_certificate": "C", "certificate": "N", "inquiry": "Q",
              "decision": "D"}.get(kind, "X")
    last = (Issued.objects.select_for_update().filter(number__startswith=f"{prefix}-{year}-")
            .aggregate(m=Max("number"))["m"])
    seq = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}-{year}-{seq:05d}"


def _verification_code() -> str:
    for _attempt in range(20):
        code = codes.new_code(length=VERIFICATION_LENGTH)
        if not Issued.objects.filter(verification_code=code).exists():
            return code
    raise RuntimeError("no free verification code")  # pragma: no cover


def approved_of(case: Case) -> dict:
    """What was approved: the proposal's figures and what the steps recorded (public fields only)."""
    proposal = {k: v for k, v in case.proposal.items() if k != "footprint" and k != "lines"}
    recorded = {step: values for step, values in case.outcome.items() if not step.startswith("_")}
    return {"work": case.work, "proposal": proposal, "recorded": recorded,
            "decision_status": (case.decision or {}).get("status"), "rulebook": (case.decision or {}).get("rulebook")}


def issue(case: Case, definition, now: dt.datetime) -> Issued:
    """The Issued row of a case that reached its issue step (once: a second call returns it)."""
    existing = Issued.objects.filter(case=case).first()
    if existing:
        return existing
    kind = definition.issues if definition.issues != "none" else "decision"
    valid_until = (now + dt.timedelta(days=definition.validity_days)).date() if definition.validity_days else None
    issued = Issued.objects.create(case=case, parcel_id=case.parcel_id, kind=kind,
                                   number=_number(kind, jdatetime.date.fromgregorian(date=timezone.localdate(now)).year),
                                   verification_code=_verification_code(), issued_at=now, valid_until=valid_until,
                                   approved=approved_of(case), conditions=list(definition.raw.get("conditions", [])))
    transaction.on_commit(lambda: _render_later(issued.pk))
    return issued


def _render_later(issued_id: int) -> None:
    # deferred by name (permits/tasks.py defines it and calls render below): no import circle between the two
    from procrastinate.contrib.django import app

    app.configure_task("permits.render_issued").defer(issued_id=issued_id)
