"""Settings from the environment, system checks, and the serving/batch database sessions."""

import os
import subprocess
import sys

import pytest
from django.core.checks import run_checks
from django.db import connection
from django.test import override_settings

from gis_portal import checks
from common.db import batch_session
from tests.conftest import ROOT


def _settings_import(env_changes):
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "SECRET_KEY_FILE", "DEBUG")}
    env.update(env_changes)
    return subprocess.run([sys.executable, "-c", "import gis_portal.settings"], cwd=ROOT, env=env,
                          capture_output=True, text=True)


def test_production_refuses_to_start_without_secret_key():
    result = _settings_import({"DEBUG": "false"})
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr


def test_local_demo_starts_without_secret_key():
    assert _settings_import({"DEBUG": "true"}).returncode == 0
    assert _settings_import({"DEBUG": "false", "SECRET_KEY": "x" * 50}).returncode == 0


def test_bad_boolean_is_an_error():
    result = _settings_import({"DEBUG": "maybe"})
    assert result.returncode != 0 and "DEBUG must be true or false" in result.stderr


def test_missing_database_url_is_explained():
    result = _settings_import({"DEBUG": "true", "DATABASE_URL": ""})
    assert result.returncode != 0 and "DATABASE_URL is not set" in result.stderr


def test_srid_must_be_projected():
    with override_settings(MUNICIPALITY_SRID=4326):
        assert [e.id for e in checks.municipality_srid_projected(None)] == ["gis_portal.E003"]
    with override_settings(MUNICIPALITY_SRID=32640):
        assert checks.municipality_srid_projected(None) == []
    with override_settings(MUNICIPALITY_SRID=2249):  # Massachusetts State Plane in US feet
        assert [e.id for e in checks.municipality_srid_projected(None)] == ["gis_portal.E004"]


def test_renewal_code_widths_checked():
    with override_settings(RENEWAL_CODE_WIDTHS=[1, 1, 3]):
        assert [e.id for e in checks.renewal_code_widths(None)] == ["gis_portal.E005"]


@pytest.mark.parametrize("name, bad, good", [("DATABASE_PRIMARY_READ_SHARE", 1.5, 0.25), ("TILE_EDIT_ZOOM", 30, 16),
                                              ("DATABASE_STICKY_SECONDS", -1, 0), ("TILE_EDIT_MAX_REGIONS", 0, 64)])
def test_numbers_out_of_range_are_refused_with_their_name(name, bad, good):
    with override_settings(**{name: bad}):
        errors = checks.settings_in_range(None)
        assert [e.id for e in errors] == ["gis_portal.E030"] and name in errors[0].msg
    with override_settings(**{name: good}):
        assert checks.settings_in_range(None) == []


def test_fewer_regions_kept_than_one_edit_may_list_is_refused():
    with override_settings(TILE_EDIT_MAX_REGIONS=500, TILE_EDIT_REGIONS_KEPT=100):
        assert [e.id for e in checks.settings_in_range(None)] == ["gis_portal.E031"]


@pytest.mark.django_db
def test_all_checks_pass_with_postgis():
    errors = [m for m in run_checks(databases=["default"]) if m.level >= 40]
    assert errors == []
    assert checks.gdal_found(None) == []


@pytest.mark.django_db
def test_serving_connections_have_no_parallel_query_but_batches_do():
    with connection.cursor() as cursor:
        cursor.execute("SHOW max_parallel_workers_per_gather")
        assert cursor.fetchone()[0] == "0"
        with batch_session():
            cursor.execute("SHOW max_parallel_workers_per_gather")
            assert cursor.fetchone()[0] == "2"
        cursor.execute("SHOW max_parallel_workers_per_gather")
        assert cursor.fetchone()[0] == "0"
