"""The demo city loaded into PostGIS through the import core: complete, linked, derived facts computed, marked as
demo data on screen."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Q, Sum

from parcels.models import Block, Building, ImportRun, Owner, Ownership, Parcel, Street
from tests.conftest import DEMO_TEST_PARCELS
from zoning.models import Overlay, Zone

pytestmark = pytest.mark.django_db


def test_every_layer_loaded(demo_city):
    n = Parcel.objects.filter(renewal_code__isnull=False).count()
    assert abs(n - DEMO_TEST_PARCELS) <= DEMO_TEST_PARCELS * 0.1
    assert Street.objects.count() > 50 and Block.objects.count() > 20 and Building.objects.count() > n * 0.7
    assert Zone.objects.count() > 3
    assert set(Overlay.objects.values_list("kind", flat=True)) == {"historic_core", "river", "floodplain", "fault_line"}
    assert ImportRun.objects.filter(is_demo=True, committed=True).count() >= 8


def test_parcels_linked_to_blocks_zones_districts(demo_city):
    demo = Parcel.objects.filter(renewal_code__isnull=False)
    assert not demo.filter(Q(block__isnull=True) | Q(zone__isnull=True) | Q(district__isnull=True)).exists()
    sample = demo.select_related("block").first()
    assert sample.renewal_code.startswith(sample.block.code + "-")


def test_derived_facts(demo_city):
    demo = Parcel.objects.filter(renewal_code__isnull=False)
    total = demo.count()
    fronting = demo.filter(frontage_length__gt=0).count()
    corners = demo.filter(is_corner=True).count()
    assert fronting >= 0.97 * total  # the generator puts every lot on a street
    assert 0.05 * total < corners < 0.5 * total
    widths = set(demo.exclude(widest_street_width=None).values_list("widest_street_width", flat=True))
    assert min(widths) >= 6 and max(widths) <= 45
    # Parcels along main roads are mostly commercial, as towns are.
    main = demo.filter(frontages__street__kind="main").distinct()
    share_main = main.filter(land_use="commercial").count() / max(main.count(), 1)
    share_rest = demo.exclude(pk__in=main).filter(land_use="commercial").count() / max(total - main.count(), 1)
    assert share_main > 2 * share_rest


def test_ownership_shares_whole(demo_city):
    sums = (Ownership.objects.values("parcel").annotate(total=Sum("share_dang"))
            .exclude(total=6).count())
    assert sums == 0
    with connection.cursor() as cursor:  # the deferred six-dang trigger holds for every loaded row
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert Owner.objects.filter(kind="legal").exists() and Owner.objects.filter(kind="person").exists()
    person = Owner.objects.filter(kind="person").first()
    person.full_clean()  # national ID check digit, phone


def test_geometry_valid_and_in_place(demo_city):
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FILTER (WHERE NOT ST_IsValid(geom)), "
                       "ST_Extent(ST_Transform(geom, 4326)) FROM parcels_parcel WHERE renewal_code IS NOT NULL")
        invalid, extent = cursor.fetchone()
    assert invalid == 0
    lon0, lat0, lon1, lat1 = (float(v) for v in extent[4:-1].replace(",", " ").split())
    assert lon0 < 54.553 < lon1 and lat0 < 28.755 < lat1  # Darab


def test_area_mismatch_flagged_for_some(demo_city):
    flagged = Parcel.objects.with_area_mismatch().filter(area_mismatch=True, renewal_code__isnull=False).count()
    assert 0 < flagged < 0.1 * Parcel.objects.count()


def test_reload_is_a_noop(demo_city, capsys):
    call_command("load_demo_city", "--if-absent", "--parcels", "2500")
    assert "already loaded" in capsys.readouterr().out


def test_pages_say_demo_data(demo_city, client, settings):
    settings.MUNICIPALITY_NAME, settings.MUNICIPALITY_NAME_EN = "شهرداری نمونه‌آباد", "Nemuneh-Abad Municipality"
    page = client.get("/").content.decode()
    assert 'data-testid="demo-banner"' in page and "داده‌های نمایشی" in page
    assert "شهرداری نمونه‌آباد" in page.split('data-testid="demo-banner"')[1].split("</div>")[0]  # its city, not Darab
    assert "داراب" not in page
    client.cookies["django_language"] = "en"
    banner = client.get("/").content.decode().split('data-testid="demo-banner"')[1].split("</div>")[0]
    assert "not the real cadastre of Nemuneh-Abad Municipality" in banner


def test_anonymous_api_never_carries_owner_data(demo_city, client):
    owner = Owner.objects.filter(kind="person").first()
    extent = client.get("/api/city").json()["bbox"]
    body = client.get("/api/layers/parcels.geojson", {"bbox": ",".join(map(str, extent)), "limit": 5000}).content.decode()
    assert owner.last_name not in body and owner.national_id not in body and owner.phone not in body
