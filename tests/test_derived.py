"""Frontage, streets fronted, widest street and corner flag, computed in PostGIS and kept fresh on edits.

Hand-drawn case: two streets cross at (X0, Y0): an east-west street 20 m wide and a north-south street 10 m wide.
Parcels sit in the north-east quadrant against the street edges.
"""

import pytest
from django.contrib.gis.geos import LineString, MultiPolygon, Polygon

from parcels import derived
from parcels.models import Parcel, Street

pytestmark = pytest.mark.django_db

X0, Y0 = 710_000, 3_110_000


def box(x1, y1, x2, y2):
    return MultiPolygon(Polygon.from_bbox((X0 + x1, Y0 + y1, X0 + x2, Y0 + y2)), srid=32640)


@pytest.fixture
def crossing(db):
    ew = Street.objects.create(name="EW", existing_width=20, planned_width=30,
                               geom=LineString((X0 - 200, Y0), (X0 + 200, Y0), srid=32640))
    ns = Street.objects.create(name="NS", existing_width=10,
                               geom=LineString((X0, Y0 - 200), (X0, Y0 + 200), srid=32640))
    corner = Parcel.objects.create(renewal_code="8-8-801-001-0-0-0", geom=box(5, 10, 25, 40))
    mid = Parcel.objects.create(renewal_code="8-8-801-002-0-0-0", geom=box(40, 10, 55, 40))
    inner = Parcel.objects.create(renewal_code="8-8-801-003-0-0-0", geom=box(40, 45, 55, 70))
    derived.refresh_frontages([corner.pk, mid.pk, inner.pk])
    return ew, ns, corner, mid, inner


def test_corner_parcel(crossing):
    ew, ns, corner, mid, inner = crossing
    corner.refresh_from_db()
    assert corner.is_corner
    assert corner.widest_street_width == 20
    lengths = {f.street.name: f.length for f in corner.frontages.select_related("street")}
    assert lengths == {"EW": pytest.approx(20.0), "NS": pytest.approx(30.0)}
    assert corner.frontage_length == pytest.approx(50.0)


def test_mid_block_parcel(crossing):
    *_, mid, inner = crossing
    mid.refresh_from_db()
    assert not mid.is_corner
    assert list(mid.fronted_streets.values_list("name", flat=True)) == ["EW"]
    assert mid.frontage_length == pytest.approx(15.0)


def test_interior_parcel_fronts_nothing(crossing):
    *_, inner = crossing
    inner.refresh_from_db()
    assert inner.frontage_length is None and inner.widest_street_width is None and not inner.is_corner


def test_collinear_segments_of_one_street_do_not_make_a_corner(db):
    Street.objects.create(name="A1", existing_width=12, geom=LineString((X0 - 100, Y0), (X0 + 30, Y0), srid=32640))
    Street.objects.create(name="A2", existing_width=12, geom=LineString((X0 + 30, Y0), (X0 + 200, Y0), srid=32640))
    p = Parcel.objects.create(geom=box(10, 6, 50, 30))
    derived.refresh_frontages([p.pk])
    p.refresh_from_db()
    assert p.fronted_streets.count() == 2
    assert not p.is_corner
    assert p.frontage_length == pytest.approx(40.0)


def test_facts_follow_street_edits(crossing, django_capture_on_commit_callbacks):
    ew, ns, corner, mid, inner = crossing
    with django_capture_on_commit_callbacks(execute=True):
        ns.existing_width = 45  # widened: now the widest street of the corner parcel
        ns.geom = LineString((X0 - 15, Y0 - 200), (X0 - 15, Y0 + 200), srid=32640)  # and moved 15 m west
        ns.save()
    corner.refresh_from_db()
    # The moved corridor (22.5 m + 1.5 m tolerance each side: x up to -15+24 = 9) still covers the west lot line (x=5).
    assert corner.widest_street_width == 45
    with django_capture_on_commit_callbacks(execute=True):
        ns.delete()
    corner.refresh_from_db()
    assert not corner.is_corner and corner.widest_street_width == 20


def test_facts_follow_parcel_edits(crossing, django_capture_on_commit_callbacks):
    *_, inner = crossing
    with django_capture_on_commit_callbacks(execute=True):
        inner.geom = box(60, 10, 80, 40)  # moved onto the EW street
        inner.save()
    inner.refresh_from_db()
    assert inner.frontage_length == pytest.approx(20.0)
