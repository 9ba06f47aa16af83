"""Reading printed documents back as a reader at a counter would: a PDF page rendered to an image (poppler's
pdftoppm), and the bar codes in it decoded (zbar's zbarimg). For any document: a certificate's QR code, a bill's
barcode."""

from __future__ import annotations

import subprocess
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

ZBAR_NS = "{http://zbar.sourceforge.net/2008/barcode}"


def pdf_page_png(pdf_bytes: bytes, page: int = 1, dpi: int = 200, folder: Path | None = None) -> Path:
    """Page `page` (1-based) of the PDF as a PNG file at `dpi` (`pdftoppm -r DPI -png`), in `folder` (a new temporary
    folder when None; the caller may delete it)."""
    folder = Path(folder or tempfile.mkdtemp(prefix="scan-"))
    source = folder / "document.pdf"
    source.write_bytes(pdf_bytes)
    stem = folder / f"page-{page}"
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", "-f", str(page), "-l", str(page), "-singlefile",
                    str(source), str(stem)], check=True, capture_output=True, timeout=60)
    return stem.with_suffix(".png")


def zbar_decode(png_path: Path | str) -> list[tuple[str, str]]:
    """Every bar code zbarimg finds in the image: [(symbology, data)], e.g. ("QR-Code", "https://..."),
    ("I2/5", "0123..."), ("CODE-128", ...); [] when it finds none. The XML output keeps data with any character
    (a colon or a newline) whole, and names each code's symbology."""
    result = subprocess.run(["zbarimg", "--xml", "-q", "--nodbus", str(png_path)], capture_output=True,
                            timeout=60)
    if result.returncode == 4:        # zbarimg: the image was read and holds no bar code
        return []
    if result.returncode != 0:
        raise RuntimeError(f"zbarimg failed ({result.returncode}): {result.stderr.decode(errors='replace')[-500:]}")
    root = ET.fromstring(result.stdout)
    return [(symbol.get("type", ""), (symbol.findtext(f"{ZBAR_NS}data") or ""))
            for symbol in root.iter(f"{ZBAR_NS}symbol")]
