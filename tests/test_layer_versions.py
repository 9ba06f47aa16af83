"""A layer's data version follows every table it reads, so an ETag or a versioned tile URL never serves old data.

Layers reading more than one table: parcel_owners (parcels, ownerships, owners: a field's subquery) and road_widening
(a view over frontages, streets and parcels). Every other layer (districts, blocks, streets, parcels, buildings,
cadastral_zones, zoning, overlays) reads its own table only; the first two tests hold that for any layer registered.
"""

import json
from decimal import Decimal

import pytest
from django.contrib.gis.geos import LineString, MultiPolygon, Polygon
from django.db import connection

from layers import tiles, versions
from layers.registry import LAYERS
from parcels import derived
from parcels.models import Frontage, Owner, Ownership, Parcel, Street

pytestmark = pytest.mark.django_db

X0, Y0 = 731_000, 3_131_000  # EPSG:32640, away from other tests' parcels
Z = 18


def _relations(plan) -> set[str]:
    found = set()
    if isinstance(plan, dict):
        if "Relation Name" in plan:
            found.add(plan["Relation Name"])
        for value in plan.values():
            found |= _relations(value)
    elif isinstance(plan, list):
        for value in plan:
            found |= _relations(value)
    return found


def test_every_layer_declares_every_table_its_query_reads():
    """What PostgreSQL's plan of a layer's query scans (views expanded, subqueries of fields included) must be among
    the tables the layer's version follows: a layer joining a table it does not declare fails here."""
    for layer in LAYERS.values():
        with connection.cursor() as cursor:
            cursor.execute(f'EXPLAIN (FORMAT JSON) SELECT {", ".join(layer.columns)}, t.geom FROM "{layer.table}" t')
            plan = cursor.fetchone()[0]
        read = _relations(json.loads(plan) if isinstance(plan, str) else plan)
        assert read <= set(layer.sources), (layer.name, sorted(read - set(layer.sources)))


def test_every_table_a_layer_reads_has_its_version_trigger():
    assert versions.missing_triggers(LAYERS.values()) == []
    with connection.cursor() as cursor:
        cursor.execute("SELECT tgrelid::regclass::text FROM pg_trigger WHERE tgname LIKE '%%_bump_version'")
        triggered = {row[0] for row in cursor.fetchall()}
    assert {"parcels_owner", "parcels_ownership", "parcels_frontage"} <= triggered


def _tile(parcel):
    centre = parcel.geom.centroid.transform(4326, clone=True)
    x, y = tiles.lonlat_to_tile(centre.x, centre.y, Z)
    return f"{Z}/{x}/{y}"


def test_parcel_owners_tiles_follow_owners_and_shares(client, role_users):
    parcel = Parcel.objects.create(renewal_code="6-6-611-001-0-0-0",
                                   geom=MultiPolygon(Polygon.from_bbox((X0, Y0, X0 + 20, Y0 + 20)), srid=32640))
    owner = Owner.objects.create(kind="person", first_name="مریم", last_name="کاویانی", national_id="0499370899")
    share = Ownership.objects.create(parcel=parcel, owner=owner, share_dang=Decimal(6))
    client.force_login(role_users["finance"])
    url = f"/tiles/parcel_owners/{_tile(parcel)}.pbf"

    first = client.get(url)
    assert first.status_code == 200 and "کاویانی".encode() in first.content
    version = first["X-Layer-Version"]
    assert client.get(url, {"v": version}).content == first.content  # now in the tile cache

    owner.last_name = "رضوانی"
    owner.save()  # only the owner changes: parcels_parcel is not written
    renamed = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert renamed.status_code == 200 and renamed["ETag"] != first["ETag"]
    assert "رضوانی".encode() in renamed.content and "کاویانی".encode() not in renamed.content
    assert int(renamed["X-Layer-Version"]) > int(version)
    cached = client.get(url, {"v": renamed["X-Layer-Version"]})
    assert "رضوانی".encode() in cached.content

    share.share_dang = Decimal(3)
    share.save()  # only the share changes
    halved = client.get(url, HTTP_IF_NONE_MATCH=renamed["ETag"])
    assert halved.status_code == 200 and halved["ETag"] != renamed["ETag"]
    assert "3.0000 دانگ".encode() in halved.content

    share.delete()
    gone = client.get(url, HTTP_IF_NONE_MATCH=halved["ETag"])
    assert gone.status_code == 200 and "رضوانی".encode() not in gone.content


def test_road_widening_follows_streets_and_frontages(client):
    parcel = Parcel.objects.create(renewal_code="6-6-612-001-0-0-0",
                                   geom=MultiPolygon(Polygon.from_bbox((X0, Y0, X0 + 20, Y0 + 20)), srid=32640))
    street = Street.objects.create(name="خیابان آزمون", existing_width=6, planned_width=16,
                                   geom=LineString((X0 - 50, Y0 + 23), (X0 + 70, Y0 + 23), srid=32640))
    derived.refresh_frontages([parcel.pk])
    assert Frontage.objects.filter(parcel=parcel, street=street).exists()
    url = f"/tiles/road_widening/{_tile(parcel)}.pbf"

    def strip_area():
        items = client.get(f"/ogc/collections/road_widening/items?parcel_id={parcel.pk}").json()["features"]
        return sum(f["properties"]["area"] for f in items)

    first = client.get(url)
    assert first.status_code == 200 and first.content
    assert strip_area() == pytest.approx(100, abs=1)  # planned half-width 8 m from y+23: 5 m of the parcel

    street.planned_width = 12
    street.save()  # only the street changes
    wider = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert wider.status_code == 200 and wider["ETag"] != first["ETag"] and wider.content != first.content
    assert strip_area() == pytest.approx(60, abs=1)

    Frontage.objects.filter(parcel=parcel).delete()  # only the frontages change: no strip left
    cleared = client.get(url, HTTP_IF_NONE_MATCH=wider["ETag"])
    assert cleared.status_code == 200 and cleared["ETag"] != wider["ETag"]
    assert strip_area() == 0


def test_a_layer_version_is_the_sum_of_its_tables():
    layer = LAYERS["parcel_owners"]
    before = tiles.layer_version(layer)
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_name, version FROM layers_tableversion")
        by_table = dict(cursor.fetchall())
    assert before == sum(by_table.get(t, 0) for t in ("parcels_parcel", "parcels_ownership", "parcels_owner"))
    assert tiles.layer_versions([layer]) == {"parcel_owners": before}


def test_migrate_gives_every_table_a_layer_reads_its_trigger():
    """The triggers come from the registry (post_migrate): a table a layer reads that lost its trigger gets it back,
    and writes to it move the layer's version again. (DDL is transactional: the test's rollback restores all.)"""
    with connection.cursor() as cursor:
        cursor.execute('DROP TRIGGER "parcels_owner_bump_version" ON parcels_owner')
    assert versions.missing_triggers(LAYERS.values()) == ["parcels_owner"]
    layer = LAYERS["parcel_owners"]
    before = tiles.layer_version(layer)
    Owner.objects.create(kind="legal", legal_name="شرکت آزمون")
    assert tiles.layer_version(layer) == before  # no trigger: the write went unseen
    from django.apps import apps
    from django.db.models.signals import post_migrate

    post_migrate.send(sender=apps.get_app_config("layers"), app_config=apps.get_app_config("layers"),
                      verbosity=0, interactive=False, using="default", apps=apps, plan=[])
    assert versions.missing_triggers(LAYERS.values()) == []
    Owner.objects.create(kind="legal", legal_name="شرکت آزمون دوم")
    assert tiles.layer_version(layer) > before
