"""Running one job inside a worker (the procrastinate task jobs.run_job calls execute): safe to run twice (a
retried job starts again from scratch and overwrites its result directory), and every outcome is recorded on the
Job row: done with its file, failed with a message for people, or cancelled."""

import logging
import shutil
import time
from pathlib import Path

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from common import municipality
from common.errors import ApiError
from jobs import registry
from jobs.models import Job
from jobs.registry import Cancelled, JobError, Outcome

logger = logging.getLogger(__name__)

PROGRESS_INTERVAL = 1.0  # seconds between two writes of a job's progress


def result_dir(job: Job) -> Path:
    """VAR_DIR/jobs/<id> of the job's municipality (each database numbers its jobs from 1)."""
    return municipality.var_dir() / "jobs" / str(job.pk)


class ProgressWriter:
    """progress(done, total, message=""): writes the job's progress at most once a PROGRESS_INTERVAL on a
    connection of its own, in autocommit (the job's work may hold a long transaction on the usual connection,
    whose writes nobody sees before it commits), and raises Cancelled when a cancel was requested."""

    def __init__(self, job: Job, interval: float = PROGRESS_INTERVAL):
        self.job_id = job.pk
        self.interval = interval
        self.last = None
        self.connection = None

    def __call__(self, done: float, total: float, message: str = "") -> None:
        now = time.monotonic()
        if self.last is not None and now - self.last < self.interval:
            return
        self.last = now
        fraction = min(1.0, max(0.0, done / total)) if total else 0.0
        if self.connection is None:
            self.connection = connections.create_connection(DEFAULT_DB_ALIAS)  # autocommit, not in the pool
        with self.connection.cursor() as cursor:
            cursor.execute("UPDATE jobs_job SET progress = %s, message = %s WHERE id = %s RETURNING cancel_requested",
                           [fraction, str(message)[:500], self.job_id])
            row = cursor.fetchone()
        if row and row[0]:
            raise Cancelled()

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def _finish(job: Job, **fields) -> bool:
    """Record the end of a run unless the row moved on meanwhile (another run took it); True if recorded."""
    return bool(Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING, attempts=job.attempts)
                .update(finished_at=timezone.now(), **fields))


def execute(job_id: str) -> str:
    """Run the job `job_id` to its end; returns its final status. A queued or running row is (re)started from
    scratch; a finished one (done, failed, cancelled) is left alone."""
    from django.db.models import F

    job = Job.objects.filter(pk=job_id).first()
    if job is None:
        logger.warning("job %s: no such job (deleted?)", job_id)
        return "missing"
    if job.is_finished:
        return job.status
    out_dir = result_dir(job)
    if job.cancel_requested:
        Job.objects.filter(pk=job.pk).update(status=Job.Status.CANCELLED, finished_at=timezone.now())
        return Job.Status.CANCELLED
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.RUNNING, started_at=timezone.now(), finished_at=None, progress=0.0, message="", error="",
        result_path="", result_name="", content_type="", attempts=F("attempts") + 1)
    job.refresh_from_db()
    shutil.rmtree(out_dir, ignore_errors=True)  # a re-run starts from scratch
    out_dir.mkdir(parents=True)
    progress = ProgressWriter(job)
    with translation.override(job.language or settings.LANGUAGE_CODE):
        try:
            kind = registry.get(job.kind)
            outcome = kind.run(job, progress) or Outcome()
        except Cancelled:
            shutil.rmtree(out_dir, ignore_errors=True)
            _finish(job, status=Job.Status.CANCELLED, message=_("Cancelled"))
            return Job.Status.CANCELLED
        except (JobError, ApiError) as exc:
            shutil.rmtree(out_dir, ignore_errors=True)
            _finish(job, status=Job.Status.FAILED, error=exc.message[:2000])
            return Job.Status.FAILED
        except Exception:
            logger.exception("job %s (%s) failed", job.pk, job.kind)
            shutil.rmtree(out_dir, ignore_errors=True)
            _finish(job, status=Job.Status.FAILED,
                    error=_("The job failed on the server. It has been recorded; please try again later."))
            return Job.Status.FAILED
        finally:
            progress.close()
        fields = {"status": Job.Status.DONE, "progress": 1.0, "message": outcome.message[:500]}
        if outcome.path is not None:
            fields.update(result_path=str(outcome.path), result_name=outcome.name or Path(outcome.path).name,
                          content_type=outcome.content_type)
        _finish(job, **fields)
    return Job.Status.DONE
