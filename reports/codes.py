"""Reports' tracking codes: the shared ten-digit Luhn codes (common/codes.py)."""

from common.codes import LENGTH, is_valid, luhn_digit, new_code  # noqa: F401
