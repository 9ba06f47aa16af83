"""Photos of reports with real files, written by Pillow (and pillow-heif) in the test: the checks (content, not
name; size before reading; decompression bombs; absurd shapes), the place read from EXIF, the stored JPEG (upright,
RGB, resized, without any metadata: read back from the storage), the limit per report, moderation, and who sees a
photo through its URL (404, never 403, to those who may not), the moderation page and its JSON endpoint."""

import hashlib
import io
import os
import struct

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from django.test import Client
from PIL import Image, ImageCms
from PIL.TiffImagePlugin import IFDRational

from common.errors import ApiError
from reports import photos, service
from reports.models import Photo
from reports.service import Reporter
from tests.conftest import make_user
from tests.reports.conftest import run_photo_jobs

pytestmark = pytest.mark.django_db

# EXIF tags
ORIENTATION, MAKE, MODEL, ARTIST, COPYRIGHT = 0x0112, 0x010F, 0x0110, 0x013B, 0x8298
EXIF_IFD, GPS_IFD = 0x8769, 0x8825
DATETIME_ORIGINAL, OWNER_NAME, BODY_SERIAL = 0x9003, 0xA430, 0xA431
PERSONAL = [b"Jane Citizen", b"Canon", b"EOS 5D", b"SN-0042", b"2024:05:01", b"Exif", b"ICC_PROFILE",
            b"http://ns.adobe.com/xap", b"secret comment"]
LAT = (28, 45, 1.5)   # Darab: 28°45'01.5" N 54°33'18" E
LON = (54, 33, 18)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Every stored file in this test's own directory (Django's default storage: FileSystemStorage at MEDIA_ROOT)."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture
def report(categories, spot, reporter):
    point, _parcel = spot
    return service.submit(category=categories["pothole"], point=point, description="چاله", reporter=reporter)


def _rational(value):
    return IFDRational(int(round(value * 100)), 100)


def _dms(parts):
    return tuple(_rational(p) for p in parts)


def _halves(size, top, bottom, mode="RGB"):
    """An image whose top half is one colour and bottom half another (to see where 'up' went)."""
    image = Image.new(mode, size, top)
    image.paste(Image.new(mode, (size[0], size[1] // 2), bottom), (0, size[1] // 2))
    return image


def _upload(data: bytes, name="photo.jpg", content_type="image/jpeg"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def added(report, uploaded, **kwargs) -> Photo:
    """A photo added (checked from its header, kept raw, processing) and then made by its job, run here."""
    photo = photos.add(report, uploaded, **kwargs)
    assert photo.state == Photo.State.PROCESSING and not photo.image and photo.incoming
    assert run_photo_jobs() == {photo.pk: Photo.State.READY}
    photo.refresh_from_db()
    return photo


def camera_jpeg(*, orientation=6, lat=LAT, lon=LON, lat_ref="N", lon_ref="E", size=(600, 400), icc=True) -> bytes:
    """A phone's JPEG: stored sideways (top red, bottom blue) with EXIF orientation, the camera, the owner's name,
    the time taken, a serial number and the GPS position, an XMP packet, an ICC profile and a comment."""
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[MAKE], exif[MODEL] = "Canon", "EOS 5D"
    exif[ARTIST], exif[COPYRIGHT] = "Jane Citizen", "(c) Jane Citizen"
    sub = exif.get_ifd(EXIF_IFD)
    sub[DATETIME_ORIGINAL] = "2024:05:01 10:00:00"
    sub[OWNER_NAME], sub[BODY_SERIAL] = "Jane Citizen", "SN-0042"
    if lat is not None:
        gps = exif.get_ifd(GPS_IFD)
        gps[0] = b"\x02\x02\x00\x00"
        gps[1], gps[2], gps[3], gps[4] = lat_ref, _dms(lat), lon_ref, _dms(lon)
    xmp = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
           b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xap="http://ns.adobe.com/xap/1.0/">'
           b'<dc:creator>Jane Citizen</dc:creator></rdf:Description></rdf:RDF></x:xmpmeta>')
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes() if icc else None
    out = io.BytesIO()
    _halves(size, (220, 20, 20), (20, 20, 220)).save(out, "JPEG", quality=92, exif=exif.tobytes(), xmp=xmp,
                                                     icc_profile=icc, comment=b"secret comment")
    return out.getvalue()


def jpeg(size=(300, 200), colour=(200, 120, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG")
    return out.getvalue()


def segments(data: bytes) -> list[int]:
    """The JPEG's marker segments before the image data (APPn, COM, DQT, ...)."""
    assert data[:2] == b"\xff\xd8"
    i, markers = 2, []
    while i < len(data):
        assert data[i] == 0xFF
        marker = data[i + 1]
        markers.append(marker)
        if marker == 0xDA:  # start of scan: the pixels follow
            break
        length = struct.unpack(">H", data[i + 2:i + 4])[0]
        i += 2 + length
    return markers


def stored(photo, field="image") -> bytes:
    with default_storage.open(getattr(photo, field).name, "rb") as fh:
        return fh.read()


def assert_clean(data: bytes):
    """No metadata at all: only JFIF's APP0 among the application segments, no comment, nothing personal."""
    markers = segments(data)
    assert [m for m in markers if 0xE0 <= m <= 0xEF] in ([], [0xE0]), [hex(m) for m in markers]
    assert 0xFE not in markers  # COM
    for needle in PERSONAL:
        assert needle not in data, needle
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    assert not image.getexif()
    assert not {"exif", "icc_profile", "xmp", "comment", "photoshop"} & set(image.info)


# --- a phone's JPEG: place, orientation, metadata ----------------------------------------------------------------

def test_location_is_read_from_exif_gps():
    lon, lat = photos.location_of(_upload(camera_jpeg()))
    assert lat == pytest.approx(28 + 45 / 60 + 1.5 / 3600, abs=1e-9)
    assert lon == pytest.approx(54 + 33 / 60 + 18 / 3600, abs=1e-9)


def test_location_south_and_west_are_negative_and_bad_gps_is_none():
    lon, lat = photos.location_of(_upload(camera_jpeg(lat_ref="S", lon_ref="W")))
    assert lat < -28.7 and lon < -54.5
    assert photos.location_of(_upload(camera_jpeg(lat=None))) is None  # no GPS
    assert photos.location_of(_upload(camera_jpeg(lat=(0, 0, 0), lon=(0, 0, 0)))) is None  # no fix
    assert photos.location_of(_upload(camera_jpeg(lat=(95, 0, 0)))) is None  # out of range
    assert photos.location_of(_upload(jpeg())) is None  # no EXIF at all
    assert photos.location_of(_upload(b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n")) is None  # not a photo


def test_location_with_a_zero_denominator_is_none():
    exif = Image.Exif()
    gps = exif.get_ifd(GPS_IFD)
    gps[1], gps[2], gps[3], gps[4] = "N", (IFDRational(28, 0), _rational(45), _rational(0)), "E", _dms(LON)
    out = io.BytesIO()
    Image.new("RGB", (64, 64)).save(out, "JPEG", exif=exif.tobytes())
    assert photos.location_of(_upload(out.getvalue())) is None


def test_a_phone_photo_is_stored_upright_without_any_metadata(report):
    original = camera_jpeg()
    assert b"Jane Citizen" in original and b"Exif" in original  # the test file does carry them
    photo = added(report, _upload(original))
    data = stored(photo)
    assert_clean(data)
    assert_clean(stored(photo, "thumbnail"))
    image = Image.open(io.BytesIO(data)).convert("RGB")
    assert image.size == (400, 600) == (photo.width, photo.height)  # orientation 6 applied: portrait
    red, blue = image.getpixel((350, 300)), image.getpixel((50, 300))  # the stored top (red) is now on the right
    assert red[0] > 180 and red[2] < 80, red
    assert blue[2] > 180 and blue[0] < 80, blue
    assert photo.bytes == len(data) and photo.sha256 == hashlib.sha256(data).hexdigest()
    assert photo.moderation == Photo.Moderation.PENDING and photo.kind == Photo.Kind.REPORT
    assert max(Image.open(io.BytesIO(stored(photo, "thumbnail"))).size) == photos.THUMBNAIL_PIXELS


def test_an_upright_photo_without_a_profile_loses_its_metadata_too(report):
    """Nothing turned or converted: the decoded image itself is saved, and still nothing of its metadata."""
    photo = added(report, _upload(camera_jpeg(orientation=1, icc=False)))
    assert_clean(stored(photo))
    assert (photo.width, photo.height) == (600, 400)


def test_a_large_photo_is_resized_to_the_limit(report, settings):
    settings.REPORTS_PHOTO_MAX_PIXELS = 1000
    photo = added(report, _upload(jpeg(size=(3000, 1500))))
    assert (photo.width, photo.height) == (1000, 500)
    assert Image.open(io.BytesIO(stored(photo))).size == (1000, 500)
    # a JPEG whose half is within 90 % of the limit is decoded straight at half size (libjpeg's DCT scaling)
    photo = added(report, _upload(jpeg(size=(1980, 990))))
    assert (photo.width, photo.height) == (990, 495)


# --- other kinds of images ---------------------------------------------------------------------------------------

def test_a_transparent_png_is_laid_on_white(report):
    image = Image.new("RGBA", (300, 200), (0, 0, 0, 0))
    image.paste(Image.new("RGBA", (150, 200), (0, 160, 0, 255)), (150, 0))
    out = io.BytesIO()
    image.save(out, "PNG")
    photo = added(report, _upload(out.getvalue(), "photo.png", "image/png"))
    result = Image.open(io.BytesIO(stored(photo)))
    assert result.mode == "RGB"
    assert min(result.getpixel((40, 100))) > 240  # transparent: white, not black
    green = result.getpixel((260, 100))
    assert green[1] > 130 and green[0] < 40 and green[2] < 40


def test_a_cmyk_jpeg_becomes_rgb(report):
    out = io.BytesIO()
    Image.new("CMYK", (300, 200), (0, 255, 255, 0)).save(out, "JPEG")  # red in print colours
    assert Image.open(io.BytesIO(out.getvalue())).mode == "CMYK"
    photo = added(report, _upload(out.getvalue()))
    result = Image.open(io.BytesIO(stored(photo)))
    assert result.mode == "RGB"
    r, g, b = result.getpixel((150, 100))
    assert r > 200 and g < 60 and b < 60, (r, g, b)


def test_a_heic_photo_is_taken(report):
    import pillow_heif

    exif = Image.Exif()
    exif[ORIENTATION], exif[ARTIST] = 6, "Jane Citizen"  # sideways, like the JPEG above
    heif = pillow_heif.from_pillow(_halves((320, 240), (220, 20, 20), (20, 20, 220)))
    out = io.BytesIO()
    heif.save(out, quality=90, exif=exif.tobytes())
    data = out.getvalue()
    assert data[4:12] in (b"ftypheic", b"ftypmif1", b"ftypheix") and b"Jane Citizen" in data  # a real HEIF file
    photo = added(report, _upload(data, "IMG_0001.HEIC", "image/heic"))
    assert_clean(stored(photo))
    result = Image.open(io.BytesIO(stored(photo)))
    assert result.size == (240, 320)  # upright: turned once (pillow-heif turns it; it is not turned again)
    right, left = result.getpixel((200, 160)), result.getpixel((40, 160))
    assert right[0] > 180 and right[2] < 80 and left[2] > 180 and left[0] < 80


def test_a_sixteen_bit_png_keeps_its_greys(report):
    pixels = np.full((200, 300), 65535, dtype=np.uint16)
    pixels[:, 150:] = 32768  # right half mid-grey
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "PNG")
    data = out.getvalue()
    assert data[24] == 16  # the IHDR's bit depth: a real 16-bit PNG
    photo = added(report, _upload(data, "scan.png", "image/png"))
    result = Image.open(io.BytesIO(stored(photo))).convert("L")
    assert result.getpixel((50, 100)) > 245
    assert 110 < result.getpixel((250, 100)) < 145  # scaled, not clipped to white


def test_webp_is_taken(report):
    out = io.BytesIO()
    Image.new("RGB", (200, 100), (10, 200, 10)).save(out, "WEBP")
    photo = added(report, _upload(out.getvalue(), "x.webp", "image/webp"))
    assert (photo.width, photo.height) == (200, 100)


# --- refusals ------------------------------------------------------------------------------------------------------

def _refusal(uploaded) -> ApiError:
    with pytest.raises(ApiError) as caught:
        photos.check_upload(uploaded)
    return caught.value


def test_a_pdf_named_photo_jpg_is_refused_by_its_content(report, english, media):
    pdf = io.BytesIO()
    Image.new("RGB", (100, 100), "white").save(pdf, "PDF")  # a real PDF, named and typed as a JPEG
    error = _refusal(_upload(pdf.getvalue(), "photo.jpg", "image/jpeg"))
    assert error.status == 400 and "PDF document" in error.message
    with pytest.raises(ApiError):
        photos.add(report, _upload(pdf.getvalue(), "photo.jpg", "image/jpeg"))
    assert not Photo.objects.exists()
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))  # nothing kept


def test_an_html_page_and_a_gif_are_refused(english):
    error = _refusal(_upload(b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>", "p.jpg"))
    assert error.status == 400 and "HTML" in error.message
    gif = io.BytesIO()
    Image.new("RGB", (50, 50)).save(gif, "GIF")
    error = _refusal(_upload(gif.getvalue(), "p.jpg"))
    assert error.status == 400 and "GIF" in error.message and "not taken" in error.message


def test_a_broken_jpeg_is_marked_broken_by_its_job_and_never_shown(report, reporter, role_users, english, media,
                                                                   monkeypatch):
    """A JPEG cut short has a good header: it is taken at the upload (nothing decoded there), and the job, which
    decodes it whole, marks it broken with the reason, deletes the raw upload and nobody is ever served it."""
    data = jpeg(size=(800, 600))
    assert _refusal(_upload(b"")).status == 400
    with monkeypatch.context() as patch:  # the upload's checks decode no pixel
        patch.setattr(Image.Image, "load", lambda self: pytest.fail("decoded at the upload"))
        patch.setattr(__import__("PIL.ImageFile").ImageFile.ImageFile, "load",
                      lambda self: pytest.fail("decoded at the upload"))
        assert photos.check_upload(_upload(data[: len(data) // 3])) == (800, 600)
        photo = photos.add(report, _upload(data[: len(data) // 3]))  # JPEG by its first bytes, but cut short
    raw = media / photo.incoming.name
    assert raw.is_file() and "incoming" in photo.incoming.name
    assert run_photo_jobs() == {photo.pk: Photo.State.BROKEN}
    photo.refresh_from_db()
    assert photo.state == Photo.State.BROKEN and "cannot be read" in photo.refusal
    assert not raw.exists() and not photo.incoming and not photo.image and not photo.thumbnail
    assert not [p for p in media.rglob("*") if p.is_file()]
    for client in (_citizen_client(reporter.phone, "reporter-user"), _staff_client(role_users["admin"])):
        for url in _urls(photo):
            assert client.get(url).status_code == 404
    assert photos.add(report, _upload(jpeg())).state == Photo.State.PROCESSING  # a broken one does not count
    photos.add(report, _upload(jpeg()))
    photos.add(report, _upload(jpeg()))


def test_a_photo_is_served_to_nobody_before_its_job_made_it(report, reporter, role_users, client, media):
    """The raw upload is kept as it came under reports/incoming/, never served: the photo's URLs answer 503
    photo_processing to those who may see it (404 to the others) until the job made the clean JPEG; the photo of
    the fix, approved at once, is not public before either."""
    original = camera_jpeg()
    photo = photos.add(report, _upload(original))
    staff = role_users["admin"]
    fix = photos.add(report, _upload(jpeg()), kind=Photo.Kind.RESOLUTION, by=staff)
    raw = media / photo.incoming.name
    assert raw.read_bytes() == original  # as it came, metadata and all: so never served
    assert photo.incoming.name.startswith("reports/incoming/")
    for user_client in (_citizen_client(reporter.phone, "reporter-user"), _staff_client(staff)):
        user_client.cookies["django_language"] = "en"   # the page says it in the reader's language
        response = user_client.get(_urls(photo)[0])
        assert response.status_code == 503 and response["Retry-After"] == "5"
        assert b"being processed" in response.content
        assert user_client.get(_urls(fix)[1]).status_code == 503
    assert client.get(_urls(photo)[0]).status_code == 404 and client.get(_urls(fix)[0]).status_code == 503
    from reports.public import public_photos

    assert public_photos(report) == []  # the fix's photo is approved, but not processed yet
    assert not Photo.objects.filter(state=Photo.State.READY).exists()
    assert run_photo_jobs() == {photo.pk: Photo.State.READY, fix.pk: Photo.State.READY}
    assert not raw.exists()
    photo.refresh_from_db()
    assert not photo.incoming and photo.sha256
    assert [p["url"] for p in public_photos(report)] == [_urls(fix)[0]]
    fix.refresh_from_db()
    response = client.get(_urls(fix)[0])
    assert response.status_code == 200 and b"".join(response.streaming_content) == stored(fix)
    assert run_photo_jobs() == {}  # nothing left; a job run again leaves a processed photo alone
    assert photos.process(photo.pk) == Photo.State.READY


def test_the_job_of_a_photo_gone_does_nothing(report, media):
    photo = photos.add(report, _upload(jpeg()))
    report.delete()
    assert run_photo_jobs() == {photo.pk: "gone"}
    assert not [p for p in media.rglob("*.jpg")]


class CountingFile(io.FileIO):
    """A file that counts what is read of it."""

    read_bytes = 0

    def read(self, size=-1):
        data = super().read(size)
        self.read_bytes += len(data)
        return data

    def readinto(self, buffer):
        n = super().readinto(buffer)
        self.read_bytes += n or 0
        return n


def test_a_50_mb_file_is_refused_413_without_reading_it(tmp_path, english):
    path = tmp_path / "big.jpg"
    with open(path, "wb") as fh:
        fh.write(jpeg())
        fh.truncate(50 * 1024 * 1024)
    assert os.path.getsize(path) == 50 * 1024 * 1024
    with CountingFile(path) as raw:
        error = _refusal(UploadedFile(raw, name="big.jpg", content_type="image/jpeg", size=os.path.getsize(path)))
        assert raw.read_bytes == 0
    assert isinstance(error, photos.PhotoTooLarge)
    assert error.status == 413 and error.code == "photo_too_large" and "50 MB" in error.message
    with CountingFile(path) as raw:  # a plain file (no .size): measured by seeking, still not read
        assert _refusal(raw).status == 413 and raw.read_bytes == 0


@pytest.mark.parametrize("side", [10000, 14000])
def test_a_decompression_bomb_is_refused(side, english):
    """100 million pixels (past Pillow's limit, where it only warns) and 196 million (past twice it: Pillow refuses),
    in a few kilobytes."""
    out = io.BytesIO()
    Image.new("1", (side, side)).save(out, "PNG")
    assert len(out.getvalue()) < 100_000
    with pytest.warns(Image.DecompressionBombWarning) if side * side <= 2 * Image.MAX_IMAGE_PIXELS else \
            __import__("contextlib").nullcontext():
        error = _refusal(_upload(out.getvalue(), "bomb.png", "image/png"))
    assert error.status == 400 and "decompression bomb" in error.message


def test_absurd_dimensions_are_refused(english):
    out = io.BytesIO()
    Image.new("RGB", (5000, 10)).save(out, "PNG")
    error = _refusal(_upload(out.getvalue(), "strip.png", "image/png"))
    assert error.status == 400 and "5000×10" in error.message


def test_a_fourth_photo_is_refused(report, settings, english, media):
    assert settings.REPORTS_PHOTOS_MAX == 3
    for colour in ("red", "green", "blue"):
        added(report, _upload(jpeg(colour=colour)))
    files = sorted(p for p in media.rglob("*") if p.is_file())
    with pytest.raises(ApiError) as caught:
        photos.add(report, _upload(jpeg()))
    assert caught.value.status == 400 and "at most 3" in caught.value.message
    assert Photo.objects.filter(report=report).count() == 3
    assert sorted(p for p in media.rglob("*") if p.is_file()) == files  # no stray file either
    staff = make_user("handler", "admin", is_staff=True)
    fix = added(report, _upload(jpeg()), kind=Photo.Kind.RESOLUTION, by=staff)  # the fix's photo: its own count
    assert fix.moderation == Photo.Moderation.APPROVED and fix.moderated_by == staff


def test_a_photo_that_fails_to_be_recorded_leaves_no_file(report, media, monkeypatch):
    def refuse(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(photos.Event.objects, "create", refuse)
    with pytest.raises(RuntimeError):
        photos.add(report, _upload(jpeg()))
    assert not Photo.objects.exists()
    assert not [p for p in media.rglob("*") if p.is_file()]


def test_a_checked_upload_can_still_be_read_whole():
    data = camera_jpeg()  # (made once: its ICC profile carries the time it was made)
    upload = _upload(data)
    photos.check_upload(upload)  # no error
    assert upload.read() == data  # rewound, not closed


def test_only_staff_who_handle_the_report_add_the_photo_of_the_fix(report, english):
    with pytest.raises(ApiError) as caught:
        photos.add(report, _upload(jpeg()), kind=Photo.Kind.RESOLUTION, by=make_user("someone"))
    assert caught.value.status == 403
    assert not Photo.objects.exists()


# --- moderation and who sees a photo -------------------------------------------------------------------------------

def _citizen_client(phone, username):
    from accounts.models import Citizen

    user = make_user(username, "citizen")
    Citizen.objects.create(user=user, mobile=phone)
    client = Client()
    client.force_login(user)
    return client


def _staff_client(user):
    client = Client()
    client.cookies["django_language"] = "en"
    client.force_login(user)
    return client


def _urls(photo):
    return f"/reports/photos/{photo.public_id}.jpg", f"/reports/photos/{photo.public_id}-thumb.jpg"


def test_a_pending_photo_is_seen_only_by_its_reporter_and_staff(report, reporter, role_users, client):
    photo = added(report, _upload(camera_jpeg()))
    image_url, thumb_url = _urls(photo)
    for url in (image_url, thumb_url):
        assert client.get(url).status_code == 404  # not 403: it does not say the photo exists
    for url in (f"/media/{photo.image.name}", f"/{photo.image.name}"):  # no public media URL around the check
        assert client.get(url).status_code == 404
    mine = _citizen_client(reporter.phone, "reporter-user")
    response = mine.get(image_url)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert b"".join(response.streaming_content) == stored(photo)
    assert "no-store" in response["Cache-Control"] and "public" not in response["Cache-Control"]
    assert mine.get(thumb_url).status_code == 200
    assert _citizen_client("09170000000", "other-citizen").get(image_url).status_code == 404
    assert _staff_client(role_users["admin"]).get(image_url).status_code == 200  # moderates and handles all
    engineer = role_users["engineer"]  # handles reports, but not this department's
    assert _staff_client(engineer).get(image_url).status_code == 404
    report.department.staff.add(engineer)
    assert _staff_client(engineer).get(image_url).status_code == 200
    # a reporter known by their number only (not signed in), as the citizen pages know them
    assert photos.visible_to(photo, None, reporter=reporter)
    assert not photos.visible_to(photo, None, reporter=Reporter(phone="09170000000"))
    voice = Reporter(phone="09175556677")
    service.add_voice(report, voice)  # a follower by their voice sees it too
    assert photos.visible_to(photo, None, reporter=voice)


def test_an_approved_photo_is_public_and_a_rejected_one_never(report, reporter, role_users, client):
    first = added(report, _upload(jpeg(colour="red")))
    second = added(report, _upload(jpeg(colour="blue")))
    moderator = role_users["admin"]
    photos.moderate(first, True, moderator)
    photos.moderate(second, False, moderator)
    first.refresh_from_db()
    assert first.moderated_by == moderator and first.moderated_at is not None
    response = client.get(_urls(first)[0])
    assert response.status_code == 200 and response["Cache-Control"].startswith("public")
    assert client.get(_urls(first)[0], headers={"If-None-Match": response["ETag"]}).status_code == 304
    assert client.get(_urls(first)[1]).status_code == 200
    for url in _urls(second):
        assert client.get(url).status_code == 404
    assert _citizen_client("09170000000", "other-citizen").get(_urls(second)[0]).status_code == 404
    assert _citizen_client(reporter.phone, "reporter-user").get(_urls(second)[0]).status_code == 200
    assert client.get(f"/reports/photos/{__import__('uuid').uuid4()}.jpg").status_code == 404


def test_moderating_needs_the_permission(report, role_users, english):
    photo = added(report, _upload(jpeg()))
    for user in (role_users["engineer"], role_users["citizen"]):
        with pytest.raises(ApiError) as caught:
            photos.moderate(photo, True, user)
        assert caught.value.status == 403
    photo.refresh_from_db()
    assert photo.moderation == Photo.Moderation.PENDING


# --- the moderation page and its JSON endpoint ----------------------------------------------------------------------

QUEUE = "/reports/staff/moderation/"


def test_the_moderation_page_lists_pending_photos_and_decides(report, role_users, client):
    photo = added(report, _upload(jpeg()))
    done = added(report, _upload(jpeg(colour="blue")))
    photos.moderate(done, True, role_users["admin"])
    response = client.get(QUEUE)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert _staff_client(role_users["engineer"]).get(QUEUE).status_code == 403
    assert _staff_client(role_users["citizen"]).get(QUEUE).status_code == 403
    moderator = _staff_client(role_users["admin"])
    page = moderator.get(QUEUE)
    html = page.content.decode()
    assert page.status_code == 200
    assert f"/reports/photos/{photo.public_id}-thumb.jpg" in html
    assert str(done.public_id) not in html  # already approved: not in the queue
    assert report.category.name_en in html and report.tracking_code in html
    assert "1 photo is waiting" in html

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(role_users["admin"])
    decide = f"{QUEUE}{photo.public_id}/"
    assert strict.post(decide, {"action": "approve"}).status_code == 403  # no CSRF token
    photo.refresh_from_db()
    assert photo.moderation == Photo.Moderation.PENDING
    assert _staff_client(role_users["engineer"]).post(decide, {"action": "approve"}).status_code == 403
    strict.get(QUEUE)
    token = strict.cookies["csrftoken"].value
    response = strict.post(decide, {"action": "reject", "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and response["Location"] == QUEUE
    photo.refresh_from_db()
    assert photo.moderation == Photo.Moderation.REJECTED and photo.moderated_by == role_users["admin"]
    assert "No photo is waiting" in moderator.get(QUEUE).content.decode()


def test_the_persian_page_is_right_to_left(report, role_users):
    added(report, _upload(jpeg()))
    client = Client()
    client.force_login(role_users["admin"])
    html = client.get(QUEUE).content.decode()
    assert 'dir="rtl"' in html and report.category.name in html


def _api(photo):
    return f"/api/reports/photos/{photo.public_id}/moderation"


def test_the_moderation_api(report, role_users, client):
    photo = added(report, _upload(jpeg()))
    body = {"approve": True}
    response = client.post(_api(photo), body, content_type="application/json")
    assert response.status_code == 401 and response.json()["error"] == "signin_needed"
    response = _staff_client(role_users["engineer"]).post(_api(photo), body, content_type="application/json")
    assert response.status_code == 403 and response.json()["error"] == "forbidden"
    moderator = _staff_client(role_users["admin"])
    for bad in ({}, {"approve": "yes"}, {"approve": 1}):
        response = moderator.post(_api(photo), bad, content_type="application/json")
        assert response.status_code == 400, bad
    photo.refresh_from_db()
    assert photo.moderation == Photo.Moderation.PENDING
    response = moderator.post(_api(photo), body, content_type="application/json")
    assert response.status_code == 200
    assert response.json()["moderation"] == "approved" and response.json()["photo"] == str(photo.public_id)
    assert client.get(_urls(photo)[0]).status_code == 200  # public now
    response = moderator.post(_api(photo), {"approve": "false"})  # a form works too, and a decision may change
    assert response.status_code == 200 and response.json()["moderation"] == "rejected"
    assert client.get(_urls(photo)[0]).status_code == 404
    response = moderator.post(f"/api/reports/photos/{__import__('uuid').uuid4()}/moderation", body,
                              content_type="application/json")
    assert response.status_code == 404
    assert moderator.get(_api(photo)).status_code == 405


def test_the_moderation_api_is_described():
    from portal.openapi import full_spec

    spec = full_spec()
    operation = spec["paths"]["/api/reports/photos/{public_id}/moderation"]["post"]
    assert {"200", "400", "401", "403", "404"} <= set(operation["responses"])
    assert "PhotoModeration" in spec["components"]["schemas"]


# --- where files are kept: configuration ------------------------------------------------------------------------

def _storages(tmp_path, **env):
    import json
    import subprocess
    import sys

    key = tmp_path / "key"
    key.write_text("k" * 64)
    keep = ("PATH", "HOME", "DATABASE_URL", "MUNICIPALITY_SRID")
    run = subprocess.run(
        [sys.executable, "-c", "import json; from gis_portal import settings as s; "
                               "print(json.dumps([s.STORAGES['default'], str(s.MEDIA_ROOT)]))"],
        env={**{k: os.environ[k] for k in keep if k in os.environ}, "SECRET_KEY_FILE": str(key), **env},
        capture_output=True, text=True, cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    return json.loads(run.stdout) if run.returncode == 0 else run.stderr


def test_storage_is_the_file_system_under_var_dir_or_s3_from_the_environment(tmp_path):
    default, root = _storages(tmp_path, VAR_DIR=str(tmp_path / "var"))
    assert default["BACKEND"] == "common.storage.MunicipalFileSystemStorage"
    assert root == str(tmp_path / "var" / "media")
    default, _root = _storages(tmp_path, STORAGE_BACKEND="s3", AWS_STORAGE_BUCKET_NAME="photos",
                               AWS_S3_ENDPOINT_URL="https://s3.example.org", AWS_S3_REGION_NAME="ir-1")
    assert default["BACKEND"] == "common.storage_s3.MunicipalS3Storage"
    options = default["OPTIONS"]
    assert options["bucket_name"] == "photos" and options["endpoint_url"] == "https://s3.example.org"
    assert options["default_acl"] == "private" and options["querystring_auth"] is True
    assert "AWS_STORAGE_BUCKET_NAME" in _storages(tmp_path, STORAGE_BACKEND="s3")
    assert "STORAGE_BACKEND must be" in _storages(tmp_path, STORAGE_BACKEND="ftp")


def test_backups_take_the_stored_photos(report, media):
    """portal/backup.py finds the photos' files (names in the default storage, under MEDIA_ROOT) to archive."""
    from django.db import connection

    from portal.backup import referenced_files

    photo = added(report, _upload(jpeg()))
    connection.ensure_connection()
    paths = referenced_files(connection.connection)  # in this test's transaction: the new row is seen
    for name in (photo.image.name, photo.thumbnail.name):
        assert str(media / name) in paths and (media / name).is_file()
    waiting = photos.add(report, _upload(jpeg()))  # the raw upload of a photo not processed yet too
    paths = referenced_files(connection.connection)
    assert str(media / waiting.incoming.name) in paths and (media / waiting.incoming.name).is_file()
