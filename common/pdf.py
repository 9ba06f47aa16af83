"""Printing an HTML page to PDF with headless Chromium (the browser the tests already drive): the PDF is exactly the
printable page, with the browser's Persian shaping and right-to-left layout, and no second layout engine (WeasyPrint
would need Pango and its own CSS subset) to keep in step. Used by the issued documents (documents/rendering.py: bills,
receipts, certificates) and the issued permits (permits/issuing.py), each printed once in a job.

The browser is `browser`, by default settings.DUES_CHROMIUM (the one the site prints with)."""

import subprocess
import tempfile
from pathlib import Path

from django.conf import settings

TIMEOUT = 60   # seconds: a page prints in about one


class PdfError(RuntimeError):
    """Chromium is missing, failed or took too long."""


def print_to_pdf(html: bytes, browser: str | None = None, timeout: float = TIMEOUT) -> bytes:
    """The PDF of an HTML page (its links to static files must be absolute or inline: it is opened from a file)."""
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
