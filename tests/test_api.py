"""The map's JSON endpoints: bounded responses, clear JSON errors."""

import json

import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon

from layers.registry import LAYERS
from parcels.models import Parcel

pytestmark = pytest.mark.django_db

X0, Y0 = 740_000, 3_140_000
BBOX = "59.0,27.0,61.0,30.0"  # around (X0, Y0) in lon/lat


@pytest.fixture
def grid(db):
    Parcel.objects.bulk_create(
        Parcel(renewal_code=f"5-5-501-{i + 1:03d}-0-0-0",
               geom=MultiPolygon(Polygon.from_bbox((X0 + i * 12, Y0, X0 + i * 12 + 10, Y0 + 10)), srid=32640))
        for i in range(30)
    )


def test_parcels_in_bbox(client, grid):
    response = client.get("/api/layers/parcels.geojson", {"bbox": BBOX})
    assert response.status_code == 200 and response["Content-Type"] == "application/geo+json"
    data = json.loads(response.content)
    assert len(data["features"]) == 30 and response["X-Features-Truncated"] == "false"
    feature = data["features"][0]
    assert set(feature["properties"]) == {"id", "renewal_code", "source_id", "land_use", "measured_area",
                                          "is_corner", "widest_street_width"}
    lon, lat = feature["geometry"]["coordinates"][0][0][0]
    assert 59 < lon < 61 and 27 < lat < 30  # served in WGS84


def test_limit_caps_and_says_so(client, grid):
    response = client.get("/api/layers/parcels.geojson", {"bbox": BBOX, "limit": "7"})
    assert len(json.loads(response.content)["features"]) == 7 and response["X-Features-Truncated"] == "true"


@pytest.mark.parametrize("params, message", [
    ({}, "bbox is required"),
    ({"bbox": "1,2,3"}, "four numbers"),
    ({"bbox": "a,b,c,d"}, "four numbers"),
    ({"bbox": "10,10,5,5"}, "not a valid"),
    ({"bbox": "0,0,200,10"}, "not a valid"),
    ({"bbox": BBOX, "limit": "0"}, "between 1 and"),
    ({"bbox": BBOX, "limit": str(LAYERS["parcels"].max_features + 1)}, "between 1 and"),
    ({"bbox": BBOX, "limit": "ten"}, "whole number"),
])
def test_bad_parameters(client, params, message):
    client.cookies["django_language"] = "en"  # the English wording (Persian by default)
    response = client.get("/api/layers/parcels.geojson", params)
    assert response.status_code == 400
    assert message in response.json()["message"]


def test_unknown_layer(client):
    client.cookies["django_language"] = "en"
    response = client.get("/api/layers/owners.geojson", {"bbox": BBOX})
    assert response.status_code == 404 and "Unknown layer" in response.json()["message"]


def test_city_extent(client, grid):
    from django.contrib.gis.geos import Point

    xmin, ymin, xmax, ymax = client.get("/api/city").json()["bbox"]
    for x, y in [(X0, Y0), (X0 + 358, Y0 + 10)]:  # the grid's corners are inside the extent
        p = Point(x, y, srid=32640).transform(4326, clone=True)
        assert xmin - 1e-6 <= p.x <= xmax + 1e-6 and ymin - 1e-6 <= p.y <= ymax + 1e-6


def test_map_page(client):
    page = client.get("/").content.decode()
    assert 'dir="rtl"' in page and "vendor/leaflet/leaflet.js" in page


def test_persian_first_whatever_the_browser_says(client):
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert 'dir="rtl"' in page.content.decode() and page["Content-Language"] == "fa"
    client.cookies["django_language"] = "en"
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="fa")
    assert 'dir="ltr"' in page.content.decode() and page["Content-Language"] == "en"
