"""Open311 GeoReport v2 (reports/open311.py) driven by raw HTTP requests as the spec writes them (form-encoded POSTs,
.json and .xml resources, the XML parsed), against the real PostGIS and the demo city: discovery, services and
service definitions, POSTs refused with Open311's errors (and nothing written), a good POST that then shows in the
GETs without any personal data, the filters and limits of GET requests, jurisdiction_id; then the round trip against
the portal served by gunicorn, with urllib and with the `georeport` client library."""

import datetime as dt
import json
import threading
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.contrib.gis.geos import Point
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notices.models import Message
from reports import codes, open311, service, workflow
from reports.models import Category, Event, Report
from tests.conftest import make_user

# Every test but the round trip runs in a rolled-back transaction (its fixtures ask for `db`); the round trip
# commits what the served portal must see, and removes it after.

BASE = "/open311/v2"
FORM = "application/x-www-form-urlencoded; charset=utf-8"
PHONE_TYPED = "۰۹۱۷ ۵۵۵ ۶۶۷۷"  # as a Persian phone keyboard types it
PHONE = "09175556677"
PERSONAL = {"first_name": "Zohreh", "last_name": "Kazemifar", "email": "zohreh.k@example.org",
            "device_id": "device-7f3a9c", "account_id": "acct-99812"}


# --- helpers ----------------------------------------------------------------------------------------------------------

def lonlat(point):
    p = Point(point.x, point.y, srid=point.srid)
    p.transform(4326)
    return p.x, p.y


def post(client, fmt="json", **fields):
    return client.post(f"{BASE}/requests.{fmt}", data=urllib.parse.urlencode(fields), content_type=FORM)


def errors_of(response, fmt="json"):
    """The Open311 error list of an answer: [(code, description)], checked to be the spec's shape."""
    if fmt == "json":
        assert response["Content-Type"] == "application/json; charset=utf-8"
        body = json.loads(response.content)
        assert isinstance(body, list) and body
        assert all(set(e) == {"code", "description"} for e in body)
        return [(e["code"], e["description"]) for e in body]
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    root = ET.fromstring(response.content)
    assert root.tag == "errors"
    return [(int(e.findtext("code")), e.findtext("description")) for e in root.findall("error")]


def xml_items(response, root, item):
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    assert response.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    tree = ET.fromstring(response.content)
    assert tree.tag == root
    return [{child.tag: child for child in element} for element in tree.findall(item)]


@pytest.fixture
def en_client(client):
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def app_key(db):
    """An Open311 app's account with the permission to add reports, and its personal API token."""
    from accounts import apitokens

    user = make_user("open311-app")
    user.user_permissions.add(Permission.objects.get(content_type__app_label="reports", codename="add_report"))
    _row, token = apitokens.create(user, "Open311 app")
    return token


@pytest.fixture
def good(categories, spot, app_key):
    point, _parcel = spot
    lon, lat = lonlat(point)
    return {"api_key": app_key, "service_code": "pothole", "lat": f"{lat:.7f}", "long": f"{lon:.7f}",
            "description": "چاله‌ی عمیق وسط خیابان", "address_string": "کوچه‌ی ۱۲، پلاک ۴", "phone": PHONE_TYPED}


# --- discovery and services ------------------------------------------------------------------------------------------

def test_discovery_in_both_formats_points_at_the_endpoint(client, categories):
    answer = client.get(f"{BASE}/discovery.json")
    assert answer.status_code == 200 and answer["Content-Type"] == "application/json; charset=utf-8"
    doc = answer.json()
    assert {"changeset", "contact", "key_service", "endpoints"} <= set(doc) and doc["changeset"]
    (endpoint,) = doc["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "http://testserver/open311/v2" and endpoint["type"] == "production"
    assert set(endpoint["formats"]) == {"text/xml", "application/json"}
    xml = client.get(f"{BASE}/discovery.xml")
    root = ET.fromstring(xml.content)
    assert xml["Content-Type"] == "text/xml; charset=utf-8" and root.tag == "discovery"
    assert root.findtext("endpoints/endpoint/url") == endpoint["url"]
    assert sorted(f.text for f in root.findall("endpoints/endpoint/formats/format")) == sorted(endpoint["formats"])


def test_services_list_every_active_category_in_both_formats(client, categories):
    Category.objects.filter(code="debris").update(active=False)
    answer = client.get(f"{BASE}/services.json")
    assert answer.status_code == 200
    listed = {s["service_code"]: s for s in answer.json()}
    active = {c.code: c for c in Category.objects.filter(active=True)}
    assert set(listed) == set(active) and "debris" not in listed
    for code, s in listed.items():
        assert set(s) == {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
        assert s["service_name"] == active[code].name  # Persian first
        assert s["metadata"] is active[code].needs_parcel and s["type"] == "realtime"
    assert listed["illegal-construction"]["metadata"] is True and listed["pothole"]["metadata"] is False
    english = client.get(f"{BASE}/services.json", HTTP_COOKIE="django_language=en").json()
    assert {s["service_code"]: s["service_name"] for s in english}["pothole"] == active["pothole"].name_en
    xml = xml_items(client.get(f"{BASE}/services.xml"), "services", "service")
    assert {s["service_code"].text: (s["service_name"].text, s["metadata"].text) for s in xml} == {
        code: (s["service_name"], "true" if s["metadata"] else "false") for code, s in listed.items()}


def test_a_service_definition_asks_for_the_parcel_where_the_category_needs_one(client, categories):
    parcel = client.get(f"{BASE}/services/illegal-construction.json").json()
    assert parcel["service_code"] == "illegal-construction"
    (attribute,) = parcel["attributes"]
    assert attribute["code"] == "parcel" and attribute["datatype"] == "string"
    assert attribute["required"] is True and attribute["variable"] is True and attribute["order"] == 1
    assert client.get(f"{BASE}/services/pothole.json").json() == {"service_code": "pothole", "attributes": []}
    root = ET.fromstring(client.get(f"{BASE}/services/illegal-construction.xml").content)
    assert root.tag == "service_definition" and root.findtext("service_code") == "illegal-construction"
    assert [(a.findtext("code"), a.findtext("required")) for a in root.findall("attributes/attribute")] == [
        ("parcel", "true")]
    for fmt in ("json", "xml"):
        missing = client.get(f"{BASE}/services/no-such-thing.{fmt}")
        assert missing.status_code == 404
        assert errors_of(missing, fmt)[0][0] == 404


# --- POST refused ----------------------------------------------------------------------------------------------------

def _far_from_parcels(spot):
    point, _parcel = spot
    lon, lat = lonlat(Point(point.x + 30000, point.y, srid=point.srid))  # 30 km east: inside the CRS, no parcel
    return f"{lat:.6f}", f"{lon:.6f}"


@pytest.mark.parametrize("change, status, words", [
    ({"api_key": None}, 403, "api_key is missing"),
    ({"api_key": "not-a-token"}, 403, "Invalid api_key"),
    ({"api_key": "gis_0123abcd_" + "A" * 43}, 403, "Invalid api_key"),
    ({"service_code": None}, 400, "service_code is required"),
    ({"service_code": "no-such-service"}, 404, "service_code 'no-such-service' was not found"),
    ({"lat": None, "long": None, "address_string": "میدان امام"}, 400, "address_string or address_id alone"),
    ({"lat": None, "long": None, "address_string": None}, 400, "lat and long are required"),
    ({"long": None}, 400, "lat and long are required"),
    ({"lat": "north"}, 400, "lat 'north' is not a number"),
    ({"lat": "91"}, 400, "lat must be between -90 and 90"),
    ({"lat": "0", "long": "0"}, 400, "outside the city"),
    ("far", 400, "outside the city"),
    ({"service_code": "illegal-construction"}, 400, "attribute[parcel] is required"),
    ({"service_code": "illegal-construction", "attribute[parcel]": "9-9-999-999-9-9-9"}, 400, "no parcel has"),
    ({"service_code": "illegal-construction", "attribute[parcel]": "1-2"}, 400, "attribute[parcel]"),
    ({"phone": "12345"}, 400, "is not a mobile number"),
    ({"description": ""}, 400, "Describe the problem"),
    ({"description": "x" * 4001}, 400, "longer than 4000"),
    ({"jurisdiction_id": "sfgov.org"}, 404, "jurisdiction_id 'sfgov.org' was not found"),
])
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_bad_post_gets_an_open311_error_and_writes_nothing(en_client, good, spot, change, status, words, fmt):
    fields = dict(good)
    if change == "far":
        fields["lat"], fields["long"] = _far_from_parcels(spot)
    else:
        fields.update(change)
    answer = post(en_client, fmt, **{k: v for k, v in fields.items() if v is not None})
    assert answer.status_code == status, answer.content
    ((code, description),) = errors_of(answer, fmt)
    assert code == status and words in description
    assert not Report.objects.exists() and not Message.objects.filter(event__startswith="reports.").exists()


def test_keys_that_are_revoked_expired_or_without_the_permission_are_refused(en_client, good):
    from accounts import apitokens
    from accounts.models import ApiToken

    row = ApiToken.objects.get(prefix=good["api_key"][:apitokens.PREFIX_LENGTH])
    plain_user = make_user("no-permission-app")
    _other, plain = apitokens.create(plain_user, "no permission")
    answer = post(en_client, **{**good, "api_key": plain})
    assert answer.status_code == 403 and "may not submit reports" in errors_of(answer)[0][1]
    ApiToken.objects.filter(pk=row.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    assert "expired" in errors_of(post(en_client, **good))[0][1]
    ApiToken.objects.filter(pk=row.pk).update(expires_at=None)
    apitokens.revoke(row)
    answer = post(en_client, "xml", **good)
    assert answer.status_code == 403 and "revoked" in errors_of(answer, "xml")[0][1]
    assert not Report.objects.exists()


def test_too_many_posts_from_one_key_are_a_429(en_client, good, settings):
    settings.REPORTS_OPEN311_RATE_PER_KEY = ["2/3600"]
    settings.REPORTS_RATE_PER_NUMBER = ["100/3600"]
    for _ in range(2):
        assert post(en_client, **good).status_code == 201
    answer = post(en_client, **good)
    assert answer.status_code == 429 and int(answer["Retry-After"]) > 0
    assert errors_of(answer)[0][0] == 429 and Report.objects.count() == 2


def test_other_methods_and_paths_get_open311_errors(db, client):
    answer = client.put(f"{BASE}/requests.json")
    assert answer.status_code == 405 and errors_of(answer)[0][0] == 405 and "POST" in answer["Allow"]
    answer = client.post(f"{BASE}/services.xml")
    assert answer.status_code == 405 and errors_of(answer, "xml")[0][0] == 405
    for path in (f"{BASE}/tokens/1.xml", f"{BASE}/", "/open311/", f"{BASE}/services.csv"):
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert errors_of(answer, "xml")[0][0] == 404
    assert errors_of(client.get(f"{BASE}/nothing.json"))[0][0] == 404


# --- a good POST, then the GETs ---------------------------------------------------------------------------------------

class _Recorder(BaseHTTPRequestHandler):
    hits: list = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        _Recorder.hits.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_a_good_post_is_a_report_that_every_get_shows_without_personal_data(en_client, good, spot):
    server = HTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Recorder.hits = []
    media = f"http://127.0.0.1:{server.server_port}/photo.jpg"
    try:
        answer = post(en_client, **good, **PERSONAL, media_url=media)
    finally:
        server.shutdown()
    assert answer.status_code == 201 and answer["Content-Type"] == "application/json; charset=utf-8"
    (created,) = answer.json()
    assert set(created) == {"service_request_id", "service_notice", "account_id"} and created["account_id"] is None
    code = created["service_request_id"]
    assert codes.is_valid(code)
    assert "media_url was ignored" in created["service_notice"] and _Recorder.hits == []  # never fetched
    assert "Not kept: email, first_name, last_name, device_id, account_id" in created["service_notice"]
    report = Report.objects.get(tracking_code=code)
    assert report.source == Report.Source.OPEN311 and report.reporter_phone == PHONE and report.reporter is None
    assert report.category.code == "pothole" and report.address == good["address_string"]
    assert report.geom.distance(spot[0]) < 0.05
    assert Message.objects.filter(event="reports.received", phone=PHONE).exists()  # the citizen's SMS
    note = Event.objects.get(report=report, kind="note")
    assert note.public is False and note.actor.username == "open311-app"

    pages = [en_client.get(f"{BASE}/requests.{fmt}") for fmt in ("json", "xml")]
    pages += [en_client.get(f"{BASE}/requests/{code}.{fmt}") for fmt in ("json", "xml")]
    pages += [en_client.get(f"{BASE}/requests.json", {"service_request_id": code})]
    listed = pages[0].json()
    assert [r["service_request_id"] for r in listed] == [code]
    assert pages[2].json() == listed  # a list of one, per spec
    assert pages[4].json() == listed
    (one,) = listed
    assert one["status"] == "open" and one["service_code"] == "pothole"
    assert one["service_name"] == "Pothole or broken asphalt" and one["description"] == good["description"]
    assert one["agency_responsible"] == report.department.name_en
    assert abs(one["lat"] - float(good["lat"])) < 1e-5 and abs(one["long"] - float(good["long"])) < 1e-5
    assert one["zipcode"] is None and one["media_url"] is None
    for name in ("requested_datetime", "updated_datetime", "expected_datetime"):
        assert dt.datetime.fromisoformat(one[name]).tzinfo is not None  # w3, with its zone
    assert dt.datetime.fromisoformat(one["expected_datetime"]) - dt.datetime.fromisoformat(
        one["requested_datetime"]) == dt.timedelta(days=report.category.sla_days)
    xml = xml_items(pages[1], "service_requests", "request")
    assert [(r["service_request_id"].text, r["status"].text, r["lat"].text) for r in xml] == [
        (code, "open", str(one["lat"]))]
    assert ET.fromstring(pages[3].content).findtext("request/service_request_id") == code
    typed_digits = PHONE_TYPED.replace(" ", "")
    for page in pages:
        body = page.content.decode()
        for secret in (PHONE, PHONE[1:], typed_digits, *PERSONAL.values(), good["address_string"], good["api_key"]):
            assert secret not in body, secret
    assert en_client.get(f"{BASE}/requests/1234567890.json").status_code in (404,)
    missing = en_client.get(f"{BASE}/requests/{code[:-1]}0.xml" if code[-1] != "0" else f"{BASE}/requests/1.xml")
    assert missing.status_code == 404 and errors_of(missing, "xml")[0][0] == 404


def test_a_post_without_phone_goes_in_without_notices(en_client, good):
    fields = {k: v for k, v in good.items() if k != "phone"}
    answer = post(en_client, "xml", **fields)
    assert answer.status_code == 201
    root = ET.fromstring(answer.content)
    assert root.tag == "service_requests"
    code = root.findtext("request/service_request_id")
    assert "No SMS notices" in root.findtext("request/service_notice") and root.find("request/account_id") is not None
    report = Report.objects.get(tracking_code=code)
    assert report.reporter_phone == "" and not Message.objects.filter(event__startswith="reports.").exists()


def test_a_report_about_a_home_shows_its_block_and_no_description(en_client, good, spot):
    point, parcel = spot
    answer = post(en_client, **{**good, "service_code": "illegal-construction",
                                "attribute[parcel]": parcel.renewal_code.replace("-", " - ")})
    assert answer.status_code == 201, answer.content
    report = Report.objects.get(tracking_code=answer.json()[0]["service_request_id"])
    assert report.parcel_id == parcel.pk
    (one,) = en_client.get(f"{BASE}/requests.json").json()
    assert one["description"] is None
    public_lon, public_lat = lonlat(report.public_geom)
    exact_lon, exact_lat = lonlat(report.geom)
    assert (one["long"], one["lat"]) == (round(public_lon, 6), round(public_lat, 6))
    assert (round(exact_lon, 6), round(exact_lat, 6)) != (one["long"], one["lat"])
    assert good["lat"][:9] not in json.dumps(one)


def test_control_characters_do_not_break_the_xml(en_client, good):
    answer = post(en_client, **{**good, "description": "bell\x07 and \x1b escape, تب\tok"})
    code = answer.json()[0]["service_request_id"]
    root = ET.fromstring(en_client.get(f"{BASE}/requests/{code}.xml").content)  # well-formed
    assert root.findtext("request/description") == "bell and  escape, تب\tok"


def test_jurisdiction_id_is_accepted_when_it_is_ours_and_a_404_otherwise(en_client, good, settings):
    settings.REPORTS_OPEN311_JURISDICTION = "darab.ir"
    assert en_client.get(f"{BASE}/services.json", {"jurisdiction_id": "darab.ir"}).status_code == 200
    assert en_client.get(f"{BASE}/services.json", {"jurisdiction_id": "DARAB.IR"}).status_code == 200
    assert en_client.get(f"{BASE}/services.json", {"jurisdiction_id": ""}).status_code == 200  # optional
    for path in ("services.xml", "services/pothole.xml", "requests.xml", "discovery.xml"):
        answer = en_client.get(f"{BASE}/{path}", {"jurisdiction_id": "sfgov.org"})
        assert answer.status_code == 404 and "darab.ir" in errors_of(answer, "xml")[0][1]
    assert post(en_client, **good, jurisdiction_id="darab.ir").status_code == 201


def test_the_default_jurisdiction_is_the_municipality_name_as_a_slug():  # no database
    expected = "-".join(part for part in
                        "".join(c if c.isalnum() else " " for c in settings.MUNICIPALITY_NAME_EN.lower()).split())
    assert open311.jurisdiction() == expected and " " not in expected


# --- the filters and limits of GET requests ---------------------------------------------------------------------------

def _reports_at(categories, spot, days_ago: list[int], category="waste"):
    point, _parcel = spot
    now = timezone.now()
    made = []
    for i, days in enumerate(days_ago):
        at = point if i == 0 else Point(point.x + 200 * i, point.y, srid=point.srid)
        made.append(service.submit(category=categories[category], point=at, description=f"r{i}",
                                   reporter=service.Reporter(), now=now - dt.timedelta(days=days)))
    return made


def _ids(client, **params):
    answer = client.get(f"{BASE}/requests.json", params)
    assert answer.status_code == 200, answer.content
    return [r["service_request_id"] for r in answer.json()]


def test_dates_default_to_the_last_90_days_and_filter_by_requested_datetime(en_client, categories, spot):
    recent, month, old = _reports_at(categories, spot, [1, 30, 120])
    assert _ids(en_client) == [recent.tracking_code, month.tracking_code]  # newest first, not the 120-day-old one
    day = (timezone.localtime() - dt.timedelta(days=30)).date()
    assert _ids(en_client, start_date=f"{day}T00:00:00+03:30", end_date=f"{day}T23:59:59+03:30") == [
        month.tracking_code]
    start = (timezone.now() - dt.timedelta(days=125)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert _ids(en_client, start_date=start) == [old.tracking_code]  # start + 90 days
    assert _ids(en_client, start_date=f"{day}", end_date=f"{day}") == [month.tracking_code]  # dates alone: whole days
    unencoded = en_client.get(f"{BASE}/requests.json?start_date={day}T00:00:00+03:30&end_date={day}T23:59:59+03:30")
    assert [r["service_request_id"] for r in unencoded.json()] == [month.tracking_code]  # '+' read as a space
    for params, words in [({"start_date": "yesterday"}, "not a w3 datetime"),
                          ({"start_date": "2026-01-01T00:00:00"}, "needs its time zone"),
                          ({"start_date": "2026-02-30"}, "not a w3 datetime"),
                          ({"start_date": "2025-01-01T00:00:00Z", "end_date": "2025-06-01T00:00:00Z"}, "90 days"),
                          ({"start_date": "2025-06-01T00:00:00Z", "end_date": "2025-01-01T00:00:00Z"}, "after")]:
        answer = en_client.get(f"{BASE}/requests.xml", params)
        assert answer.status_code == 400 and words in errors_of(answer, "xml")[0][1], params


def test_status_service_code_and_id_filters(en_client, categories, spot, role_users):
    (waste,), (light,) = _reports_at(categories, spot, [2]), _reports_at(categories, spot, [4], "street-light")
    service.change_status(waste, workflow.REJECTED, by=role_users["admin"], note="تکراری")
    assert _ids(en_client, status="open") == [light.tracking_code]
    assert _ids(en_client, status="closed") == [waste.tracking_code]
    assert _ids(en_client, status="open,closed") == _ids(en_client)
    closed = en_client.get(f"{BASE}/requests.json", {"status": "closed"}).json()[0]
    assert closed["status"] == "closed" and closed["status_notes"] == "تکراری"
    assert _ids(en_client, service_code="street-light") == [light.tracking_code]
    assert set(_ids(en_client, service_code="street-light,waste")) == {light.tracking_code, waste.tracking_code}
    answer = en_client.get(f"{BASE}/requests.json", {"status": "pending"})
    assert answer.status_code == 400 and "status" in errors_of(answer)[0][1]
    old = _reports_at(categories, spot, [200])[0]  # outside every date window
    assert _ids(en_client, service_request_id=f"{old.tracking_code}, {light.tracking_code}", status="closed",
                start_date="2020-01-01") == [light.tracking_code, old.tracking_code]  # overrides every other filter


def test_at_most_1000_requests_in_one_answer(en_client, categories, spot):
    point, _parcel = spot
    pothole = categories["pothole"]
    now = timezone.now()
    Report.objects.bulk_create([
        Report(tracking_code=codes.new_code(), category=pothole, department=pothole.department, geom=point,
               public_geom=point, description=f"bulk {i}", created_at=now - dt.timedelta(minutes=i),
               updated_at=now, due_at=now + dt.timedelta(days=3)) for i in range(open311.MAX_REQUESTS + 3)])
    started = timezone.now()
    with CaptureQueriesContext(connection) as queries:
        answer = en_client.get(f"{BASE}/requests.json")
    took = (timezone.now() - started).total_seconds()
    rows = answer.json()
    assert len(rows) == 1000 and answer["X-Open311-Max-Results"] == "1000" and answer["X-Open311-Truncated"] == "true"
    assert rows[0]["description"] == "bulk 0" and rows[-1]["description"] == "bulk 999"  # the newest thousand
    print(f"GET requests.json with 1000 requests: {took * 1000:.0f} ms, {len(queries)} queries")
    narrow = en_client.get(f"{BASE}/requests.json", {"start_date": (now - dt.timedelta(minutes=10)).isoformat()})
    assert len(narrow.json()) == 11 and "X-Open311-Truncated" not in narrow


# --- the round trip against the served portal ---------------------------------------------------------------------

@pytest.fixture
def committed_app(demo_city, django_db_blocker):
    """Categories, notice texts and an app's key committed for the portal served by gunicorn; removed afterwards."""
    from accounts import apitokens
    from accounts.models import ApiToken
    from django.contrib.auth.models import User
    from notices import defaults
    from notices.models import Template
    from parcels.models import Parcel
    from reports import loader
    from reports.models import Department

    with django_db_blocker.unblock():
        had_categories = set(Category.objects.values_list("code", flat=True))
        had_departments = set(Department.objects.values_list("code", flat=True))
        had_templates = set(Template.objects.values_list("pk", flat=True))
        defaults.load()
        loader.load(loader.read(loader.DEFAULT_FILE))
        user = User.objects.create_user("open311-live-app", password=None)
        user.user_permissions.add(Permission.objects.get(content_type__app_label="reports", codename="add_report"))
        _row, token = apitokens.create(user, "live")
        parcel = Parcel.objects.filter(renewal_code__isnull=False).order_by("id")[50]
        lon, lat = lonlat(parcel.geom.point_on_surface)
    made: list[str] = []
    try:
        yield token, (lon, lat), made
    finally:
        with django_db_blocker.unblock():
            Message.objects.filter(event__startswith="reports.", context__tracking_code__in=made).delete()
            Report.objects.filter(tracking_code__in=made).delete()
            ApiToken.objects.filter(user=user).delete()
            user.delete()
            Category.objects.exclude(code__in=had_categories).delete()
            Department.objects.exclude(code__in=had_departments).delete()
            Template.objects.exclude(pk__in=had_templates).delete()


def _http(url, data=None):
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, headers={"Content-Type": FORM} if body else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def test_post_and_read_back_over_http_with_urllib_and_the_georeport_library(portal_url, committed_app):
    from georeport import GeoReport

    token, (lon, lat), made = committed_app
    base = f"{portal_url}{BASE}"
    fields = {"api_key": token, "service_code": "street-light", "lat": f"{lat:.7f}", "long": f"{lon:.7f}",
              "description": "چراغ خاموش است", "phone": PHONE, "first_name": PERSONAL["first_name"]}
    status, _headers, body = _http(f"{base}/requests.json", {**fields, "service_code": "nope"})
    assert status == 404 and json.loads(body)[0]["code"] == 404, body.decode()
    status, headers, body = _http(f"{base}/requests.xml", fields)
    assert status == 201 and headers["Content-Type"] == "text/xml; charset=utf-8"
    code = ET.fromstring(body).findtext("request/service_request_id")
    made.append(code)
    assert codes.is_valid(code)
    status, _headers, body = _http(f"{base}/requests/{code}.json")
    assert status == 200 and json.loads(body)[0]["service_code"] == "street-light"
    assert PHONE not in body.decode() and PERSONAL["first_name"] not in body.decode()

    discovery = json.loads(_http(f"{portal_url}{BASE}/discovery.json")[2])
    for fmt in ("json", "xml"):
        client = GeoReport(discovery["endpoints"][0]["url"], jurisdiction=open311.jurisdiction(), output_format=fmt)
        listed = client.get_service_list()
        assert "street-light" in {s["service_code"] for s in listed}
        definition = client.get_service_definition("illegal-construction")
        attributes = definition["attributes"]
        if fmt == "xml":
            attributes = [attributes["attribute"]]
        assert attributes[0]["code"] == "parcel"
        found = client.get_service_requests(service_request_id=code)
        found = [found] if isinstance(found, dict) else found  # xmltodict: one item is not a list
        assert [r["service_request_id"] for r in found] == [code]
        one = client.get_service_request(code)
        assert one["service_request_id"] == code and one["status"] == "open"
        assert PHONE not in json.dumps(one, ensure_ascii=False)


def test_media_url_is_the_first_approved_photo(en_client, categories, spot):
    from reports.models import Photo

    (report,) = _reports_at(categories, spot, [1])
    now = timezone.now()

    def photo(moderation, minutes, state=Photo.State.READY):
        return Photo.objects.create(report=report, image="x.jpg", thumbnail="x-thumb.jpg", width=10, height=10,
                                    bytes=100, sha256="0" * 64, moderation=moderation, state=state,
                                    created_at=now - dt.timedelta(minutes=minutes))

    photo(Photo.Moderation.PENDING, 30)  # the oldest, but not public yet
    photo(Photo.Moderation.APPROVED, 25, Photo.State.PROCESSING)  # approved (a fix's photo), but not made yet
    assert en_client.get(f"{BASE}/requests.json").json()[0]["media_url"] is None
    first = photo(Photo.Moderation.APPROVED, 20)
    photo(Photo.Moderation.APPROVED, 10)
    for path in ("requests.json", f"requests/{report.tracking_code}.json"):
        assert en_client.get(f"{BASE}/{path}").json()[0]["media_url"] == (
            f"http://testserver/reports/photos/{first.public_id}.jpg")


def test_a_post_needs_no_csrf_token_its_api_key_is_the_credential(good):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    answer = post(strict, "xml", **good)
    assert answer.status_code == 201, answer.content
    assert Report.objects.filter(source=Report.Source.OPEN311).count() == 1
