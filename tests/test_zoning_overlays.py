"""Parcel overlays against the real PostGIS: zone, road widening, historic core, floodplain, fault distance and
terrain, each checked against an independent shapely/rasterio computation from the same stored geometries."""

import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine
from django.conf import settings
from django.db import connection
from pyproj import Transformer
from rasterio.mask import mask
from shapely import wkb

from parcels.models import Parcel, Street
from zoning import terrain
from zoning.models import Overlay, ParcelOverlay, Zone

pytestmark = pytest.mark.django_db


def fetch(sql, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall()


def parcels():
    return {pid: wkb.loads(bytes(g)) for pid, g in fetch("SELECT id, ST_AsBinary(geom) FROM parcels_parcel")}


def test_every_parcel_has_its_overlay_row(demo_city):
    assert ParcelOverlay.objects.count() == Parcel.objects.count() > 2000


def test_widening_matches_shapely(demo_city):
    geoms = parcels()
    streets = {sid: (wkb.loads(bytes(g)), planned) for sid, g, planned in fetch(
        "SELECT id, ST_AsBinary(geom), planned_width FROM parcels_street WHERE planned_width > existing_width")}
    expected = {}
    for pid, sid in fetch("SELECT parcel_id, street_id FROM parcels_frontage"):
        if sid in streets:
            line, planned = streets[sid]
            strip = geoms[pid].intersection(line.buffer(planned / 2.0, cap_style="flat", join_style="mitre"))
            expected[pid] = shapely.union_all([expected.get(pid, shapely.Polygon()), strip])
    expected = {pid: g.area for pid, g in expected.items() if g.area >= 0.01}
    stored = dict(ParcelOverlay.objects.filter(widening_area__gt=0).values_list("parcel_id", "widening_area"))
    assert len(expected) > 50
    assert set(stored) == set(expected)
    assert all(stored[p] == pytest.approx(expected[p], rel=1e-6, abs=1e-3) for p in expected)
    # The depth never exceeds half the planned width beyond the existing street edge.
    depth = fetch("SELECT max(o.widening_depth) FROM zoning_parceloverlay o")[0][0]
    assert 0 < depth <= max(p for _l, p in streets.values()) / 2


def test_zone_and_hazards_match_shapely(demo_city):
    geoms = parcels()
    zones = [(code, wkb.loads(bytes(g))) for code, g in fetch("SELECT code, ST_AsBinary(geom) FROM zoning_zone")]
    kinds = {}
    for kind, g in fetch("SELECT kind, ST_AsBinary(geom) FROM zoning_overlay"):
        kinds.setdefault(kind, []).append(wkb.loads(bytes(g)))
    stored = {o.parcel_id: o for o in ParcelOverlay.objects.all()}
    tree = shapely.STRtree([z for _c, z in zones])
    mismatched_zone = 0
    for pid, geom in geoms.items():
        shares = {}
        for i in tree.query(geom, predicate="intersects"):
            code, zone = zones[i]
            shares[code] = max(shares.get(code, 0), zone.intersection(geom).area / geom.area)
        best = max(shares.items(), key=lambda kv: (kv[1], -ord(kv[0][0])))[0] if shares else ""
        if stored[pid].zone_code != best and abs(shares.get(stored[pid].zone_code, 0) - shares.get(best, 0)) > 1e-6:
            mismatched_zone += 1
    assert mismatched_zone == 0
    for kind, field in (("historic_core", "in_historic_core"), ("floodplain", "in_floodplain")):
        union = shapely.union_all(kinds[kind])
        expected = {pid for pid, g in geoms.items() if g.intersects(union) and not g.touches(union)}
        assert {pid for pid, o in stored.items() if getattr(o, field)} == expected
        assert expected, kind
    fault = shapely.union_all(kinds["fault_line"])
    for pid in list(geoms)[:300]:
        assert stored[pid].fault_distance == pytest.approx(geoms[pid].distance(fault), abs=1e-6)


def test_street_edit_refreshes_the_widening(demo_city, django_capture_on_commit_callbacks):
    pid, sid, before = fetch("""
        SELECT f.parcel_id, f.street_id, o.widening_area FROM parcels_frontage f
        JOIN parcels_street s ON s.id = f.street_id JOIN zoning_parceloverlay o ON o.parcel_id = f.parcel_id
        WHERE s.planned_width > s.existing_width AND o.widening_area > 0
          AND (SELECT count(*) FROM parcels_frontage f2 WHERE f2.parcel_id = f.parcel_id) = 1
        ORDER BY f.parcel_id LIMIT 1""")[0]
    street = Street.objects.get(pk=sid)
    with django_capture_on_commit_callbacks(execute=True):
        street.planned_width = street.existing_width      # the plan drops the widening
        street.save()
    assert ParcelOverlay.objects.get(parcel_id=pid).widening_area == 0
    with django_capture_on_commit_callbacks(execute=True):
        street.planned_width = street.existing_width + 6
        street.save()
    assert ParcelOverlay.objects.get(parcel_id=pid).widening_area > 0
    assert before > 0


def test_zone_edit_refreshes_parcel_zones(demo_city, django_capture_on_commit_callbacks):
    zone = Zone.objects.filter(code="R121").order_by("id").first()
    inside = list(ParcelOverlay.objects.filter(zone_code="R121", zone_share=1.0,
                                               parcel__geom__within=zone.geom).values_list("parcel_id", flat=True)[:5])
    assert inside
    with django_capture_on_commit_callbacks(execute=True):
        zone.code = "R131"
        zone.save()
    assert set(ParcelOverlay.objects.filter(parcel_id__in=inside).values_list("zone_code", flat=True)) == {"R131"}


def test_overlay_edit_refreshes_floodplain(demo_city, django_capture_on_commit_callbacks):
    flood = Overlay.objects.filter(kind="floodplain").first()
    flagged = ParcelOverlay.objects.filter(in_floodplain=True).count()
    assert flagged
    with django_capture_on_commit_callbacks(execute=True):
        flood.delete()
    assert ParcelOverlay.objects.filter(in_floodplain=True).count() < flagged


def test_terrain_of_the_demo_dem_matches_rasterio_mask(demo_city):
    _gpkg, dem = demo_city
    result = terrain.compute(str(dem))
    assert result["parcels"] == Parcel.objects.count()
    sample = list(ParcelOverlay.objects.filter(elevation_mean__isnull=False).order_by("-parcel__measured_area")[:20])
    assert len(sample) == 20
    with rasterio.open(dem) as src:
        for o in sample:
            geom = wkb.loads(bytes(fetch("SELECT ST_AsBinary(geom) FROM parcels_parcel WHERE id = %s",
                                         [o.parcel_id])[0][0]))
            cut, _t = mask(src, [geom.__geo_interface__], crop=True, filled=False)
            values = cut[0].compressed()
            assert o.elevation_mean == pytest.approx(float(values.mean()), abs=0.01)
            assert o.elevation_max == pytest.approx(float(values.max()), abs=0.01)
    assert 1000 < ParcelOverlay.objects.order_by("elevation_mean").first().elevation_mean < 2000


@pytest.mark.parametrize("crs", ["EPSG:4326", "municipal"])
def test_terrain_slope_of_a_tilted_plane_in_any_crs(demo_city, tmp_path, crs):
    """A plane rising 8 m per 100 m northward: every parcel's slope is 8%, whatever the DEM's CRS."""
    xmin, ymin, xmax, ymax = fetch("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                                   "(SELECT ST_Extent(geom)::geometry e FROM parcels_parcel) x")[0]
    if crs == "municipal":
        epsg, res = settings.MUNICIPALITY_SRID, 10.0
        x0, y1 = xmin - 100, ymax + 100
        w, h = int((xmax - xmin + 200) / res), int((ymax - ymin + 200) / res)
        ys = y1 - (np.arange(h) + 0.5) * res
        z = np.repeat((0.08 * (ys - ymin))[:, None], w, axis=1)
    else:
        epsg, res = 4326, 0.0001
        to = Transformer.from_crs(settings.MUNICIPALITY_SRID, 4326, always_xy=True)
        lon0, lat0 = to.transform(xmin - 100, ymin - 100)
        lon1, lat1 = to.transform(xmax + 100, ymax + 100)
        x0, y1 = lon0, lat1
        w, h = int((lon1 - lon0) / res), int((lat1 - lat0) / res)
        lats = y1 - (np.arange(h) + 0.5) * res
        z = np.repeat((0.08 * (lats - lat0) * terrain.EARTH_M_PER_DEG)[:, None], w, axis=1)
    path = tmp_path / "plane.tif"
    with rasterio.open(path, "w", driver="GTiff", width=w, height=h, count=1, dtype="float32", crs=f"EPSG:{epsg}",
                       transform=Affine(res, 0, x0, 0, -res, y1)) as dst:
        dst.write(z.astype("float32"), 1)
    terrain.compute(str(path))
    slopes = np.array(ParcelOverlay.objects.values_list("slope_mean", flat=True), dtype=float)
    assert np.isfinite(slopes).all()
    # UTM's grid north differs from true north by a little, so the 4326 plane's slope is measured very close to 8%.
    assert np.median(slopes) == pytest.approx(8.0, abs=0.05)
    assert np.abs(slopes - 8.0).max() < 0.3


def test_overlay_import_refreshes_the_parcels_under_it(demo_city, tmp_path):
    from parcels.importing import ImportOptions, run_import

    parcel = (ParcelOverlay.objects.filter(in_floodplain=False).order_by("parcel_id").first()).parcel
    to = Transformer.from_crs(settings.MUNICIPALITY_SRID, 4326, always_xy=True)
    inner = shapely.transform(wkb.loads(bytes(parcel.geom.wkb)).buffer(-0.5),
                              lambda xy: np.column_stack(to.transform(xy[:, 0], xy[:, 1])))
    path = tmp_path / "flood.geojson"
    path.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "test"}, '
                    f'"geometry": {shapely.to_geojson(inner)}}}]}}')
    report = run_import(ImportOptions(layer="overlays", path=str(path), commit=True,
                                      mapping={"kind": "=floodplain", "source_id": "=test-flood", "name": "name"}))
    assert report.inserted == 1
    assert report.post_load["parcel hazard facts refreshed"] >= 1
    assert ParcelOverlay.objects.get(parcel=parcel).in_floodplain


def test_parcel_edit_refreshes_its_terrain_from_the_registered_dem(demo_city, django_capture_on_commit_callbacks):
    _gpkg, dem = demo_city
    terrain.compute(str(dem))
    parcel = Parcel.objects.order_by("-measured_area").first()
    whole_city = ParcelOverlay.objects.get(parcel=parcel)
    ParcelOverlay.objects.filter(parcel=parcel).update(slope_mean=None, elevation_mean=None)
    with django_capture_on_commit_callbacks(execute=True):
        parcel.save()
    again = ParcelOverlay.objects.get(parcel=parcel)
    # The window read around one parcel gives what the whole-grid pass gave.
    assert again.slope_mean == pytest.approx(whole_city.slope_mean, abs=0.01)
    assert again.elevation_mean == pytest.approx(whole_city.elevation_mean, abs=0.01)


def test_refresh_overlays_command_rebuilds_missing_facts(demo_city):
    from django.core.management import call_command

    expected = dict(ParcelOverlay.objects.values_list("parcel_id", "widening_area"))
    zones = dict(ParcelOverlay.objects.values_list("parcel_id", "zone_code"))
    ParcelOverlay.objects.all().delete()
    call_command("refresh_overlays", "--if-absent")
    assert dict(ParcelOverlay.objects.values_list("parcel_id", "widening_area")) == pytest.approx(expected)
    assert dict(ParcelOverlay.objects.values_list("parcel_id", "zone_code")) == zones
