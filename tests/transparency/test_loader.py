"""Council decisions and municipal projects as data (transparency/models.py, transparency/loader.py, manage.py
load_transparency): the demo file on the small demo city, a decision without a date refused everywhere (file, model
constraint, admin), bad rows named and nothing written, and a rerun that changes nothing."""

import datetime as dt
import textwrap

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, transaction

from tests.conftest import make_user
from transparency import loader
from transparency.models import Decision, Project

pytestmark = pytest.mark.django_db


def write(tmp_path, text: str):
    path = tmp_path / "t.toml"
    path.write_text(textwrap.dedent(text))
    return path


def test_the_demo_file_loads_inside_the_city_and_a_rerun_changes_nothing(demo, english):
    assert Project.objects.count() == 6 and Decision.objects.count() == 8
    assert not Project.objects.filter(demo=False).exists() and not Decision.objects.filter(demo=False).exists()
    with connection.cursor() as c:  # every place lies within the loaded parcels' extent, in the city's CRS
        c.execute("SELECT count(*), count(*) FILTER (WHERE ST_Within(t.geom, e.box) AND ST_SRID(t.geom) = %s) "
                  "FROM (SELECT geom FROM transparency_project UNION ALL SELECT geom FROM transparency_decision "
                  "WHERE geom IS NOT NULL) t, "
                  "(SELECT ST_SetSRID(ST_Extent(geom)::geometry, %s) AS box FROM parcels_parcel) e",
                  [settings.MUNICIPALITY_SRID, settings.MUNICIPALITY_SRID])
        total, inside = c.fetchone()
    assert total == 11 and inside == total
    assert {p.geom.geom_type for p in Project.objects.all()} == {"Polygon", "LineString", "Point", "MultiLineString"}
    fire = Decision.objects.get(number="45")
    assert fire.year == 1402 and fire.decided_on == dt.date(2023, 11, 11)   # 1402/08/20
    assert [p.code for p in fire.projects.all()] == ["fire-station-3"]
    history = Project.history.count() + Decision.history.count()
    again = loader.load(loader.read(loader.DEMO_FILE))
    assert again == {"projects": 6, "decisions": 8, "created": 0, "told": 0}
    assert Project.objects.count() == 6 and Decision.objects.count() == 8
    assert Project.history.count() + Decision.history.count() == history   # nothing saved again


def test_a_decision_without_a_date_is_refused_by_the_file_naming_the_row(tmp_path, demo_city, english):
    path = write(tmp_path, """
        [[decision]]
        number = "7"
        title = "Dated"
        text = "x"
        date = "1403/01/20"

        [[decision]]
        number = "8"
        title = "Undated"
        text = "x"
    """)
    with pytest.raises(loader.TransparencyFileError) as refused:
        loader.read(path)
    assert refused.value.problems == ["decision #2 (8): A council decision needs its date (the date of the session "
                                      "that decided it)."]
    with pytest.raises(CommandError, match=r"decision #2 \(8\): A council decision needs its date"):
        call_command("load_transparency", str(path), "--commit")
    assert not Decision.objects.exists()


def test_the_database_refuses_a_decision_without_a_date(db):
    with pytest.raises(IntegrityError), transaction.atomic():
        with connection.cursor() as c:
            c.execute("INSERT INTO transparency_decision (number, year, session, title, title_en, text, status, demo, "
                      "created_at, updated_at) VALUES ('1', 1403, '', 't', '', 'x', 'approved', false, now(), now())")
    # and the model's own check says it in words
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        Decision(number="1", title="t", text="x").full_clean()
    assert "decided_on" in refused.value.message_dict


def test_the_admin_refuses_a_decision_without_a_date(client, english):
    admin = make_user("tp-admin", "admin", is_staff=True)
    client.force_login(admin)
    client.cookies["django_language"] = "en"
    form = {"number": "3", "title": "No date", "text": "x", "status": "approved", "session": "",
            "title_en": "", "budget": "", "geom": "", "decided_on": ""}
    for prefix in ("attachments", "updates"):
        form.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0", f"{prefix}-MIN_NUM_FORMS": "0",
                     f"{prefix}-MAX_NUM_FORMS": "1000"})
    response = client.post("/admin/transparency/decision/add/", form)
    assert response.status_code == 200   # the form again, with the error
    assert "A council decision needs its date" in response.content.decode()
    assert not Decision.objects.exists()
    form["decided_on"] = "2024-04-16"
    response = client.post("/admin/transparency/decision/add/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Decision.objects.get().year == 1403


def test_bad_rows_are_all_named_and_nothing_is_written(tmp_path, demo_city, english):
    path = write(tmp_path, """
        place_crs = "extent"

        [[project]]
        code = "good"
        title = "A good project"
        place = "POINT(0.5 0.5)"

        [[project]]
        code = "bad-progress"
        title = "Too far"
        progress = 140

        [[project]]
        code = "outside"
        title = "Off the map"
        place = "POINT(1.5 0.5)"

        [[decision]]
        number = "9"
        date = "1403/13/01"
        title = "Bad date"
        text = "x"

        [[decision]]
        number = "10"
        date = "1403/02/01"
        title = "Unknown status"
        text = "x"
        status = "passed"

        [[decision]]
        number = "11"
        date = "1403/02/01"
        title = "Unknown project"
        text = "x"
        projects = ["nowhere"]
    """)
    with pytest.raises(loader.TransparencyFileError) as refused:
        loader.read(path)
    problems = refused.value.problems
    assert [p.split(":")[0] for p in problems] == ["project #2 (bad-progress)", "project #3 (outside)",
                                                   "decision #1 (9)", "decision #2 (10)", "decision #3 (11)"], problems
    assert "progress is a whole percentage from 0 to 100" in problems[0]
    assert "coordinates from 0 to 1" in problems[1]
    assert "not a valid Jalali date" in problems[2]
    assert "status passed is not one of" in problems[3] and "unknown projects nowhere" in problems[4]
    assert not Project.objects.exists() and not Decision.objects.exists()


def test_a_row_the_database_refuses_undoes_the_whole_file(demo_city, english):
    loaded = loader.Loaded(projects=[
        {"_label": "project #1 (one)", "code": "one", "title": "One", "title_en": "", "description": "",
         "status": "planned", "budget": None, "spent": None, "starts_on": None, "ends_on": None, "department": "",
         "progress": 10, "geom": None},
        {"_label": "project #2 (two)", "code": "two", "title": "Two", "title_en": "", "description": "",
         "status": "planned", "budget": None, "spent": None, "starts_on": dt.date(2024, 5, 1),
         "ends_on": dt.date(2024, 1, 1), "department": "", "progress": 10, "geom": None}])
    with pytest.raises(loader.TransparencyFileError) as refused:
        loader.load(loaded)
    assert refused.value.problems[0].startswith("project #2 (two): ")
    assert not Project.objects.exists()   # project one was written, then undone with the rest


def test_a_decision_number_is_unique_within_its_jalali_year(tmp_path, demo_city, english):
    path = write(tmp_path, """
        [[decision]]
        number = "5"
        date = "1403/12/29"
        title = "Last day of 1403"
        text = "x"

        [[decision]]
        number = "5"
        date = "1404/01/01"
        title = "First day of 1404"
        text = "x"
    """)
    loader.load(loader.read(path))
    assert sorted(Decision.objects.values_list("year", "number")) == [(1403, "5"), (1404, "5")]
    path.write_text(path.read_text().replace("1404/01/01", "1403/01/05"))
    with pytest.raises(loader.TransparencyFileError, match="number 5 is given twice for the year 1403"):
        loader.read(path)


def test_places_in_longitude_latitude_are_reprojected_and_checked(tmp_path, demo_city, english):
    from layers.geojson import city_extent

    west, south, east, north = city_extent()["bbox"]
    lon, lat = (west + east) / 2, (south + north) / 2
    path = write(tmp_path, f"""
        [[project]]
        code = "lonlat"
        title = "Given in WGS84"
        place = "POINT({lon} {lat})"

        [[project]]
        code = "far"
        title = "On the other side of the Earth"
        place = "POINT({lon - 150} {lat})"
    """)
    with pytest.raises(loader.TransparencyFileError, match=r"project #2 \(far\): the place .* outside the city"):
        loader.read(path)
    path.write_text(path.read_text().split("[[project]]")[0] + "[[project]]" + path.read_text().split("[[project]]")[1])
    loader.load(loader.read(path))
    geom = Project.objects.get(code="lonlat").geom
    assert geom.srid == settings.MUNICIPALITY_SRID
    back = geom.transform(4326, clone=True)
    assert abs(back.x - lon) < 1e-6 and abs(back.y - lat) < 1e-6
