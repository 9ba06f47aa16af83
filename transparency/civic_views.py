"""The public pages of council decisions and municipal projects (lists with filters, a decision's page, the projects'
list and map, a project's page with its map), their GeoJSON and CSV, the attachments, a citizen's comment and
follow buttons (form POSTs with the CSRF token, no JavaScript needed), and the staff's moderation queue.

None of these is under /api/: they are pages and downloads (errors are pages too, common/edge.py). A comment or a
follow needs a signed-in citizen (401 otherwise); a flood of comments is a 429 with the minutes to wait. Thin:
request → parameters (common.params) → one service call → what transparency/public.py lets anyone see."""

from django.contrib.auth.decorators import permission_required
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_POST, require_safe

from accounts.decorators import staff_otp_required
from common import params
from common.edge import json_response
from common.errors import BadParameter, NotFound
from transparency import public, service
from transparency.models import Attachment, Comment, Decision, Project

PAGE_SIZE = 25
QUEUE_PAGE_SIZE = 50
PAGE_MAX = 100_000


def _page_number(request) -> int:
    return params.integer(request.GET, "page", default=1, min=1, max=PAGE_MAX)


def _get(model, pk: int):
    found = model.objects.filter(pk=pk).first()
    if found is None:
        raise NotFound(_("There is no such council decision.") if model is Decision
                       else _("There is no such municipal project."))
    return found


def _target(kind: str, pk: int):
    if kind not in ("decision", "project"):
        raise NotFound(_("There is no such page."))
    return _get(Decision if kind == "decision" else Project, pk)


# --- decisions --------------------------------------------------------------------------------------------------------

@require_GET
def decisions_page(request):
    year = params.integer(request.GET, "year", min=1300, max=1600)
    status = params.choice(request.GET, "status", Decision.Status.values)
    q = params.text(request.GET, "q", max_length=100).strip()
    found = Decision.objects.all()
    if year:
        found = found.filter(year=year)
    if status:
        found = found.filter(status=status)
    if q:
        found = found.filter(Q(title__icontains=q) | Q(title_en__icontains=q) | Q(text__icontains=q)
                             | Q(number__iexact=params.ascii_digits(q)) | Q(session__icontains=q))
    page = Paginator(found.order_by("-decided_on", "-id"), PAGE_SIZE).get_page(_page_number(request))
    years = sorted(set(Decision.objects.values_list("year", flat=True)), reverse=True)
    return render(request, "transparency/decisions.html", {
        "page": page, "decisions": page.object_list, "total": page.paginator.count, "years": years,
        "statuses": Decision.Status.choices, "year": year, "status": status or "", "q": q,
        "any_demo": any(d.demo for d in page.object_list), "active": "decisions"})


def _comments_context(request, target) -> dict:
    citizen = service.citizen_of(request.user)
    return {"comments": [public.comment_doc(c) for c in service.published_comments(target)],
            "own_waiting": [public.comment_doc(c) for c in service.own_waiting_comments(target, request.user)],
            "citizen": citizen, "following": service.is_following(target, request.user),
            "comment_max": service.COMMENT_MAX, "kind": service.kind_of(target),
            "updates": target.updates.filter(published=True).order_by("-published_at", "-id"),
            "attachments": target.attachments.all(),
            "signin_url": reverse("accounts:signin") + "?next=" + request.path,
            "map": {**public.map_config(), "geometry": public.wgs84_geometry(target),
                    "colour": public.STATUS_COLOURS.get(target.status, "#37474f")}}


@never_cache
@ensure_csrf_cookie
@require_GET
def decision_page(request, pk):
    decision = _get(Decision, pk)
    return render(request, "transparency/decision.html", {
        "decision": decision, "projects": decision.projects.all(), "active": "decisions",
        **_comments_context(request, decision)})


# --- projects ---------------------------------------------------------------------------------------------------------

@require_GET
def projects_page(request):
    status = params.choice(request.GET, "status", Project.Status.values)
    q = params.text(request.GET, "q", max_length=100).strip()
    found = Project.objects.all()
    if status:
        found = found.filter(status=status)
    if q:
        found = found.filter(Q(title__icontains=q) | Q(title_en__icontains=q) | Q(description__icontains=q)
                             | Q(department__icontains=q))
    page = Paginator(found.order_by("-starts_on", "-id"), PAGE_SIZE).get_page(_page_number(request))
    return render(request, "transparency/projects.html", {
        "page": page, "projects": page.object_list, "total": page.paginator.count,
        "statuses": Project.Status.choices, "status": status or "", "q": q, "active": "projects",
        "any_demo": any(p.demo for p in page.object_list),
        "map": {**public.map_config(), "geojson": reverse("transparency:projects_geojson"),
                "colours": public.STATUS_COLOURS}})


@never_cache
@ensure_csrf_cookie
@require_GET
def project_page(request, pk):
    project = _get(Project, pk)
    return render(request, "transparency/project.html", {
        "project": project, "decisions": project.decisions.order_by("-decided_on"), "active": "projects",
        **_comments_context(request, project)})


# --- a citizen's comment and follow -----------------------------------------------------------------------------------

@require_POST
def comment(request, kind, pk):
    target = _target(kind, pk)
    service.add_comment(target, request.user, params.text(request.POST, "body", required=True,
                                                          max_length=service.COMMENT_MAX + 200),
                        request=request)
    return redirect(service.path_of(target) + "?commented=1#comments")


@require_POST
def follow(request, kind, pk):
    target = _target(kind, pk)
    action = params.choice(request.POST, "action", ["follow", "unfollow"], default="follow")
    if action == "follow":
        service.follow(target, request.user)
    else:
        service.unfollow(target, request.user)
    return redirect(service.path_of(target) + "#follow")


# --- files and downloads ----------------------------------------------------------------------------------------------

@require_safe
def attachment(request, public_id):
    found = Attachment.objects.filter(public_id=public_id).first()
    if found is None:
        raise NotFound(_("There is no such attachment."))
    try:
        handle = default_storage.open(found.file.name, "rb")
    except (FileNotFoundError, OSError):
        raise NotFound(_("There is no such attachment.")) from None
    response = FileResponse(handle, content_type=found.content_type, as_attachment=found.extension == ".pdf",
                            filename=found.name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "public, max-age=3600"
    return response


def _geojson(kind: str) -> HttpResponse:
    collection, truncated = public.feature_collection(kind)
    response = json_response(collection)
    response["Content-Type"] = "application/geo+json"
    response["X-Features-Truncated"] = "true" if truncated else "false"
    return response


def _csv(kind: str, filename: str) -> HttpResponse:
    response = HttpResponse(public.csv_text(kind), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
def decisions_geojson(request):
    return _geojson("decision")


@require_GET
def projects_geojson(request):
    return _geojson("project")


@require_GET
def decisions_csv(request):
    return _csv("decision", "council-decisions.csv")


@require_GET
def projects_csv(request):
    return _csv("project", "municipal-projects.csv")


# --- staff: the moderation queue --------------------------------------------------------------------------------------

def _moderator_view(view):
    return staff_otp_required(permission_required(service.MODERATE, raise_exception=True)(view))


@require_GET
def _queue_page(request):
    """The comments waiting for moderation, oldest first, with what they are on. Not who wrote them: moderators
    judge the words, and see the pseudonym the public will see."""
    pending = (Comment.objects.filter(state=Comment.State.PENDING).select_related("decision", "project")
               .order_by("created_at", "id"))
    page = Paginator(pending, QUEUE_PAGE_SIZE).get_page(_page_number(request))
    return render(request, "transparency/moderation.html", {
        "page": page, "total": page.paginator.count,
        "comments": [{**public.comment_doc(c), "target": c.target, "kind": "decision" if c.decision_id else "project"}
                     for c in page.object_list]})


@require_POST
def _queue_decide(request, comment_id):
    found = Comment.objects.filter(pk=comment_id).first()
    if found is None:
        raise NotFound(_("There is no such comment."))
    action = params.choice(request.POST, "action", ["publish", "reject"])
    if action is None:
        raise BadParameter(_("Say publish or reject."))
    service.moderate(found, action, request.user, params.text(request.POST, "reason", max_length=300))
    return redirect(reverse("transparency:moderation"))


moderation_page = _moderator_view(_queue_page)
moderation_decide = _moderator_view(_queue_decide)
