"""The citizen's side of reports: the JSON API (categories, duplicates nearby, photos uploaded while the form is
filled in (reports/staging.py), submitting with photos, adding one's voice, the tracking answer, rating, reopening,
my reports) and the pages (report a problem, track a report, my reports). Thin: request → parameters
(common.params) → one service call → public_doc (reports/public.py, the only builder of what anyone may see of a
report).

Who reports: a citizen signed in with their mobile number (the accounts app's session; the page signs them in inline
through /api/accounts/signin/code and /verify). Anyone else gets 401 `signin_needed` on the API. POSTs need the CSRF
token as every POST of the site (the `csrftoken` cookie sent back in `X-CSRFToken`)."""

import datetime as dt
import math

from django.conf import settings
from django.contrib.gis.geos import Point
from django.contrib.gis.measure import D
from django.db import transaction
from django.db.models import Q
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import SignInNeeded, citizen_of, citizen_required
from accounts.models import Citizen
from common import geo, municipality, params
from common.edge import json_response
from common.errors import ApiError, BadParameter
from common.i18n import is_persian
from parcels.models import Parcel
from reports import photos, public, service, staging, workflow
from reports.models import Category, Follower, Photo, Report

MINE_LIMIT = 200
PARCEL_NEAR_METRES = 30  # a parcel named with a report lies within this of its place (a tap beside it)


# --- who is asking ---------------------------------------------------------------------------------------------------

def _citizen(request) -> Citizen | None:
    user = request.user
    return citizen_of(user)


def _reporter(request, citizen: Citizen | None) -> service.Reporter:
    if citizen is None:
        return service.Reporter()
    return service.Reporter(user=request.user, phone=citizen.mobile, language=citizen.language)


def _require_citizen(request) -> Citizen:
    citizen = _citizen(request)
    if citizen is None:
        raise SignInNeeded(_("Sign in with your mobile number first."))
    return citizen


def _body(request):
    """A POST's fields: JSON (parsed safely by common.params) or a form."""
    if request.content_type == "application/json":
        return params.json_object(request.body)
    return request.POST


# --- what is shown ----------------------------------------------------------------------------------------------------

def _category(code: str) -> Category:
    category = Category.objects.select_related("department").filter(code=code, active=True).first()
    if category is None:
        raise BadParameter(_("There is no category '%(code)s' taking reports.") % {"code": code[:40]})
    return category


def category_doc(c: Category) -> dict:
    return {"code": c.code, "name": c.name, "name_en": c.name_en or c.name, "group": c.group,
            "needs_parcel": c.needs_parcel, "private_place": c.private_place, "colour": c.colour,
            "sla_days": c.sla_days}


def _point(lon: float, lat: float) -> Point:
    """WGS84 to the municipality's CRS; a place the projection cannot hold (a pole in UTM) is outside the city."""
    from django.contrib.gis.gdal import GDALException

    point = Point(lon, lat, srid=4326)
    try:
        srid = municipality.current().srid
        point.transform(geo.coord_transform(4326, srid))
        point.srid = srid
    except GDALException:
        raise BadParameter(_("This place is outside the city.")) from None
    if not (math.isfinite(point.x) and math.isfinite(point.y)):
        raise BadParameter(_("This place is outside the city."))
    return point


def _lonlat(body, *, required: bool):
    lon = params.number(body, "lon", required=required, min=-180, max=180)
    lat = params.number(body, "lat", required=required, min=-90, max=90)
    if (lon is None) != (lat is None):
        raise BadParameter(_("Give both lon and lat, or neither."))
    return lon, lat


def own_photos(report: Report, request, reporter: service.Reporter) -> list[dict]:
    """The photos not (yet) public that the asking follower may see: their own, waiting for moderation, and any
    still being processed or found unreadable (`state`; nothing of those is served)."""
    shown = []
    for photo in sorted(report.photos.all(), key=lambda p: (p.created_at, p.id)):
        if not _public_now(photo) and photos.visible_to(photo, request.user, reporter=reporter):
            shown.append(_own_photo(photo))
    return shown


def _public_now(photo: Photo) -> bool:
    return photo.moderation == Photo.Moderation.APPROVED and photo.state == Photo.State.READY


def _own_photo(photo: Photo) -> dict:
    return {"url": public.photo_url(photo), "thumbnail": public.photo_url(photo, thumb=True), "kind": photo.kind,
            "moderation": photo.moderation, "state": photo.state}


def you(report: Report, citizen: Citizen | None, follower: bool, is_reporter: bool) -> dict:
    """What the asking person may do with the report (about themselves only: never anyone else's data)."""
    now = timezone.now()
    within = (report.resolved_at is not None and report.status == workflow.RESOLVED
              and now <= report.resolved_at + dt.timedelta(days=settings.REPORTS_REOPEN_DAYS))
    return {"signed_in": citizen is not None, "follower": follower, "reporter": is_reporter,
            "may_voice": citizen is not None and not follower and report.is_open,
            "may_rate": is_reporter and report.status in (workflow.RESOLVED, workflow.CLOSED) and report.rating is None,
            "may_reopen": is_reporter and within}


def tracking_doc(report: Report, request, citizen: Citizen | None, *, submitted: list[Photo] | None = None) -> dict:
    """The public view of the report, plus what concerns the asking citizen: their own photos waiting for
    moderation (a follower's) and what they may do. `submitted`: the asking citizen has just made it, with these
    photos (its reporter: every photo of it is theirs; the report as service.submit left it, with its district, and
    its first event: nothing to read back)."""
    if submitted is not None:
        doc = public.public_doc(report, events=[service.first_event(report)], photos=submitted)
    else:
        report = (Report.objects.select_related("category", "district", "merged_into").prefetch_related("photos")
                  .get(pk=report.pk))
        doc = public.public_doc(report)
    follower = is_reporter = submitted is not None
    if citizen is not None and submitted is None:
        reporter = _reporter(request, citizen)
        is_reporter = service.is_follower(report, reporter, reporter_only=True)
        follower = is_reporter or service.is_follower(report, reporter)
    if submitted is not None:
        doc["pending_photos"] = [_own_photo(photo) for photo in sorted(submitted, key=lambda p: (p.created_at, p.id))
                                 if not _public_now(photo)]
    else:
        doc["pending_photos"] = own_photos(report, request, _reporter(request, citizen)) if follower else []
    doc["you"] = you(report, citizen, follower, is_reporter)
    doc["url"] = reverse("reports:track", args=[report.tracking_code])
    return doc


def _report(code: str) -> Report:
    return service.by_code(code)


# --- JSON API ---------------------------------------------------------------------------------------------------------

@require_GET
def api_categories(request):
    return json_response({"categories": [category_doc(c) for c in Category.objects.filter(active=True)]})


@require_GET
def api_nearby(request):
    """Open reports of the category near the point (what a reporter may join), nearest first."""
    category = _category(params.text(request.GET, "category", required=True, max_length=40))
    lon, lat = _lonlat(request.GET, required=True)
    point = _point(lon, lat)
    found = [r.pk for r in service.nearby(category, point)]
    by_pk = (Report.objects.select_related("category", "district", "merged_into").prefetch_related("photos")
             .in_bulk(found))
    results = []
    for report in (by_pk[pk] for pk in found):
        doc = public.public_doc(report, with_timeline=False)
        # to the place the public sees: a report about a home must not be located closer by asking from around it
        shown = report.public_geom if category.private_place else report.geom
        doc["distance"] = round(shown.distance(point))
        doc["url"] = reverse("reports:track", args=[report.tracking_code])
        results.append(doc)
    return json_response({"category": category.code, "metres": settings.REPORTS_DUPLICATE_METRES,
                          "days": settings.REPORTS_DUPLICATE_DAYS, "results": results})


@require_POST
def api_stage_photo(request):
    """One photo uploaded while the form is filled in (multipart `photo`), checked as an attached photo is and kept
    for REPORTS_STAGED_PHOTO_HOURS (reports/staging.py): its token, for the submission's `photo_tokens`, and the place
    its EXIF carries (the form offers it)."""
    citizen = _require_citizen(request)
    uploads = request.FILES.getlist("photo")
    if len(uploads) != 1:
        raise BadParameter(_("Send one photo (the field photo)."))
    staged = staging.stage(uploads[0], user=request.user, phone=citizen.mobile, request=request)
    place = {"lon": staged.lon, "lat": staged.lat} if staged.lon is not None else None
    return json_response({"token": str(staged.token), "width": staged.width, "height": staged.height,
                          "location": place, "expires_at": staged.expires_at.isoformat()}, status=201)


@require_POST
def api_submit(request):
    """A new report (multipart or a form: fields, up to REPORTS_PHOTOS_MAX photos as `photo_tokens` of photos
    uploaded beforehand (api_stage_photo) and/or as files in `photos`), recorded with its photos in one
    transaction: a bad photo or token and nothing is kept."""
    citizen = _require_citizen(request)
    body = request.POST
    category = _category(params.text(body, "category", required=True, max_length=40))
    description = params.text(body, "description", required=True, max_length=service.DESCRIPTION_MAX)
    address = params.text(body, "address", max_length=300)
    parcel_id = params.integer(body, "parcel_id", min=1, max=params.ID_MAX)
    uploads = request.FILES.getlist("photos")
    tokens = staging.tokens_of(body.getlist("photo_tokens")[:settings.REPORTS_PHOTOS_MAX + 1])
    if len(uploads) + len(tokens) > settings.REPORTS_PHOTOS_MAX:
        raise BadParameter(_("At most %(max)s photos may be attached.") % {"max": settings.REPORTS_PHOTOS_MAX})
    for uploaded in uploads:  # every photo checked before anything is written (400 / 413)
        photos.check_upload(uploaded)
    lon, lat = _lonlat(body, required=False)
    if lon is None:  # the place of the first photo that carries one (the tokens are checked again when attached)
        staged = staging.waiting(tokens, user=request.user, request=request)
        found = next(((s.lon, s.lat) for s in staged if s.lon is not None), None)
        for uploaded in uploads if found is None else ():
            found = photos.location_of(uploaded)
            if found is not None:
                break
        if found is not None:
            lon, lat = found
    if lon is None:
        raise BadParameter(_("Pick the place on the map (lon and lat), or attach a photo that carries its place."))
    point = _point(lon, lat)
    if parcel_id is not None and not category.needs_parcel:
        parcel_id = None  # only reports about a parcel name one; the others get the parcel at the point
    if parcel_id is not None and not Parcel.objects.filter(
            pk=parcel_id, geom__dwithin=(point, D(m=PARCEL_NEAR_METRES))).exists():
        raise BadParameter(_("Parcel %(id)s is not at the place picked: tap on the parcel itself.") % {"id": parcel_id})
    reporter = _reporter(request, citizen)
    with transaction.atomic():
        report = service.submit(category=category, point=point, description=description, reporter=reporter,
                                address=address, parcel_id=parcel_id, request=request)
        made = staging.attach(report, tokens, user=request.user, request=request)
        for uploaded in uploads:  # counted above (at most REPORTS_PHOTOS_MAX); the report is this transaction's
            uploaded.seek(0)
            made.append(photos.add(report, uploaded, kind=Photo.Kind.REPORT, by=request.user, new_report=True))
    return json_response(tracking_doc(report, request, citizen, submitted=made), status=201)


@require_POST
def api_voice(request, code):
    citizen = _require_citizen(request)
    report = _report(code)
    added = service.add_voice(report, _reporter(request, citizen), request=request)
    report.refresh_from_db()
    return json_response({"tracking_code": report.tracking_code, "added": added, "voices": report.voices,
                          "url": reverse("reports:track", args=[report.tracking_code])})


@require_GET
def api_report(request, code):
    report = _report(code)
    return json_response(tracking_doc(report, request, _citizen(request)))


@require_POST
def api_rate(request, code):
    citizen = _require_citizen(request)
    report = _report(code)
    body = _body(request)
    rating = params.integer(body, "rating", required=True, min=1, max=5)
    comment = params.text(body, "comment", max_length=500)
    report = service.rate(report, _reporter(request, citizen), rating, comment)
    return json_response(tracking_doc(report, request, citizen))


@require_POST
def api_reopen(request, code):
    citizen = _require_citizen(request)
    report = _report(code)
    note = params.text(_body(request), "note", required=True, max_length=service.DESCRIPTION_MAX)
    report = service.reopen(report, _reporter(request, citizen), note)
    return json_response(tracking_doc(report, request, citizen))


def mine(request, citizen: Citizen) -> list[dict]:
    """The citizen's reports and the ones they follow (by their account or their number), newest first."""
    followed = Follower.objects.filter(Q(user=request.user) | Q(phone=citizen.mobile))
    own = set(followed.filter(is_reporter=True).values_list("report_id", flat=True))
    reports = (Report.objects.filter(Q(reporter=request.user) | Q(pk__in=followed.values("report_id")))
               .select_related("category", "district", "merged_into").prefetch_related("photos")
               .order_by("-created_at", "-id")[:MINE_LIMIT])
    out = []
    for report in reports:
        doc = public.public_doc(report, with_timeline=False)
        doc["role"] = "reporter" if report.pk in own or report.reporter_id == request.user.pk else "follower"
        doc["url"] = reverse("reports:track", args=[report.tracking_code])
        out.append(doc)
    return out


@require_GET
def api_mine(request):
    citizen = _require_citizen(request)
    return json_response({"reports": mine(request, citizen)})


# --- pages ------------------------------------------------------------------------------------------------------------

def _map_config(request) -> dict:
    from reports.public import base_layers, map_center

    center = map_center()
    return {"lang": "fa" if is_persian() else "en", "center": [center[0], center[1]],
            # dates in the JavaScript as on the pages: Jalali with Persian digits, or ISO-like in English
            "dateLocale": "fa-IR-u-ca-persian" if is_persian() else "en-CA",
            "basemapUrl": settings.BASEMAP_URL, "basemapAttribution": settings.BASEMAP_ATTRIBUTION,
            **base_layers()}


@never_cache
@ensure_csrf_cookie
@require_GET
def new_page(request):
    citizen = _citizen(request)
    categories = list(Category.objects.filter(active=True))
    groups: dict[str, list] = {}
    for c in categories:
        groups.setdefault(c.group or "", []).append(c)
    config = {**_map_config(request), "signedIn": citizen is not None,
              "photosMax": settings.REPORTS_PHOTOS_MAX, "photoMaxBytes": settings.REPORTS_PHOTO_MAX_BYTES,
              "categories": {c.code: category_doc(c) for c in categories},
              "urls": {"submit": reverse("reports:api_submit"), "photos": reverse("reports:api_stage_photo"),
                       "nearby": reverse("reports:api_nearby"),
                       "voice": "/api/reports/CODE/voice", "search": reverse("parcels:search"),
                       "signinCode": reverse("accounts:api_signin_code"),
                       "signinVerify": reverse("accounts:api_signin_verify")}}
    return render(request, "reports/citizen_new.html", {
        "citizen": citizen, "groups": list(groups.items()), "config": config,
        "photos_max": settings.REPORTS_PHOTOS_MAX})


@never_cache
@ensure_csrf_cookie
@require_GET
def track_page(request, code):
    citizen = _citizen(request)
    try:
        report = _report(code)
    except ApiError as exc:  # a wrong check digit (400) or an unknown code (404): said on the page, with the form
        return render(request, "reports/citizen_track.html", {"citizen": citizen, "error": exc.message,
                                                              "code": code[:24]}, status=exc.status)
    doc = tracking_doc(report, request, citizen)
    config = {**_map_config(request), "code": report.tracking_code, "lon": doc["lon"], "lat": doc["lat"],
              "approximate": doc["place_is_approximate"],
              "urls": {"rate": reverse("reports:api_rate", args=[report.tracking_code]),
                       "reopen": reverse("reports:api_reopen", args=[report.tracking_code]),
                       "voice": reverse("reports:api_voice", args=[report.tracking_code])}}
    return render(request, "reports/citizen_track.html", {
        "citizen": citizen, "report": doc, "config": config, "reopen_days": settings.REPORTS_REOPEN_DAYS,
        "category": report.category})


@never_cache
@require_GET
def find_page(request):
    """/reports/track/?code=…: the tracking page of a typed code."""
    from django.shortcuts import redirect

    typed = params.ascii_digits(params.text(request.GET, "code", max_length=40))
    code = typed.strip().replace("-", "").replace(" ", "")
    if not code:
        return render(request, "reports/citizen_track.html", {"citizen": _citizen(request), "code": ""})
    if not code.isdigit():
        return render(request, "reports/citizen_track.html", {
            "citizen": _citizen(request), "code": code[:24],
            "error": _("'%(code)s' is not a tracking code (ten digits; the last one checks the others).")
            % {"code": code[:20]}}, status=400)
    return redirect("reports:track", code=code)


@never_cache
@require_GET
@citizen_required
def mine_page(request):
    return render(request, "reports/citizen_mine.html", {"citizen": request.citizen,
                                                         "reports": mine(request, request.citizen)})
