"""The citizen's JSON API and pages of reports (reports/citizen_views.py) against the real PostGIS and real image
files: who may report (a citizen signed in with their mobile number), what is refused (and then nothing written),
duplicates nearby, voices, the tracking answer without personal data, rating and reopening through the service's
windows, and the rate limits."""

import datetime as dt
import io
import json
import math

import pytest
from django.contrib.gis.geos import Point
from django.test import Client

from notices.models import Message
from reports import codes, service, workflow
from reports.models import Follower, Photo, Report
from tests.reports.conftest import run_photo_jobs

pytestmark = pytest.mark.django_db

MOBILE, OTHER = "09171230001", "09171230002"


def _citizen(mobile):
    from django.contrib.auth.models import User

    from accounts.models import Citizen

    user = User.objects.create_user(username=mobile)
    Citizen.objects.create(user=user, mobile=mobile, language="en")
    return user


@pytest.fixture
def english_client():
    client = Client()
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def citizen_client(categories):
    client = Client()
    client.cookies["django_language"] = "en"
    client.force_login(_citizen(MOBILE))
    return client


def _lonlat(point):
    wgs = Point(point.x, point.y, srid=point.srid)
    wgs.transform(4326)
    return wgs.x, wgs.y


def jpeg(size=(640, 480), colour=(200, 90, 40), exif=None) -> io.BytesIO:
    from PIL import Image

    buffer = io.BytesIO()
    image = Image.new("RGB", size, colour)
    image.save(buffer, "JPEG", quality=85, **({"exif": exif} if exif is not None else {}))
    buffer.seek(0)
    buffer.name = "photo.jpg"
    return buffer


def _form(spot, **extra):
    lon, lat = _lonlat(spot[0])
    return {"category": "pothole", "description": "A deep pothole by the bakery", "lon": f"{lon:.7f}",
            "lat": f"{lat:.7f}", **extra}


def _nothing_written():
    return (not Report.objects.exists() and not Photo.objects.exists()
            and not Message.objects.filter(event__startswith="reports.").exists())


# --- categories and who may report -------------------------------------------------------------------------------

def test_categories_lists_the_active_ones(english_client, categories):
    categories["debris"].active = False
    categories["debris"].save()
    body = english_client.get("/api/reports/categories").json()
    by_code = {c["code"]: c for c in body["categories"]}
    assert "debris" not in by_code and "pothole" in by_code
    pothole = by_code["pothole"]
    assert pothole["name_en"] == "Pothole or broken asphalt" and pothole["sla_days"] == categories["pothole"].sla_days
    assert by_code["illegal-construction"]["needs_parcel"] is True
    assert set(pothole) == {"code", "name", "name_en", "group", "needs_parcel", "private_place", "colour", "sla_days"}


def test_only_a_signed_in_citizen_may_report(english_client, categories, spot, role_users):
    response = english_client.post("/api/reports", _form(spot))
    assert response.status_code == 401 and response.json()["error"] == "signin_needed"
    english_client.force_login(role_users["admin"])  # staff are not citizens
    response = english_client.post("/api/reports", _form(spot))
    assert response.status_code == 401
    assert _nothing_written()


def test_a_post_without_the_csrf_token_is_refused(categories, spot):
    client = Client(enforce_csrf_checks=True)
    client.force_login(_citizen(MOBILE))
    response = client.post("/api/reports", _form(spot))
    assert response.status_code == 403 and response.json()["error"] == "csrf_failed"
    assert _nothing_written()


# --- submitting ----------------------------------------------------------------------------------------------------

def test_submit_records_the_report_tells_the_reporter_and_shows_no_personal_data(citizen_client, spot):
    response = citizen_client.post("/api/reports", _form(spot, address="Bakery street"))
    assert response.status_code == 201, response.content
    body = response.json()
    assert codes.is_valid(body["tracking_code"]) and body["url"] == f"/reports/{body['tracking_code']}/"
    assert body["status"] == "submitted" and body["you"]["reporter"] is True
    report = Report.objects.get(tracking_code=body["tracking_code"])
    assert report.reporter.username == MOBILE and report.reporter_phone == MOBILE
    assert report.parcel_id == spot[1].pk and report.category.code == "pothole"
    assert Message.objects.filter(event="reports.received", phone=MOBILE).exists()
    assert MOBILE not in response.content.decode() and "reporter" not in body
    lon, lat = _lonlat(spot[0])
    assert math.isclose(body["lon"], lon, abs_tol=1e-5) and math.isclose(body["lat"], lat, abs_tol=1e-5)


@pytest.mark.parametrize("change, words", [
    ({"category": None}, "category is required"),
    ({"description": None}, "description is required"),
    ({"description": "   "}, "description is required"),
    ({"category": "no-such-thing"}, "no category"),
    ({"lon": None, "lat": None}, "Pick the place"),
    ({"lat": None}, "both lon and lat"),
    ({"lon": "NaN"}, "not a number"),
    ({"lat": "inf"}, "not a number"),
    ({"lon": "200"}, "between -180 and 180"),
    ({"lon": "0", "lat": "0"}, "outside the city"),
    ({"description": "x" * 2001}, "longer than"),
])
def test_bad_submissions_are_refused_and_write_nothing(citizen_client, spot, change, words):
    form = {k: v for k, v in {**_form(spot), **change}.items() if v is not None}
    response = citizen_client.post("/api/reports", form)
    assert response.status_code == 400, response.content
    assert words in response.json()["message"]
    assert _nothing_written()


def test_a_report_about_a_parcel_names_one_at_the_place(citizen_client, spot):
    from parcels.models import Parcel

    point, parcel = spot
    far = Parcel.objects.exclude(pk=parcel.pk).extra(
        where=["NOT ST_DWithin(geom, ST_SetSRID(ST_MakePoint(%s, %s), %s), 500)"],
        params=[point.x, point.y, point.srid]).order_by("id").first()
    for wrong in (far.pk, 2**40):  # a parcel elsewhere, and none at all
        response = citizen_client.post("/api/reports", _form(spot, category="illegal-construction",
                                                             parcel_id=str(wrong)))
        assert response.status_code == 400 and "not at the place picked" in response.json()["message"]
    assert _nothing_written()
    response = citizen_client.post("/api/reports", _form(spot, category="illegal-construction",
                                                         parcel_id=str(parcel.pk)))
    assert response.status_code == 201
    report = Report.objects.get(tracking_code=response.json()["tracking_code"])
    assert report.parcel_id == parcel.pk and response.json()["place_is_approximate"] is True


def test_four_photos_are_too_many(citizen_client, spot, settings):
    settings.REPORTS_PHOTOS_MAX = 3
    response = citizen_client.post("/api/reports", {**_form(spot), "photos": [jpeg() for _ in range(4)]})
    assert response.status_code == 400 and "At most 3 photos" in response.json()["message"]
    assert _nothing_written()


def test_a_photo_that_is_not_an_image_leaves_nothing(citizen_client, spot):
    fake = io.BytesIO(b"%PDF-1.4\n" + b"0" * 2000)
    fake.name = "street.jpg"  # named like a photo: the content decides
    response = citizen_client.post("/api/reports", {**_form(spot), "photos": [jpeg(), fake]})
    assert response.status_code in (400, 415), response.content
    assert _nothing_written()


def test_a_photo_too_large_is_413_and_leaves_nothing(citizen_client, spot, settings):
    big = jpeg(size=(1600, 1200))
    settings.REPORTS_PHOTO_MAX_BYTES = len(big.getvalue()) - 1
    response = citizen_client.post("/api/reports", {**_form(spot), "photos": [jpeg(size=(64, 48)), big]})
    assert response.status_code == 413 and response.json()["error"] == "photo_too_large"
    assert _nothing_written()


def test_a_report_with_a_photo_keeps_it_for_moderation(citizen_client, spot):
    response = citizen_client.post("/api/reports", {**_form(spot), "photos": [jpeg()]})
    assert response.status_code == 201, response.content
    body = response.json()
    photo = Photo.objects.get(report__tracking_code=body["tracking_code"])
    assert photo.moderation == Photo.Moderation.PENDING
    assert body["photos"] == []  # not public before moderation
    mine = citizen_client.get(f"/api/reports/{body['tracking_code']}").json()
    assert [(p["url"], p["state"]) for p in mine["pending_photos"]] == [
        (f"/reports/photos/{photo.public_id}.jpg", "processing")]
    assert citizen_client.get(mine["pending_photos"][0]["url"]).status_code == 503  # not made yet
    assert run_photo_jobs() == {photo.pk: "ready"}
    mine = citizen_client.get(f"/api/reports/{body['tracking_code']}").json()
    assert [p["state"] for p in mine["pending_photos"]] == ["ready"]
    assert citizen_client.get(mine["pending_photos"][0]["url"]).status_code == 200
    anyone = Client().get(f"/api/reports/{body['tracking_code']}").json()
    assert anyone["pending_photos"] == [] and anyone["photos"] == []


def _gps_exif(lon, lat):
    from PIL import Image

    def dms(value):
        seconds = round(abs(value) * 3600, 3)
        return (float(seconds // 3600), float(seconds % 3600 // 60), round(seconds % 60, 3))

    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N" if lat >= 0 else "S", 2: dms(lat), 3: "E" if lon >= 0 else "W", 4: dms(lon)})
    exif[0x8825] = gps
    return exif


def test_the_place_comes_from_the_photo_when_none_is_picked(citizen_client, spot):
    lon, lat = _lonlat(spot[0])
    form = {k: v for k, v in _form(spot).items() if k not in ("lon", "lat")}
    response = citizen_client.post("/api/reports", {**form, "photos": [jpeg(), jpeg(exif=_gps_exif(lon, lat))]})
    assert response.status_code == 201, response.content
    report = Report.objects.get(tracking_code=response.json()["tracking_code"])
    assert report.geom.distance(spot[0]) < 2  # metres: the photo's place, to the EXIF's precision


def test_reports_are_rate_limited_with_retry_after(citizen_client, spot, settings):
    settings.REPORTS_RATE_PER_NUMBER = ["1/3600"]
    assert citizen_client.post("/api/reports", _form(spot)).status_code == 201
    response = citizen_client.post("/api/reports", _form(spot))
    assert response.status_code == 429 and response.json()["error"] == "rate_limited"
    assert int(response["Retry-After"]) > 0
    assert Report.objects.count() == 1


# --- duplicates nearby and voices ----------------------------------------------------------------------------------

def test_nearby_offers_open_reports_of_the_category_without_personal_data(english_client, categories, spot,
                                                                         reporter):
    point, _parcel = spot
    first = service.submit(category=categories["pothole"], point=point, description="Pothole", reporter=reporter)
    lon, lat = _lonlat(Point(point.x + 20, point.y, srid=point.srid))
    body = english_client.get(f"/api/reports/nearby?category=pothole&lon={lon}&lat={lat}").json()
    assert [r["tracking_code"] for r in body["results"]] == [first.tracking_code]
    assert 18 <= body["results"][0]["distance"] <= 22 and "timeline" not in body["results"][0]
    assert reporter.phone not in json.dumps(body)
    other = english_client.get(f"/api/reports/nearby?category=waste&lon={lon}&lat={lat}").json()
    assert other["results"] == []
    assert english_client.get(f"/api/reports/nearby?category=pothole&lon={lon}").status_code == 400
    assert english_client.get(f"/api/reports/nearby?category=nope&lon={lon}&lat={lat}").status_code == 400
    assert english_client.get(f"/api/reports/nearby?category=pothole&lon=nan&lat={lat}").status_code == 400


def test_nearby_reports_about_homes_are_measured_to_their_block(english_client, categories, spot, reporter):
    point, _parcel = spot
    home = service.submit(category=categories["illegal-construction"], point=point, description="x",
                          reporter=reporter)
    lon, lat = _lonlat(point)
    found = english_client.get(f"/api/reports/nearby?category=illegal-construction&lon={lon}&lat={lat}").json()
    if found["results"]:  # within the duplicate distance of its block's point
        assert found["results"][0]["distance"] == round(home.public_geom.distance(point))
        assert found["results"][0]["description"] is None


def test_a_citizen_adds_their_voice_once(citizen_client, categories, spot, reporter):
    report = service.submit(category=categories["pothole"], point=spot[0], description="x", reporter=reporter)
    anonymous = Client().post(f"/api/reports/{report.tracking_code}/voice")
    assert anonymous.status_code == 401
    first = citizen_client.post(f"/api/reports/{report.tracking_code}/voice").json()
    assert first == {"tracking_code": report.tracking_code, "added": True, "voices": 1,
                     "url": f"/reports/{report.tracking_code}/"}
    again = citizen_client.post(f"/api/reports/{report.tracking_code}/voice").json()
    assert again["added"] is False and again["voices"] == 1
    assert Follower.objects.filter(report=report, phone=MOBILE, is_reporter=False).exists()
    wrong = report.tracking_code[:-1] + str((int(report.tracking_code[-1]) + 1) % 10)
    assert citizen_client.post(f"/api/reports/{wrong}/voice").status_code == 400
    unknown = "123456789" + codes.luhn_digit("123456789")
    assert citizen_client.post(f"/api/reports/{unknown}/voice").status_code == 404


def test_tracking_answer_reads_persian_digits_and_says_what_a_wrong_code_is(english_client, categories, spot,
                                                                            reporter):
    report = service.submit(category=categories["waste"], point=spot[0], description="Bins full", reporter=reporter)
    persian = report.tracking_code.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    body = english_client.get(f"/api/reports/{persian}").json()
    assert body["tracking_code"] == report.tracking_code and body["description"] == "Bins full"
    assert [e["status"] for e in body["timeline"]] == ["submitted"]
    assert body["you"] == {"signed_in": False, "follower": False, "reporter": False, "may_voice": False,
                           "may_rate": False, "may_reopen": False}
    assert reporter.phone not in json.dumps(body)
    wrong = report.tracking_code[:-1] + str((int(report.tracking_code[-1]) + 1) % 10)
    refused = english_client.get(f"/api/reports/{wrong}")
    assert refused.status_code == 400 and "last one checks" in refused.json()["message"]


# --- rating, reopening, my reports ----------------------------------------------------------------------------------

def test_rate_and_reopen_follow_the_service_windows(citizen_client, categories, spot, role_users, settings):
    created = citizen_client.post("/api/reports", _form(spot)).json()
    code = created["tracking_code"]
    report = Report.objects.get(tracking_code=code)
    early = citizen_client.post(f"/api/reports/{code}/rate", {"rating": 5}, content_type="application/json")
    assert early.status_code == 409 and early.json()["error"] == "status_conflict"
    boss = role_users["admin"]
    service.change_status(report, workflow.RESOLVED, by=boss, note="Patched")
    stranger = Client()
    stranger.force_login(_citizen(OTHER))
    assert stranger.post(f"/api/reports/{code}/rate", {"rating": 5}, content_type="application/json"
                         ).status_code == 403
    assert stranger.post(f"/api/reports/{code}/reopen", {"note": "no"}).status_code == 403
    assert citizen_client.post(f"/api/reports/{code}/rate", {"rating": 6},
                               content_type="application/json").status_code == 400
    assert citizen_client.post(f"/api/reports/{code}/reopen", {"note": " "}).status_code == 400
    seen = citizen_client.get(f"/api/reports/{code}").json()["you"]
    assert seen["may_rate"] and seen["may_reopen"]
    reopened = citizen_client.post(f"/api/reports/{code}/reopen", {"note": "Still a hole"},
                                   content_type="application/json")
    assert reopened.status_code == 200 and reopened.json()["status"] == "submitted"
    assert reopened.json()["timeline"][-1]["kind"] == "reopen"
    report.refresh_from_db()
    report = service.change_status(report, workflow.RESOLVED, by=boss)
    Report.objects.filter(pk=report.pk).update(
        resolved_at=report.resolved_at - dt.timedelta(days=settings.REPORTS_REOPEN_DAYS + 1))
    late = citizen_client.post(f"/api/reports/{code}/reopen", {"note": "again"})
    assert late.status_code == 409
    rated = citizen_client.post(f"/api/reports/{code}/rate", {"rating": 5, "comment": "Good"},
                                content_type="application/json")
    assert rated.status_code == 200 and rated.json()["status"] == "closed" and rated.json()["rating"] == 5
    report.refresh_from_db()
    assert report.rating == 5 and report.status == workflow.CLOSED and report.rating_comment == "Good"
    twice = citizen_client.post(f"/api/reports/{code}/rate", {"rating": 4}, content_type="application/json")
    assert twice.status_code == 409


def test_my_reports_lists_mine_and_those_i_follow(citizen_client, categories, spot, reporter):
    own = citizen_client.post("/api/reports", _form(spot)).json()["tracking_code"]
    theirs = service.submit(category=categories["waste"], point=spot[0], description="x", reporter=reporter)
    service.submit(category=categories["sidewalk"], point=spot[0], description="not mine", reporter=reporter)
    citizen_client.post(f"/api/reports/{theirs.tracking_code}/voice")
    body = citizen_client.get("/api/reports/mine").json()
    assert {(r["tracking_code"], r["role"]) for r in body["reports"]} == {(own, "reporter"),
                                                                         (theirs.tracking_code, "follower")}
    assert Client().get("/api/reports/mine").status_code == 401


# --- pages ------------------------------------------------------------------------------------------------------------

def test_pages_render_and_a_wrong_code_says_so(citizen_client, english_client, categories, spot, reporter):
    page = english_client.get("/reports/new/")
    assert page.status_code == 200
    text = page.content.decode()
    assert 'data-testid="pick-map"' in text and 'value="pothole"' in text and "csrftoken" in page.cookies
    assert "<script>" not in text  # inline scripts only with the CSP nonce (there are none)
    report = service.submit(category=categories["pothole"], point=spot[0], description="Big one",
                            reporter=reporter)
    track = english_client.get(f"/reports/{report.tracking_code}/")
    assert track.status_code == 200 and "Big one" in track.content.decode()
    assert reporter.phone not in track.content.decode()
    wrong = report.tracking_code[:-1] + str((int(report.tracking_code[-1]) + 1) % 10)
    bad = english_client.get(f"/reports/{wrong}/")
    assert bad.status_code == 400 and "the last one checks the others" in bad.content.decode()
    found = english_client.get(f"/reports/track/?code={report.tracking_code}")
    assert found.status_code == 302 and found["Location"] == f"/reports/{report.tracking_code}/"
    assert english_client.get("/reports/mine/").status_code == 302  # to the sign-in
    mine = citizen_client.get("/reports/mine/")
    assert mine.status_code == 200 and 'data-testid="no-reports"' in mine.content.decode()
