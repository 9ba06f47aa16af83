"""Tracking codes: ten digits a citizen reads over the phone or types with Persian digits. Nine random digits and a
Luhn check digit, so a mistyped digit (or two swapped) is caught before a look-up. Pure Python; used by every app
that hands out codes (reports, permits), each in its own table."""

import secrets

LENGTH = 10


def luhn_digit(digits: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def new_code(randbelow=secrets.randbelow, length: int = LENGTH) -> str:
    body = str(1 + randbelow(9)) + "".join(str(randbelow(10)) for _ in range(length - 2))  # no leading zero
    return body + luhn_digit(body)


def is_valid(code: str, length: int = LENGTH) -> bool:
    return len(code) == length and code.isdigit() and luhn_digit(code[:-1]) == code[-1]
