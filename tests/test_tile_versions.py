"""Per-tile versions (layers/versions.py): an edit changes the version of every tile whose content it may change, at
every zoom, and of no tile far from it; the map's state (/api/layers/tile-versions) gives the same versions as the
server; large statements, long region lists and joined tables without geometry fall back to a new base."""

import math

import pytest
from django.db import connection
from django.test import override_settings

from layers import tiles, versions
from layers.registry import LAYERS
from parcels.models import Ownership, Parcel

pytestmark = pytest.mark.django_db

PARCELS = LAYERS["parcels"]


def version_from_state(state: dict, name: str, z: int, x: int, y: int) -> int:
    """What the map's JavaScript computes (layers/static/layers/tile_versions.js), written again from the API's
    description: the server must agree with it for every tile."""
    layer = state["layers"][name]
    zr = state["zoom"]
    if z >= zr:
        x0 = x1 = x >> (z - zr)
        y0 = y1 = y >> (z - zr)
    else:
        span = 2 ** (zr - z)
        m = math.ceil(span * state["margin"])
        x0, x1, y0, y1 = x * span - m, (x + 1) * span - 1 + m, y * span - m, (y + 1) * span - 1 + m
    version = layer["base"]
    overview = layer.get("overview")
    drawn = overview["tables"] if overview and overview["zooms"][0] <= z <= overview["zooms"][1] else layer["tables"]
    for table in (state["tables"].get(t, {"base": 0, "regions": []}) for t in drawn):
        touched = [v for rx, ry, v in table["regions"] if x0 <= rx <= x1 and y0 <= ry <= y1]
        version += max([table["base"], *touched])
    return version


def _centroid(pk):
    with connection.cursor() as c:
        c.execute("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(ST_Centroid(geom), 4326) p FROM parcels_parcel "
                  "WHERE id = %s) s", [pk])
        return c.fetchone()


def _tiles_around(lon, lat, zooms=range(12, 19), ring=1):
    out = []
    for z in zooms:
        cx, cy = tiles.lonlat_to_tile(lon, lat, z)
        out += [(z, cx + dx, cy + dy) for dx in range(-ring, ring + 1) for dy in range(-ring, ring + 1)]
    return out


def _snapshot(tile_list):
    return {t: (tiles.tile_version(PARCELS, *t), tiles.render_tile(PARCELS, *t)) for t in tile_list}


def _state(client):
    response = client.get("/api/layers/tile-versions")
    assert response.status_code == 200 and response["Cache-Control"] == "no-cache"
    return response.json()


def test_an_edit_changes_the_tiles_it_touches_and_no_others(client, demo_city):
    """A parcel moved 1.5 km: every tile (z12-z18, each with its ring of neighbours, at the old and the new place)
    whose content changed has a new version; tiles far from both places keep theirs; the map's state agrees with the
    server on every tile."""
    parcel = Parcel.objects.filter(geom__isnull=False).order_by("id")[Parcel.objects.count() // 2]
    lon, lat = _centroid(parcel.pk)
    watched = _tiles_around(lon, lat) + _tiles_around(lon + 1500 / 97_500, lat)  # ~97.5 km per degree at 28.7°N
    far = (18, *tiles.lonlat_to_tile(lon - 0.03, lat - 0.03, 18))
    before = _snapshot(watched + [far])
    state = _state(client)
    assert all(version_from_state(state, "parcels", *t) == v for t, (v, _) in before.items())

    with connection.cursor() as c:
        c.execute("UPDATE parcels_parcel SET geom = ST_Translate(geom, 1500, 0) WHERE id = %s", [parcel.pk])
    after = _snapshot(watched + [far])
    changed = [t for t in watched if after[t][1] != before[t][1]]
    assert changed, "the move changed no tile"
    stale = [t for t in changed if after[t][0] == before[t][0]]
    assert stale == [], f"tiles whose content changed kept their version: {stale}"
    assert after[far][0] == before[far][0]  # far from both places: the same version, still cached
    kept = [t for t in watched if after[t][0] == before[t][0]]
    assert any(z == 18 for z, _, _ in kept), "a z18 neighbour the move did not touch lost its version"
    state = _state(client)
    assert all(version_from_state(state, "parcels", *t) == v for t, (v, _) in after.items())
    # the answer's headers carry the tile's version: the URL the map builds is the immutable one
    z, x, y = changed[-1]
    answer = client.get(f"/tiles/parcels/{z}/{x}/{y}.pbf", {"v": after[changed[-1]][0]})
    assert answer["X-Layer-Version"] == str(after[changed[-1]][0]) and "immutable" in answer["Cache-Control"]


def test_a_tile_follows_only_the_table_it_draws_the_overview_or_the_parcels(client, demo_city):
    """Below the detail zooms a parcels tile draws the overview (parcels/overview.py), from them the parcels: a
    rewrite of the overview (its job, after an edit) changes the low tiles over it and no detailed one, and an edit
    that leaves the overview alone (raw SQL: no signal rebuilds it) changes the detailed tiles and no low one."""
    pk = Parcel.objects.filter(block__isnull=False).order_by("id").first().pk
    lon, lat = _centroid(pk)
    low = [(z, *tiles.lonlat_to_tile(lon, lat, z)) for z in PARCELS.overview.bands]
    high = [(z, *tiles.lonlat_to_tile(lon, lat, z)) for z in (15, 16, 18)]
    before = {t: tiles.tile_version(PARCELS, *t) for t in low + high}
    with connection.cursor() as c:  # the overview's rows under the parcel rewritten, as its refresh job does
        c.execute(f"UPDATE {PARCELS.overview.table} SET parcels = parcels WHERE ST_Intersects(geom, "
                  "ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), 4326), 3857))", [lon, lat])
        assert c.rowcount > 0
    middle = {t: tiles.tile_version(PARCELS, *t) for t in low + high}
    assert all(middle[t] > before[t] for t in low) and all(middle[t] == before[t] for t in high)
    with connection.cursor() as c:
        c.execute("UPDATE parcels_parcel SET postal_code = postal_code WHERE id = %s", [pk])
    after = {t: tiles.tile_version(PARCELS, *t) for t in low + high}
    assert all(after[t] == middle[t] for t in low) and all(after[t] > middle[t] for t in high)
    state = _state(client)
    assert all(version_from_state(state, "parcels", *t) == v for t, v in after.items())
    assert all(versions.version_in_state(state, "parcels", *t) == v for t, v in after.items())


def test_a_large_statement_changes_every_tile(client, demo_city):
    lon, lat = _centroid(Parcel.objects.order_by("id").first().pk)
    far = (18, *tiles.lonlat_to_tile(lon + 0.02, lat + 0.02, 18))
    near = (18, *tiles.lonlat_to_tile(lon, lat, 18))
    before = {t: tiles.tile_version(PARCELS, *t) for t in (far, near)}
    with connection.cursor() as c:  # more regions than TILE_EDIT_MAX_REGIONS: an import, a city-wide recompute
        c.execute("UPDATE parcels_parcel SET postal_code = postal_code")
        c.execute("SELECT count(*) FROM layers_tileregion WHERE table_name = 'parcels_parcel'")
        assert c.fetchone()[0] == 0
    assert all(tiles.tile_version(PARCELS, *t) > v for t, v in before.items())
    state = _state(client)
    assert state["tables"]["parcels_parcel"]["regions"] == []
    assert all(version_from_state(state, "parcels", *t) == tiles.tile_version(PARCELS, *t) for t in before)


def test_the_region_list_is_compacted_into_the_base(demo_city):
    """With at most 2 regions kept, the third edited region moves the base: every tile changes once, the list the
    map downloads stays short."""
    with override_settings(TILE_EDIT_REGIONS_KEPT=2):
        assert "parcels_parcel" in versions.install_triggers(LAYERS.values())  # their arguments changed
        ids = list(Parcel.objects.order_by("id").values_list("id", flat=True))
        picks = ids[:: len(ids) // 3][:3]  # three parcels spread over the city: three regions at least
        counts = []
        for pk in picks:
            Parcel.objects.filter(pk=pk).update(postal_code=None)
            with connection.cursor() as c:
                c.execute("SELECT count(*) FROM layers_tileregion WHERE table_name = 'parcels_parcel'")
                counts.append(c.fetchone()[0])
                c.execute("SELECT version, base FROM layers_tableversion WHERE table_name = 'parcels_parcel'")
                version, base = c.fetchone()
        assert counts[0] >= 1 and counts[-1] == 0 and version == base, counts
    versions.install_triggers(LAYERS.values())  # back to the settings' arguments (and the test's rollback)


def test_owners_change_only_the_layer_that_joins_them(client, demo_city, role_users):
    """parcel_owners joins owners and shares, rows without geometry: a change of a share gives every parcel_owners
    tile a new version (correct first), and leaves the parcels layer's tiles alone."""
    share = Ownership.objects.select_related("parcel").filter(parcel__geom__isnull=False).first()
    lon, lat = _centroid(share.parcel_id)
    tile = (18, *tiles.lonlat_to_tile(lon, lat, 18))
    owners = LAYERS["parcel_owners"]
    before = (tiles.tile_version(PARCELS, *tile), tiles.tile_version(owners, *tile))
    Ownership.objects.filter(pk=share.pk).update(share_dang=share.share_dang / 2)
    after = (tiles.tile_version(PARCELS, *tile), tiles.tile_version(owners, *tile))
    assert after[0] == before[0] and after[1] > before[1]
    assert "parcel_owners" not in _state(client)["layers"]  # staff-only: not in the public map's state


def test_tables_with_geometry_trace_regions_and_others_bump_the_base():
    with connection.cursor() as cursor:
        cursor.execute("SELECT tgrelid::regclass::text, tgname FROM pg_trigger WHERE tgname LIKE '%%tile_regions%%'")
        traced = {table for table, _ in cursor.fetchall()}
    assert {"parcels_parcel", "parcels_block", "parcels_street", "parcels_building"} <= traced
    assert not {"parcels_owner", "parcels_ownership"} & traced  # no geometry: a write moves their base
    assert versions.missing_triggers(LAYERS.values()) == []
    assert versions.DRAWING_MARGIN == tiles.BUFFER / tiles.EXTENT


def test_a_geometry_proj_cannot_transform_moves_the_base_and_is_still_written():
    """A box far outside the CRS's area (PROJ refuses it or makes it infinite): the write goes through, and every
    tile of the table changes (the base moves), since no region can be told."""
    from django.contrib.gis.geos import MultiPolygon, Polygon

    parcel = Parcel.objects.create(renewal_code="6-6-619-001-0-0-0", geom=MultiPolygon(
        Polygon.from_bbox((731_000, 3_131_000, 731_020, 3_131_020)), srid=32640))
    with connection.cursor() as c:
        c.execute("UPDATE parcels_parcel SET geom = ST_Multi(ST_Buffer(ST_SetSRID(ST_Point(1e9, 1e9), 32640), 10)) "
                  "WHERE id = %s", [parcel.pk])
        assert c.rowcount == 1
        c.execute("SELECT version, base FROM layers_tableversion WHERE table_name = 'parcels_parcel'")
        version, base = c.fetchone()
    assert version == base
