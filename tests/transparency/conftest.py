"""Fixtures of the transparency tests: the demo decisions and projects loaded on the small demo city (in the test's
transaction), the default notice texts, signed-in citizens and a moderator."""

import pytest

from tests.conftest import make_user


@pytest.fixture
def demo(db, demo_city):
    """The demo file (data/transparency/demo.toml) loaded, with the notice texts; {code: project}."""
    from notices import defaults
    from transparency import loader
    from transparency.models import Project

    defaults.load()
    loader.load(loader.read(loader.DEMO_FILE))
    return {p.code: p for p in Project.objects.all()}


def make_citizen(mobile: str, language: str = "en"):
    from accounts.models import Citizen

    user = make_user(mobile, "citizen")
    Citizen.objects.create(user=user, mobile=mobile, language=language)
    return user


@pytest.fixture
def citizen(db):
    return make_citizen("09171234567")


@pytest.fixture
def moderator(db):
    return make_user("tp-moderator", "planner", is_staff=True)


@pytest.fixture(autouse=True)
def _generous_limits(settings):
    settings.TRANSPARENCY_COMMENT_RATE_PER_CITIZEN = ["1000/600"]
    settings.TRANSPARENCY_COMMENT_RATE_PER_ADDRESS = ["1000/600"]
