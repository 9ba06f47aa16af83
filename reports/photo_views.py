"""Serving report photos (never from a public media URL: each request is checked here, reports.photos.visible_to)
and their moderation: the staff queue page and the JSON endpoint.

A photo the requester may not see is a 404, as an unknown one is: a 403 would tell that it exists. To those who may
see it, a photo still being processed (reports/photos.py: the job makes its clean JPEG after the upload) is a 503
`photo_processing` with Retry-After, and one that could not be read a 404: nothing of either is ever served. Approved photos
are cacheable by anyone (Cache-Control: public); the others are `private, no-store`, so no shared cache keeps a photo
that is still waiting, or was rejected."""

from django.contrib.auth.decorators import permission_required
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.http import FileResponse, HttpResponseNotModified
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST, require_safe

from accounts.decorators import staff_otp_required
from common import params
from common.edge import json_response
from common.errors import BadParameter, Forbidden, NotFound
from reports import photos
from reports.models import Photo

# How long browsers and shared caches keep an approved photo (a decision changed later reaches them after this).
PUBLIC_MAX_AGE = 3600
QUEUE_PAGE_SIZE = 30
BODY_MAX_BYTES = 1024


def reporter_of(request):
    """Who the requester is as a reporter: a signed-in citizen with their verified mobile number, or None."""
    from reports.service import Reporter

    user = request.user
    if not user.is_authenticated:
        return None
    citizen = getattr(user, "citizen", None) if hasattr(user, "citizen") else None
    return Reporter(user=user, phone=getattr(citizen, "mobile", "") or "")


def _visible_photo(request, public_id) -> Photo:
    photo = Photo.objects.select_related("report", "report__department").filter(public_id=public_id).first()
    if photo is None or not photos.visible_to(photo, request.user, reporter=reporter_of(request)):
        raise NotFound(_("No such photo."))
    return photo


def _serve(request, public_id, field: str):
    photo = _visible_photo(request, public_id)
    if photo.state == Photo.State.PROCESSING:  # nothing of it is served before the job made its clean JPEG
        raise photos.PhotoProcessing(_("The photo is being processed; it will be shown in a few seconds."))
    if photo.state != Photo.State.READY:
        raise NotFound(_("This photo could not be read; it is not kept."))
    name = getattr(photo, field).name
    etag = f'"{photo.sha256[:32]}{"-t" if field == "thumbnail" else ""}"'
    public = photo.moderation == Photo.Moderation.APPROVED
    cache = f"public, max-age={PUBLIC_MAX_AGE}" if public else "private, no-store"
    if request.headers.get("If-None-Match") == etag and public:
        response = HttpResponseNotModified()
    else:
        try:
            handle = default_storage.open(name, "rb")
        except (FileNotFoundError, OSError):
            raise NotFound(_("No such photo.")) from None
        response = FileResponse(handle, content_type="image/jpeg")
        suffix = "-thumb" if field == "thumbnail" else ""
        response["Content-Disposition"] = f'inline; filename="{photo.public_id}{suffix}.jpg"'
    response["Cache-Control"] = cache
    response["ETag"] = etag
    response["X-Content-Type-Options"] = "nosniff"
    if not public:
        response["Vary"] = "Cookie"
    return response


@require_safe
def photo_image(request, public_id):
    """GET /reports/photos/<uuid>.jpg: the stored photo (re-encoded, no metadata)."""
    return _serve(request, public_id, "image")


@require_safe
def photo_thumbnail(request, public_id):
    """GET /reports/photos/<uuid>-thumb.jpg: its thumbnail (the longer side 400 pixels)."""
    return _serve(request, public_id, "thumbnail")


# --- moderation -------------------------------------------------------------------------------------------------------

def _moderator_view(view):
    return staff_otp_required(permission_required("reports.moderate_photo", raise_exception=True)(view))


@require_GET
def _queue_page(request):
    """The photos waiting for moderation, oldest first, with their report's category, date and description."""
    pending = (Photo.objects.filter(moderation=Photo.Moderation.PENDING, state=Photo.State.READY)
               .select_related("report", "report__category").order_by("created_at", "id"))
    page = Paginator(pending, QUEUE_PAGE_SIZE).get_page(params.integer(request.GET, "page", default=1, min=1,
                                                                        max=100000))
    return render(request, "reports/moderation.html", {"page": page, "photos": page.object_list,
                                                       "total": page.paginator.count})


@require_POST
def _queue_decide(request, public_id):
    """The queue's approve/reject buttons (a form POST with CSRF): then back to the queue."""
    photo = Photo.objects.filter(public_id=public_id).first()
    if photo is None:
        raise NotFound(_("No such photo."))
    action = params.choice(request.POST, "action", ["approve", "reject"])
    if action is None:
        raise BadParameter(_("Say approve or reject."))
    photos.moderate(photo, action == "approve", request.user)
    page = params.integer(request.POST, "page", default=1, min=1, max=100000)
    return redirect(reverse("reports:photo_moderation") + (f"?page={page}" if page > 1 else ""))


moderation_page = _moderator_view(_queue_page)
moderation_decide = _moderator_view(_queue_decide)


def _approve_of(request) -> bool:
    if request.content_type == "application/json":
        if len(request.body) > BODY_MAX_BYTES:
            raise BadParameter(_("The request body is too large."))
        data = params.json_object(request.body)
        value = data.get("approve")
        if not isinstance(value, bool):
            raise BadParameter(_("approve: say true to approve the photo or false to reject it."))
        return value
    value = params.choice(request.POST, "approve", ["true", "false"])
    if value is None:
        raise BadParameter(_("approve: say true to approve the photo or false to reject it."))
    return value == "true"


@staff_otp_required
@require_POST
def moderation_api(request, public_id):
    """POST /api/reports/photos/<uuid>/moderation {"approve": true|false}: moderators only (401 signed out, 403
    without reports.moderate_photo, 404 unknown photo)."""
    if not request.user.has_perm("reports.moderate_photo"):
        raise Forbidden(_("Only photo moderators may approve or reject photos."))
    photo = Photo.objects.filter(public_id=public_id).first()
    if photo is None:
        raise NotFound(_("No such photo."))
    photo = photos.moderate(photo, _approve_of(request), request.user)
    return json_response({"photo": str(photo.public_id), "moderation": photo.moderation,
                          "moderated_at": photo.moderated_at.isoformat()})
