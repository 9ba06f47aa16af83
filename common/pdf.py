"""Printing an HTML page to PDF with headless Chromium (the browser the tests already drive): the PDF is exactly the
printable page, with the browser's Persian shaping and right-to-left layout.

Chosen on measurement against WeasyPrint (README, "Printing documents"; issued permit page and bill page, 20 prints
each): both join Persian letters right to left and draw the tables, the SVG map and a QR code that decodes, but
WeasyPrint breaks long tables differently (the bill's 6 A4 pages became 9: rows it does not split go whole to the next
page) and needs its own CSS subset, while a kept Chromium prints the same pages faster (permit 154 ms against 244,
bill 153 against 926) at a cost in memory (about 450-590 MB for the kept browser and Playwright's driver, against
90 MB). Two ways to print, both with the browser named by settings.DUES_CHROMIUM:

- `print_to_pdf(html)`: a browser started for the page and closed after it (1.9 s and 2 s of CPU a page). For a
  process that prints now and then, such as a web request printing on demand: gunicorn's workers keep no browser
  each (four idle browsers for rare prints).
- `printer().print(html)`: the process's `Printer`, one browser kept open with one tab the pages are written into
  (0.15 s and 0.2 s of CPU a page). For the job worker, which prints every issued document (documents/rendering.py
  and permits/issuing.py, run by the jobs documents.render and permits.render_issued): started at its first
  document, kept across jobs, started again after a crash and every MAX_DOCUMENTS pages, closed at exit.
"""

from __future__ import annotations

import atexit
import os
import queue
import subprocess
import tempfile
import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

from django.conf import settings

TIMEOUT = 60          # seconds: a page prints in about one
MAX_DOCUMENTS = 500   # pages printed by one kept browser before it is started again (bounds what it may leak)
GRACE = 15            # seconds a caller waits beyond the page's timeout before giving up on a stuck browser
# a page without its own @page margins gets the browser's usual ones (print_to_pdf's); @page rules win over these
MARGINS = {"top": "1cm", "right": "1cm", "bottom": "1cm", "left": "1cm"}


class PdfError(RuntimeError):
    """Chromium is missing, failed or took too long."""


def print_to_pdf(html: bytes, browser: str | None = None, timeout: float = TIMEOUT) -> bytes:
    """The PDF of an HTML page, printed by a browser started for it (its links to static files must be absolute or
    inline: it is opened from a file)."""
    browser = browser or settings.DUES_CHROMIUM
    with tempfile.TemporaryDirectory() as tmp:
        page, pdf = Path(tmp) / "page.html", Path(tmp) / "page.pdf"
        page.write_bytes(html)
        try:
            subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                            f"--user-data-dir={tmp}/profile", f"--print-to-pdf={pdf}", page.as_uri()],
                           check=True, timeout=timeout, capture_output=True)
            return pdf.read_bytes()
        except (OSError, subprocess.SubprocessError) as exc:
            raise PdfError(f"{type(exc).__name__}; browser={browser}") from exc


class Printer:
    """One headless Chromium kept open (Playwright), printing one page at a time, for any thread of the process.

    Playwright's sync API belongs to the thread that started it, and the job worker runs each job in a thread of
    its pool, so the browser lives in a thread of its own: `print` hands it the page and waits for the PDF. The page
    is written into the browser's one tab (about:blank: everything it shows must be inline, as the documents'
    pages are: CSS, SVG, data-URI images, the system's fonts), loaded within `timeout` seconds and printed as A4
    unless its CSS says otherwise (@page). A browser that died is started again
    for the next page; one that stops answering is left behind (a new thread and browser take over) and the caller
    gets PdfError."""

    def __init__(self, browser: str | None = None, timeout: float = TIMEOUT, max_documents: int = MAX_DOCUMENTS):
        self.browser = browser
        self.timeout = timeout
        self.max_documents = max_documents
        self.launches = 0         # browsers started so far (a test counts them)
        self._lock = threading.Lock()
        self._worker: _PrintThread | None = None

    def print(self, html: bytes, timeout: float | None = None) -> bytes:
        """The PDF of the page; PdfError when the browser cannot start, fails, or the page does not load in time."""
        timeout = self.timeout if timeout is None else timeout
        future: Future = Future()
        with self._lock:
            worker = self._worker
            if worker is None or not worker.is_alive() or worker.pid != os.getpid():   # a forked child starts anew
                worker = self._worker = _PrintThread(self)
                worker.start()
            worker.jobs.put((html, timeout, future))
        try:
            return future.result(timeout + GRACE)
        except FutureTimeout:
            with self._lock:
                if self._worker is worker:
                    self._worker = None
            worker.abandon()
            raise PdfError(f"the browser did not print within {timeout + GRACE:.0f} s; it is started again") from None

    def close(self) -> None:
        """Close the browser (the next print starts one again)."""
        with self._lock:
            worker, self._worker = self._worker, None
        if worker is not None and worker.pid == os.getpid():
            worker.abandon()
            worker.join(10)


class _PrintThread(threading.Thread):
    """The thread that owns a Printer's Playwright and browser."""

    def __init__(self, printer: Printer):
        super().__init__(name="pdf-printer", daemon=True)
        self.printer = printer
        self.pid = os.getpid()
        self.jobs: queue.Queue = queue.Queue()
        self.abandoned = False
        self._playwright = self._browser = self._page = None
        self._printed = 0

    def abandon(self) -> None:
        self.abandoned = True
        self.jobs.put(None)

    def run(self) -> None:
        try:
            while True:
                job = self.jobs.get()
                if job is None or self.abandoned:
                    if job is not None:   # a job queued behind a stuck one: let a caller still waiting know
                        job[2].set_exception(PdfError("the printer was restarted; try again"))
                    if self.abandoned:
                        break
                    continue
                html, timeout, future = job
                if not future.set_running_or_notify_cancel():
                    continue
                try:
                    future.set_result(self._print(html, timeout))
                except PdfError as exc:
                    future.set_exception(exc)
                except Exception as exc:  # noqa: BLE001  (Playwright's driver lost: handed to the caller)
                    self._stop()
                    future.set_exception(PdfError(f"{type(exc).__name__}: {exc}"))
        finally:
            self._stop()
            while not self.jobs.empty():   # an abandoned thread's queue: nobody will print these
                job = self.jobs.get_nowait()
                if job is not None and not job[2].done():
                    job[2].set_exception(PdfError("the printer was restarted; try again"))

    def _print(self, html: bytes, timeout: float) -> bytes:
        from playwright.sync_api import Error as PlaywrightError

        if self._browser is not None and (not self._browser.is_connected()
                                          or self._printed >= self.printer.max_documents):
            self._stop()
        for attempt in (1, 2):
            if self._browser is None:
                self._start()
            try:
                return self._print_page(html, timeout)
            except PlaywrightError as exc:
                if self._browser.is_connected() and not _closed(exc):
                    raise PdfError(f"{type(exc).__name__}: {exc.message.splitlines()[0]}") from None
                self._stop()      # the browser died (killed, out of memory): once more with a new one
                if attempt == 2:
                    raise PdfError(f"the browser closed while printing: {exc.message.splitlines()[0]}") from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _print_page(self, html: bytes, timeout: float) -> bytes:
        # One tab kept for every document, the next page written into it: a new tab per document costs a new
        # renderer process, 0.5 s and 0.7 s of CPU more a page (measured: README, "Printing documents"). A tab that
        # failed (a page that did not load in time) is closed; the next document gets a new one.
        if self._page is None:
            self._page = self._browser.new_page()
        try:
            self._page.set_content(html.decode("utf-8", errors="replace"), wait_until="load", timeout=timeout * 1000)
            pdf = self._page.pdf(format="A4", print_background=True, prefer_css_page_size=True, margin=MARGINS)
        except BaseException:
            page, self._page = self._page, None
            if self._browser.is_connected():
                try:
                    page.close()
                except Exception:  # noqa: BLE001  (the error that matters is the one raised)
                    pass
            raise
        self._printed += 1
        return pdf

    def _start(self) -> None:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright

        executable = self.printer.browser or settings.DUES_CHROMIUM
        try:
            if self._playwright is None:
                self._playwright = sync_playwright().start()
            self._browser = self._playwright.chromium.launch(
                executable_path=executable, args=["--no-sandbox", "--disable-gpu"], timeout=self.printer.timeout * 1000)
        except PlaywrightError as exc:
            self._stop()
            raise PdfError(f"the browser {executable} did not start: {exc.message.splitlines()[0]}") from None
        self.printer.launches += 1
        self._printed = 0

    def _stop(self) -> None:
        browser, playwright = self._browser, self._playwright
        self._browser = self._playwright = self._page = None
        for close in (browser and browser.close, playwright and playwright.stop):
            if close:
                try:
                    close()
                except Exception:  # noqa: BLE001  (already gone: nothing else to close)
                    pass


def _closed(exc) -> bool:
    """Whether Playwright says the browser (or its page) was closed under it."""
    return type(exc).__name__ == "TargetClosedError" or "has been closed" in (exc.message or "")


_shared: Printer | None = None
_shared_lock = threading.Lock()


def printer() -> Printer:
    """This process's Printer (its browser starts at the first page and closes when the process exits)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Printer()
            atexit.register(_shared.close)
        return _shared
