"""Fixtures of the dues reminders and the dues section of "My properties": the demo city with the demo tariff books
loaded and this year and last year assessed (tests.dues_support.dues_city, committed once per session), and the
notices' default templates (loaded inside each test's transaction)."""

import pytest

from tests.dues_support import dues_city  # noqa: F401  (fixture)


@pytest.fixture
def year(dues_city):  # noqa: F811
    """The current Jalali year, assessed, with the notice templates loaded (rolled back after the test)."""
    from notices import defaults

    defaults.load()
    return dues_city
