"""Fixtures of the zoning tests (kept out of conftest.py so the zoning app's tests plug in without touching it)."""

import pytest

from tests.conftest import ROOT


@pytest.fixture(scope="session")
def demo_rulebook(django_db_setup, django_db_blocker):
    """The demo rulebook (data/rulebook/demo.toml), loaded once into the test database (committed)."""
    from django.core.management import call_command

    from zoning.models import Rulebook

    with django_db_blocker.unblock():
        if not Rulebook.objects.filter(code="demo-detailed-plan-1405").exists():
            call_command("load_rulebook", str(ROOT / "data" / "rulebook" / "demo.toml"), "--commit")
    return ROOT / "data" / "rulebook" / "demo.toml"
