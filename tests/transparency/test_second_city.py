"""The demo decisions and projects on a second municipality in another CRS (the generated town in EPSG:32639, the
second run of ./run test): their places, given relative to the loaded city's extent, land inside that town and are
stored in its CRS; the GeoJSON gives them back in longitude/latitude around the town."""

import json

import pytest
from django.conf import settings
from django.db import connection
from django.urls import reverse

from tests.conftest import SECOND_CITY_SRID
from tests.test_second_city import CENTRE, second_city  # noqa: F401  (fixture)
from transparency import loader
from transparency.models import Decision, Project

pytestmark = [pytest.mark.other_city(srid=SECOND_CITY_SRID), pytest.mark.django_db]


def test_the_demo_lands_inside_the_second_city_in_its_crs(second_city, client):  # noqa: F811
    assert settings.MUNICIPALITY_SRID == SECOND_CITY_SRID
    loader.load(loader.read(loader.DEMO_FILE))
    assert Project.objects.count() == 6 and Decision.objects.count() == 8
    with connection.cursor() as c:
        c.execute("SELECT DISTINCT ST_SRID(geom) FROM transparency_project UNION "
                  "SELECT DISTINCT ST_SRID(geom) FROM transparency_decision WHERE geom IS NOT NULL")
        assert [row[0] for row in c.fetchall()] == [SECOND_CITY_SRID]
        c.execute("SELECT bool_and(ST_Within(p.geom, e.box)) FROM transparency_project p, "
                  "(SELECT ST_SetSRID(ST_Extent(geom)::geometry, %s) AS box FROM parcels_parcel) e",
                  [SECOND_CITY_SRID])
        assert c.fetchone()[0] is True
    collection = json.loads(client.get(reverse("transparency:projects_geojson")).content)
    for feature in collection["features"]:
        coords = feature["geometry"]["coordinates"]
        while isinstance(coords[0], list):
            coords = coords[0]
        lon, lat = coords[:2]
        assert abs(lon - CENTRE[0]) < 0.1 and abs(lat - CENTRE[1]) < 0.1, (feature["properties"]["code"], lon, lat)
