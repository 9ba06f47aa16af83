"""The municipality context (common/municipality.py): the registry from MUNICIPALITIES_FILE or from the settings of
one city, `activate`, and what follows the current municipality: the geometry fields' CRS (columns, lookups,
migrate), renewal codes and the names shown. Two cities: Darab (EPSG:32640, the test database's) and a second one
in the next UTM zone (EPSG:32639) with other code widths and names."""

import dataclasses
import os
import subprocess
import sys
import threading

import pytest
from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection, connections

from common import municipality
from common.fields import MunicipalMultiPolygonField, MunicipalSRID
from tests.conftest import ROOT

DARAB = """
[[municipality]]
slug = "darab"
name = "شهرداری داراب"
name_en = "Darab Municipality"
srid = 32640
renewal_code_widths = [1, 1, 3, 3, 1, 1, 1]
time_zone = "Asia/Tehran"
hosts = ["darab.example.ir"]
bill_company_code = "123"
"""
SECOND = """
[[municipality]]
slug = "estahban"
name = "شهرداری استهبان"
name_en = "Estahban Municipality"
srid = 32639
renewal_code_widths = [2, 2, 3, 4, 1, 1, 1]
hosts = ["Estahban.example.ir", "www.estahban.example.ir"]
path_prefix = "/estahban"
bill_company_code = "456"
"""


def write(tmp_path, text, name="municipalities.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def two_cities(tmp_path, settings):
    """The registry of a deployment serving Darab (the default) and Estahban, from a TOML file; Estahban's database
    is the test database here (what follows the CRS is tested without a second database: test_many_municipalities
    has one)."""
    darab, second = municipality.read_file(write(tmp_path, DARAB + SECOND))
    settings.MUNICIPALITIES = (darab, dataclasses.replace(second, database="default"))
    return municipality.get("darab"), municipality.get("estahban")


# --- the registry ------------------------------------------------------------------------------------------------

def test_the_registry_of_a_file(tmp_path, settings):
    settings.MUNICIPALITIES = municipality.read_file(write(tmp_path, DARAB + SECOND))
    darab, second = municipality.get("darab"), municipality.get("estahban")
    assert list(municipality.registry()) == ["darab", "estahban"]
    assert municipality.first() == darab and municipality.current() == darab
    assert (second.name, second.name_en, second.srid) == ("شهرداری استهبان", "Estahban Municipality", 32639)
    assert second.renewal_code_widths == (2, 2, 3, 4, 1, 1, 1) and darab.renewal_code_widths == (1, 1, 3, 3, 1, 1, 1)
    assert (darab.database, second.database) == ("default", "estahban")  # the first's is the default connection
    assert second.hosts == ("estahban.example.ir", "www.estahban.example.ir") and second.path_prefix == "/estahban"
    assert second.time_zone == "Asia/Tehran" and second.open311_jurisdiction == "estahban-municipality"
    with pytest.raises(municipality.UnknownMunicipality, match="'shiraz'.*'darab', 'estahban'"):
        municipality.get("shiraz")


def test_without_a_file_the_registry_is_the_city_of_the_settings(settings):
    settings.MUNICIPALITIES = None
    (only,) = municipality.registry().values()
    assert (only.slug, only.srid, only.name) == (settings.MUNICIPALITY_SLUG, settings.MUNICIPALITY_SRID,
                                                 settings.MUNICIPALITY_NAME)
    assert only.renewal_code_widths == tuple(settings.RENEWAL_CODE_WIDTHS) and only.database == "default"
    settings.MUNICIPALITY_NAME_EN = "Nemuneh-Abad Municipality"  # a setting changed: the registry is made again
    assert municipality.current().name_en == "Nemuneh-Abad Municipality"


PER_MUNICIPALITY = ("MUNICIPALITY_SLUG", "MUNICIPALITY_SRID", "MUNICIPALITY_NAME", "MUNICIPALITY_NAME_EN",
                    "RENEWAL_CODE_WIDTHS", "TIME_ZONE", "DUES_BILL_COMPANY_CODE", "REPORTS_OPEN311_JURISDICTION")


def _settings_with(env_changes):
    env = {k: v for k, v in os.environ.items() if k not in PER_MUNICIPALITY}
    return subprocess.run([sys.executable, "-c", "import gis_portal.settings as s; print(s.MUNICIPALITY_SRID, "
                           "s.MUNICIPALITY_SLUG, s.RENEWAL_CODE_WIDTHS, s.DUES_BILL_COMPANY_CODE, s.TIME_ZONE, "
                           "[m.slug for m in s.MUNICIPALITIES])"],
                          cwd=ROOT, env={**env, "DEBUG": "true", **env_changes}, capture_output=True, text=True)


def test_the_settings_read_the_file_and_keep_the_default_city_values(tmp_path):
    path = write(tmp_path, SECOND.replace("Estahban.example.ir", "estahban.example.ir").replace(
        "[[municipality]]", '[[municipality]]\ntime_zone = "Asia/Dubai"') + DARAB)
    result = _settings_with({"MUNICIPALITIES_FILE": str(path)})
    assert result.stdout.strip() == "32639 estahban [2, 2, 3, 4, 1, 1, 1] 456 Asia/Dubai ['estahban', 'darab']"
    both = _settings_with({"MUNICIPALITIES_FILE": str(path), "MUNICIPALITY_SRID": "32640"})
    assert both.returncode != 0 and "MUNICIPALITY_SRID must be given in that file" in both.stderr
    elsewhere = write(tmp_path, DARAB.replace("[[municipality]]", '[[municipality]]\ndatabase = "darab"'), "b.toml")
    refused = _settings_with({"MUNICIPALITIES_FILE": str(elsewhere)})
    assert refused.returncode != 0 and 'the first municipality is the default one' in refused.stderr


@pytest.mark.parametrize("text, message", [
    (DARAB.replace("srid =", "sird = 1\nsrid ="), r"municipality 1 \('darab'\): unknown key\(s\) \['sird'\]"),
    (DARAB + SECOND.replace('"estahban"', '"darab"', 1), "the slug 'darab' is given to both 'darab' and 'darab'"),
    (DARAB + SECOND.replace("Estahban.example.ir", "DARAB.example.ir"),
     "the host 'darab.example.ir' is given to both 'darab' and 'estahban'"),
    (DARAB.replace("32640", "4326"), r"srid 4326 \(WGS 84\) is not a projected CRS"),
    (DARAB.replace("32640", "2249"), r"srid 2249 .* measures in US survey foot, not metres"),
    (DARAB.replace("32640", "999999"), "srid 999999 is not a known EPSG code"),
    (DARAB.replace("32640", '"32640"'), "srid must be an EPSG code"),
    (DARAB.replace("[1, 1, 3, 3, 1, 1, 1]", "[1, 1, 3]"), "renewal_code_widths must be 7 widths of 1-6 digits"),
    (DARAB.replace("Asia/Tehran", "Asia/Darab"), "time_zone 'Asia/Darab' is not a known IANA time zone"),
    (DARAB.replace('slug = "darab"\n', ""), "slug must be given"),
    (SECOND.replace('"/estahban"', '"/estahban/"'), "path_prefix '/estahban/' must look like /name"),
    ("[municipality]\nslug = 'x'\n", "must hold one \\[\\[municipality\\]\\] table per municipality"),
    ("other = 1\n" + DARAB, r"nothing else \(found \[.other.\]\)"),
    ("slug = ", "is not valid TOML"),
    (DARAB.replace("srid =", 'signing_key = "/etc/darab/key.pem"\nsrid ='),
     "signing_key and signing_cert are given together"),
    (DARAB.replace("srid =", 'signing_passphrase_file = "/etc/darab/pass"\nsrid ='),
     "signing_passphrase_file without signing_key"),
])
def test_a_bad_file_is_refused_clearly(tmp_path, text, message):
    with pytest.raises(ImproperlyConfigured, match=message) as refused:
        municipality.read_file(write(tmp_path, text))
    assert str(write(tmp_path, text)) in str(refused.value)  # which file


# --- activate ----------------------------------------------------------------------------------------------------

def test_activate_nests_and_resets(two_cities):
    darab, second = two_cities
    with municipality.activate("estahban") as active:
        assert active == second and municipality.current() == second
        with municipality.activate(darab):
            assert municipality.current() == darab
        assert municipality.current() == second
        seen = []
        thread = threading.Thread(target=lambda: seen.append(municipality.current()))
        thread.start()
        thread.join()
        assert seen == [darab]  # a new thread starts in the default municipality, not in this one
    assert municipality.current() == darab
    with pytest.raises(RuntimeError), municipality.activate(second):
        raise RuntimeError("the block fails")
    assert municipality.current() == darab
    token = municipality.set_current("estahban")  # the pair a middleware will use
    assert municipality.current() == second
    municipality.reset(token)
    assert municipality.current() == darab
    with pytest.raises(municipality.UnknownMunicipality):
        municipality.activate("shiraz").__enter__()
    assert municipality.current() == darab


# --- what follows the current municipality ---------------------------------------------------------------------

def municipal_fields():
    from django.apps import apps

    return [f for m in apps.get_models(include_auto_created=True) for f in m._meta.local_fields
            if isinstance(f, MunicipalSRID)]


def test_every_geometry_field_follows_the_current_crs(two_cities):
    from parcels.models import Parcel

    darab, second = two_cities
    fields = municipal_fields()
    assert len(fields) >= 15 and Parcel._meta.get_field("geom") in fields
    assert {f.srid for f in fields} == {32640}
    geom = Parcel._meta.get_field("geom")
    assert connection.ops.geo_db_type(geom) == "geometry(MULTIPOLYGON,32640)"
    with municipality.activate(second):
        assert {f.srid for f in fields} == {32639}
        assert connection.ops.geo_db_type(geom) == "geometry(MULTIPOLYGON,32639)"  # the column migrate creates
        assert geom.formfield().srid == 32639
    assert {f.srid for f in fields} == {32640}
    assert "srid" not in geom.deconstruct()[3]  # no CRS written into a migration
    with pytest.raises(TypeError, match="give it no srid"):
        MunicipalMultiPolygonField(srid=32640)
    with pytest.raises(AttributeError, match="follows the current municipality"):
        geom.srid = 4326


@pytest.mark.django_db
def test_a_spatial_lookup_is_transformed_to_the_current_crs(two_cities):
    from parcels.models import Parcel

    darab, second = two_cities
    somewhere = Point(54.55, 28.75, srid=4326)

    def compiled():
        sql, params = Parcel.objects.filter(geom__intersects=somewhere).query.get_compiler("default").as_sql()
        return sql % tuple(f"<{p!r}>" for p in params)

    assert "ST_Transform(<" in compiled() and ", 32640)" in compiled() and "32639" not in compiled()
    with municipality.activate(second):
        assert "ST_Transform(<" in compiled() and ", 32639)" in compiled() and "32640" not in compiled()
    assert ", 32640)" in compiled()
    assert Parcel.objects.filter(geom__intersects=somewhere).count() >= 0  # it runs in the database's CRS


def test_renewal_codes_follow_the_current_widths(two_cities):
    from parcels import identifiers

    darab, second = two_cities
    code = identifiers.parse_renewal_code("2-3-45-12-0-0-0")
    assert str(code) == "2-3-045-012-0-0-0"
    assert str(identifiers.parse_renewal_code("23045012000")) == "2-3-045-012-0-0-0"  # split by the widths
    with pytest.raises(identifiers.ValidationError):
        identifiers.parse_renewal_code("12-3-45-1234-0-0-0")  # a 2-digit district, a 4-digit property
    with municipality.activate(second):
        assert str(code) == "02-03-045-0012-0-0-0"
        assert str(identifiers.parse_renewal_code("12-3-45-1234-0-0-0")) == "12-03-045-1234-0-0-0"
        assert str(identifiers.parse_renewal_code("12030451234000")) == "12-03-045-1234-0-0-0"
        assert identifiers.normalize_renewal_code("۱۲-۳-۴۵-۱۲۳۴-۰-۰-۰") == "12-03-045-1234-0-0-0"
        with pytest.raises(identifiers.ValidationError):
            identifiers.parse_renewal_code("23045012000")  # Darab's 11 digits are not the second city's 14
    assert str(code) == "2-3-045-012-0-0-0"


@pytest.mark.django_db
def test_the_names_shown_follow_the_current_municipality(two_cities, client):
    from django.template import Context, Template
    from django.utils import translation

    from dues import billid
    from reports import open311

    darab, second = two_cities
    tag = Template("{% load persian %}{% municipality_name %}")

    def shown():
        with translation.override("en"):
            english = tag.render(Context())
        with translation.override("fa"):
            persian = tag.render(Context())
        client.cookies["django_language"] = "en"
        title = client.get("/").content.decode().split("<title>")[1].split("</title>")[0]
        return english, persian, title, open311.jurisdiction(), billid.company_code()

    assert shown() == ("Darab Municipality", "شهرداری داراب", "Darab Municipality", "darab-municipality", "123")
    with municipality.activate(second):
        assert shown() == ("Estahban Municipality", "شهرداری استهبان", "Estahban Municipality",
                           "estahban-municipality", "456")
    assert shown()[0] == "Darab Municipality" and shown()[4] == "123"


# --- migrate in another municipality's CRS ---------------------------------------------------------------------

@pytest.fixture
def second_database(django_db_blocker, tmp_path, settings):
    """An empty database for the second city (the connection "estahban"), dropped after the test."""
    base = connections["default"].settings_dict
    name = f"{base['NAME']}_estahban"
    with django_db_blocker.unblock():
        with connection._nodb_cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
            cursor.execute(f'CREATE DATABASE "{name}"')
        connections.settings["estahban"] = {**base, "NAME": name}
        try:
            yield name
        finally:
            connections["estahban"].close()
            del connections["estahban"]
            del connections.settings["estahban"]
            with connection._nodb_cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')


@pytest.mark.django_db
def test_migrate_under_the_second_city_creates_its_columns_in_its_crs(two_cities, second_database):
    """`migrate` of the second city's database, run with the second city current: every geometry column the models
    declare, and the road-widening view written in raw SQL, are in EPSG:32639; the tiles' 3857 copy stays 3857."""
    darab, second = two_cities
    with municipality.activate(second):
        call_command("migrate", database="estahban", verbosity=0)
    with connections["estahban"].cursor() as cursor:
        cursor.execute("SELECT f_table_name, f_geometry_column, srid FROM geometry_columns"
                       " WHERE f_table_schema = current_schema()")
        columns = {(table, column): srid for table, column, srid in cursor.fetchall()}
    assert columns[("parcels_parcel", "geom")] == 32639 and columns[("layers_road_widening", "geom")] == 32639
    assert columns[("zoning_parceloverlay", "widening_geom")] == 32639
    assert columns.pop(("parcels_landuse_overview", "geom")) == 3857
    assert set(columns.values()) - {0} == {32639}  # 0: a view's column of no declared CRS (as gis_portal.checks)
    assert len(columns) >= len(municipal_fields())
    with connection.cursor() as cursor:  # the default city's database is untouched
        cursor.execute("SELECT srid FROM geometry_columns WHERE f_table_name = 'parcels_parcel'")
        assert cursor.fetchone()[0] == settings.MUNICIPALITY_SRID == 32640


def test_the_system_check_refuses_a_geometry_field_with_a_fixed_srid():
    from django.contrib.gis.db import models
    from django.test.utils import isolate_apps

    from gis_portal import checks

    with isolate_apps("tests"):
        class Fixed(models.Model):
            geom = models.MultiPolygonField(srid=32640)
            place = MunicipalMultiPolygonField()

            class Meta:
                app_label = "tests"

    found = checks.fixed_srid_fields([Fixed])
    assert [(m.id, m.msg.split(" is ")[0]) for m in found] == [("gis_portal.E020", "tests.Fixed.geom")]
    assert checks.geometry_fields_follow_srid(None) == []
