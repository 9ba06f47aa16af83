"""The identifier rules of DOMAIN.md section 1: renewal code, postal code, national ID, phone."""

import random

import pytest
from django.core.exceptions import ValidationError

from parcels import identifiers as ids

pytestmark = pytest.mark.usefixtures("english")  # the messages asserted are the English ones


@pytest.mark.parametrize("typed, canonical", [
    ("2-3-045-012-0-0-0", "2-3-045-012-0-0-0"),
    ("۲-۳-۰۴۵-۰۱۲-۰-۰-۰", "2-3-045-012-0-0-0"),        # Persian digits
    ("٢-٣-٤٥-١٢-٠-٠-٠", "2-3-045-012-0-0-0"),           # Arabic-Indic digits, unpadded segments
    ("2 3 45 12 0 0 0", "2-3-045-012-0-0-0"),           # spaces
    ("2/3/045/012/0/0/0", "2-3-045-012-0-0-0"),
    ("2304501200 0".replace(" ", ""), "2-3-045-012-0-0-0"),  # digits only, split by widths
])
def test_renewal_code_normalised(typed, canonical):
    assert ids.normalize_renewal_code(typed) == canonical
    ids.validate_renewal_code(canonical)


@pytest.mark.parametrize("bad", ["2-3-045-012", "2-3-045-012-0-0-0-0", "2-3-4567-012-0-0-0", "2-x-045-012-0-0-0", ""])
def test_renewal_code_rejected(bad):
    with pytest.raises(ValidationError):
        ids.parse_renewal_code(bad)


def test_renewal_code_not_canonical_is_rejected_by_validator():
    with pytest.raises(ValidationError, match="canonical"):
        ids.validate_renewal_code("2-3-45-12-0-0-0")


def test_renewal_code_block_code():
    assert ids.parse_renewal_code("2-3-045-012-0-0-0").block_code == "2-3-045"


@pytest.mark.parametrize("code", ["1346713785", "7134691111", "3351766631", "9919139971"])
def test_postal_code_valid(code):
    ids.validate_postal_code(code)


@pytest.mark.parametrize("code", [
    "1234567890",  # 2 in the first five
    "1111567890",  # four equal digits first
    "123456789",   # nine digits
    "13467137x5",
    "1346723785",  # 2 in the last five
])
def test_postal_code_invalid(code):
    with pytest.raises(ValidationError):
        ids.validate_postal_code(code)


def test_postal_code_normalised_from_persian():
    assert ids.normalize_postal_code("۱۳۴۶۷-۱۳۷۸۵") == "1346713785"


def _with_check_digit(nine: str) -> str:
    s = sum(int(d) * (10 - i) for i, d in enumerate(nine))
    r = s % 11
    return nine + str(r if r < 2 else 11 - r)


def test_national_id_check_digit_matches_domain_rule():
    rng = random.Random(5)
    for _ in range(200):
        nine = "".join(rng.choice("0123456789") for _ in range(9))
        nid = _with_check_digit(nine)
        if len(set(nid)) == 1:
            continue
        ids.validate_national_id(nid)
        wrong = nid[:9] + str((int(nid[9]) + 1) % 10)
        with pytest.raises(ValidationError, match="check digit"):
            ids.validate_national_id(wrong)


@pytest.mark.parametrize("bad", ["1111111111", "123", "12345678901", "abcdefghij"])
def test_national_id_format(bad):
    with pytest.raises(ValidationError):
        ids.validate_national_id(bad)


def test_known_national_id():
    # 0499370899: 0*10+4*9+9*8+9*7+3*6+7*5+0*4+8*3+9*2 = 266; 266 mod 11 = 2 -> 11-2 = 9
    ids.validate_national_id("0499370899")


@pytest.mark.parametrize("raw, normal", [("+98 917 123 4567", "09171234567"), ("۰۹۱۷۱۲۳۴۵۶۷", "09171234567"),
                                         ("071-3222-1234", "07132221234")])
def test_phone(raw, normal):
    assert ids.normalize_phone(raw) == normal
    ids.validate_phone(normal)


def test_phone_invalid():
    with pytest.raises(ValidationError):
        ids.validate_phone("0917123")


def test_text_normalised_for_search():
    assert ids.normalize_text("كوچه  علي\u200cآباد ۱۲") == "کوچه علی آباد 12"


def test_messages_are_persian_by_default():
    """Outside the English fixture the language is the default, Persian, and the catalogue has these messages."""
    from django.utils import translation

    with translation.override("fa"):
        with pytest.raises(ValidationError) as error:
            ids.validate_national_id("1234567890")
        assert "کد ملی" in str(error.value)
