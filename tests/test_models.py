"""The cadastral model's rules, enforced by PostGIS itself and by model validation."""

from decimal import Decimal

import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from parcels.models import Owner, Ownership, Parcel

# the messages asserted are the English ones
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

X0, Y0 = 700_000, 3_100_000  # far from the demo city, inside UTM 40N


def square(x, y, size):
    return MultiPolygon(Polygon.from_bbox((x, y, x + size, y + size)), srid=32640)


def bowtie(x, y):
    return MultiPolygon(Polygon(((x, y), (x + 10, y + 10), (x + 10, y), (x, y + 10), (x, y))), srid=32640)


def test_measured_area_is_computed_by_postgis():
    p = Parcel.objects.create(renewal_code="9-9-901-001-0-0-0", geom=square(X0, Y0, 20), deed_area=Decimal("400"))
    p.refresh_from_db()
    assert p.measured_area == pytest.approx(400.0)
    assert not p.area_mismatch


def test_large_deed_area_difference_is_flagged():
    Parcel.objects.create(renewal_code="9-9-901-002-0-0-0", geom=square(X0, Y0, 20), deed_area=Decimal("300"))
    Parcel.objects.create(renewal_code="9-9-901-003-0-0-0", geom=square(X0 + 50, Y0, 20), deed_area=Decimal("390"))
    flags = dict(Parcel.objects.with_area_mismatch().filter(renewal_code__startswith="9-9-901")
                 .values_list("renewal_code", "area_mismatch"))
    assert flags == {"9-9-901-002-0-0-0": True, "9-9-901-003-0-0-0": False}
    assert Parcel.objects.get(renewal_code="9-9-901-002-0-0-0").area_mismatch


def test_invalid_geometry_refused_by_database():
    with pytest.raises(IntegrityError, match="parcel_geom_valid"), transaction.atomic():
        Parcel.objects.create(renewal_code="9-9-902-001-0-0-0", geom=bowtie(X0, Y0))


def test_invalid_geometry_refused_by_model_validation():
    p = Parcel(renewal_code="9-9-902-002-0-0-0", geom=bowtie(X0, Y0))
    with pytest.raises(ValidationError, match="Self-intersection"):
        p.full_clean()


def test_empty_geometry_refused_by_database():
    with pytest.raises(IntegrityError, match="parcel_geom_not_empty"), transaction.atomic():
        Parcel.objects.create(renewal_code="9-9-902-003-0-0-0", geom=MultiPolygon(srid=32640))


def test_renewal_code_unique_and_validated():
    Parcel.objects.create(renewal_code="9-9-903-001-0-0-0", geom=square(X0, Y0, 10))
    with pytest.raises(IntegrityError), transaction.atomic():
        Parcel.objects.create(renewal_code="9-9-903-001-0-0-0", geom=square(X0 + 20, Y0, 10))
    with pytest.raises(ValidationError, match="segments"):
        Parcel(renewal_code="9-9-903", geom=square(X0, Y0, 10)).full_clean()


def test_clean_normalises_persian_input():
    p = Parcel(renewal_code="۹-۹-۹۰۴-۱-۰-۰-۰", postal_code="۱۳۴۶۷۱۳۷۸۵", geom=square(X0, Y0, 10))
    p.full_clean()
    assert p.renewal_code == "9-9-904-001-0-0-0"
    assert p.postal_code == "1346713785"


def test_postal_code_validated():
    with pytest.raises(ValidationError, match="Postal code"):
        Parcel(renewal_code="9-9-904-002-0-0-0", postal_code="1234567890", geom=square(X0, Y0, 10)).full_clean()


def test_registered_plate_unique():
    Parcel.objects.create(plate_section=1, plate_main=120, plate_sub=5, geom=square(X0, Y0, 10))
    with pytest.raises(IntegrityError, match="parcel_registered_plate_unique"), transaction.atomic():
        Parcel.objects.create(plate_section=1, plate_main=120, plate_sub=5, geom=square(X0 + 20, Y0, 10))


def test_deed_area_must_be_positive():
    with pytest.raises(IntegrityError, match="parcel_deed_area_positive"), transaction.atomic():
        Parcel.objects.create(deed_area=Decimal("-5"), geom=square(X0, Y0, 10))


def _owner(last, nid):
    return Owner.objects.create(kind="person", first_name="علی", last_name=last, national_id=nid)


def test_shares_may_not_exceed_six_dang_in_database():
    parcel = Parcel.objects.create(geom=square(X0, Y0, 10))
    a, b = _owner("احمدی", "0499370899"), _owner("کریمی", "0013542419")
    Ownership.objects.create(parcel=parcel, owner=a, share_dang=Decimal("4"))
    Ownership.objects.create(parcel=parcel, owner=b, share_dang=Decimal("2"))
    with connection.cursor() as c:
        c.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the trigger is deferred to commit; check now
    c3 = _owner("رضایی", "0084575948")
    with pytest.raises(IntegrityError, match="at most 6 dang"), transaction.atomic():
        Ownership.objects.create(parcel=parcel, owner=c3, share_dang=Decimal("0.5"))


def test_shares_validated_in_forms():
    parcel = Parcel.objects.create(geom=square(X0, Y0, 10))
    Ownership.objects.create(parcel=parcel, owner=_owner("احمدی", "0499370899"), share_dang=Decimal("5"))
    extra = Ownership(parcel=parcel, owner=_owner("کریمی", "0013542419"), share_dang=Decimal("1.5"))
    with pytest.raises(ValidationError, match="6.5"):
        extra.full_clean()


def test_share_range():
    parcel = Parcel.objects.create(geom=square(X0, Y0, 10))
    with pytest.raises(IntegrityError, match="ownership_share_range"), transaction.atomic():
        Ownership.objects.create(parcel=parcel, owner=_owner("احمدی", "0499370899"), share_dang=Decimal("7"))


def test_owner_national_id_checked_by_kind():
    with pytest.raises(ValidationError, match="check digit"):
        Owner(kind="person", last_name="احمدی", national_id="0499370898").full_clean()
    Owner(kind="person", last_name="احمدی", national_id="0499370899").full_clean()
    Owner(kind="legal", legal_name="شرکت نمونه", national_id="10100000001").full_clean()
    with pytest.raises(ValidationError, match="11 digits"):
        Owner(kind="legal", legal_name="شرکت نمونه", national_id="0499370899").full_clean()
    with pytest.raises(ValidationError, match="last name"):
        Owner(kind="person", national_id="0499370899").full_clean()
