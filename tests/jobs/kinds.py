"""Job kinds only the tests use, registered in the test process and in the workers started by workers.py."""

import os
import time

from jobs.registry import JobError, JobKind, Outcome, register
from jobs.runner import result_dir


def runs_log(job):
    from django.conf import settings

    return settings.VAR_DIR / "test-runs.log"


def sleepy(job, progress):
    """Sleeps `seconds` with progress, logging each start and end (pid and attempt) to count the runs."""
    seconds, steps = float(job.params.get("seconds", 3)), 30
    with open(runs_log(job), "a") as fh:
        fh.write(f"start {job.pk} {os.getpid()} {job.attempts}\n")
    for i in range(steps):
        progress(i, steps, f"step {i}")
        time.sleep(seconds / steps)
    out = result_dir(job) / "sleepy.txt"
    out.write_text(f"{os.getpid()} {job.attempts}\n")
    with open(runs_log(job), "a") as fh:
        fh.write(f"end {job.pk} {os.getpid()} {job.attempts}\n")
    return Outcome(out, "sleepy.txt", "text/plain")


def refuses(job, progress):
    raise JobError("the input was refused: " + job.params.get("why", ""))


def crashes(job, progress):
    return {}["no such key"]


def register_all():
    register(JobKind("test.sleepy", "آزمون", "Test sleep", run=sleepy))
    register(JobKind("test.refuses", "آزمون", "Test refusal", run=refuses))
    register(JobKind("test.crashes", "آزمون", "Test crash", run=crashes))
    register(JobKind("test.staff_only", "آزمون", "Test staff only", run=sleepy, permission="jobs.view_job"))
