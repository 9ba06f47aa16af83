"""Upkeep of the queue, run by periodic tasks: delete old results, retry the jobs of workers that died."""

import logging
import shutil
from datetime import timedelta

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from jobs.models import Job
from jobs.runner import result_dir

logger = logging.getLogger(__name__)


def delete_old_results(days: int | None = None) -> int:
    """Delete the result files of jobs finished more than JOBS_RESULT_DAYS ago (the rows stay, without result)."""
    days = settings.JOBS_RESULT_DAYS if days is None else days
    old = Job.objects.filter(finished_at__lt=timezone.now() - timedelta(days=days)).exclude(result_path="")
    count = 0
    for job in old:
        shutil.rmtree(result_dir(job), ignore_errors=True)
        Job.objects.filter(pk=job.pk).update(result_path="")
        count += 1
    return count


def retry_stalled(seconds: float | None = None) -> list[int]:
    """Retry the procrastinate jobs of workers that have sent no heartbeat for `seconds` (default
    JOBS_STALLED_SECONDS): a worker killed by SIGKILL or a power cut; their Job rows go back to queued.
    Returns the procrastinate job ids retried."""
    from asgiref.sync import async_to_sync
    from procrastinate.contrib.django import app

    seconds = settings.JOBS_STALLED_SECONDS if seconds is None else seconds
    manager = app.job_manager
    stalled = async_to_sync(manager.get_stalled_jobs)(seconds_since_heartbeat=seconds)
    retried = []
    for pj in stalled:
        try:
            async_to_sync(manager.retry_job_by_id_async)(pj.id, retry_at=timezone.now())
        except Exception:  # e.g. its queueing lock is held by a newer job of the same kind: that one will run
            logger.exception("could not retry procrastinate job %s (%s)", pj.id, pj.task_name)
            continue
        retried.append(pj.id)
        logger.warning("retrying procrastinate job %s (%s): its worker stopped sending heartbeats", pj.id,
                       pj.task_name)
    for job in Job.objects.filter(procrastinate_id__in=retried, status__in=Job.UNFINISHED):
        with translation.override(job.language):
            Job.objects.filter(pk=job.pk, status__in=Job.UNFINISHED).update(
                status=Job.Status.QUEUED, message=_("Restarted: the worker running it stopped"))
    return retried
