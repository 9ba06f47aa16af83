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


@pytest.mark.parametrize("z", [15, 16, 18])  # z10-z14: the land-use overview (tests/test_overview.py)
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


def _raw_tile(parcel_id: int, z: int, x: int, y: int) -> bytes:
    """The parcel's tile straight from PostGIS, without simplification (the reference the app's tile is held to)."""
    with connection.cursor() as c:
        c.execute("""SELECT ST_AsMVT(f.*, 'parcels', %(extent)s, 'mvtgeom') FROM (
                       SELECT id, ST_AsMVTGeom(ST_Transform(geom, 3857), ST_TileEnvelope(%(z)s, %(x)s, %(y)s),
                                               %(extent)s, %(buffer)s, true) AS mvtgeom
                       FROM parcels_parcel WHERE id = %(id)s) f""",
                  {"z": z, "x": x, "y": y, "id": parcel_id, "extent": tiles.EXTENT, "buffer": tiles.BUFFER})
        return bytes(c.fetchone()[0])


def test_geometry_simplified_at_low_zoom(demo_city, tmp_path):
    """A parcel with a finely surveyed boundary (a 400-vertex circle of 50 m) is drawn with far fewer vertices at
    zoom 15 (z10-z14: the land-use overview, tests/test_overview.py) than PostGIS gives without simplification, yet within a metre of it; from zoom 17 it is drawn as
    surveyed (the same vertices as the unsimplified tile)."""
    import shapely

    parcel = Parcel.objects.filter(geom__isnull=False).order_by("id").first()
    lon, lat = CENTRE
    with connection.cursor() as c:
        c.execute("UPDATE parcels_parcel SET geom = ST_Multi(ST_Buffer(ST_Transform(ST_SetSRID(ST_Point(%s, %s), 4326),"
                  " ST_SRID(geom)), 50, 100)) WHERE id = %s", [lon, lat, parcel.pk])
    (tmp_path / "app").mkdir()
    (tmp_path / "raw").mkdir()
    for z, simplified in ((15, True), (17, False)):
        x, y = tiles.lonlat_to_tile(lon, lat, z)
        app = decode(tiles.render_tile(LAYERS["parcels"], z, x, y), z, x, y, tmp_path / "app", "parcels")
        raw = decode(_raw_tile(parcel.pk, z, x, y), z, x, y, tmp_path / "raw", "parcels")
        surveyed = raw.set_index("id").geometry.loc[parcel.pk]
        # low zooms carry no ids: the drawn parcel is the tile's shape that overlaps the surveyed one most
        drawn = max(app.geometry, key=lambda g: g.intersection(surveyed).area / g.union(surveyed).area)
        drawn_n, surveyed_n = shapely.get_num_coordinates(drawn), shapely.get_num_coordinates(surveyed)
        if simplified:
            assert drawn_n * 3 < surveyed_n, (z, drawn_n, surveyed_n)
            assert shapely.hausdorff_distance(drawn, surveyed) < 1.0  # metres (Web Mercator at Darab's latitude)
        else:
            assert drawn_n == surveyed_n, (z, drawn_n, surveyed_n)
    assert tiles.simplify_tolerance(14) > 0 and tiles.simplify_tolerance(17) == 0


def test_features_capped_per_tile(demo_city, tmp_path):
    z = 14
    x, y = tiles.lonlat_to_tile(*CENTRE, z)
    capped = dataclasses.replace(LAYERS["parcels"], tile_max_features=25)
    frame = decode(tiles.render_tile(capped, z, x, y), z, x, y, tmp_path, "parcels")
    assert len(frame) == 25


def test_caching_follows_the_data(client, demo_city):
    """A tile's version (?v=, ETag) changes with an edit of a parcel in it, not with one elsewhere in the city."""
    z = 16
    x, y = tiles.lonlat_to_tile(*CENTRE, z)
    url = f"/tiles/parcels/{z}/{x}/{y}.pbf"
    first = client.get(url)
    version = first["X-Layer-Version"]
    assert tiles.tile_version(LAYERS["parcels"], z, x, y) == int(version)
    assert "must-revalidate" in first["Cache-Control"]
    assert client.get(url, {"v": version})["Cache-Control"] == "public, max-age=31536000, immutable"
    assert client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    with connection.cursor() as c:  # a parcel far from the tile, and one in it
        c.execute("SELECT id FROM parcels_parcel WHERE NOT ST_Intersects(ST_Transform(geom, 3857), "
                  "ST_Expand(ST_TileEnvelope(%s, %s, %s), 600)) LIMIT 1", [z, x, y])
        far = c.fetchone()[0]
        c.execute("SELECT id FROM parcels_parcel WHERE ST_Intersects(ST_Transform(geom, 3857), "
                  "ST_TileEnvelope(%s, %s, %s)) LIMIT 1", [z, x, y])
        near = c.fetchone()[0]
    Parcel.objects.filter(pk=far).update(postal_code=None)
    assert client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304  # untouched: same version
    Parcel.objects.filter(pk=near).update(postal_code=None)
    after = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert after.status_code == 200 and after["ETag"] != first["ETag"]
    assert int(after["X-Layer-Version"]) > int(version)


def test_below_min_zoom_is_empty(client, demo_city):
    assert client.get("/tiles/parcels/9/340/215.pbf").status_code == 204  # from z10 (the land-use overview)


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
        if not response.content:    # an empty tile: only for a layer whose table holds nothing yet (issued permits)
            with connection.cursor() as cursor:
                cursor.execute(f'SELECT count(*) FROM "{spec.table}"')
                assert cursor.fetchone()[0] == 0, name
            continue
        assert len(decode(response.content, z, x, y, tmp_path, name)) > 0, name


def test_cached_tiles_follow_the_data(client, demo_city, tmp_path, monkeypatch):
    """A tile is cached under its layer's data version (a second request for the versioned URL runs no statement);
    after a write the versioned URL of the new version shows the new data, never the cached tile."""
    z = 16
    x, y = tiles.lonlat_to_tile(*CENTRE, z)
    url = f"/tiles/parcels/{z}/{x}/{y}.pbf"
    version = client.get(url)["X-Layer-Version"]
    before = decode(client.get(url, {"v": version}).content, z, x, y, tmp_path, "parcels")
    first = client.get(url, {"v": version}).content
    statements = []  # tiles run on prepared statements, past Django's query log: count them at the source
    run = tiles.prepared_fetchone
    monkeypatch.setattr(tiles, "prepared_fetchone", lambda *a, **k: statements.append(a[0]) or run(*a, **k))
    assert client.get(url, {"v": version}).content == first and statements == []  # from the cache
    monkeypatch.undo()
    parcel = Parcel.objects.get(pk=int(before["id"].iloc[0]))
    new_use = "green_space" if parcel.land_use_id != "green_space" else "residential"
    Parcel.objects.filter(pk=parcel.pk).update(land_use_id=new_use)
    new_version = tiles.tile_version(LAYERS["parcels"], z, x, y)
    assert new_version > int(version)
    after = decode(client.get(url, {"v": new_version}).content, z, x, y, tmp_path, "parcels")
    assert after.set_index("id").loc[parcel.pk, "land_use"] == new_use


def test_low_zoom_tiles_carry_only_what_the_map_draws(client, demo_city, tmp_path):
    spec = LAYERS["parcels"]
    for z, expected in ((14, spec.tile_columns(14)), (16, spec.columns)):
        x, y = tiles.lonlat_to_tile(*CENTRE, z)
        frame = decode(client.get(f"/tiles/parcels/{z}/{x}/{y}.pbf").content, z, x, y, tmp_path, "parcels")
        names = {c.split(" AS ")[1] for c in expected}
        # a property that is null on every feature of the tile is left out of the MVT (the demo has no source_id)
        assert set(frame.columns) - {"geometry", "mvt_id"} == names - ({"source_id"} if z == 16 else set())
    assert {c.split(" AS ")[1] for c in spec.tile_columns(14)} == set(spec.overview_fields) == {"land_use"}
