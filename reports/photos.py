"""Photos of reports: checking an upload, reading its place, storing it clean, moderating it, and who may see it.

An upload is judged by its content, never by its name or declared type, in two steps. At the upload, only what is
cheap and decides whether it is taken (well under a millisecond for a 12-megapixel phone photo): its size first
(PhotoTooLarge, 413, before anything is read), then its first bytes (libmagic through python-magic: a PDF or an HTML
page named photo.jpg is refused, naming what it is), then Pillow's header (opened lazily, with the one plugin the
content names: decompression bombs past Pillow's own pixel limit and absurd shapes are refused) and the place in its
EXIF (location_of, for the report form). JPEG, PNG, WebP and HEIC/HEIF (pillow-heif: iPhones) are taken. The upload
is then kept as it came under reports/incoming/ (a place of the storage nothing serves) and its Photo row is
`processing`.

The job reports.process_photo (reports/tasks.py, run by the procrastinate worker; `process`) then decodes it whole
and stores a new JPEG made from the pixels alone: turned upright (EXIF orientation), CMYK, palette, 16-bit and
transparent images made RGB (transparency on white), the longer side at most REPORTS_PHOTO_MAX_PIXELS, saved without
any metadata (no EXIF, GPS, XMP, ICC profile or comment: the camera, the owner's name, the time and the place are
gone), with a 400-pixel thumbnail, both through Django's default storage (STORAGE_BACKEND: the file system under
MEDIA_ROOT, or S3); the photo is `ready` and the raw upload deleted. An upload whose pixels cannot be decoded (a
truncated file) is `broken`, with the reason, never shown, and its raw upload deleted too. Nobody is served any of a
photo before it is ready (reports/photo_views.py answers that it is being processed).

A citizen's photo waits for moderation (staff with reports.moderate_photo); until approved only staff who handle the
report, moderators and the report's followers (its reporter first) see it: reports/photo_views.py serves the files,
there is no public media URL. The photo of the fix, added by staff who handle the report, is approved at once.

Files are written before the Photo row; a failure while writing the row removes them, but a caller's transaction
rolled back later leaves the raw upload behind (harmless: nothing names it, and its job went with the transaction)."""

from __future__ import annotations

import hashlib
import io
import math

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, ImageCms, UnidentifiedImageError

from common.errors import ApiError, BadParameter, Forbidden
from reports.models import Event, Photo, Report

try:  # HEIC/HEIF (iPhones): pillow-heif registers itself as a Pillow plugin
    import pillow_heif

    pillow_heif.register_heif_opener()
except ImportError:  # pragma: no cover - a requirement; without it HEIC is refused as unreadable
    pillow_heif = None

PROCESS_TASK = "reports.process_photo"  # reports/tasks.py
THUMBNAIL_PIXELS = 400
JPEG_QUALITY = 85
# The first bytes libmagic reads to tell the type (HEIC's ftyp box and every image signature are well within).
SNIFF_BYTES = 8192
# A JPEG much larger than what is kept is decoded straight at 1/2, 1/4 or 1/8 of its size (libjpeg's DCT scaling,
# far faster) when that leaves at least this share of REPORTS_PHOTO_MAX_PIXELS: a 4032×3024 phone photo is kept at
# 2016×1512 rather than decoded whole and resized to 2048×1536.
DRAFT_SHARE = 0.9
# Shapes no camera makes: a side this short, or sides this unequal, are refused (a 1×60000 strip, a 2×2 "photo").
MIN_SIDE = 16
MAX_ASPECT = 20

# What libmagic calls the types taken, and the Pillow plugin each must open with (no other plugin is tried).
ACCEPTED = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP", "image/heic": "HEIF",
            "image/heif": "HEIF", "image/heic-sequence": "HEIF", "image/heif-sequence": "HEIF"}

# EXIF tags
_ORIENTATION, _GPS_IFD = 0x0112, 0x8825
_LAT_REF, _LAT, _LON_REF, _LON = 1, 2, 3, 4


class PhotoTooLarge(ApiError):
    status = 413
    code = "photo_too_large"


class PhotoProcessing(ApiError):
    """Asked for a photo that the job has not made yet (a few seconds after its upload): try again shortly."""

    status = 503
    code = "photo_processing"
    headers = {"Retry-After": "5"}


# --- checking -------------------------------------------------------------------------------------------------------

def _size(uploaded) -> int:
    """The upload's size without reading it (Django's uploads know it; other files are asked by seeking)."""
    size = getattr(uploaded, "size", None)
    if size is None:
        position = uploaded.tell()
        uploaded.seek(0, io.SEEK_END)
        size = uploaded.tell()
        uploaded.seek(position)
    return int(size)


def _head(uploaded) -> bytes:
    uploaded.seek(0)
    head = uploaded.read(SNIFF_BYTES)
    uploaded.seek(0)
    return head


def _sniff(uploaded) -> str:
    """The Pillow format of an accepted upload, from its content (libmagic); a 400 naming what it is otherwise."""
    import magic

    head = _head(uploaded)
    if not head:
        raise BadParameter(_("The photo is empty."))
    mime = magic.from_buffer(head, mime=True)
    if mime in ACCEPTED:
        return ACCEPTED[mime]
    what = " ".join(magic.from_buffer(head).split())[:100]
    if mime.startswith("image/"):
        raise BadParameter(_("This image type (%(what)s) is not taken: send a JPEG, PNG, WebP or HEIC photo.")
                           % {"what": what})
    raise BadParameter(_("This file is not a photo: it is %(what)s. Send a JPEG, PNG, WebP or HEIC photo.")
                       % {"what": what})


def _check_shape(width: int, height: int) -> None:
    if min(width, height) < MIN_SIDE or max(width, height) > MAX_ASPECT * min(width, height):
        raise BadParameter(_("A photo of %(width)s×%(height)s pixels is not taken: each side at least %(min)s pixels, "
                             "the longer at most %(ratio)s times the shorter.")
                           % {"width": width, "height": height, "min": MIN_SIDE, "ratio": MAX_ASPECT})


class _Borrowed:
    """The upload as Pillow reads it, except that closing the image does not close the caller's file (Pillow's
    close() closes any file it was given)."""

    def __init__(self, handle):
        self._handle = handle

    def read(self, size=-1):
        return self._handle.read(size)

    def seek(self, offset, whence=io.SEEK_SET):
        return self._handle.seek(offset, whence)

    def tell(self):
        return self._handle.tell()

    def close(self):
        pass


def _open(uploaded, fmt: str) -> Image.Image:
    """Pillow's image of the upload, opened (header only) with the one plugin its content names; decompression
    bombs (more pixels than Pillow's MAX_IMAGE_PIXELS) and absurd shapes refused."""
    uploaded.seek(0)
    bomb = BadParameter(_("The image has more than %(million)s million pixels: it is refused (a decompression "
                          "bomb?).") % {"million": Image.MAX_IMAGE_PIXELS // 1_000_000})
    try:
        image = Image.open(_Borrowed(uploaded), formats=[fmt])  # Pillow itself refuses twice its limit
    except Image.DecompressionBombError:
        raise bomb from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise BadParameter(_("The photo cannot be read as an image (%(reason)s).")
                           % {"reason": str(exc)[:120] or type(exc).__name__}) from None
    if image.size[0] * image.size[1] > Image.MAX_IMAGE_PIXELS:  # past the limit, where Pillow only warns
        raise bomb
    _check_shape(*image.size)
    return image


def _checked(uploaded) -> Image.Image:
    """The upload checked from its size, its first bytes and its header only (nothing decoded): the image opened
    lazily, to be closed by the caller."""
    size = _size(uploaded)
    if size > settings.REPORTS_PHOTO_MAX_BYTES:
        raise PhotoTooLarge(_("The photo is %(size)s MB; at most %(max)s MB is taken.")
                            % {"size": _megabytes(size), "max": _megabytes(settings.REPORTS_PHOTO_MAX_BYTES)})
    return _open(uploaded, _sniff(uploaded))


def _decoded(uploaded) -> Image.Image:
    """The upload checked (size, type, pixels, shape) and decoded whole: every pixel Pillow could read. A JPEG much
    larger than what is kept may be decoded at a reduced scale (DRAFT_SHARE)."""
    image = _checked(uploaded)
    if image.format in ("JPEG", "MPO"):  # MPO: a JPEG with more frames (some cameras)
        scale = DRAFT_SHARE * settings.REPORTS_PHOTO_MAX_PIXELS / max(image.size)
        if scale < 1:
            image.draft(None, (math.ceil(image.size[0] * scale), math.ceil(image.size[1] * scale)))
    try:
        image.load()
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError) as exc:
        raise BadParameter(_("The photo cannot be read as an image (%(reason)s).")
                           % {"reason": str(exc)[:120] or type(exc).__name__}) from None
    return image


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".removesuffix(".0")


def check_upload(uploaded) -> tuple[int, int]:
    """Refuse what is not a photo we take, with a clear ApiError, from what can be told without decoding it: too
    many bytes (PhotoTooLarge, 413, before reading it), not an image by its content (400 naming what it is), an
    image type not taken, a header Pillow cannot read, a decompression bomb, an absurd shape (400). Its pixels are
    decoded later, by the job (`process`): a photo that fails then is marked broken. Returns its (width, height)."""
    image = _checked(uploaded)
    size = image.size
    image.close()
    uploaded.seek(0)
    return size


# --- the place in the photo -----------------------------------------------------------------------------------------

def _degrees(value) -> float | None:
    """Degrees from EXIF's (degrees, minutes, seconds) rationals (or fewer parts); None when unreadable."""
    if not isinstance(value, (tuple, list)):
        value = (value,)
    if not 1 <= len(value) <= 3:
        return None
    total = 0.0
    for part, unit in zip(value, (1, 60, 3600)):
        try:
            number = float(part[0]) / float(part[1]) if isinstance(part, tuple) else float(part)
        except (TypeError, ValueError, ZeroDivisionError, IndexError):
            return None
        if not math.isfinite(number) or number < 0:
            return None
        total += number / unit
    return total


def _ref(value) -> str:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    return str(value or "").strip("\x00 ").upper()[:1]


def location_of(uploaded) -> tuple[float, float] | None:
    """Where the photo was taken, from its EXIF GPS tags: (lon, lat) in WGS84 degrees (S and W negative), or None
    when it has none, or they are unreadable, out of range or (0, 0) (a phone without a fix). Reads headers only; a
    file that is not a photo we take gives None (check_upload says why)."""
    try:
        if _size(uploaded) > settings.REPORTS_PHOTO_MAX_BYTES:
            return None
        image = _open(uploaded, _sniff(uploaded))
        try:
            tags = image.getexif().get_ifd(_GPS_IFD)  # read lazily from the file: taken out before it is closed
            gps = {tag: tags.get(tag) for tag in (_LAT_REF, _LAT, _LON_REF, _LON)}
        finally:
            image.close()
            uploaded.seek(0)
    except (ApiError, OSError, ValueError, TypeError, KeyError, SyntaxError, EOFError):
        return None
    lat, lon = _degrees(gps.get(_LAT)), _degrees(gps.get(_LON))
    if lat is None or lon is None:
        return None
    lat_ref, lon_ref = _ref(gps.get(_LAT_REF) or "N"), _ref(gps.get(_LON_REF) or "E")
    if lat_ref not in ("N", "S", "") or lon_ref not in ("E", "W", ""):
        return None
    lat, lon = (-lat if lat_ref == "S" else lat), (-lon if lon_ref == "W" else lon)
    if lat > 90 or lon > 180 or (lat == 0 and lon == 0):
        return None
    return (lon, lat)


# --- storing ----------------------------------------------------------------------------------------------------------

_SRGB = None


def _to_srgb(image: Image.Image) -> Image.Image:
    """Colours through the image's own ICC profile into sRGB (a CMYK print file, a Display P3 phone photo), so the
    profile can be dropped; the plain conversion when the profile cannot be used."""
    global _SRGB
    icc = image.info.get("icc_profile")
    if not icc or image.mode not in ("RGB", "CMYK", "L"):
        return image
    try:
        if _SRGB is None:
            _SRGB = ImageCms.createProfile("sRGB")
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return ImageCms.profileToProfile(image, source, _SRGB, outputMode="RGB" if image.mode != "L" else "L")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return image


def _sixteen_bit_to_l(image: Image.Image) -> Image.Image:
    """A 16- or 32-bit greyscale image as 8-bit, scaled (Pillow's own conversion clips everything above 255 white)."""
    import numpy as np

    pixels = np.asarray(image.convert("I") if image.mode not in ("I", "F") else image, dtype=np.float64)
    top = 65535.0 if image.mode.startswith("I;16") or (pixels.size and pixels.max() > 255) else 255.0
    return Image.fromarray(np.clip(np.rint(pixels * (255.0 / top)), 0, 255).astype(np.uint8), "L")


def _flat(image: Image.Image) -> Image.Image:
    """Modes that cannot be resized well or saved as JPEG made plain first: 16-bit greyscale scaled to 8 bits,
    palettes expanded, transparency laid on white. RGB, L and CMYK stay as they are (converted after resizing)."""
    if image.mode in ("I", "F") or image.mode.startswith("I;16"):
        return _sixteen_bit_to_l(image)
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        white = Image.new("RGB", rgba.size, (255, 255, 255))
        white.paste(rgba, mask=rgba.getchannel("A"))
        white.info = image.info
        return white
    if image.mode in ("RGB", "L", "CMYK"):
        return image
    return image.convert("RGB")


def _as_srgb(image: Image.Image) -> Image.Image:
    """RGB (or greyscale) in sRGB: through the image's ICC profile when it has one, so that it can be dropped."""
    image = _to_srgb(image)
    return image if image.mode in ("RGB", "L") else image.convert("RGB")


# EXIF orientation → the turn that makes the picture upright (what ImageOps.exif_transpose does)
_UPRIGHT = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
            5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
            8: Image.Transpose.ROTATE_90}


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(_ORIENTATION, 1)
    except (OSError, ValueError, TypeError, SyntaxError):
        return 1
    return value if isinstance(value, int) else 1


def _resized(image: Image.Image, longest: int) -> Image.Image:
    if max(image.size) <= longest:
        return image
    copy = image.copy()
    copy.thumbnail((longest, longest), Image.Resampling.LANCZOS, reducing_gap=2.0)
    return copy


def _prepared(uploaded) -> Image.Image:
    """The upload checked and decoded, made plain, at most REPORTS_PHOTO_MAX_PIXELS on its longer side, in sRGB,
    upright, and without any of its metadata (info emptied: the JPEG is saved from the pixels alone)."""
    image = _decoded(uploaded)
    uploaded.seek(0)
    turn = _UPRIGHT.get(_orientation(image))
    image = _as_srgb(_resized(_flat(image), settings.REPORTS_PHOTO_MAX_PIXELS))
    if turn is not None:
        image = image.transpose(turn)
    image.info = {}
    return image


def _jpeg(image: Image.Image, **options) -> bytes:
    """A JPEG of the pixels alone: nothing from the original's info is passed on (no EXIF, ICC, XMP or comment)."""
    out = io.BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY, exif=b"", comment=b"", **options)
    return out.getvalue()


def add(report: Report, uploaded, *, kind: str = Photo.Kind.REPORT, by=None, new_report: bool = False) -> Photo:
    """Check `uploaded` cheaply (check_upload's refusals), keep it as it came under reports/incoming/ and record it
    as a photo of `report` being processed; the job reports.process_photo, deferred in the caller's transaction
    (rolled back with it), makes the clean JPEG (`process`). At most REPORTS_PHOTOS_MAX photos of each kind per
    report (400 beyond; broken ones do not count). `kind="resolution"`: the photo of the fix, by staff who handle
    the report (`by`), approved at once (still served only once processed); a citizen's photo waits for
    moderation. `new_report`: the report was made in the caller's (still open) transaction, which counted its
    photos itself: nobody else can add one, so neither the lock nor the counts are needed."""
    from procrastinate.contrib.django import app

    from reports.service import may_handle

    if kind not in Photo.Kind.values:
        raise BadParameter(_("Unknown kind of photo: %(kind)s.") % {"kind": str(kind)[:20]})
    if kind == Photo.Kind.RESOLUTION and not may_handle(by, report):
        raise Forbidden(_("Only the staff of the report's department may add a photo of the fix."))
    if not new_report and _counted(report, kind) >= settings.REPORTS_PHOTOS_MAX:
        raise _too_many()
    width, height = check_upload(uploaded)
    now = timezone.now()
    approved = kind == Photo.Kind.RESOLUTION
    photo = Photo(report=report, kind=kind, state=Photo.State.PROCESSING, width=width, height=height, created_at=now,
                  moderation=Photo.Moderation.APPROVED if approved else Photo.Moderation.PENDING,
                  moderated_by=by if approved else None, moderated_at=now if approved else None)
    try:
        uploaded.seek(0)
        # a large upload Django spooled to a temporary file is moved, not copied (FileSystemStorage)
        photo.incoming.save(photo.public_id.hex, uploaded, save=False)
        with transaction.atomic(savepoint=not new_report):  # a new report's photo fails with its report
            if not new_report:
                Report.objects.select_for_update().filter(pk=report.pk).first()  # one photo of a report at a time
                if _counted(report, kind) >= settings.REPORTS_PHOTOS_MAX:
                    raise _too_many()
            photo.save()
            Event.objects.create(report=report, at=now, kind="photo", note=f"{kind}:{photo.public_id}",
                                 actor=by if getattr(by, "is_authenticated", False) else None, public=False)
            app.configure_task(PROCESS_TASK).defer(photo_id=photo.pk)  # by name: reports/tasks.py calls us
    except BaseException:
        _delete_files(photo)
        raise
    return photo


def _counted(report: Report, kind: str) -> int:
    return Photo.objects.filter(report=report, kind=kind).exclude(state=Photo.State.BROKEN).count()


def process(photo_id: int) -> str:
    """The job's work (reports.process_photo): decode the photo's raw upload whole, and store the clean JPEG and
    its thumbnail (the photo is `ready`), or mark it `broken` with the reason when its pixels cannot be read;
    either way its raw upload is deleted. A photo no longer processing (done by an earlier run, or its report
    deleted) is left alone. Returns the photo's new state (or "gone"). Storage errors propagate: the job is
    retried, the photo still processing."""
    photo = Photo.objects.select_related("report").filter(pk=photo_id).first()
    if photo is None or photo.state != Photo.State.PROCESSING:
        return "gone" if photo is None else photo.state
    try:
        with default_storage.open(photo.incoming.name, "rb") as raw:
            image = _prepared(raw)
    except FileNotFoundError:
        return _broken(photo, _("The uploaded file is missing."))
    except ApiError as exc:  # decoding: a truncated or otherwise unreadable image
        return _broken(photo, exc.message)
    data = _jpeg(image)
    thumb = _jpeg(_resized(image, THUMBNAIL_PIXELS), optimize=True)
    image.close()
    photo.image.save("photo.jpg", ContentFile(data), save=False)
    photo.thumbnail.save("thumb.jpg", ContentFile(thumb), save=False)
    try:
        with transaction.atomic():
            current = Photo.objects.select_for_update().filter(pk=photo.pk, state=Photo.State.PROCESSING).first()
            if current is None:  # deleted meanwhile, or done by another run: what was written is not needed
                raise _Gone()
            Photo.objects.filter(pk=photo.pk).update(
                state=Photo.State.READY, image=photo.image.name, thumbnail=photo.thumbnail.name, incoming="",
                width=image.size[0], height=image.size[1], bytes=len(data), sha256=hashlib.sha256(data).hexdigest())
    except _Gone:
        _delete_names(photo.image.name, photo.thumbnail.name)
        return "gone"
    except BaseException:
        _delete_names(photo.image.name, photo.thumbnail.name)
        raise
    _delete_names(photo.incoming.name)
    return Photo.State.READY


class _Gone(Exception):
    pass


def _broken(photo: Photo, reason: str) -> str:
    """The photo marked broken (never shown) with why, its raw upload deleted, a staff-only event on its report."""
    with transaction.atomic():
        changed = Photo.objects.filter(pk=photo.pk, state=Photo.State.PROCESSING).update(
            state=Photo.State.BROKEN, refusal=reason[:300], incoming="")
        if changed:
            Event.objects.create(report_id=photo.report_id, at=timezone.now(), kind="photo", public=False,
                                 note=f"broken:{photo.public_id}")
    _delete_names(photo.incoming.name)
    return Photo.State.BROKEN


def _too_many() -> BadParameter:
    return BadParameter(_("A report has at most %(max)s photos.") % {"max": settings.REPORTS_PHOTOS_MAX})


def _delete_files(photo: Photo) -> None:
    _delete_names(photo.incoming.name, photo.image.name, photo.thumbnail.name)


def _delete_names(*names: str) -> None:
    for name in names:
        if name:
            try:
                default_storage.delete(name)
            except OSError:  # pragma: no cover - best effort
                pass


# --- moderation and who sees what ---------------------------------------------------------------------------------

def moderate(photo: Photo, approve: bool, by) -> Photo:
    """Approve (public from now on) or reject (never public) a photo; needs reports.moderate_photo. A decision may
    be changed later: the last one counts, with who and when."""
    if by is None or not by.is_authenticated or not by.has_perm("reports.moderate_photo"):
        raise Forbidden(_("Only photo moderators may approve or reject photos."))
    if not isinstance(approve, bool):
        raise BadParameter(_("Say true to approve the photo or false to reject it."))
    now = timezone.now()
    with transaction.atomic():
        photo = Photo.objects.select_for_update().get(pk=photo.pk)
        photo.moderation = Photo.Moderation.APPROVED if approve else Photo.Moderation.REJECTED
        photo.moderated_by = by
        photo.moderated_at = now
        photo.save(update_fields=["moderation", "moderated_by", "moderated_at"])
        Event.objects.create(report_id=photo.report_id, at=now, actor=by, kind="photo", public=False,
                             note=f"{photo.moderation}:{photo.public_id}")
    return photo


def visible_to(photo: Photo, user, *, reporter=None) -> bool:
    """Whether `user` (and/or `reporter`, a reports.service.Reporter: a verified mobile number) may see `photo`:
    approved photos anyone; pending or rejected ones only moderators, staff who handle the report, and the report's
    followers (its reporter sees their photo before moderation)."""
    from reports.service import Reporter, is_follower, may_handle

    if photo.moderation == Photo.Moderation.APPROVED:
        return True
    signed_in = user is not None and user.is_authenticated
    if signed_in and (user.has_perm("reports.moderate_photo") or may_handle(user, photo.report)):
        return True
    if reporter is not None and (reporter.user_id or reporter.phone) and is_follower(photo.report, reporter):
        return True
    return signed_in and is_follower(photo.report, Reporter(user=user))
