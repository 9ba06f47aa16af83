"""Photos uploaded while the report form is filled in (POST /api/reports/photos, reports/staging.py) and attached by
token at submission: checked as inline photos are, the EXIF place offered, a token used once, only by its citizen's
session, until it expires; the never-attached ones purged with their files."""

import datetime as dt
import io

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import timezone

from reports import staging
from reports.models import Event, Photo, Report, StagedPhoto
from tests.reports.conftest import run_photo_jobs
from tests.reports.test_citizen_api import MOBILE, OTHER, _citizen, _form, _gps_exif, _lonlat, jpeg

pytestmark = pytest.mark.django_db


def _client(user):
    client = Client()
    client.cookies["django_language"] = "en"
    client.force_login(user)
    return client


@pytest.fixture
def citizen(categories):
    return _citizen(MOBILE)


@pytest.fixture
def client(citizen):
    return _client(citizen)


def _stage(client, photo=None):
    return client.post("/api/reports/photos", {"photo": photo or jpeg()})


def test_a_staged_photo_is_attached_by_its_token_once(client, spot):
    lon, lat = _lonlat(spot[0])
    staged = _stage(client, jpeg(exif=_gps_exif(lon, lat)))
    assert staged.status_code == 201, staged.content
    body = staged.json()
    assert (body["width"], body["height"]) == (640, 480)
    assert abs(body["location"]["lon"] - lon) < 1e-4 and abs(body["location"]["lat"] - lat) < 1e-4
    row = StagedPhoto.objects.get(token=body["token"])
    assert row.incoming.name.startswith("reports/incoming/") and default_storage.exists(row.incoming.name)
    raw = row.incoming.name

    # no lon/lat: the staged photo's place is the report's
    form = {k: v for k, v in _form(spot).items() if k not in ("lon", "lat")}
    response = client.post("/api/reports", {**form, "photo_tokens": [body["token"]]})
    assert response.status_code == 201, response.content
    report = Report.objects.get(tracking_code=response.json()["tracking_code"])
    assert report.geom.distance(spot[0]) < 2
    photo = Photo.objects.get(report=report)
    assert (photo.state, photo.moderation, photo.incoming.name, photo.width) == ("processing", "pending", raw, 640)
    assert Event.objects.filter(report=report, kind="photo", note=f"report:{photo.public_id}").exists()
    assert [p["state"] for p in response.json()["pending_photos"]] == ["processing"]
    assert not StagedPhoto.objects.exists()
    assert run_photo_jobs() == {photo.pk: "ready"}
    assert not default_storage.exists(raw)  # the raw upload went with the processing

    again = client.post("/api/reports", {**_form(spot), "photo_tokens": [body["token"]]})
    assert again.status_code == 400 and "unknown, used already or expired" in again.json()["message"]
    assert Report.objects.count() == 1


def test_a_token_works_only_for_its_citizen_and_session_and_until_it_expires(client, citizen, spot):
    token = _stage(client).json()["token"]
    other_citizen = _client(_citizen(OTHER))
    other_session = _client(citizen)  # the same citizen signed in on another device
    for someone in (other_citizen, other_session):
        response = someone.post("/api/reports", {**_form(spot), "photo_tokens": [token]})
        assert response.status_code == 400, response.content
    assert not Report.objects.exists() and StagedPhoto.objects.count() == 1
    StagedPhoto.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert client.post("/api/reports", {**_form(spot), "photo_tokens": [token]}).status_code == 400
    assert client.post("/api/reports", {**_form(spot), "photo_tokens": ["not-a-token"]}).status_code == 400
    assert not Report.objects.exists() and not Photo.objects.exists()


def test_staging_checks_the_photo_as_an_attached_one_and_counts_against_a_limit(client, settings):
    fake = io.BytesIO(b"%PDF-1.4\n" + b"0" * 2000)
    fake.name = "street.jpg"
    response = _stage(client, fake)
    assert response.status_code == 400 and "not a photo" in response.json()["message"]
    big = jpeg(size=(1600, 1200))
    settings.REPORTS_PHOTO_MAX_BYTES = len(big.getvalue()) - 1
    assert _stage(client, big).json()["error"] == "photo_too_large"
    assert client.post("/api/reports/photos", {}).status_code == 400
    settings.REPORTS_PHOTO_RATE_PER_NUMBER = ["1/3600"]
    assert _stage(client).status_code == 201
    refused = _stage(client)
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert StagedPhoto.objects.count() == 1
    anonymous = Client()
    anonymous.cookies["django_language"] = "en"
    assert anonymous.post("/api/reports/photos", {"photo": jpeg()}).json()["error"] == "signin_needed"


def test_tokens_and_inline_photos_count_together(client, spot, settings):
    settings.REPORTS_PHOTOS_MAX = 2
    tokens = [_stage(client).json()["token"] for _ in range(2)]
    response = client.post("/api/reports", {**_form(spot), "photo_tokens": tokens, "photos": [jpeg()]})
    assert response.status_code == 400 and "At most 2 photos" in response.json()["message"]
    response = client.post("/api/reports", {**_form(spot), "photo_tokens": tokens[:1], "photos": [jpeg()]})
    assert response.status_code == 201, response.content
    assert Photo.objects.filter(report__tracking_code=response.json()["tracking_code"]).count() == 2
    assert list(StagedPhoto.objects.values_list("token", flat=True)) == [staging.tokens_of(tokens[1:])[0]]


def test_the_periodic_job_purges_what_was_never_attached(client):
    old, fresh = (StagedPhoto.objects.get(token=_stage(client).json()["token"]) for _ in range(2))
    StagedPhoto.objects.filter(pk=old.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    assert staging.purge() == 1
    assert list(StagedPhoto.objects.all()) == [fresh]
    assert not default_storage.exists(old.incoming.name) and default_storage.exists(fresh.incoming.name)
    fresh.incoming.delete(save=False)
