"""Printing a bill to PDF with headless Chromium (common/pdf.py prints; the browser is settings.DUES_CHROMIUM).

A print starts a browser (2-5.5 s, ~150 MB), so prints are bounded: at most DUES_PDF_MAX_CONCURRENT at once across
every process of the site (`slot`: one PostgreSQL session advisory lock per slot, freed by PostgreSQL if the process
dies), a request waits up to DUES_PDF_WAIT_SECONDS for a slot and then gets `Busy` (the view answers 503 with
Retry-After). The PDF of a page already printed is kept (`cached`, keyed by the page's HTML: an unchanged bill in the
same language is the same page) and served without a browser.
"""

import hashlib
import time
from contextlib import contextmanager

from django.conf import settings
from django.core.cache import cache
from django.db import connection

from common import pdf as common_pdf
from common.pdf import PdfError  # noqa: F401  (raised by print_to_pdf; the bill's view catches it)

LOCK_CLASS = 0x44554553   # "DUES": the first key of the slots' advisory locks (pg_try_advisory_lock(class, slot))
RETRY_AFTER = 5           # seconds a client told "busy" is asked to wait: about one print
CACHE_SECONDS = 24 * 3600
CACHE_MAX_BYTES = 2 * 1024 * 1024


class Busy(PdfError):
    """Every print slot stayed taken for DUES_PDF_WAIT_SECONDS."""

    retry_after = RETRY_AFTER


def _try_lock(slot: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_CLASS, slot])
        return cursor.fetchone()[0]


def _unlock(slot: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_CLASS, slot])


@contextmanager
def slot():
    """Hold one of the DUES_PDF_MAX_CONCURRENT print slots while the block runs; Busy when none frees up in time."""
    slots = max(1, settings.DUES_PDF_MAX_CONCURRENT)
    deadline = time.monotonic() + settings.DUES_PDF_WAIT_SECONDS
    while True:
        held = next((s for s in range(slots) if _try_lock(s)), None)
        if held is not None:
            break
        if time.monotonic() >= deadline:
            raise Busy("every print slot is busy")
        time.sleep(0.1)
    try:
        yield held
    finally:
        _unlock(held)


def _key(html: bytes) -> str:
    return "dues-pdf:" + hashlib.sha256(settings.DUES_CHROMIUM.encode() + b"\0" + html).hexdigest()


def cached(html: bytes) -> bytes:
    """The PDF of the page: the one printed before for the same HTML, else printed now within a slot."""
    key = _key(html)
    document = cache.get(key)
    if document is None:
        with slot():
            document = print_to_pdf(html)
        if len(document) <= CACHE_MAX_BYTES:
            cache.set(key, document, CACHE_SECONDS)
    return document


def print_to_pdf(html: bytes) -> bytes:
    """The PDF of an HTML page, printed by settings.DUES_CHROMIUM (common.pdf)."""
    return common_pdf.print_to_pdf(html, settings.DUES_CHROMIUM)
