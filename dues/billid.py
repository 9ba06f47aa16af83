"""The national bill ID / payment ID standard (DOMAIN.md 2): check digits and the 26-digit barcode.

Bill ID = file code (up to 8 digits) + company code (3) + service type (1; 6 = municipality) + check digit.
Payment ID = amount in thousands of rials + year code (last digit of the year) + period (2) + check 1 + check 2.
Check digit: weights 2, 3, 4, 5, 6, 7, 2, 3, ... from the rightmost digit; r = sum mod 11; 0 if r < 2 else 11 − r.
Check 1 covers the payment ID's preceding digits; check 2 covers bill ID + payment ID up to and including check 1.
"""

SERVICE_MUNICIPALITY = 6
# The company code bills carry while DUES_BILL_COMPANY_CODE is unset: a placeholder for the demo and tests, refused in
# production by the system check dues.E002 (a bank would route such bills to another company).
PLACEHOLDER_COMPANY_CODE = "401"
# File codes: a renewal bill's is its parcel's id, a fee bill's the next number of a sequence from here
# (dues/fee_bills.py), so no fee bill's bill ID is ever a renewal bill's (parcel ids stay below it).
FEE_FILE_CODES_FROM = 90_000_000


def company_code() -> str:
    """The current municipality's (DUES_BILL_COMPANY_CODE, or bill_company_code in MUNICIPALITIES_FILE)."""
    from common import municipality

    return municipality.current().bill_company_code or PLACEHOLDER_COMPANY_CODE


def check_digit(digits: str) -> int:
    if not digits.isdigit():
        raise ValueError(f"{digits!r} is not a string of digits")
    total = sum(int(d) * (2 + i % 6) for i, d in enumerate(reversed(digits)))
    r = total % 11
    return 0 if r < 2 else 11 - r


def bill_id(file_code: int, company_code: str, service_type: int = SERVICE_MUNICIPALITY) -> str:
    if not 0 < file_code < 10**8:
        raise ValueError(f"file code {file_code} must have at most 8 digits")
    if len(company_code) != 3 or not company_code.isdigit():
        raise ValueError(f"company code {company_code!r} must be 3 digits")
    body = f"{file_code}{company_code}{service_type}"
    return body + str(check_digit(body))


def payment_id(bill: str, amount_rials: int, year: int, period: int) -> str:
    if amount_rials <= 0 or amount_rials % 1000:
        raise ValueError(f"amount {amount_rials} must be a positive whole number of thousands of rials")
    if not 0 <= period <= 99:
        raise ValueError(f"period {period} must have 2 digits")
    body = f"{amount_rials // 1000}{year % 10}{period:02d}"
    if len(body) + 2 > 13:
        raise ValueError(f"amount {amount_rials} is too large for a 13-digit payment ID")
    body += str(check_digit(body))
    return body + str(check_digit(bill + body))


def is_valid_bill_id(bill: str) -> bool:
    return bill.isdigit() and 6 <= len(bill) <= 13 and check_digit(bill[:-1]) == int(bill[-1])


def is_valid_pair(bill: str, payment: str) -> bool:
    return (is_valid_bill_id(bill) and payment.isdigit() and 6 <= len(payment) <= 13
            and check_digit(payment[:-2]) == int(payment[-2])
            and check_digit(bill + payment[:-1]) == int(payment[-1]))


def amount_of(payment: str) -> int:
    """Rials a payment ID carries."""
    return int(payment[:-5] or 0) * 1000


def barcode(bill: str, payment: str) -> str:
    return bill.zfill(13) + payment.zfill(13)
