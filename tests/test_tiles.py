"""Vector tiles from PostGIS: decoded by GDAL's MVT driver and compared with an independent count; caching by data
version; bounded; clear errors."""

import dataclasses

import pyogrio
import pytest
from django.db import connection

from layers import tiles
from layers.registry import LAYERS, portal_layers
from parcels.models import Parcel

pytestmark = pytest.mark.django_db

CENTRE = (54.553, 28.755)  # Darab


def decode(data: bytes, z: int, x: int, y: int, tmp_path, layer: str):
    path = tmp_path / f"{z}_{x}_{y}.pbf"
    path.write_bytes(data)
    # CLIP=NO: keep the features that lie only in the drawing margin around the tile, as clients draw them.
    return pyogrio.read_dataframe(path, layer=layer, X=str(x), Y=str(y), Z=str(z), CLIP="NO")


def parcels_in_tile(z, x, y) -> int:
    """Independently: parcels whose geometry meets the tile (with its drawing margin), in Web Mercator."""
    with connection.cursor() as c:
        c.execute("SELECT count(*) FROM parcels_parcel WHERE ST_Intersects(ST_Transform(geom, 3857), "
                  "ST_TileEnvelope(%s, %s, %s, margin => %s))", [z, x, y, tiles.BUFFER / tiles.EXTENT])
        return c.fetchone()[0]


@pytest.mark.parametrize("z", [14, 16, 18])
def test_parcel_tile_matches_postgis(client, demo_city, tmp_path, z):
    x, y = tiles.lonlat_to_tile(*CENTRE, z)
    response = client.get(f"/tiles/parcels/{z}/{x}/{y}.pbf")
    assert response.status_code == 200 and response["Content-Type"] == "application/vnd.mapbox-vector-tile"
    frame = decode(response.content, z, x, y, tmp_path, "parcels")
    expected = parcels_in_tile(z, x, y)
    assert expected > 0
    # ST_AsMVTGeom may drop a sliver that collapses on the 4096 grid; nothing else may be missing.
    assert expected - 3 <= len(frame) <= expected
    public = {c.split(" AS ")[1] for c in LAYERS["parcels"].columns}
    assert set(frame.columns) - {"geometry", "mvt_id"} <= public  # nothing but the public columns
    cx, cy = frame.geometry.union_all().centroid.coords[0]
    assert 6_000_000 < cx < 6_100_000 and 3_300_000 < cy < 3_400_000  # Web Mercator around Darab


def test_geometry_simplified_at_low_zoom(demo_city):
    x, y = tiles.lonlat_to_tile(*CENTRE, 14)
    coarse = tiles.render_tile(LAYERS["parcels"], 14, x, y)
    no_simplify = dataclasses.replace(LAYERS["parcels"])
    original = tiles.simplify_tolerance
    try:
        tiles.simplify_tolerance = lambda z: 0.0
        full = tiles.render_tile(no_simplify, 14, x, y)
    finally:
        tiles.simplify_tolerance = original
    assert 0 < len(coarse) <= len(full)
    assert tiles.simplify_tolerance(14) > 0 and tiles.simplify_tolerance(17) == 0


def test_features_capped_per_tile(demo_city, tmp_path):
    z = 14
    x, y = tiles.lonlat_to_tile(*CENTRE, z)
    capped = dataclasses.replace(LAYERS["parcels"], tile_max_features=25)
    frame = decode(tiles.render_tile(capped, z, x, y), z, x, y, tmp_path, "parcels")
    assert len(frame) == 25


def test_caching_follows_the_data(client, demo_city):
    z = 16
    x, y = tiles.lonlat_to_tile(*CENTRE, z)
    url = f"/tiles/parcels/{z}/{x}/{y}.pbf"
    first = client.get(url)
    version = first["X-Layer-Version"]
    assert client.get("/api/layers/versions").json()["parcels"] == int(version)
    assert "must-revalidate" in first["Cache-Control"]
    assert client.get(url, {"v": version})["Cache-Control"] == "public, max-age=31536000, immutable"
    assert client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    parcel = Parcel.objects.filter(renewal_code__isnull=False).first()
    parcel.postal_code = None
    parcel.save()  # any write bumps the layer's version
    after = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert after.status_code == 200 and after["ETag"] != first["ETag"]
    assert int(after["X-Layer-Version"]) > int(version)


def test_below_min_zoom_is_empty(client, demo_city):
    assert client.get("/tiles/parcels/10/680/430.pbf").status_code == 204


@pytest.mark.parametrize("url, status", [
    ("/tiles/parcels/23/0/0.pbf", 400),
    ("/tiles/parcels/5/32/0.pbf", 400),
    ("/tiles/parcels/5/0/40.pbf", 400),
    ("/tiles/owners/14/0/0.pbf", 404),
])
def test_bad_tiles(client, url, status):
    response = client.get(url)
    assert response.status_code == status and response.json()["message"]


def test_every_layer_tiles(client, demo_city, tmp_path):
    for spec in portal_layers():
        name = spec.name
        z = max(spec.tile_min_zoom, 15)
        x, y = tiles.lonlat_to_tile(*CENTRE, z)
        response = client.get(f"/tiles/{name}/{z}/{x}/{y}.pbf")
        assert response.status_code == 200, name
        assert len(decode(response.content, z, x, y, tmp_path, name)) > 0, name


def test_cached_tiles_follow_the_data(client, demo_city, tmp_path):
    """A tile is cached under its layer's data version: after a write the versioned URL of the new version shows
    the new data, never the cached tile."""
    z = 16
    x, y = tiles.lonlat_to_tile(*CENTRE, z)
    url = f"/tiles/parcels/{z}/{x}/{y}.pbf"
    version = client.get(url)["X-Layer-Version"]
    before = decode(client.get(url, {"v": version}).content, z, x, y, tmp_path, "parcels")
    assert client.get(url, {"v": version}).content == client.get(url, {"v": version}).content  # from the cache
    parcel = Parcel.objects.get(pk=int(before["id"].iloc[0]))
    new_use = "green_space" if parcel.land_use_id != "green_space" else "residential"
    Parcel.objects.filter(pk=parcel.pk).update(land_use_id=new_use)
    new_version = client.get("/api/layers/versions").json()["parcels"]
    assert new_version > int(version)
    after = decode(client.get(url, {"v": new_version}).content, z, x, y, tmp_path, "parcels")
    assert after.set_index("id").loc[parcel.pk, "land_use"] == new_use


def test_low_zoom_tiles_carry_only_what_the_map_draws(client, demo_city, tmp_path):
    spec = LAYERS["parcels"]
    for z, expected in ((14, spec.tile_columns(14)), (16, spec.columns)):
        x, y = tiles.lonlat_to_tile(*CENTRE, z)
        frame = decode(client.get(f"/tiles/parcels/{z}/{x}/{y}.pbf").content, z, x, y, tmp_path, "parcels")
        names = {c.split(" AS ")[1] for c in expected}
        assert set(frame.columns) - {"geometry", "mvt_id"} == names
    assert {c.split(" AS ")[1] for c in spec.tile_columns(14)} == set(spec.overview_fields) == {"land_use"}
