"""Starting, reading and cancelling jobs.

`start(kind, params, user)` writes the Job row and defers the procrastinate task `jobs.run_job` in one transaction:
the queued job exists exactly when the row does. Upkeep (old results, dead workers): jobs/upkeep.py."""

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from common.errors import ApiError, Forbidden, NotFound
from jobs import registry
from jobs.models import Job
from jobs.tasks import run_job


class TooManyJobs(ApiError):
    status = 429
    code = "too_many_jobs"


def start(kind: str, params: dict, user=None, *, owned: list[str] | None = None) -> Job:
    """Queue a job of `kind` (a registered code) for `user` (None: an anonymous visitor, whose browser session keeps
    the ids in `owned`). Checks the kind's permission and the limit of unfinished jobs per person."""
    spec = registry.get(kind)
    signed_in = user is not None and user.is_authenticated
    if spec.permission and not (signed_in and user.has_perm(spec.permission)):
        raise Forbidden(_("Starting “%(title)s” needs the permission %(permission)s.")
                        % {"title": spec.title, "permission": spec.permission})
    mine = Job.objects.filter(user=user) if signed_in else Job.objects.filter(user=None, pk__in=owned or [])
    if mine.filter(status__in=Job.UNFINISHED).count() >= settings.JOBS_MAX_ACTIVE:
        raise TooManyJobs(_("You already have %(count)s jobs waiting or running; wait for one to finish.")
                          % {"count": settings.JOBS_MAX_ACTIVE})
    with transaction.atomic():
        job = Job.objects.create(kind=kind, params=params, user=user if signed_in else None,
                                 language=translation.get_language() or settings.LANGUAGE_CODE)
        job.procrastinate_id = run_job.configure(queue=spec.queue).defer(job_id=str(job.pk))
        job.save(update_fields=["procrastinate_id"])
    return job


def may_see(user, job: Job, owned: list[str] | None = None) -> bool:
    """Its owner (a signed-in user, or the browser session that started it) or staff with jobs.view_job."""
    if user is not None and user.is_authenticated:
        if job.user_id == user.pk or user.has_perm("jobs.view_job"):
            return True
    return job.user_id is None and str(job.pk) in (owned or [])


def visible_job(user, job_id, owned: list[str] | None = None) -> Job:
    """The job if `user` may see it; 404 otherwise (whether it exists is nobody else's business)."""
    job = Job.objects.filter(pk=job_id).first()
    if job is None or not may_see(user, job, owned):
        raise NotFound(_("No such job."))
    return job


def status_labels() -> dict[str, str]:
    return {Job.Status.QUEUED: _("Waiting"), Job.Status.RUNNING: _("Running"), Job.Status.DONE: _("Done"),
            Job.Status.FAILED: _("Failed"), Job.Status.CANCELLED: _("Cancelled")}


def status(job: Job) -> dict:
    try:
        title = registry.get(job.kind).title
    except registry.JobError:
        title = job.kind
    done = job.status == Job.Status.DONE and bool(job.result_path)
    return {"id": str(job.pk), "kind": job.kind, "title": title, "status": job.status,
            "status_label": status_labels()[job.status], "progress": round(job.progress, 4), "message": job.message,
            "result_url": f"/api/jobs/{job.pk}/result" if done else None,
            "result_name": job.result_name or None, "error": job.error or None,
            "created_at": job.created_at.isoformat(),
            "finished_at": job.finished_at.isoformat() if job.finished_at else None}


def result_file(job: Job):
    """The open result file of a finished job (404 while it runs, after it failed or once it was cleaned up)."""
    if job.status != Job.Status.DONE or not job.result_path:
        raise NotFound(_("This job has no result to download (yet)."))
    try:
        return open(job.result_path, "rb")
    except FileNotFoundError:
        raise NotFound(_("The result of this job has been deleted; start it again.")) from None


def cancel(user, job: Job, owned: list[str] | None = None) -> Job:
    """Ask a job to stop: its owner or staff with jobs.change_job. A queued job is cancelled at once; a running one
    stops at its next progress report."""
    from procrastinate.contrib.django import app

    is_owner = may_see(None, job, owned) or (user is not None and user.is_authenticated and job.user_id == user.pk)
    if not (is_owner or (user is not None and user.has_perm("jobs.change_job"))):
        raise Forbidden(_("Only the person who started a job, or staff, may cancel it."))
    if job.is_finished:
        return job
    Job.objects.filter(pk=job.pk).update(cancel_requested=True)
    if job.status == Job.Status.QUEUED and job.procrastinate_id:
        if app.job_manager.cancel_job_by_id(job.procrastinate_id, abort=False):  # not picked up yet: never runs
            Job.objects.filter(pk=job.pk, status=Job.Status.QUEUED).update(
                status=Job.Status.CANCELLED, finished_at=timezone.now(), message=_("Cancelled"))
    job.refresh_from_db()
    return job


def recent_jobs(user, owned: list[str] | None = None, limit: int = 50):
    if user is not None and user.is_authenticated:
        return list(Job.objects.filter(user=user)[:limit])
    return list(Job.objects.filter(user=None, pk__in=owned or [])[:limit])
