"""The real Cambridge (MA) zoning districts overlaid on the Cambridge parcels, as another municipality would load
them (EPSG:26986, second run of `./run test`). Each parcel's zone (the district covering most of it) is compared
parcel by parcel with an independent geopandas/shapely computation from the same files."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from django.db import connection

from parcels.importing import ImportOptions, run_import
from tests.conftest import CAMBRIDGE, OTHER_CITY_SRID
from tests.test_cambridge import PARCELS, ZONING

pytestmark = [pytest.mark.other_city(srid=OTHER_CITY_SRID), pytest.mark.django_db,
              pytest.mark.skipif(not CAMBRIDGE.is_dir(), reason=f"needs the real Cambridge data in {CAMBRIDGE}")]
AMBIGUOUS = 1e-3   # parcels whose two largest zone shares differ by less are left out of the comparison


def expected_zones():
    """ML -> (zone code, margin to the runner-up), computed with geopandas/shapely only."""
    parcels = gpd.read_file(PARCELS, engine="pyogrio").set_crs(4326)
    ml = parcels["ML"]
    keep = parcels.geometry.notna() & ~parcels.geometry.is_empty & ml.notna() & ~ml.duplicated(keep=False)
    parcels = parcels[keep].to_crs(26986)
    parcels["geometry"] = shapely.make_valid(parcels.geometry.values)
    zones = gpd.read_file(ZONING, engine="pyogrio").to_crs(26986)[["ZONE_TYPE", "geometry"]]
    pieces = gpd.overlay(parcels[["ML", "geometry"]], zones, how="intersection", keep_geom_type=True)
    pieces["area"] = pieces.geometry.area
    per = pieces.groupby(["ML", "ZONE_TYPE"], as_index=False)["area"].max()   # the largest single district
    per = per.sort_values(["ML", "area", "ZONE_TYPE"], ascending=[True, False, True])
    top = per.groupby("ML").head(2).copy()
    top["rank"] = top.groupby("ML").cumcount()
    first = top[top["rank"] == 0].set_index("ML")
    second = top[top["rank"] == 1].set_index("ML")["area"].reindex(first.index).fillna(0)
    total = parcels.set_index("ML").geometry.area.reindex(first.index)
    return pd.DataFrame({"zone": first["ZONE_TYPE"], "margin": (first["area"] - second) / total})


def test_zone_of_each_parcel_matches_geopandas():
    report = run_import(ImportOptions(layer="parcels", path=str(PARCELS), srs="EPSG:4326", fix=True, skip_invalid=True,
                                      commit=True, mapping={"source_id": "ML"}))
    assert report.inserted > 13000
    run_import(ImportOptions(layer="zoning", path=str(ZONING), commit=True,
                             mapping={"code": "ZONE_TYPE", "source_id": "@fid"}))
    with connection.cursor() as cursor:
        cursor.execute("""SELECT p.source_id, o.zone_code FROM parcels_parcel p
                          JOIN zoning_parceloverlay o ON o.parcel_id = p.id""")
        stored = pd.Series(dict(cursor.fetchall()))
    truth = expected_zones()
    clear = truth[truth["margin"] >= AMBIGUOUS]
    assert len(clear) > 0.98 * len(truth) > 12000
    mine = stored.reindex(clear.index)
    assert mine.notna().all(), list(mine[mine.isna()].index[:10])  # every clear parcel was imported and zoned
    wrong = mine[mine != clear["zone"]]  # parcel by parcel, not only counts per zone (swaps would cancel out)
    assert wrong.empty, {ml: (mine[ml], clear["zone"][ml]) for ml in wrong.index[:10]}
    assert clear["zone"].nunique() > 30
    # Parcels in no district: the same set either way.
    no_zone = set(stored[stored == ""].index)
    assert no_zone == set(stored.index) - set(truth.index)
    assert np.isclose(len(no_zone), len(stored) - len(truth))
