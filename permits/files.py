"""Documents of permit cases: an upload checked by its content and kept, versioned, in the parcel's archive.

`add_document` is the one way a file gets in (the applicant's upload API, staff's uploads, a site visit's photos).
It refuses, naming the rule (FileRefused: 400, or 413 for the size; code "file_refused"):

- **who**: the applicant of a draft, returned or open case, for the kinds the applicant gives; staff who may act on
  the case (service.may_act), for every kind of it and the staff kinds (STAFF_KINDS, e.g. "site_photo");
- **size**: more than the document type's `max_mb`, told from the declared size before anything is read, and
  counted again while reading (a client may lie);
- **type, by content** (libmagic through python-magic; never the name or the declared type): one of the document
  type's `types` (pdf, jpeg, png, dwg, dxf). A DXF must parse (ezdxf), a DWG must carry an AutoCAD version header;
- **a PDF with active content**: JavaScript (/JS, /JavaScript), automatic actions (/AA, an /OpenAction that runs
  something), launch actions (/Launch), embedded files (/EmbeddedFile(s)): every object of the file is looked at
  through pypdf (names written with #xx escapes and objects inside object streams included); an encrypted PDF
  cannot be looked at and is refused too;
- **an image** Pillow cannot decode whole, or with more pixels than Pillow's limit (a decompression bomb). An image
  taken is stored re-encoded from its pixels (turned upright): no EXIF, GPS, XMP or comment survives;
- **a virus**, when PERMITS_CLAMD names a clamd (common/clamd.py streams the file to it): FOUND is refused; a clamd
  that cannot be reached or does not answer in PERMITS_CLAMD_TIMEOUT seconds refuses the file too ("cannot be
  scanned now", 503 with Retry-After), unless PERMITS_CLAMD_FAIL_OPEN is set: then the file is kept marked
  scan="scan_failed". Closed by default: a municipality that configured a scanner wants nothing unscanned in.

A document of a kind already on the case is a new version (version + 1, `supersedes` the current one): nothing is
overwritten or deleted. The file is written through Django's default storage (the file system, or S3 by
STORAGE_BACKEND) under a random name; a failure while writing the row removes it."""

from __future__ import annotations

import hashlib
import tempfile

from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from common import uploads
from common.errors import BadParameter, Forbidden
# the checks every upload passes live in common/uploads.py (shared with the transparency pages' attachments)
from common.uploads import MB, SNIFF_BYTES, FileRefused, FileTooLarge, ScanUnavailable  # noqa: F401
from permits import definitions, service
from permits.models import Case, CaseEvent, Document

# What each file type of definitions.FILE_TYPES is by libmagic, its stored extension and its name for people.
MIME_TYPES = {"application/pdf": "pdf", "image/jpeg": "jpeg", "image/png": "png",
              "image/vnd.dwg": "dwg", "image/x-dwg": "dwg", "application/acad": "dwg",
              "image/vnd.dxf": "dxf", "image/x-dxf": "dxf", "application/dxf": "dxf"}
CONTENT_TYPES = {"pdf": "application/pdf", "jpeg": "image/jpeg", "png": "image/png", "dwg": "image/vnd.dwg",
                 "dxf": "image/vnd.dxf"}
EXTENSIONS = {"pdf": ".pdf", "jpeg": ".jpg", "png": ".png", "dwg": ".dwg", "dxf": ".dxf"}
TYPE_NAMES = {"pdf": "PDF", "jpeg": "JPEG", "png": "PNG", "dwg": "DWG", "dxf": "DXF"}
# DWG files start with "AC" and the release's number (R13 = AC1012 ... R2018 and later = AC1032)
DWG_VERSIONS = {b"AC1012", b"AC1014", b"AC1015", b"AC1018", b"AC1021", b"AC1024", b"AC1027", b"AC1032"}

# Kinds staff add that no workflow lists (a site visit's photos).
STAFF_KINDS = {
    "site_photo": definitions.DocumentType("site_photo", "عکس بازدید محل", "Site visit photo", ("jpeg", "png"),
                                           20, None, "staff"),
}
# A case the applicant may still add documents to.
APPLICANT_STATUSES = (Case.Status.DRAFT, Case.Status.RETURNED, Case.Status.OPEN)


# -- the document type and who may add it -------------------------------------------------------------------------

def document_type(case: Case, kind: str) -> definitions.DocumentType:
    """The case's document type `kind` (its workflow's, or a staff kind); BadParameter naming the kinds otherwise."""
    definition = service.definition_of(case)
    try:
        return definition.document(kind)
    except KeyError:
        if kind in STAFF_KINDS:
            return STAFF_KINDS[kind]
    known = [d.code for d in definition.documents] + list(STAFF_KINDS)
    raise BadParameter(_("Unknown kind of document %(kind)s: one of %(kinds)s.")
                       % {"kind": str(kind)[:40], "kinds": ", ".join(known)})


def type_name(doc_type: definitions.DocumentType) -> str:
    return doc_type.name if translation.get_language() == "fa" or not doc_type.name_en else doc_type.name_en


def may_add(user, case: Case, doc_type: definitions.DocumentType) -> bool:
    """The applicant of a draft, returned or open case (the applicant's kinds); staff who may act on it (any)."""
    if user is None or not user.is_authenticated:
        return False
    if service.may_act(user, case):
        return True
    return (doc_type.by == definitions.APPLICANT and case.applicant_id == user.pk
            and case.status in APPLICANT_STATUSES)


# -- reading the upload ----------------------------------------------------------------------------------------------

def _megabytes(size: int) -> str:
    return f"{size / MB:.1f}".removesuffix(".0")


def _too_large(doc_type, size: int | None) -> FileTooLarge:
    if size is None:
        return FileTooLarge(_("Size limit: the %(kind)s may be at most %(max)s MB.")
                            % {"kind": type_name(doc_type), "max": doc_type.max_mb})
    return FileTooLarge(_("Size limit: the file is %(size)s MB; the %(kind)s may be at most %(max)s MB.")
                        % {"size": _megabytes(size), "kind": type_name(doc_type), "max": doc_type.max_mb})


def _spooled(upload, doc_type, limit: int):
    """The upload copied into a temporary file, counted as it is read: (file, size, sha256); refused as soon as it
    passes `limit`."""
    return uploads.spooled(upload, limit, _too_large(doc_type, None))


def _sniffed(head: bytes, doc_type) -> tuple[str, str]:
    """(file type, libmagic's description) of the content; refused when it is not one the document type takes."""
    mime, what = uploads.sniff(head)
    file_type = MIME_TYPES.get(mime)
    if file_type is None and mime == "text/plain" and "dxf" in doc_type.types and _dxf_like(head):
        file_type = "dxf"   # a minimal DXF libmagic does not recognise (no HEADER section): ezdxf decides below
    if file_type not in doc_type.types:
        raise FileRefused(_("File type: this file is %(what)s; the %(kind)s must be %(types)s (judged by the content, "
                            "not the name).") % {"what": what, "kind": type_name(doc_type),
                                                 "types": ", ".join(TYPE_NAMES[t] for t in doc_type.types)})
    return file_type, what


def _dxf_like(head: bytes) -> bool:
    """A text DXF's start: group code 0 then SECTION (after optional 999 comments)."""
    lines = [line.strip() for line in head[:2000].splitlines()]
    while lines[:1] == [b"999"]:
        lines = lines[2:]
    return lines[:2] == [b"0", b"SECTION"]


# -- checks by type ------------------------------------------------------------------------------------------------

_check_pdf = uploads.check_pdf
_reencoded = uploads.reencoded_image


def _check_dwg(head: bytes) -> None:
    if head[:6] not in DWG_VERSIONS:
        raise FileRefused(_("Unreadable DWG: the file has no AutoCAD version header this site knows (R13 to 2018 "
                            "and later)."))


def _check_dxf(handle) -> None:
    """A DXF that ezdxf reads (text or binary) with its sections in order."""
    import ezdxf
    from ezdxf.lldxf.const import DXFError

    handle.seek(0)
    with tempfile.NamedTemporaryFile(suffix=".dxf") as copy:
        for chunk in iter(lambda: handle.read(256 * 1024), b""):
            copy.write(chunk)
        copy.flush()
        try:
            ezdxf.readfile(copy.name)
        except (DXFError, IOError, ValueError, UnicodeDecodeError, KeyError, IndexError, TypeError) as exc:
            reason = str(exc).replace(copy.name, "").replace("File '' ", "")[:120] or type(exc).__name__
            raise FileRefused(_("Unreadable DXF: the file does not parse as a DXF drawing (%(reason)s).")
                              % {"reason": reason}) from None


def _scan(handle) -> str:
    """The file's scan status ("clean", "not_scanned", "scan_failed"), by the clamd PERMITS_CLAMD names."""
    return uploads.scan(handle, settings.PERMITS_CLAMD, settings.PERMITS_CLAMD_TIMEOUT,
                        settings.PERMITS_CLAMD_FAIL_OPEN)


# -- adding ------------------------------------------------------------------------------------------------------------

def clean_name(name: str, extension: str) -> str:
    """The file's name as shown (its base name, printable, at most 200 characters), with the extension of what it
    is."""
    return uploads.clean_name(name, extension)


def check_declared_size(case: Case, kind: str, declared: int | None) -> None:
    """Refuse early, from the size a request declares (its Content-Length), before the body is read."""
    doc_type = document_type(case, kind)
    if declared is not None and declared > doc_type.max_mb * MB:
        raise _too_large(doc_type, declared)


def add_document(*, case: Case, kind: str, upload, by, step: str | None = None) -> Document:
    """Check `upload` (a Django UploadedFile or any file) as the case's document `kind` and keep it (see the
    module's description); the new Document (a new version when the kind is already on the case)."""
    doc_type = document_type(case, kind)
    if not may_add(by, case, doc_type):
        raise Forbidden(_("Only the case's applicant, while the case is open, or staff acting on it may add its "
                          "documents."))
    limit = doc_type.max_mb * MB
    declared = getattr(upload, "size", None)
    if declared is not None and declared > limit:
        raise _too_large(doc_type, declared)
    spool, size, sha256 = _spooled(upload, doc_type, limit)
    with spool:
        if size == 0:
            raise FileRefused(_("Empty file: the upload has no content."))
        head = spool.read(SNIFF_BYTES)
        file_type, _what = _sniffed(head, doc_type)
        stored: bytes | None = None
        if file_type == "pdf":
            _check_pdf(spool)
        elif file_type in ("jpeg", "png"):
            stored = _reencoded(spool, file_type)
        elif file_type == "dwg":
            _check_dwg(head)
        else:
            _check_dxf(spool)
        scan = _scan(spool)
        if stored is not None:
            size, sha256 = len(stored), hashlib.sha256(stored).hexdigest()
        spool.seek(0)
        return _store(case, doc_type, by=by, step=step if step is not None else case.step,
                      name=clean_name(getattr(upload, "name", ""), EXTENSIONS[file_type]), file_type=file_type,
                      content=ContentFile(stored) if stored is not None else File(spool), size=size, sha256=sha256,
                      scan=scan)


def _store(case: Case, doc_type, *, by, step: str, name: str, file_type: str, content, size: int, sha256: str,
           scan: str) -> Document:
    document = Document(parcel_id=case.parcel_id, case=case, kind=doc_type.code, name=name,
                        extension=EXTENSIONS[file_type], content_type=CONTENT_TYPES[file_type], size=size,
                        sha256=sha256, uploaded_by=by if getattr(by, "is_authenticated", False) else None,
                        step=step or "", scan=scan)
    document.file.save(name, content, save=False)
    try:
        with transaction.atomic():
            Case.objects.select_for_update().filter(pk=case.pk).first()   # one new version of a kind at a time
            current = (Document.objects.filter(case=case, kind=doc_type.code, superseded_by__isnull=True)
                       .order_by("-version").first())
            if current is not None:
                document.version = current.version + 1
                document.supersedes = current
            document.save()
            CaseEvent.objects.create(case=case, at=timezone.now(), kind=CaseEvent.Kind.DOCUMENT,
                                     actor=document.uploaded_by, documents=[document.pk],
                                     data={"kind": doc_type.code, "version": document.version})
    except BaseException:
        default_storage.delete(document.file.name)
        raise
    return document
