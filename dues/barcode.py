"""The bill's 26-digit code (DOMAIN.md 2: bill ID and payment ID, each left-padded to 13 digits) drawn as a linear
barcode for the bank's reader, in the symbology of settings.DUES_BARCODE_SYMBOLOGY:

- "code128" (the default): Code 128, which packs two digits per symbol (code set C), so 26 digits are 15 symbols,
  about 60 mm wide at a 0.33 mm module; every handheld and counter scanner reads it out of the box.
- "itf": Interleaved 2 of 5 (no check character of its own: the bill and payment IDs carry theirs), which some
  readers configured for utility bills expect; it is wider for the same narrow bar (about 72 mm here).

Which one Iranian banks' readers take is not settled in the sources found (DOMAIN.md, "Bill barcodes"): a setting.
Drawn by python-barcode as SVG (vector: sharp at any printer resolution), embedded as a data URI."""

from __future__ import annotations

import base64
import io

import barcode as python_barcode
from barcode.writer import SVGWriter
from django.conf import settings

SYMBOLOGIES = ("code128", "itf")
# Millimetres. Code 128: a 0.33 mm module (13 mil, the common print spec). ITF: narrow bar 2 units of 0.14 mm (0.28 mm),
# wide bar 5 units (ratio 2.5, inside the 2–3 the standard allows). Quiet zones at least 10 modules.
_OPTIONS = {
    "code128": {"module_width": 0.33, "module_height": 14.0, "quiet_zone": 4.0},
    "itf": {"module_width": 0.14, "module_height": 14.0, "quiet_zone": 6.5},
}


def symbology() -> str:
    chosen = settings.DUES_BARCODE_SYMBOLOGY
    if chosen not in SYMBOLOGIES:
        raise ValueError(f"DUES_BARCODE_SYMBOLOGY must be one of {SYMBOLOGIES}, not {chosen!r}")
    return chosen


def svg(digits: str, kind: str | None = None) -> bytes:
    """The barcode of `digits` as an SVG document (bars only: the digits are printed beside it as text)."""
    if not digits.isdigit():
        raise ValueError(f"{digits!r} is not a string of digits")
    kind = kind or symbology()
    code = python_barcode.get_barcode_class(kind)(digits, writer=SVGWriter())
    out = io.BytesIO()
    code.write(out, options={**_OPTIONS[kind], "write_text": False, "background": "white", "foreground": "black"})
    return out.getvalue()


def svg_data_uri(digits: str, kind: str | None = None) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg(digits, kind)).decode("ascii")
