"""Iranian property identifiers: normalising what people type and validating it (DOMAIN.md section 1).

Pure functions over strings; no database. Each validator raises django's ValidationError with a message that
names the identifier and what is wrong, so forms, imports and APIs report the same thing.
"""

import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from common import municipality

# Persian (U+06F0..) and Arabic-Indic (U+0660..) digits to ASCII.
_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
# Arabic letters typed on Arabic keyboards, to their Persian forms; half-space (ZWNJ) and tatweel removed
# where they carry no meaning for identifiers.
_LETTERS = str.maketrans({"ي": "ی", "ى": "ی", "ك": "ک", "ة": "ه", "ۀ": "ه", "ـ": None})


def to_ascii_digits(text: str) -> str:
    return text.translate(_DIGITS)


def normalize_text(text: str) -> str:
    """Persian text as stored and searched: Persian letters, ASCII digits, single spaces."""
    text = to_ascii_digits(text).translate(_LETTERS).replace("\u200c", " ")
    return re.sub(r"\s+", " ", text).strip()


# --- Renewal code (کد نوسازی) ----------------------------------------------------------------------

RENEWAL_SEGMENTS = ("district", "zone", "block", "property", "building", "apartment", "business")


@dataclass(frozen=True)
class RenewalCode:
    """The 7-segment renewal code: district-zone-block-property-building-apartment-business."""

    segments: tuple[int, ...]

    def __str__(self) -> str:
        widths = municipality.current().renewal_code_widths
        return "-".join(str(value).zfill(width) for value, width in zip(self.segments, widths))

    @property
    def block_code(self) -> str:
        """The first three segments (district-zone-block), the block's own code."""
        return str(self).rsplit("-", 4)[0]

    @property
    def district(self) -> int:
        return self.segments[0]

    @property
    def zone(self) -> int:
        return self.segments[1]


def parse_renewal_code(raw: str) -> RenewalCode:
    """Parse a renewal code typed with hyphens, slashes, spaces or Persian digits, e.g. '۲-۳-۰۴۵-۰۱۲-۰-۰-۰'.

    Segment widths are the current municipality's (renewal_code_widths); a segment longer than its width is an
    error, a shorter one is zero-padded. A code of exactly sum(widths) digits without separators is split by width.
    """
    widths = municipality.current().renewal_code_widths
    text = to_ascii_digits(str(raw)).strip()
    parts = [p for p in re.split(r"[\s\-/_.،,]+", text) if p]
    if len(parts) == 1 and parts[0].isdigit() and len(parts[0]) == sum(widths):
        digits, parts = parts[0], []
        for width in widths:
            parts.append(digits[:width])
            digits = digits[width:]
    if len(parts) != len(widths):
        raise ValidationError(
            _("Renewal code %(code)s must have %(n)d segments (district-zone-block-property-building-apartment-business)."),
            code="renewal_code_segments",
            params={"code": raw, "n": len(widths)},
        )
    values = []
    for name, part, width in zip(RENEWAL_SEGMENTS, parts, widths):
        if not part.isdigit():
            raise ValidationError(
                _("Renewal code %(code)s: the %(segment)s segment %(part)r is not a number."),
                code="renewal_code_digits",
                params={"code": raw, "segment": name, "part": part},
            )
        if len(part.lstrip("0") or "0") > width:
            raise ValidationError(
                _("Renewal code %(code)s: the %(segment)s segment has more than %(width)d digits."),
                code="renewal_code_width",
                params={"code": raw, "segment": name, "width": width},
            )
        values.append(int(part))
    return RenewalCode(tuple(values))


def validate_renewal_code(value: str) -> None:
    code = parse_renewal_code(value)
    if str(code) != value:
        raise ValidationError(
            _("Renewal code %(code)s is not in canonical form; write it as %(canonical)s."),
            code="renewal_code_form",
            params={"code": value, "canonical": str(code)},
        )


def normalize_renewal_code(raw: str) -> str:
    return str(parse_renewal_code(raw))


# --- Postal code (کد پستی) --------------------------------------------------------------------------

# 10 digits; the digits 0 and 2 never appear in the first five; not four equal digits at the start.
POSTAL_CODE_RE = re.compile(r"^(?!(\d)\1{3})[13-9]{4}[1346-9][013-9]{5}$")


def normalize_postal_code(raw: str) -> str:
    return re.sub(r"[\s\-]", "", to_ascii_digits(str(raw)))


def validate_postal_code(value: str) -> None:
    if not POSTAL_CODE_RE.match(value or ""):
        raise ValidationError(
            _("Postal code %(code)s is not valid: 10 digits, without 0 or 2 in the first five."),
            code="postal_code",
            params={"code": value},
        )


# --- National ID (کد ملی) and legal-entity national ID (شناسه ملی) ------------------------------------


def national_id_check_digit(first_nine: str) -> int:
    s = sum(int(d) * (10 - i) for i, d in enumerate(first_nine))
    r = s % 11
    return r if r < 2 else 11 - r


def validate_national_id(value: str) -> None:
    """A person's 10-digit national ID with its check digit (DOMAIN.md 1)."""
    if not re.fullmatch(r"\d{10}", value or "") or len(set(value)) == 1:
        raise ValidationError(
            _("National ID %(id)s must be 10 digits (not all the same)."), code="national_id_format", params={"id": value}
        )
    if national_id_check_digit(value[:9]) != int(value[9]):
        raise ValidationError(
            _("National ID %(id)s fails its check digit."), code="national_id_check", params={"id": value}
        )


def validate_legal_entity_id(value: str) -> None:
    """A legal entity's 11-digit national ID (شناسه ملی). Only the format is checked: its check-digit
    rule is not in DOMAIN.md with enough confidence to reject real identifiers on it."""
    if not re.fullmatch(r"\d{11}", value or ""):
        raise ValidationError(
            _("Legal-entity national ID %(id)s must be 11 digits."), code="legal_id_format", params={"id": value}
        )


# --- Phone numbers -----------------------------------------------------------------------------------

PHONE_RE = re.compile(r"^0(9\d{9}|[1-8]\d{9})$")


def normalize_phone(raw: str) -> str:
    text = re.sub(r"[\s\-()]", "", to_ascii_digits(str(raw)))
    if text.startswith("+98"):
        text = "0" + text[3:]
    elif text.startswith("0098"):
        text = "0" + text[4:]
    return text


def validate_phone(value: str) -> None:
    if not PHONE_RE.match(value or ""):
        raise ValidationError(
            _("Phone number %(phone)s must be an Iranian number of 11 digits starting with 0 (mobile 09…)."),
            code="phone",
            params={"phone": value},
        )
