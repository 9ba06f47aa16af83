"""OGC API - Features: the documents, paging, filters, CRS, protection; and GDAL's OAPIF driver against the served
portal (listing collections and paging through every parcel)."""

import base64
import re
import subprocess

import pyogrio
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from layers.registry import LAYERS

pytestmark = pytest.mark.django_db


def count(sql, params=()):
    with connection.cursor() as c:
        c.execute(sql, params)
        return c.fetchone()[0]


def test_landing_conformance_collections(client, demo_city):
    landing = client.get("/ogc/").json()
    rels = {link["rel"] for link in landing["links"]}
    assert {"self", "conformance", "data", "service-desc"} <= rels
    conf = client.get("/ogc/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conf
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in conf
    cols = {c["id"]: c for c in client.get("/ogc/collections").json()["collections"]}
    public = {name for name, layer in LAYERS.items() if layer.is_public}
    assert set(cols) == public  # the owners' layer is not even listed to anonymous users
    parcels = cols["parcels"]
    assert parcels["storageCrs"].endswith("/32640") or parcels["storageCrs"].endswith("/26986")
    minx, miny, maxx, maxy = parcels["extent"]["spatial"]["bbox"][0]
    assert minx < maxx and miny < maxy
    html = client.get("/ogc/collections?f=html")
    assert html.status_code == 200 and "text/html" in html["Content-Type"] and "قطعات" in html.content.decode()


def test_items_paging_and_count(client, demo_city):
    total = count("SELECT count(*) FROM parcels_parcel")
    seen, url, pages = [], "/ogc/collections/parcels/items?limit=500", 0
    while url:
        page = client.get(url).json()
        assert page["numberMatched"] == total
        assert page["numberReturned"] == len(page["features"])
        seen += [f["id"] for f in page["features"]]
        nxt = [link["href"] for link in page["links"] if link["rel"] == "next"]
        url = nxt[0].replace("http://testserver", "") if nxt else None
        pages += 1
    assert len(seen) == len(set(seen)) == total and pages == -(-total // 500)
    assert seen == sorted(seen)
    # offset paging (what QGIS does) gives the same features
    third = client.get("/ogc/collections/parcels/items?limit=500&offset=1000").json()
    assert [f["id"] for f in third["features"]] == seen[1000:1500]
    assert "prev" in {link["rel"] for link in third["links"]}


def test_bbox_filter_crs_and_single_item(client, demo_city, settings):
    lon0, lat0, lon1, lat1 = client.get("/api/city").json()["bbox"]
    cx, cy = (lon0 + lon1) / 2, (lat0 + lat1) / 2
    box = (cx - 0.002, cy - 0.002, cx + 0.002, cy + 0.002)
    page = client.get(f"/ogc/collections/parcels/items?bbox={','.join(map(str, box))}&limit=1000").json()
    # OGC API – Features: the features whose geometry intersects the box, not only their bounding box (tested here
    # another way: each geometry in WGS84; tests/test_hostile_input.py has the L-shaped parcel the two tell apart)
    expected = count("SELECT count(*) FROM parcels_parcel WHERE ST_Intersects(ST_Transform(geom, 4326), "
                     "ST_MakeEnvelope(%s,%s,%s,%s, 4326))", box)
    assert page["numberReturned"] == page["numberMatched"] == expected > 0
    # the same box given as EPSG:4326 (latitude first) finds the same features
    lat_first = f"{box[1]},{box[0]},{box[3]},{box[2]}"
    same = client.get(f"/ogc/collections/parcels/items?bbox={lat_first}&limit=1000"
                      "&bbox-crs=http://www.opengis.net/def/crs/EPSG/0/4326").json()
    assert sorted(f["id"] for f in same["features"]) == sorted(f["id"] for f in page["features"])
    # property filter
    res = client.get("/ogc/collections/parcels/items?land_use=residential&is_corner=true&limit=5000").json()
    assert res["numberMatched"] == count("SELECT count(*) FROM parcels_parcel WHERE land_use_id = 'residential'"
                                         " AND is_corner")
    assert all(f["properties"]["land_use"] == "residential" for f in res["features"])
    # single item in the storage CRS
    fid = page["features"][0]["id"]
    srs = f"http://www.opengis.net/def/crs/EPSG/0/{settings.MUNICIPALITY_SRID}"
    one = client.get(f"/ogc/collections/parcels/items/{fid}?crs={srs}")
    assert one["Content-Crs"] == f"<{srs}>"
    x, y = one.json()["geometry"]["coordinates"][0][0][0]
    px, py = count_point(fid)
    assert abs(x - px) < 500 and abs(y - py) < 500  # metres in the municipality's CRS
    assert client.get("/ogc/collections/parcels/items/999999999").status_code == 404


def count_point(fid):
    with connection.cursor() as c:
        c.execute("SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM parcels_parcel WHERE id=%s",
                  [fid])
        return c.fetchone()


@pytest.mark.parametrize("query, status", [
    ("bbox=1,2,3", 400), ("bbox=0,0,200,10", 400), ("limit=0", 400), ("limit=100000", 400), ("offset=-1", 400),
    ("crs=EPSG:9999", 400), ("nope=1", 400), ("measured_area=abc", 400),
])
def test_bad_requests(client, demo_city, query, status):
    response = client.get(f"/ogc/collections/parcels/items?{query}")
    assert response.status_code == status and response.json()["message"]


def test_protected_layer_needs_basic_auth(client, role_users, demo_city):
    url = "/ogc/collections/parcel_owners/items?limit=3"
    response = client.get(url)
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Basic")
    auth = "Basic " + base64.b64encode(b"eng:pw-eng").decode()
    assert client.get(url, HTTP_AUTHORIZATION=auth).status_code == 403
    assert client.get(url, HTTP_AUTHORIZATION="Basic " + base64.b64encode(b"fin:wrong").decode()).status_code == 401
    auth = "Basic " + base64.b64encode(b"fin:pw-fin").decode()
    page = client.get(url, HTTP_AUTHORIZATION=auth).json()
    assert page["numberReturned"] == 3 and "owners" in page["features"][0]["properties"]


def test_gdal_oapif_driver_lists_and_pages_through_all_parcels(portal_url, tmp_path):
    listing = subprocess.run(["ogrinfo", "-ro", "-so", f"OAPIF:{portal_url}/ogc/"], capture_output=True, text=True,
                             timeout=120)
    assert listing.returncode == 0, listing.stderr
    for name, layer in LAYERS.items():
        assert (f": {name} " in listing.stdout) == layer.is_public, name
    out = tmp_path / "parcels.gpkg"
    # GDAL follows the next links page by page (PAGE_SIZE features at a time) into a GeoPackage
    result = subprocess.run(["ogr2ogr", "-f", "GPKG", str(out), f"OAPIF:{portal_url}/ogc/collections/parcels",
                             "-oo", "PAGE_SIZE=1000"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    frame = pyogrio.read_dataframe(out)
    assert len(frame) == count("SELECT count(*) FROM parcels_parcel") == frame["id"].nunique()
    assert {"renewal_code", "land_use", "measured_area"} <= set(frame.columns)


def test_service_description_is_valid_openapi_and_covers_the_routes(client):
    from openapi_spec_validator import validate

    response = client.get("/ogc/api")
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    doc = response.json()
    validate(doc)
    from layers.urls import urlpatterns
    routes = {"/" + re.sub(r"<str:name>", "{collectionId}", re.sub(r"<int:fid>", "{featureId}", str(p.pattern)))
              for p in urlpatterns if str(p.pattern).startswith("ogc/")}
    assert set(doc["paths"]) == routes - {"/ogc", "/ogc/api"}


def test_road_widening_layer_matches_the_parcel_sheet(client, demo_city):
    with connection.cursor() as c:
        c.execute("SELECT parcel_id FROM layers_road_widening GROUP BY parcel_id ORDER BY sum(area) DESC LIMIT 3")
        parcel_ids = [r[0] for r in c.fetchall()]
    assert parcel_ids
    for pid in parcel_ids:
        sheet = client.get(f"/api/parcels/{pid}").json()
        strips = client.get(f"/ogc/collections/road_widening/items?parcel_id={pid}").json()
        # the view's version follows its base tables (layers/versions.py): its count is cached and exact
        assert strips["numberMatched"] == len(strips["features"])
        assert sum(f["properties"]["area"] for f in strips["features"]) == pytest.approx(
            sheet["road_widening"]["area"], abs=0.05 * len(strips["features"]))


def test_registry_endpoint(client, role_users, demo_city):
    layers = {layer["name"]: layer for layer in client.get("/api/layers").json()["layers"]}
    assert "parcel_owners" not in layers and "parcels" in layers
    legend = {entry["value"]: entry for entry in layers["parcels"]["legend"]}
    assert legend["residential"]["label"] == "مسکونی" and legend["residential"]["colour"].startswith("#")
    assert layers["parcels"]["fields"][1] == {"name": "renewal_code", "type": "string", "title": "کد نوسازی",
                                              "title_en": "Renewal code", "filterable": True}
    client.force_login(role_users["finance"])
    assert "parcel_owners" in {layer["name"] for layer in client.get("/api/layers").json()["layers"]}


def _reads_parcels(queries) -> bool:
    return any(re.search(r'FROM\s+"?parcels_parcel\b', q["sql"]) for q in queries)


def test_number_matched_follows_data_changes(client, demo_city):
    url = "/ogc/collections/parcels/items?land_use=vacant&limit=1"
    before = client.get(url).json()["numberMatched"]
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).json()["numberMatched"] == before
    assert not _reads_parcels(queries.captured_queries)  # served from the cache: only the data version is read
    with connection.cursor() as c:
        c.execute("UPDATE parcels_parcel SET land_use_id = 'vacant' WHERE id = (SELECT min(id) FROM parcels_parcel"
                  " WHERE land_use_id <> 'vacant')")  # the statement trigger bumps the table's data version
    assert client.get(url).json()["numberMatched"] == before + 1


def test_cached_pages_follow_the_data(client, demo_city):
    """A page of a public layer is kept under the layer's data version: the same request is answered from the cache,
    and after a write the page shows the new data."""
    url = "/ogc/collections/parcels/items?limit=5"
    first = client.get(url)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).content == first.content
    assert not _reads_parcels(queries.captured_queries)  # the kept page, not the table read again
    feature = first.json()["features"][0]
    new_use = "green_space" if feature["properties"]["land_use"] != "green_space" else "residential"
    with connection.cursor() as c:
        c.execute("UPDATE parcels_parcel SET land_use_id = %s WHERE id = %s", [new_use, feature["id"]])
    after = client.get(url).json()["features"]
    assert [f["id"] for f in after][0] == feature["id"] and after[0]["properties"]["land_use"] == new_use


def test_a_box_page_stays_cached_through_edits_elsewhere(client, demo_city):
    """A page of a box is kept under the version of the edit regions under the box (layers/versions.py): an edit far
    from the box leaves it kept (no statement reads the parcels); an edit of a parcel in the box, even one that only
    moves it out of the box, gives the new data."""
    with connection.cursor() as c:
        c.execute("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Transform(ST_SetSRID("
                  "ST_Extent(geom)::geometry, ST_SRID(min(geom))), 4326) e FROM parcels_parcel) s")
        west, south, east, north = c.fetchone()
        c.execute("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(ST_Centroid(geom), 4326) p FROM parcels_parcel "
                  "ORDER BY geom <-> ST_Transform(ST_SetSRID(ST_Point(%s, %s), 4326), ST_SRID(geom)) LIMIT 1) s",
                  [west, south])
        lon, lat = c.fetchone()
    box = (lon - 0.002, lat - 0.002, lon + 0.002, lat + 0.002)  # ~200 m around a parcel in a corner of the city
    url = "/ogc/collections/parcels/items?limit=3&bbox=" + ",".join(f"{v:.6f}" for v in box)
    first = client.get(url).json()
    inside = first["features"][0]["id"]
    with connection.cursor() as c:  # a parcel in the opposite corner
        c.execute("SELECT id FROM parcels_parcel ORDER BY geom <-> ST_Transform(ST_SetSRID(ST_Point(%s, %s), 4326), "
                  "ST_SRID(geom)) LIMIT 1", [east, north])
        far = c.fetchone()[0]
        c.execute("UPDATE parcels_parcel SET land_use_id = land_use_id WHERE id = %s", [far])
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).json()["features"] == first["features"]
    assert not _reads_parcels(queries.captured_queries)
    with connection.cursor() as c:  # out of the box: 20 km east
        c.execute("UPDATE parcels_parcel SET geom = ST_Translate(geom, 20000, 0) WHERE id = %s", [inside])
    after = client.get(url).json()
    assert inside not in [f["id"] for f in after["features"]]
    assert after["numberMatched"] == first["numberMatched"] - 1
