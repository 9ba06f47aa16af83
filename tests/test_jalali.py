import datetime

from django.utils import translation

from common.jalali import jalali


def test_jalali_dates():
    with translation.override("fa"):
        assert jalali(datetime.date(2025, 3, 21)) == "۱۴۰۴/۰۱/۰۱"  # Nowruz
        assert jalali(datetime.date(2025, 3, 20)) == "۱۴۰۳/۱۲/۳۰"  # 1403 is a leap year: 30 Esfand exists
    with translation.override("en"):
        assert jalali(datetime.date(2024, 3, 19)) == "1402/12/29"  # 1402 is not: its Esfand has 29 days
        assert jalali(datetime.datetime(2026, 11, 21, 9, 30)) == "1405/08/30 09:30"
    assert jalali(None) == ""
