"""Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2), so the Open311 apps and dashboards other cities use
work with this one. Base URL /open311/v2/, every resource as .json and .xml:

    discovery          the Service Discovery document (where the endpoint is, its formats, how to get a key)
    services           the categories: service_code = Category.code; metadata is true when the category needs a
                       parcel, whose renewal code is then the service definition's `parcel` attribute
    services/<code>    a service definition (its attributes)
    requests  GET      public reports: service_request_id (the tracking code, comma-separated), service_code,
                       start_date/end_date (w3 datetimes, at most 90 days apart; default: the last 90 days), status
                       (open, closed); newest first, at most MAX_REQUESTS (1000) per answer, as the spec says
    requests  POST     a new report from an app: api_key is a personal API token (accounts/apitokens.py) of an
                       account with the permission reports.add_report; lat and long are required (the city places
                       reports by coordinates); phone (the citizen's mobile) gets the SMS notices
    requests/<id>      one report, as a list of one

What a GET shows of a report comes from reports.public.public_doc only (no personal data: no phone, name, e-mail or
device; a report about a home at its block, without its description); every new report goes through
reports.service.submit. Errors are Open311's: the HTTP status (403 a missing or wrong api_key, 404 an unknown
resource, service_code or jurisdiction_id, 429 too many submissions, 400 any other refusal) and
[{"code": ..., "description": ...}] or <errors><error><code>…</code><description>…</description></error></errors>.
This module is that edge: it renders the ApiErrors the code below it raises in Open311's form (the site's edge,
common.edge, renders JSON of its own shape under /api/). Remote media_url files are never fetched (the answer says
the URL was ignored): a server that fetches what a client names can be made to reach inside the city's network.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import xml.etree.ElementTree as ET
from functools import wraps

from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import transaction
from django.db.models import Prefetch
from django.http import HttpResponse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from accounts import apitokens, ratelimit
from accounts.service import clean_mobile
from accounts.signin import parse_limits
from common import geo, municipality
from common.db import database_unavailable
from common.errors import ApiError, BadParameter, Forbidden, MethodNotAllowed, NotFound, ServiceUnavailable
from common.i18n import is_persian
from common.params import ascii_digits, number, text
from reports import service, workflow
from reports.models import Category, Event, Photo, Report
from reports.public import public_doc

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
BASE_PATH = "/open311/v2"
CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
MAX_REQUESTS = 1000  # per answer of GET requests (the spec's "first 1000 requests")
MAX_DAYS = 90  # the default window of GET requests, and the longest one a client may ask
MAX_IDS = 1000  # service_request_id values in one GET
PARCEL_ATTRIBUTE = "parcel"
SUBMIT_PERMISSION = "reports.add_report"
# XML's name for the items of each list (the JSON has plain arrays: the spec's "Spark convention").
ITEMS = {"services": "service", "service_requests": "request", "attributes": "attribute", "values": "value",
         "endpoints": "endpoint", "formats": "format", "errors": "error"}
# What XML 1.0 cannot hold at all (control characters but tab and line breaks, lone surrogates, U+FFFE/F).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


# --- the two formats --------------------------------------------------------------------------------------------------

def _fill(element: ET.Element, value) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _fill(ET.SubElement(element, key), item)
    elif isinstance(value, list):
        for item in value:
            _fill(ET.SubElement(element, ITEMS[element.tag]), item)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = _NOT_XML.sub("", str(value))


def to_xml(root: str, data) -> bytes:
    """The XML the spec shows: no namespace, lists as repeated items (services/service, …), null as an empty
    element, UTF-8 with the declaration."""
    element = ET.Element(root)
    _fill(element, data)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(element, encoding="utf-8", xml_declaration=False)


def render(fmt: str, root: str, data, status: int = 200, headers: dict | None = None) -> HttpResponse:
    if fmt == "xml":
        body = to_xml(root, data)
    else:
        body = json.dumps(data, ensure_ascii=False).encode()
    response = HttpResponse(body, status=status, content_type=CONTENT_TYPES[fmt])
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def error_response(fmt: str, error: ApiError) -> HttpResponse:
    return render(fmt, "errors", [{"code": error.status, "description": error.message}], status=error.status,
                  headers=error.headers)


def _format_of(path: str) -> str:
    return "json" if path.endswith(".json") else "xml"


def endpoint(*methods: str):
    """An Open311 view: jurisdiction_id checked, the method checked, CSRF off (an API call: a POST carries its
    api_key), the answer in the format the URL names, and every refusal as Open311's error list."""

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, fmt: str = "", **kwargs):
            fmt = fmt or _format_of(request.path_info)
            try:
                if request.method not in methods and not (request.method == "HEAD" and "GET" in methods):
                    raise MethodNotAllowed(_("%(method)s is not allowed here; allowed: %(allowed)s")
                                           % {"method": request.method, "allowed": ", ".join(methods)})
                check_jurisdiction(request)
                return view(request, fmt, *args, **kwargs)
            except ApiError as exc:
                response = error_response(fmt, exc)
            except Exception as exc:
                if not database_unavailable(exc):
                    raise  # a bug: Django logs it and answers 500
                response = error_response(fmt, ServiceUnavailable(
                    _("The database cannot be reached at the moment. Please try again in a few seconds.")))
            if response.status_code == 405:
                response["Allow"] = ", ".join(methods)
            return response

        return csrf_exempt(wrapper)

    return decorate


# --- shared pieces ----------------------------------------------------------------------------------------------------

def jurisdiction() -> str:
    return municipality.current().open311_jurisdiction


def _names() -> tuple[str, str]:
    city = municipality.current()
    return city.name, city.name_en


def check_jurisdiction(request) -> None:
    """This endpoint serves one jurisdiction: jurisdiction_id may be left out, and must be it when sent."""
    sent = request.POST.get("jurisdiction_id") if request.method == "POST" else None
    sent = (sent or request.GET.get("jurisdiction_id") or "").strip()
    if sent and sent.lower() != jurisdiction().lower():
        raise NotFound(_("jurisdiction_id '%(sent)s' was not found: this endpoint serves '%(ours)s' only.")
                       % {"sent": sent[:100], "ours": jurisdiction()})


def _pick(persian: str, english: str) -> str:
    return persian if is_persian() else (english or persian)


def _w3(value: str | None) -> str | None:
    """An ISO datetime in the spec's w3 format, in the city's time zone, to the second (2026-03-01T09:30:00+03:30)."""
    if not value:
        return None
    return timezone.localtime(dt.datetime.fromisoformat(value)).replace(microsecond=0).isoformat()


def _categories():
    return Category.objects.filter(active=True).select_related("department").order_by("order", "code")


def _category(code: str) -> Category:
    category = _categories().filter(code=code).first()
    if category is None:
        raise NotFound(_("service_code '%(code)s' was not found; services.json lists the service codes.")
                       % {"code": code[:60]})
    return category


# --- discovery and services -------------------------------------------------------------------------------------------

def _changeset() -> str:
    """When the services last changed (the categories' history): the spec's sortable changeset."""
    latest = Category.history.order_by("-history_date").values_list("history_date", flat=True).first()
    return timezone.localtime(latest).strftime("%Y-%m-%d %H:%M") if latest else ""


@endpoint("GET")
def discovery(request, fmt):
    city = _pick(*_names())
    changeset = _changeset()
    data = {
        "changeset": changeset,
        "contact": settings.REPORTS_OPEN311_CONTACT or _(
            "%(city)s: reports of problems in the city (the 137 line). Ask the municipality's IT unit about this "
            "API.") % {"city": city},
        "key_service": _(
            "POST requests need an api_key: a personal API token of this portal, made by an administrator for the "
            "app's account, which needs the permission to add reports. Reading needs no key."),
        "endpoints": [{"specification": SPECIFICATION, "url": request.build_absolute_uri(BASE_PATH),
                       "changeset": changeset, "type": "production",
                       "formats": [CONTENT_TYPES["xml"].split(";")[0], CONTENT_TYPES["json"].split(";")[0]]}],
    }
    return render(fmt, "discovery", data)


def _keywords(category: Category) -> str:
    words = [category.name_en if is_persian() else category.name, category.group,
             _pick(category.department.name, category.department.name_en)]
    seen: list[str] = []
    for word in words:
        word = (word or "").replace(",", " ").strip()
        if word and word not in seen and word != _pick(category.name, category.name_en):
            seen.append(word)
    return ", ".join(seen)


def service_doc(category: Category) -> dict:
    return {
        "service_code": category.code,
        "service_name": _pick(category.name, category.name_en),
        "description": _pick(category.description, category.description_en) or None,
        "metadata": category.needs_parcel,
        "type": "realtime",
        "keywords": _keywords(category),
        "group": category.group or None,
    }


@endpoint("GET")
def services(request, fmt):
    return render(fmt, "services", [service_doc(c) for c in _categories()])


def attributes(category: Category) -> list[dict]:
    if not category.needs_parcel:
        return []
    widths = municipality.current().renewal_code_widths
    return [{
        "variable": True,
        "code": PARCEL_ATTRIBUTE,
        "datatype": "string",
        "required": True,
        "datatype_description": _("The parcel's renewal code: %(n)s numbers separated by hyphens, e.g. %(example)s.")
        % {"n": len(widths), "example": "-".join("1".zfill(w) for w in widths)},
        "order": 1,
        "description": _("Which parcel is it about? Its renewal code, shown on the parcel's sheet on the city map."),
        "values": [],
    }]


@endpoint("GET")
def service_definition(request, fmt, service_code):
    category = _category(service_code)
    return render(fmt, "service_definition", {"service_code": category.code, "attributes": attributes(category)})


# --- reading requests -------------------------------------------------------------------------------------------------

_W3_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_OFFSET_AS_SPACE = re.compile(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$")


def w3_datetime(params, name: str, *, end: bool = False) -> dt.datetime | None:
    """A w3 datetime (2010-01-01T00:00:00Z, …+03:30), or a date alone: the start of that day in the city (the end of
    it for end_date). A time without its zone is refused: the spec requires one. A '+' sent unencoded (a space) is
    read as '+'."""
    raw = text(params, name, max_length=40)
    if not raw:
        return None
    value = _OFFSET_AS_SPACE.sub(r"\1+\2", ascii_digits(raw).strip())
    if _W3_DATE.fullmatch(value):
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            day = None
        if day is not None:
            start = timezone.make_aware(dt.datetime.combine(day, dt.time()))
            return start + dt.timedelta(days=1) - dt.timedelta(microseconds=1) if end else start
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is None or "T" not in value.upper():
        raise BadParameter(_("%(name)s '%(value)s' is not a w3 datetime such as 2024-05-01T00:00:00Z")
                           % {"name": name, "value": raw[:40]})
    if parsed.tzinfo is None:
        raise BadParameter(_("%(name)s '%(value)s' needs its time zone (Z or an offset such as +03:30)")
                           % {"name": name, "value": raw[:40]})
    return parsed


def _comma_list(params, name: str, max_length: int) -> list[str]:
    raw = text(params, name, max_length=max_length)
    return [part.strip() for part in ascii_digits(raw).split(",") if part.strip()]


def select_requests(params, now: dt.datetime | None = None):
    """The reports a GET requests asks for (a queryset, newest first, not yet cut to MAX_REQUESTS)."""
    reports = Report.objects.select_related("category", "department", "district", "merged_into")
    ids = _comma_list(params, "service_request_id", max_length=MAX_IDS * 12)
    if ids:  # "This overrides all other arguments."
        if len(ids) > MAX_IDS:
            raise BadParameter(_("Ask for at most %(n)s service_request_id values at once.") % {"n": MAX_IDS})
        return reports.filter(tracking_code__in=ids).order_by("-created_at", "-id")
    codes = _comma_list(params, "service_code", max_length=4000)
    if codes:
        reports = reports.filter(category__code__in=codes)
    statuses = set(_comma_list(params, "status", max_length=40))
    unknown = statuses - {"open", "closed"}
    if unknown:
        raise BadParameter(_("status '%(status)s' is not open or closed") % {"status": sorted(unknown)[0][:20]})
    if statuses == {"open"}:
        reports = reports.filter(status__in=workflow.OPEN)
    elif statuses == {"closed"}:
        reports = reports.exclude(status__in=workflow.OPEN)
    start, end = w3_datetime(params, "start_date"), w3_datetime(params, "end_date", end=True)
    span = dt.timedelta(days=MAX_DAYS)
    if start is None and end is None:
        end = now or timezone.now()
        start = end - span
    elif start is None:
        start = end - span
    elif end is None:
        end = start + span
    if start > end:
        raise BadParameter(_("start_date is after end_date"))
    if end - start > span + dt.timedelta(days=1):
        raise BadParameter(_("start_date and end_date may not span more than %(days)s days") % {"days": MAX_DAYS})
    return reports.filter(created_at__gte=start, created_at__lte=end).order_by("-created_at", "-id")


def _address(doc: dict) -> str:
    """What the public may know of where: the district and the city (never the address a reporter typed)."""
    city = _pick(*_names())
    separator = "، " if is_persian() else ", "
    return separator.join(part for part in (doc["district"], city) if part)


def request_doc(report: Report, request) -> dict:
    """One report as a GeoReport request, built from public_doc alone (the department's name besides)."""
    doc = public_doc(report, with_timeline=False)
    notes = doc["status_note"]
    if not notes and doc["merged_into"]:
        notes = _("Duplicate of report %(code)s.") % {"code": doc["merged_into"]}
    photos = doc["photos"]
    category = doc["category"]
    return {
        "service_request_id": doc["tracking_code"],
        "status": workflow.open311_status(doc["status"]),
        "status_notes": notes,
        "service_name": _pick(category["name"], category["name_en"]),
        "service_code": category["code"],
        "description": doc["description"],
        "agency_responsible": _pick(report.department.name, report.department.name_en),
        "service_notice": None,
        "requested_datetime": _w3(doc["created_at"]),
        "updated_datetime": _w3(doc["updated_at"]),
        "expected_datetime": _w3(doc["due_at"]),
        "address": _address(doc),
        "address_id": None,
        "zipcode": None,
        "lat": doc["lat"],
        "long": doc["lon"],
        "media_url": request.build_absolute_uri(photos[0]["url"]) if photos else None,
    }


def _read_requests(request, fmt):
    approved = Photo.objects.filter(moderation=Photo.Moderation.APPROVED)
    rows = list(select_requests(request.GET).prefetch_related(Prefetch("photos", queryset=approved))[:MAX_REQUESTS + 1])
    more = len(rows) > MAX_REQUESTS
    headers = {"X-Open311-Max-Results": str(MAX_REQUESTS)}
    if more:
        headers["X-Open311-Truncated"] = "true"  # narrow the dates to see the rest
    return render(fmt, "service_requests", [request_doc(r, request) for r in rows[:MAX_REQUESTS]], headers=headers)


@endpoint("GET")
def one_request(request, fmt, service_request_id):
    code = ascii_digits(service_request_id).strip()
    report = Report.objects.select_related("category", "department", "district", "merged_into").filter(
        tracking_code=code).first()
    if report is None:
        raise NotFound(_("service_request_id '%(id)s' was not found.") % {"id": service_request_id[:20]})
    return render(fmt, "service_requests", [request_doc(report, request)])


# --- posting a request ------------------------------------------------------------------------------------------------

def client(api_key: str):
    """The account an api_key (a personal API token) acts for: 403 when it is missing, unknown, revoked, expired, its
    account is disabled, or the account may not submit reports."""
    if not api_key:
        raise Forbidden(_("api_key is missing: a POST needs an API key (a personal API token of this portal)."))
    row = apitokens.find(api_key)
    reason = apitokens.refusal(row)
    if reason:
        messages = {"revoked": _("This api_key has been revoked."), "expired": _("This api_key has expired."),
                    "inactive": _("The account of this api_key is disabled.")}
        raise Forbidden(messages.get(reason, _("Invalid api_key received: it is not an API token of this portal.")))
    if not row.user.has_perm(SUBMIT_PERMISSION):
        raise Forbidden(_("The account of this api_key may not submit reports (it needs the permission to add "
                          "reports)."))
    apitokens.touch(row)
    return row


def _point(params) -> Point:
    lat = number(params, "lat", min=-90, max=90)
    lon = number(params, "long", min=-180, max=180)
    if lat is None or lon is None:
        if text(params, "address_string", max_length=1000) or text(params, "address_id", max_length=200):
            raise BadParameter(_("lat and long are required: this city places every report by its coordinates, so "
                                 "an address_string or address_id alone cannot be placed (send it along with lat "
                                 "and long and it is kept with the report)."))
        raise BadParameter(_("lat and long are required (WGS84 degrees)."))
    if not geo.in_city(lon, lat):
        raise BadParameter(_("This place is outside the city."))
    point = Point(lon, lat, srid=4326)
    point.transform(municipality.current().srid)
    return point


def _parcel_id(category: Category, params) -> int | None:
    if not category.needs_parcel:
        return None
    from django.core.exceptions import ValidationError

    from parcels.identifiers import normalize_renewal_code
    from parcels.models import Parcel

    name = f"attribute[{PARCEL_ATTRIBUTE}]"
    raw = text(params, name, max_length=60)
    if not raw:
        raise BadParameter(_("%(name)s is required for service_code '%(code)s': the renewal code of the parcel it "
                             "is about (see services/%(code)s.json).") % {"name": name, "code": category.code})
    try:
        code = normalize_renewal_code(raw)
    except ValidationError as exc:
        raise BadParameter(f"{name}: " + " ".join(exc.messages)) from None
    parcel_id = Parcel.objects.filter(renewal_code=code).values_list("pk", flat=True).first()
    if parcel_id is None:
        raise BadParameter(_("%(name)s: no parcel has the renewal code %(code)s.") % {"name": name, "code": code})
    return parcel_id


def _count_submission(token) -> None:
    """Each api_key's submissions count against REPORTS_OPEN311_RATE_PER_KEY (an app posts for many people from one
    address, so the per-address limit of the web form does not apply; the per-number one does, in submit)."""
    scopes = {"reports-open311-key": (token.prefix, parse_limits(settings.REPORTS_OPEN311_RATE_PER_KEY))}
    decision = ratelimit.hit(scopes)
    if not decision.allowed:
        raise service.TooManyRequests(_("Too many reports from this api_key; try again in %(minutes)s minutes.")
                                 % {"minutes": max(1, round(decision.retry_after / 60))}, decision.retry_after)


def _notice(report: Report, params, phone: str) -> str:
    due = timezone.localtime(report.due_at).date().isoformat()
    parts = [_("Report %(code)s received; %(department)s expects to deal with it by %(date)s.") % {
        "code": report.tracking_code, "department": _pick(report.department.name, report.department.name_en),
        "date": due}]
    if not phone:
        parts.append(_("No SMS notices: no mobile number (phone) was sent."))
    if text(params, "media_url", max_length=2000):
        parts.append(_("media_url was ignored: this city does not fetch remote files."))
    unkept = [name for name in ("email", "first_name", "last_name", "device_id", "account_id")
              if text(params, name, max_length=300)]
    if unkept:
        parts.append(_("Not kept: %(fields)s.") % {"fields": ", ".join(unkept)})
    return " ".join(parts)


def create_request(request, fmt):
    params = request.POST
    token = client(text(params, "api_key", max_length=200))
    code = text(params, "service_code", required=True, max_length=60)
    category = _category(code)
    point = _point(params)
    parcel_id = _parcel_id(category, params)
    raw_phone = text(params, "phone", max_length=40)
    phone = clean_mobile(raw_phone) if raw_phone else ""
    description = text(params, "description", max_length=4000)
    address = text(params, "address_string", max_length=1000)
    _count_submission(token)
    language = (translation.get_language() or "fa")[:2]
    with transaction.atomic():
        report = service.submit(category=category, point=point, description=description, address=address,
                                reporter=service.Reporter(phone=phone, language=language), parcel_id=parcel_id,
                                source=Report.Source.OPEN311, request=None)
        # which app sent it (staff only, not public): abuse is traced to its key
        Event.objects.create(report=report, at=report.created_at, actor=token.user, kind="note", public=False,
                             note=f"open311: api_key {token.prefix}…")
    return render(fmt, "service_requests", [{"service_request_id": report.tracking_code,
                                              "service_notice": _notice(report, params, phone),
                                              "account_id": None}], status=201)


@endpoint("GET", "POST")
def requests(request, fmt):
    if request.method == "POST":
        return create_request(request, fmt)
    return _read_requests(request, fmt)


@endpoint("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
def unknown(request, fmt=""):
    raise NotFound(_("There is no Open311 resource at %(path)s; start from %(discovery)s.")
                   % {"path": request.path[:200], "discovery": f"{BASE_PATH}/discovery.xml"})
