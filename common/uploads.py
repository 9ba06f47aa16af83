"""Checks every uploaded file passes, whatever app takes it (moved here from permits/files.py so that the transparency
pages' attachments are checked the same way; permits/files.py keeps its document types and who may add what):

- **size**: `spooled` copies the upload into a temporary file, counting as it reads, and refuses it past the limit
  (a client may lie about the size it declares);
- **type, by content** (`sniff`: libmagic through python-magic; never the name or the declared type);
- **a PDF with active content** (`check_pdf`): JavaScript (/JS, /JavaScript), automatic actions (/AA, an
  /OpenAction that runs something), launch actions (/Launch), embedded files (/EmbeddedFile(s)): every object of the
  file is looked at through pypdf (names written with #xx escapes and objects inside object streams included); an
  encrypted PDF cannot be looked at and is refused too;
- **an image** (`reencoded_image`) Pillow cannot decode whole, or with more pixels than Pillow's limit (a
  decompression bomb); an image taken is re-encoded from its pixels (turned upright): no EXIF, GPS, XMP or comment
  survives;
- **a virus** (`scan`), when a clamd is configured (common/clamd.py): FOUND is refused; a clamd that cannot answer
  refuses the file too ("cannot be scanned now", 503), unless the caller's setting says fail open.

Refusals are ApiErrors naming the rule (FileRefused 400, FileTooLarge 413, ScanUnavailable 503; code
"file_refused")."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import tempfile
import unicodedata

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from PIL import Image, ImageOps, UnidentifiedImageError

from common import clamd
from common.errors import ApiError

log = logging.getLogger(__name__)

SNIFF_BYTES = 8192
MB = 1024 * 1024
SPOOL_BYTES = 2 * MB   # an upload larger than this is spooled to a temporary file while it is checked


class FileRefused(ApiError):
    """An upload that is not taken; the message names the rule."""

    status = 400
    code = "file_refused"


class FileTooLarge(FileRefused):
    status = 413


class ScanUnavailable(FileRefused):
    """A virus scanner is configured but could not scan the file now: try again later."""

    status = 503
    code = "scan_unavailable"
    headers = {"Retry-After": "60"}


def spooled(upload, limit: int, too_large: Exception):
    """The upload copied into a temporary file (memory up to SPOOL_BYTES), counted as it is read: (file, size,
    sha256). `too_large` is raised as soon as it passes `limit` bytes."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    digest = hashlib.sha256()
    size = 0
    if hasattr(upload, "seek"):
        upload.seek(0)
    chunks = upload.chunks() if hasattr(upload, "chunks") else iter(lambda: upload.read(256 * 1024), b"")
    for chunk in chunks:
        size += len(chunk)
        if size > limit:
            spool.close()
            raise too_large
        digest.update(chunk)
        spool.write(chunk)
    spool.seek(0)
    return spool, size, digest.hexdigest()


def sniff(head: bytes) -> tuple[str, str]:
    """(MIME type, libmagic's description) of a file's first bytes."""
    import magic

    return magic.from_buffer(head, mime=True), " ".join(magic.from_buffer(head).split())[:100]


# -- PDFs ------------------------------------------------------------------------------------------------------------

# What makes a PDF do something by itself: the keys and action types, each with the rule it breaks.
JAVASCRIPT, AUTOMATIC, LAUNCH, EMBEDDED = (gettext_noop("JavaScript"), gettext_noop("automatic actions"),
                                           gettext_noop("launch actions"), gettext_noop("embedded files"))
_PDF_KEYS = {"/JS": JAVASCRIPT, "/JavaScript": JAVASCRIPT, "/AA": AUTOMATIC, "/Launch": LAUNCH,
             "/EmbeddedFile": EMBEDDED, "/EmbeddedFiles": EMBEDDED}
_PDF_ACTIONS = {"/JavaScript": JAVASCRIPT, "/Launch": LAUNCH}


def _pdf_rule(obj, depth: int = 0) -> str | None:
    """The active-content rule `obj` (a pdf object, looked into without following references) breaks, or None."""
    from pypdf.generic import ArrayObject, DictionaryObject

    if depth > 64:
        return None
    if isinstance(obj, DictionaryObject):
        for key, value in obj.items():
            if key in _PDF_KEYS:
                return _PDF_KEYS[key]
            if key == "/S" and value in _PDF_ACTIONS:
                return _PDF_ACTIONS[value]
            if key in ("/Type", "/Subtype") and value in ("/EmbeddedFile", "/FileAttachment"):
                return EMBEDDED
            rule = _pdf_rule(value, depth + 1)
            if rule:
                return rule
    elif isinstance(obj, ArrayObject):
        for value in obj:
            rule = _pdf_rule(value, depth + 1)
            if rule:
                return rule
    return None


def check_pdf(handle) -> None:
    """Refuse a PDF that cannot be read, is encrypted, or holds active content (each object of the file is
    looked at, compressed object streams included)."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    handle.seek(0)
    try:
        reader = PdfReader(handle, strict=False)
        if reader.is_encrypted:
            raise FileRefused(_("Encrypted PDF: a PDF with a password cannot be checked; send it without one."))
        numbers = {(num, gen) for gen, objects in reader.xref.items() for num in objects}
        numbers |= {(num, 0) for num in getattr(reader, "xref_objStm", {})}
        rule = _pdf_rule(reader.trailer)
        for num, gen in sorted(numbers):
            if rule:
                break
            try:
                obj = reader.get_object(num)
            except (PdfReadError, ValueError, KeyError, TypeError, AttributeError):
                continue
            rule = _pdf_rule(obj)
    except FileRefused:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, RecursionError, OSError) as exc:
        raise FileRefused(_("Unreadable PDF: the file cannot be read as a PDF (%(reason)s).")
                          % {"reason": str(exc)[:120] or type(exc).__name__}) from None
    if rule:
        raise FileRefused(_("PDF with active content: the file holds %(what)s; send a plain PDF (print it to PDF "
                            "again).") % {"what": _(rule)})


# -- images ----------------------------------------------------------------------------------------------------------

def reencoded_image(handle, file_type: str) -> bytes:
    """The image ("jpeg" or "png") decoded whole and saved again from its pixels alone (no EXIF, GPS, XMP, ICC or
    text chunks), turned upright; a decompression bomb or an undecodable image refused."""
    fmt = "JPEG" if file_type == "jpeg" else "PNG"
    bomb = FileRefused(_("Decompression bomb: the image has more than %(million)s million pixels.")
                       % {"million": Image.MAX_IMAGE_PIXELS // 1_000_000})
    handle.seek(0)
    try:
        image = Image.open(handle, formats=[fmt])
        if image.size[0] * image.size[1] > Image.MAX_IMAGE_PIXELS:
            raise bomb
        image.load()
        image = ImageOps.exif_transpose(image)
    except Image.DecompressionBombError:
        raise bomb from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise FileRefused(_("Unreadable image: the file cannot be decoded as an image (%(reason)s).")
                          % {"reason": str(exc)[:120] or type(exc).__name__}) from None
    out = io.BytesIO()
    if fmt == "JPEG":
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        clean = Image.frombytes(image.mode, image.size, image.tobytes())   # the pixels, and nothing else
        clean.save(out, "JPEG", quality=90)
    else:
        if image.mode not in ("RGB", "RGBA", "L", "LA", "P", "1", "I;16") or (
                image.mode == "P" and "transparency" in image.info):   # the transparency kept, not the chunk
            image = image.convert("RGBA")
        clean = Image.frombytes(image.mode, image.size, image.tobytes())
        if image.mode == "P":
            clean.putpalette(image.getpalette())
        clean.save(out, "PNG", optimize=False)
    return out.getvalue()


# -- viruses ---------------------------------------------------------------------------------------------------------

def scan(handle, address: str, timeout: float, fail_open: bool) -> str:
    """The file's scan status: "clean", "not_scanned" (no scanner configured: `address` empty) or "scan_failed"
    (the scanner could not answer and `fail_open`); FileRefused when a virus is found, ScanUnavailable when the
    scanner cannot answer and the caller fails closed."""
    if not address:
        return "not_scanned"
    handle.seek(0)
    try:
        verdict = clamd.scan(address, handle, timeout=timeout)
    except clamd.ScanUnavailable as exc:
        log.warning("an upload could not be scanned: %s", exc)
        if fail_open:
            return "scan_failed"
        raise ScanUnavailable(_("Virus scan: the file cannot be scanned now; please try again in a few minutes."))
    if not verdict.clean:
        raise FileRefused(_("Virus scan: the file carries malware (%(signature)s).")
                          % {"signature": verdict.signature[:100]})
    return "clean"


def clean_name(name: str, extension: str, default: str = "document") -> str:
    """The file's name as shown (its base name, printable, at most 200 characters), with the extension of what it
    is."""
    base = os.path.basename(str(name or "").replace("\\", "/"))
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip() or default
    stem = os.path.splitext(base)[0][: 200 - len(extension)] or default
    return stem + extension
