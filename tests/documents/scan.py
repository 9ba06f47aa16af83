"""Reading a printed PDF as a scanner would: a page rasterised by pdftoppm (poppler-utils) and the barcodes and QR
codes on it decoded by zbarimg (zbar-tools), both Debian's."""

import subprocess
import tempfile
from pathlib import Path


def pdf_page_png(pdf_bytes: bytes, page: int = 1, dpi: int = 300, out_dir=None) -> Path:
    """Page `page` (1-based) of the PDF as a PNG at `dpi`, written under `out_dir` (a new temporary folder if None)."""
    folder = Path(out_dir) if out_dir else Path(tempfile.mkdtemp(prefix="scan-"))
    source = folder / "document.pdf"
    source.write_bytes(pdf_bytes)
    stem = folder / f"page-{page}"
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", "-f", str(page), "-l", str(page), "-singlefile",
                    str(source), str(stem)], check=True, capture_output=True, timeout=120)
    return stem.with_suffix(".png")


def zbar_decode(png_path) -> list[tuple[str, str]]:
    """Every symbol zbarimg finds in the image, as (symbology, data): ("CODE-128", "0000..."), ("I2/5", ...),
    ("QR-Code", "https://..."). An image with no symbol gives [] (zbarimg exits 4)."""
    result = subprocess.run(["zbarimg", "--quiet", str(png_path)], capture_output=True, text=True, timeout=120)
    if result.returncode == 4:
        return []
    if result.returncode != 0:
        raise RuntimeError(f"zbarimg failed ({result.returncode}): {result.stderr.strip()}")
    symbols = []
    for line in result.stdout.splitlines():
        symbology, sep, data = line.partition(":")
        if sep:
            symbols.append((symbology, data))
    return symbols
