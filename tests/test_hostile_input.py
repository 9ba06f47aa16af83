"""What a hostile client (or a far-away one) sends is a 4xx or an empty answer, never a 500 (issue 16):

- a place far from the city (any WGS84 point, box or tile outside the projection's domain) is clipped to the
  city's extent before any transform (common.geo): tiles of every public layer, the parcel at a point, the OGC
  bbox, the layer GeoJSON and the export bbox;
- text PostgreSQL cannot store (NUL, %00) in any query parameter, form field, path segment or basic-auth user name
  is a 400 at the edge (common.edge), for every endpoint the attack hit;
- JSON bodies are parsed safely (common.params.json_value: depth, number size, NaN) and geometry a request sends is
  checked before GEOS sees it (common.geo.geojson_geometry), with a message naming the field;
- a layer named twice in an export is exported once;
- a bbox selects the features whose geometry intersects it, not those whose bounding box does (OGC, GeoJSON,
  export), and numberMatched counts the same.
"""

import base64
import json

import pyogrio
import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from shapely.geometry import box as shapely_box, shape

from common import geo, params
from common.errors import BadParameter
from layers import tiles
from layers.registry import LAYERS

from .test_tile_app import wsgi_get

pytestmark = pytest.mark.django_db

FAR = (155.0, 0.0)  # the Pacific: 98° from UTM zone 40's meridian (and far from any other city's CRS)
FAR_BOX = "154.9,-0.1,155.1,0.1"
PUBLIC = [name for name, layer in LAYERS.items() if layer.is_public]


@pytest.fixture
def en():
    client = Client(raise_request_exception=False)  # a 500 is an answer to assert on, not an exception
    client.cookies["django_language"] = "en"
    return client


def error(response, status: int) -> str:
    assert response.status_code == status, (response.status_code, response.content[:300])
    return response.json()["message"] if response["Content-Type"] == "application/json" else \
        response.content.decode()


def one(sql, args=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, args)
        return cursor.fetchone()[0]


# --- 1. far away ----------------------------------------------------------------------------------------------

def test_the_city_extent_holds_the_city_and_every_point_of_it_transforms(demo_city, en):
    west, south, east, north = geo.city_extent()
    city = en.get("/api/city").json()["bbox"]
    assert west <= city[0] and south <= city[1] and city[2] <= east and city[3] <= north
    assert not geo.in_city(*FAR)
    # its corners transform in PostGIS (the box is inside the projection's domain)
    for lon, lat in ((west, south), (west, north), (east, south), (east, north)):
        assert one("SELECT ST_X(ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), 4326), %s))",
                   [lon, lat, settings.MUNICIPALITY_SRID])
    assert geo.clip_box((150.0, -10.0, 160.0, 10.0)) is None
    assert geo.clip_box((-180.0, -90.0, 180.0, 90.0)) == (west, south, east, north)


@pytest.mark.parametrize("name", PUBLIC)
def test_a_far_away_tile_of_every_public_layer_is_empty(demo_city, en, name):
    layer = LAYERS[name]
    z = max(layer.tile_min_zoom, 14)
    x, y = tiles.lonlat_to_tile(*FAR, z)
    path = f"/tiles/{name}/{z}/{x}/{y}.pbf"
    response = en.get(path)  # the Django view
    assert response.status_code in (200, 204) and response.content == b"", (response.status_code, response.content)
    from layers.tile_app import TileShortcut

    status, _headers, body = wsgi_get(TileShortcut(lambda e, s: [b"django"]), path)  # the shortcut before Django
    assert status in (200, 204) and body == b""


@pytest.mark.parametrize("name", PUBLIC)
def test_a_tile_reaching_past_the_projection_still_draws_the_city(demo_city, en, name):
    """At zoom 3 the city's tile spans 45° of longitude, beyond what UTM can transform: clipped, not refused."""
    layer = LAYERS[name]
    centre = en.get("/api/city").json()["bbox"]
    lon, lat = (centre[0] + centre[2]) / 2, (centre[1] + centre[3]) / 2
    z = max(layer.tile_min_zoom, 3)
    x, y = tiles.lonlat_to_tile(lon, lat, z)
    response = en.get(f"/tiles/{name}/{z}/{x}/{y}.pbf")
    assert response.status_code in (200, 204), response.content[:300]


def test_the_parcel_at_a_far_away_point_is_outside_the_city(demo_city, en):
    response = en.get(f"/api/parcels/at?lon={FAR[0]}&lat={FAR[1]}")
    assert response.status_code == 404 and response.json()["error"] == "outside_city"


def test_a_far_away_ogc_bbox_finds_nothing(demo_city, en):
    body = en.get(f"/ogc/collections/parcels/items?bbox={FAR_BOX}").json()
    assert body["numberReturned"] == 0 and body["numberMatched"] == 0 and body["features"] == []
    mercator = "http://www.opengis.net/def/crs/EPSG/0/3857"
    body = en.get(f"/ogc/collections/parcels/items?bbox=1.7e7,-1e4,1.8e7,1e4&bbox-crs={mercator}").json()
    assert body["numberMatched"] == 0
    assert "four numbers" in error(en.get("/ogc/collections/parcels/items?bbox=-inf,0,1,1"), 400)


def test_a_whole_world_bbox_finds_every_feature(demo_city, en):
    """Transformed unclipped, the world's box became a line in UTM (every corner at x=500000) and found nothing."""
    parcels = one("SELECT count(*) FROM parcels_parcel")
    body = en.get("/ogc/collections/parcels/items?bbox=-180,-90,180,90&limit=1").json()
    assert body["numberMatched"] == parcels
    mercator = "http://www.opengis.net/def/crs/EPSG/0/3857"
    body = en.get(f"/ogc/collections/parcels/items?bbox=-1e300,-1e300,1e300,1e300&bbox-crs={mercator}"
                  "&limit=1").json()
    assert body["numberMatched"] == parcels
    districts = en.get("/api/layers/districts.geojson?bbox=-180,-90,180,90").json()
    assert len(districts["features"]) == one("SELECT count(*) FROM parcels_district")


def test_a_far_away_geojson_and_export_bbox_find_nothing(demo_city, en):
    assert en.get(f"/api/layers/parcels.geojson?bbox={FAR_BOX}").json()["features"] == []
    response = en.get(f"/api/layers/export?layers=parcels&format=geojson&bbox={FAR_BOX}")
    assert response.status_code == 200
    assert json.loads(b"".join(response.streaming_content))["features"] == []


# --- 2. NUL bytes -----------------------------------------------------------------------------------------------

NUL_GETS = [
    "/ogc/collections/parcels/items?land_use=a%00b",           # OGC property filter
    "/ogc/collections/parcels/items?land%00use=a",              # ... and a parameter's name
    "/api/zoning/parcels?zone=%00",                              # zoning query filters
    "/api/zoning/parcels?land_use=R%00",
    "/api/layers/export?layers=parcels&land_use=%00",            # export filters
    "/api/layers/export?layers=parcels%00",
    "/api/search?q=a%00b",                                       # search
    "/dues/callback/sandbox/?token=%00",                         # the payment callback's token
    "/dues/sandbox/ab%00cd/",                                    # the sandbox's token: a path segment
    "/api/parcels/code/12%00",
]


@pytest.mark.parametrize("url", NUL_GETS)
def test_a_nul_byte_anywhere_in_a_get_is_a_400(demo_city, en, url):
    assert "NUL" in error(en.get(url), 400)


def test_a_nul_byte_in_form_fields_and_basic_auth_is_a_400(demo_city, en):
    assert "NUL" in error(en.post("/dues/sandbox/abc/", {"action": "pay\x00"}), 400)
    assert "NUL" in error(en.post("/api/layers/export/jobs", {"layers": "parcels", "land_use": "\x00"}), 400)
    credentials = base64.b64encode("staff\x00:secret".encode()).decode()
    assert "NUL" in error(en.get("/ogc/collections/parcel_owners/items",
                                 HTTP_AUTHORIZATION=f"Basic {credentials}"), 400)
    assert "NUL" in error(en.get("/tiles/parcel_owners/15/1/1.pbf", HTTP_AUTHORIZATION=f"Basic {credentials}"), 400)


def test_a_nul_byte_in_json_is_a_400_naming_the_field(demo_city, en, english):
    response = en.post("/api/layers/export/jobs", {"layers": "parcels", "land_use": "R\x00"},
                       content_type="application/json")
    assert "land_use must not contain a NUL byte" in error(response, 400)
    with pytest.raises(BadParameter, match="lone surrogates"):
        params.json_value('{"name": "\\ud800"}')


# --- 3. bodies and geometry -------------------------------------------------------------------------------------

@pytest.fixture
def parcel_id(demo_city):
    return one("SELECT p.id FROM parcels_parcel p JOIN zoning_parceloverlay o ON o.parcel_id = p.id "
               "WHERE o.zone_code <> '' ORDER BY p.id LIMIT 1")


def post(client, url, body):
    return client.post(url, body if isinstance(body, str) else json.dumps(body), content_type="application/json")


def test_eligibility_bodies_that_crashed_are_400s_naming_the_field(en, parcel_id):
    url = f"/api/parcels/{parcel_id}/eligibility"
    huge = '{"land_use": "R", "floors": ' + "9" * 400 + ', "gross_floor_area": 100, "footprint_area": 50}'
    assert "floors must be a finite number" in error(post(en, url, huge), 400)
    assert "nested more than" in error(post(en, url, '{"a": ' + "[" * 50_000 + "]" * 50_000 + "}"), 400)
    assert "NaN" in error(post(en, url, '{"land_use": "R", "floors": NaN}'), 400)
    nan_ring = '{"land_use": "R", "floors": 2, "gross_floor_area": 100, "footprint": {"type": "Polygon", ' \
               '"coordinates": [[[NaN, 0], [1, 0], [1, 1], [NaN, 0]]]}}'
    assert "footprint.coordinates[0][0][0]" in error(post(en, url, nan_ring), 400)
    # NaN reaching shapely another way (a GET's text): the geometry check names the field
    footprint = json.dumps({"type": "Polygon", "coordinates": [[[54.55, 28.75], [54.56, 28.75], [54.55, 28.75]]]})
    response = en.get(url, {"land_use": "R", "floors": "2", "gross_floor_area": "100", "footprint": footprint})
    message = error(response, 400)
    assert "ring needs at least 4 points" in message and response.json()["fields"].keys() == {"footprint"}
    far = {"land_use": "R", "floors": 2, "gross_floor_area": 100,
           "footprint": {"type": "Polygon", "coordinates": [[[155, 0], [155.1, 0], [155.1, 0.1], [155, 0]]]}}
    assert "far outside the city" in error(post(en, url, far), 400)


def test_subdivision_lines_that_crashed_are_400s_naming_the_field(en, parcel_id):
    url = f"/api/parcels/{parcel_id}/subdivision"
    one_point = {"lines": {"type": "LineString", "coordinates": [[54.55, 28.75]]}}
    assert "lines is not a GeoJSON geometry in WGS84: a line needs at least 2 points" in \
        error(post(en, url, one_point), 400)
    nan = '{"lines": {"type": "LineString", "coordinates": [[54.55, 28.75], [NaN, 28.76]]}}'
    assert "lines.coordinates[1][0]" in error(post(en, url, nan), 400)
    assert "a Polygon is not accepted" in error(post(en, url, {"lines": {"type": "Polygon", "coordinates": []}}), 400)
    assert "lines" in error(en.get(url, {"lines": '{"type": "LineString", "coordinates": [[1e400, 0], [0, 0]]}'}), 400)


def test_the_engine_takes_a_huge_integer_as_a_bad_value():
    """Callers that hand the pure engine parsed values directly: float(10**400) raised OverflowError."""
    from zoning import eligibility as engine

    with pytest.raises(engine.ProposalError) as raised:
        engine.parse_proposal({"land_use": "x", "floors": 10**400, "gross_floor_area": 100, "footprint_area": 50},
                              {"x"})
    assert set(raised.value.errors) == {"floors"}


def test_json_value_bounds(english):
    assert params.json_value('{"a": [1, 2.5, "x"]}') == {"a": [1, 2.5, "x"]}
    assert params.json_value("[" * 32 + "]" * 32) is not None  # 32 deep is fine
    with pytest.raises(BadParameter, match="nested more than"):
        params.json_value("[" * 33 + "]" * 33)
    assert params.json_value(json.dumps(["[{" * 40])) == ["[{" * 40]  # brackets inside strings do not count
    for bad in ("1e400", "-Infinity", "1" * 65):
        with pytest.raises(BadParameter, match="finite number"):
            params.json_value(f'{{"n": {bad}}}')


# --- 4. a layer named twice -------------------------------------------------------------------------------------

def test_a_layer_named_twice_is_exported_once(demo_city, en, tmp_path):
    response = en.get("/api/layers/export?layers=parcels,parcels&format=gpkg")
    assert response.status_code == 200, response.content[:300] if not response.streaming else response
    out = tmp_path / "x.gpkg"
    out.write_bytes(b"".join(response.streaming_content))
    names = [row[0] for row in pyogrio.list_layers(out)]
    assert names.count("parcels") == 1
    assert pyogrio.read_info(out, layer="parcels")["features"] == one("SELECT count(*) FROM parcels_parcel")


# --- 5. bbox: the geometry intersects, not only its bounding box -----------------------------------------------

@pytest.fixture
def l_parcel(demo_city):
    """An L-shaped parcel 2 km east of the demo city (100 m arms, 30 m wide), and two WGS84 boxes: `miss`, inside
    the L's bounding box but 30 m from its shape, and `touch`, on its arm."""
    from django.contrib.gis.geos import MultiPolygon, Polygon

    from layers.geojson import city_extent
    from parcels.models import Parcel

    city = city_extent()["bbox"]
    srid = settings.MUNICIPALITY_SRID
    with connection.cursor() as cursor:
        cursor.execute("SELECT ST_X(p), ST_Y(p) FROM ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), 4326), %s) p",
                       [city[2] + 0.02, (city[1] + city[3]) / 2, srid])
        x, y = cursor.fetchone()
    ring = [(0, 0), (100, 0), (100, 30), (30, 30), (30, 100), (0, 100), (0, 0)]
    parcel = Parcel.objects.create(geom=MultiPolygon(Polygon([(x + a, y + b) for a, b in ring]), srid=srid))

    def lonlat(x0, y0, x1, y1):
        with connection.cursor() as cursor:
            cursor.execute("SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) FROM "
                           "ST_Transform(ST_MakeEnvelope(%s, %s, %s, %s, %s), 4326) b",
                           [x + x0, y + y0, x + x1, y + y1, srid])
            return ",".join(f"{v:.7f}" for v in cursor.fetchone())

    return parcel.pk, lonlat(60, 60, 90, 90), lonlat(10, 60, 20, 70)


def test_ogc_bbox_selects_features_whose_geometry_intersects_it(en, l_parcel):
    pk, miss, touch = l_parcel
    body = en.get(f"/ogc/collections/parcels/items?bbox={miss}").json()
    assert [f["id"] for f in body["features"]] == [] and body["numberMatched"] == 0  # && alone matched the L
    body = en.get(f"/ogc/collections/parcels/items?bbox={touch}").json()
    assert [f["id"] for f in body["features"]] == [pk] and body["numberMatched"] == 1
    mercator = "http://www.opengis.net/def/crs/EPSG/0/3857"  # the same box in another CRS: the same answer
    with connection.cursor() as cursor:
        cursor.execute("SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) FROM "
                       "ST_Transform(ST_MakeEnvelope(%s, %s, %s, %s, 4326), 3857) b", [float(v) for v in miss.split(",")])
        box = ",".join(map(str, cursor.fetchone()))
    assert en.get(f"/ogc/collections/parcels/items?bbox={box}&bbox-crs={mercator}").json()["numberMatched"] == 0


def test_geojson_and_export_bbox_select_features_whose_geometry_intersects_it(en, l_parcel):
    from layers.exports import ExportRequest, check_request, layer_sql

    pk, miss, touch = l_parcel
    assert en.get(f"/api/layers/parcels.geojson?bbox={miss}").json()["features"] == []
    assert [f["properties"]["id"] for f in en.get(f"/api/layers/parcels.geojson?bbox={touch}").json()["features"]] \
        == [pk]
    for box, expected in ((miss, []), (touch, [pk])):  # the statement ogr2ogr runs, run here (it sees the L)
        req = check_request(ExportRequest([LAYERS["parcels"]], "gpkg", bbox=box))
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT id FROM ({layer_sql(LAYERS['parcels'], req)}) s")
            assert [row[0] for row in cursor.fetchall()] == expected


def test_a_bbox_near_the_centre_matches_exactly_what_intersects_it(demo_city, en):
    """Every feature of an OGC page touches the box (checked in WGS84 by shapely), and numberMatched counts them."""
    city = en.get("/api/city").json()["bbox"]
    lon, lat = (city[0] + city[2]) / 2, (city[1] + city[3]) / 2
    box = (lon - 0.0012, lat - 0.0009, lon + 0.0012, lat + 0.0009)
    body = en.get(f"/ogc/collections/parcels/items?bbox={','.join(map(str, box))}&limit=1000").json()
    area = shapely_box(*box)
    assert body["features"] and all(shape(f["geometry"]).distance(area) < 1e-7 for f in body["features"])
    with connection.cursor() as cursor:  # another formulation: each geometry transformed, tested in WGS84
        cursor.execute("SELECT count(*) FROM parcels_parcel "
                       "WHERE ST_Intersects(ST_Transform(geom, 4326), ST_MakeEnvelope(%s, %s, %s, %s, 4326))", box)
        assert body["numberMatched"] == body["numberReturned"] == cursor.fetchone()[0]
