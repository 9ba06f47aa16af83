"""Amounts in Persian words, as a bill prints the payable amount under its digits (مبلغ به حروف).

num2words (lang "fa") does the words: short scale as Iranian banks and the press write it (هزار, میلیون, میلیارد,
تریلیون). Its Persian scale ends at تریلیارد (10^15): from 10^18 on it silently drops the high digits, so amounts
are refused from 10^15 rials on (a bill's payment ID carries at most eight digits of thousands: under 10^11)."""

from num2words import num2words

LIMIT = 10**15


def persian_words(number: int) -> str:
    """A whole number in Persian words: 0 → صفر, 1,000 → هزار, 1,234 → هزار و دویست و سی و چهار."""
    if isinstance(number, bool) or not isinstance(number, int):
        raise TypeError(f"{number!r} is not a whole number")
    if not 0 <= number < LIMIT:
        raise ValueError(f"{number} is outside 0 .. 10^15 - 1")
    return num2words(number, lang="fa")


def rials_in_words(amount: int) -> str:
    """The amount as a bill writes it under the digits: «یک میلیون و پانصد هزار ریال»."""
    return f"{persian_words(amount)} ریال"
