"""The jobs' endpoints: a job's status (polled by jobs.js), its result file, cancelling it, and the page of one's
recent jobs. Each app offers its own start endpoint (it checks its own parameters and permissions, calls
jobs.service.start and answers with `accepted`). Views raise; common.edge renders the errors."""

import json

from django.conf import settings
from django.http import FileResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from common import params
from common.edge import json_response
from common.errors import BadParameter
from jobs import registry, service
from jobs.models import Job

SESSION_KEY = "jobs"  # the ids of the jobs an anonymous visitor started in this browser
SESSION_MAX = 20
BODY_MAX_BYTES = 64 * 1024


def owned(request) -> list[str]:
    session = getattr(request, "session", None)
    return list(session.get(SESSION_KEY, [])) if session is not None else []


def accepted(request, job: Job):
    """202 for a job just started: where to poll it. An anonymous visitor's session remembers it as theirs."""
    if job.user_id is None and hasattr(request, "session"):
        request.session[SESSION_KEY] = (owned(request) + [str(job.pk)])[-SESSION_MAX:]
    status_url = f"/api/jobs/{job.pk}"
    response = json_response({"id": str(job.pk), "status": job.status, "status_url": status_url}, status=202)
    response["Location"] = status_url
    return response


def request_data(request) -> dict:
    """A start endpoint's parameters: a JSON object (lists become comma-separated text, numbers text) or a form."""
    if request.content_type == "application/json":
        if len(request.body) > BODY_MAX_BYTES:
            raise BadParameter(_("The request body is too large."))
        data = params.json_object(request.body)  # parsed safely: depth, number sizes, NaN, NUL
        return {str(k): ",".join(str(x) for x in v) if isinstance(v, list) else
                ("" if v is None else v if isinstance(v, str) else json.dumps(v)) for k, v in data.items()}
    return request.POST.dict()


@require_GET
def job_status(request, job_id):
    job = service.visible_job(request.user, job_id, owned(request))
    response = json_response(service.status(job))
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def job_result(request, job_id):
    job = service.visible_job(request.user, job_id, owned(request))
    kind = registry.KINDS.get(job.kind)
    if kind is not None and kind.on_result is not None:
        kind.on_result(request, job)
    handle = service.result_file(job)
    return FileResponse(handle, as_attachment=True, filename=job.result_name,
                        content_type=job.content_type or "application/octet-stream")


@require_POST
def job_cancel(request, job_id):
    job = service.visible_job(request.user, job_id, owned(request))
    return json_response(service.status(service.cancel(request.user, job, owned(request))))


@require_GET
def jobs_page(request):
    jobs = [service.status(job) for job in service.recent_jobs(request.user, owned(request))]
    return render(request, "jobs/jobs.html", {"jobs": jobs, "result_days": settings.JOBS_RESULT_DAYS})
