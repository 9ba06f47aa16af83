"""The real Cambridge (MA) parcels and zoning, imported as another municipality would: its own projected CRS
(EPSG:26986, set by the second run of `./run test`). Expected figures are computed here independently with
geopandas/shapely from the same files, never typed in."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from django.utils import translation

from parcels.importing import ImportError_, ImportOptions, run_import
from parcels.models import Parcel
from tests.conftest import CAMBRIDGE, OTHER_CITY_SRID
from zoning.models import Zone

pytestmark = [pytest.mark.other_city(srid=OTHER_CITY_SRID), pytest.mark.django_db,
              pytest.mark.skipif(not CAMBRIDGE.is_dir(), reason=f"needs the real Cambridge data in {CAMBRIDGE}")]

PARCELS = CAMBRIDGE / "ASSESSING_ParcelsFY2014.topojson"
TAX = CAMBRIDGE / "TaxFY14.csv"
ZONING = CAMBRIDGE / "CDD_ZoningDistricts.geojson"


@pytest.fixture(autouse=True)
def english():
    """The messages asserted here are the English ones; outside a request or a command the language is Persian."""
    with translation.override("en"):
        yield


@pytest.fixture(scope="module")
def truth():
    """What the file holds, computed without the project's code."""
    frame = gpd.read_file(PARCELS, engine="pyogrio")  # no CRS declared: coordinates are lon/lat
    geoms = frame.geometry.values
    empty = np.asarray(frame.geometry.isna() | frame.geometry.is_empty)
    invalid = ~empty & ~np.asarray(shapely.is_valid(geoms))
    ml = frame["ML"].where(frame["ML"].notna(), None)
    dup = ml.notna() & ml.duplicated(keep=False)
    importable = ~empty & ml.notna().to_numpy() & ~dup.to_numpy()
    projected = frame[importable].set_crs(4326).to_crs(26986)
    tax = pd.read_csv(TAX, dtype=str)
    return {
        "n": len(frame), "empty_ml": list(ml[empty]), "invalid": int(invalid.sum()),
        "null_ml": int(ml.isna().sum()), "dup_rows": int(dup.sum()), "importable": int(importable.sum()),
        "median_area": float(np.median(shapely.area(shapely.make_valid(projected.geometry.values)))),
        "tax_keys": tax["ML"].nunique(), "tax_multi": int((tax["ML"].value_counts() > 1).sum()),
        "matched": int((ml.notna() & ml.isin(set(tax["ML"].dropna()))).sum()),
    }


def opts(**kw):
    base = dict(layer="parcels", path=str(PARCELS), mapping={"source_id": "ML"})
    base.update(kw)
    return ImportOptions(**base)


def test_file_without_crs_is_refused():
    with pytest.raises(ImportError_, match="declares no coordinate reference system"):
        run_import(opts())


def test_dry_run_finds_every_trap(truth):
    report = run_import(opts(srs="EPSG:4326"))
    assert report.features_read == truth["n"] == 13116
    counts = report.counts_by_kind
    invalid_in_file = [i for i in report.issues if i.kind == "invalid_geometry" and "after reprojection" not in i.message]
    assert len(invalid_in_file) == truth["invalid"] == 37
    assert counts["empty_geometry"] == 1
    assert [i.key for i in report.issues if i.kind == "empty_geometry"] == truth["empty_ml"] == ["238-80"]
    assert counts["null_key"] == truth["null_ml"] == 1
    assert counts["duplicate_key"] == truth["dup_rows"]
    assert not Parcel.objects.exists()


def test_join_tax_records(truth):
    report = run_import(opts(srs="EPSG:4326", join_csv=str(TAX), join_on="ML"))
    assert report.join["csv rows"] == 27528
    assert report.join["distinct keys"] == truth["tax_keys"] == 13021
    assert report.join["keys with several rows (first used)"] == truth["tax_multi"]
    assert report.join["features matched"] == truth["matched"]


def test_commit_repaired_and_reimport_in_place(truth):
    report = run_import(opts(srs="EPSG:4326", fix=True, skip_invalid=True, commit=True,
                             join_csv=str(TAX), join_on="ML"))
    assert report.inserted == truth["importable"] == Parcel.objects.count()
    assert len(report.fixed) >= truth["invalid"]
    assert all(g.valid for g in Parcel.objects.values_list("geom", flat=True)[:50])
    median = float(np.median(list(Parcel.objects.values_list("measured_area", flat=True))))
    assert median == pytest.approx(truth["median_area"], rel=1e-3)
    assert 300 < median < 500  # README: about 389 m²
    sample = Parcel.objects.get(source_id="7-18")
    assert sample.attributes["UseDescription"] == "PARKING-LOT"  # joined from TaxFY14.csv
    again = run_import(opts(srs="EPSG:4326", fix=True, skip_invalid=True, commit=True,
                            join_csv=str(TAX), join_on="ML"))
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, truth["importable"])


def test_zoning_districts():
    frame = gpd.read_file(ZONING, engine="pyogrio")
    report = run_import(ImportOptions(layer="zoning", path=str(ZONING), commit=True,
                                      mapping={"code": "ZONE_TYPE", "source_id": "@fid"}))
    assert report.inserted == len(frame) == Zone.objects.count() == 261
    assert Zone.objects.values("code").distinct().count() == frame["ZONE_TYPE"].nunique()
    total = sum(z.area for z in Zone.objects.values_list("geom", flat=True))
    assert total == pytest.approx(frame.to_crs(26986).area.sum(), rel=1e-6)
