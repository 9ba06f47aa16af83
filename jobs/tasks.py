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
