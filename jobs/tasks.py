"""The jobs app's procrastinate tasks (autodiscovered): run a job, retry jobs of dead workers, delete old results."""

from django.conf import settings
from procrastinate.contrib.django import app


@app.task(name="jobs.run_job", queue="jobs")
def run_job(job_id: str) -> str:
    from jobs.runner import execute

    return execute(job_id)


@app.periodic(cron=settings.JOBS_STALL_CHECK_CRON, periodic_id="stalled")
@app.task(name="jobs.retry_stalled", queue="jobs", queueing_lock="jobs.retry_stalled")
def retry_stalled(timestamp: int) -> int:
    from jobs import upkeep

    return len(upkeep.retry_stalled())


@app.periodic(cron="17 * * * *", periodic_id="results")
@app.task(name="jobs.delete_old_results", queue="jobs", queueing_lock="jobs.delete_old_results")
def delete_old_results(timestamp: int) -> int:
    from jobs import upkeep

    return upkeep.delete_old_results()


@app.periodic(cron="23 * * * *", periodic_id="queue_history")
@app.task(name="jobs.delete_old_queue_rows", queue="jobs", queueing_lock="jobs.delete_old_queue_rows")
def delete_old_queue_rows(timestamp: int) -> None:
    """The queue's own rows of finished jobs (a sweep every 10 s is 8,640 a day): kept QUEUE_HISTORY_HOURS, failed
    ones too (our Job and Message rows keep what people need)."""
    from asgiref.sync import async_to_sync  # back to the worker's event loop, whose connector the manager uses

    async_to_sync(app.job_manager.delete_old_jobs)(nb_hours=settings.QUEUE_HISTORY_HOURS, include_failed=True,
                                                   include_cancelled=True, include_aborted=True)
