"""Tests of the demo town generator (pure: no database, no Django).

One small town is generated per module and checked layer by layer; two more
parcels-only runs check determinism.
"""

from __future__ import annotations

import csv
import hashlib
import re
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely

from data.demo_city.generator import ALL_LAYERS, CityParams, generate_city

N_PARCELS = 2500
SEED = 1404
REFERENCE = Path(__file__).resolve().parents[1] / "data" / "reference"
POSTAL_RE = re.compile(r"^(?!(\d)\1{3})[13-9]{4}[1346-9][013-9]{5}$")

FIELDS = {
    "districts": {"code", "name", "name_en"},
    "cadastral_zones": {"code", "district_code", "name", "name_en"},
    "blocks": {"code", "district_code", "zone_code", "land_price"},
    "streets": {"street_id", "name", "name_en", "kind", "existing_width", "planned_width"},
    "parcels": {"renewal_code", "plate_section", "plate_main", "plate_sub", "postal_code",
                "deed_area", "land_use"},
    "buildings": {"building_no", "renewal_code", "floors_above", "floors_below",
                  "structure_type", "year_built", "use", "gross_floor_area", "units"},
    "addresses": {"renewal_code", "street_id", "plaque", "postal_code"},
    "owners": {"owner_id", "kind", "first_name", "last_name", "legal_name", "national_id", "phone"},
    "ownerships": {"renewal_code", "owner_id", "share_dang"},
    "zoning": {"code", "name", "name_en", "colour"},
    "historic_core": {"name", "name_en"},
    "river": {"name", "name_en"},
    "floodplain": {"name", "name_en"},
    "fault_line": {"name", "name_en"},
}
GEOMETRY = {
    "districts": "MultiPolygon", "cadastral_zones": "MultiPolygon", "blocks": "MultiPolygon",
    "streets": "LineString", "parcels": "MultiPolygon", "buildings": "Polygon",
    "zoning": "MultiPolygon", "historic_core": "Polygon", "river": "LineString",
    "floodplain": "MultiPolygon", "fault_line": "LineString",
}


def _codes(name: str) -> set[str]:
    with open(REFERENCE / name, encoding="utf-8") as f:
        return {row["code"] for row in csv.DictReader(f)}


def _parcels_hash(path: Path) -> str:
    df = pyogrio.read_dataframe(path, layer="parcels")
    h = hashlib.sha256()
    for wkb in shapely.to_wkb(df.geometry.values, hex=False):
        h.update(wkb)
    h.update(df.drop(columns="geometry").to_csv(index=False).encode())
    return h.hexdigest()


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo_city")
    return generate_city(CityParams(parcels=N_PARCELS, seed=SEED), out_dir=out)


@pytest.fixture(scope="module")
def gpkg(city):
    return {name: pyogrio.read_dataframe(city.gpkg_path, layer=name) for name in ALL_LAYERS}


def test_every_layer_has_its_fields(city, gpkg):
    listed = {name for name, _ in pyogrio.list_layers(city.gpkg_path)}
    assert listed == set(ALL_LAYERS)
    for name, fields in FIELDS.items():
        columns = set(gpkg[name].columns) - {"geometry"}
        assert fields <= columns, (name, fields - columns)
        assert len(gpkg[name]) == city.counts[name] > 0


def test_crs_geometry_types_and_validity(city, gpkg):
    for name, gtype in GEOMETRY.items():
        info = pyogrio.read_info(city.gpkg_path, layer=name)
        assert info["crs"] == "EPSG:32640", name
        assert info["geometry_type"] == gtype, name
        geoms = gpkg[name].geometry.values
        assert not shapely.is_empty(geoms).any(), name
        assert shapely.is_valid(geoms).all(), (name, shapely.is_valid_reason(geoms[~shapely.is_valid(geoms)])[:3])
    # the address table carries entrance points
    assert pyogrio.read_info(city.gpkg_path, layer="addresses")["geometry_type"] == "Point"


def test_parcel_count_and_areas(gpkg):
    parcels = gpkg["parcels"]
    assert abs(len(parcels) - N_PARCELS) <= 0.1 * N_PARCELS
    area = shapely.area(parcels.geometry.values)
    assert area.min() >= 80 and area.max() <= 2000
    assert 150 < np.median(area) < 500


def test_renewal_codes_and_plates(gpkg):
    p = gpkg["parcels"]
    assert p.renewal_code.is_unique
    assert p.renewal_code.str.fullmatch(r"[1-9]-[1-9]-\d{3}-\d{3}-0-0-0").all()
    assert p.plate_section.between(1, 3).all()
    assert not p.duplicated(["plate_section", "plate_main", "plate_sub"]).any()
    block = p.renewal_code.str[:7]
    assert (p.groupby(block).plate_main.nunique() == 1).mean() > 0.9
    blocks = gpkg["blocks"]
    assert set(block) <= set(blocks.code)
    assert blocks.land_price.between(800_000, 12_000_000).all()


def test_postal_codes(gpkg):
    for layer in ("parcels", "addresses"):
        codes = gpkg[layer].postal_code
        assert codes.map(lambda c: bool(POSTAL_RE.match(c))).all()
        assert codes.is_unique


def test_owners(gpkg):
    owners = gpkg["owners"]
    assert owners.owner_id.is_unique
    persons = owners[owners.kind == "person"]
    legal = owners[owners.kind == "legal"]
    assert len(persons) and len(legal)
    assert persons.first_name.notna().all() and persons.last_name.notna().all()
    assert legal.legal_name.notna().all()
    assert persons.national_id.is_unique
    for nid in persons.national_id:
        assert re.fullmatch(r"\d{10}", nid) and len(set(nid)) > 1
        d = [int(c) for c in nid]
        r = sum(d[i] * (10 - i) for i in range(9)) % 11
        assert d[9] == (r if r < 2 else 11 - r), nid
    assert legal.national_id.str.fullmatch(r"1\d{10}").all()
    phones = persons.phone.dropna()
    assert phones.str.fullmatch(r"09\d{9}").all() and len(phones) > 0.7 * len(persons)
    assert legal.phone.str.fullmatch(r"071\d{8}").all()
    assert "شهرداری داراب" in set(legal.legal_name)


def test_ownership_shares(gpkg):
    own = gpkg["ownerships"]
    sums = own.groupby("renewal_code").share_dang.sum()
    assert set(sums.index) == set(gpkg["parcels"].renewal_code)
    assert np.allclose(sums.values, 6.0, atol=1e-9)
    assert own.owner_id.isin(gpkg["owners"].owner_id).all()
    assert (own.groupby("renewal_code").size() > 1).any()
    assert own.owner_id.value_counts().max() > 1          # someone owns several parcels
    public = gpkg["parcels"].land_use.isin(["education", "green_space"])
    public_codes = set(gpkg["parcels"].renewal_code[public])
    kinds = own.merge(gpkg["owners"], on="owner_id").set_index("renewal_code").kind
    assert (kinds[kinds.index.isin(public_codes)] == "legal").all()


def test_land_uses_and_structures_are_reference_codes(gpkg):
    uses = _codes("land_uses.csv")
    assert set(gpkg["parcels"].land_use) <= uses
    assert set(gpkg["buildings"].use) <= uses
    assert set(gpkg["buildings"].structure_type) <= _codes("structure_types.csv")
    share = gpkg["parcels"].land_use.value_counts(normalize=True)
    assert share["residential"] > 0.5
    assert 0.02 < share["vacant"] < 0.12
    for code in ("commercial", "religious", "education", "green_space", "gardens_agriculture",
                 "industrial", "historic_heritage"):
        assert code in share.index, code


def test_streets(gpkg):
    s = gpkg["streets"]
    assert s.street_id.is_unique
    ranges = {"main": (30, 45), "local": (6, 12), "dead_end": (6, 8)}
    for kind, (lo, hi) in ranges.items():
        w = s.existing_width[s.kind == kind]
        assert len(w) and w.between(lo, hi).all(), kind
    assert set(s.kind) == set(ranges)
    planned = s.planned_width.notna()
    assert planned.any()
    assert (s.planned_width[planned] > s.existing_width[planned]).all()
    assert s.name[s.kind == "main"].str.startswith("خیابان").all()
    assert s.name[s.kind == "local"].str.startswith("کوچه").all()
    assert s.name[s.kind == "dead_end"].str.startswith("بن\u200cبست").all()
    assert (s.groupby("name").size() > 1).any()          # streets span several segments


def test_every_parcel_fronts_a_street(gpkg):
    s = gpkg["streets"]
    reach = shapely.buffer(s.geometry.values, s.existing_width.values / 2 + 1.0)
    tree = shapely.STRtree(reach)
    parcel_idx, _ = tree.query(gpkg["parcels"].geometry.values, predicate="intersects")
    assert len(np.unique(parcel_idx)) == len(gpkg["parcels"])


def test_parcels_do_not_overlap_and_lie_in_blocks(gpkg):
    geoms = gpkg["parcels"].geometry.values
    total = shapely.area(geoms).sum()
    union = shapely.area(shapely.union_all(geoms))
    assert abs(total - union) / total < 0.001
    blocks = gpkg["blocks"].set_index("code").geometry
    outside = shapely.area(shapely.difference(geoms, blocks.loc[gpkg["parcels"].renewal_code.str[:7]].values))
    assert outside.max() < 0.01


def test_buildings(gpkg):
    b = gpkg["buildings"]
    p = gpkg["parcels"].set_index("renewal_code")
    assert b.building_no.is_unique
    assert b.floors_above.between(1, 6).all() and b.floors_below.between(0, 1).all()
    assert b.year_built.between(1300, 1404).all() and (b.units >= 1).all()
    assert (b.floors_above <= 2).mean() > 0.6
    parcel = p.geometry.loc[b.renewal_code].values
    assert shapely.area(shapely.difference(b.geometry.values, parcel)).max() < 0.01
    coverage = shapely.area(b.geometry.values) / shapely.area(parcel)
    assert 0.45 < np.median(coverage) < 0.85
    gfa = shapely.area(b.geometry.values) * (b.floors_above + b.floors_below)
    assert np.allclose(b.gross_floor_area, gfa, rtol=0.05)
    built = set(b.renewal_code)
    assert 0.75 < len(built) / len(p) < 0.92
    empty = p.index[p.land_use.isin(["vacant", "green_space"])]
    assert not set(empty) & built


def test_addresses(gpkg):
    a = gpkg["addresses"]
    s = gpkg["streets"].set_index("street_id")
    assert a.renewal_code.is_unique and set(a.renewal_code) == set(gpkg["parcels"].renewal_code)
    assert a.street_id.isin(s.index).all()
    named = a.assign(street=s.name.loc[a.street_id].values)
    assert not named.duplicated(["street", "plaque"]).any()
    dist = shapely.distance(a.geometry.values, s.geometry.loc[a.street_id].values)
    assert (dist <= s.existing_width.loc[a.street_id].values / 2 + 1.0).all()


def test_commercial_concentrates_on_main_roads(gpkg):
    s = gpkg["streets"]
    main = shapely.union_all(shapely.buffer(s.geometry[s.kind == "main"].values,
                                            s.existing_width[s.kind == "main"].values / 2 + 1.0))
    p = gpkg["parcels"]
    on_main = shapely.intersects(p.geometry.values, main)
    commercial = (p.land_use == "commercial").values
    assert commercial[on_main].mean() > 2 * commercial[~on_main].mean()


def test_natural_features(gpkg):
    river = gpkg["river"].geometry.values[0]
    parcels = gpkg["parcels"].geometry.values
    assert not shapely.intersects(parcels, river.buffer(10)).any()
    flood = gpkg["floodplain"].geometry.values[0]
    assert shapely.intersects(parcels, flood).any()
    core = gpkg["historic_core"].geometry.values[0]
    assert shapely.intersects(parcels, core).sum() > 50
    fault = gpkg["fault_line"].geometry.values[0]
    (x0, y0), (x1, y1) = fault.coords[0], fault.coords[-1]
    assert (x1 - x0) * (y1 - y0) < 0                      # runs NW-SE


def test_zoning_covers_blocks_without_overlap(gpkg):
    z = gpkg["zoning"]
    assert set(z.code) <= {"R111", "R121", "R131", "C1", "C2", "M1", "H", "G", "I1", "P"}
    geoms = z.geometry.values
    assert abs(shapely.area(geoms).sum() - shapely.area(shapely.union_all(geoms))) < 1.0
    blocks = shapely.union_all(gpkg["blocks"].geometry.values)
    assert shapely.area(shapely.difference(blocks, shapely.union_all(geoms))) < 1.0
    districts = gpkg["districts"]
    assert districts.code.isin([str(i) for i in range(1, 10)]).all()
    assert districts.name.str.startswith("منطقه").all()


def test_deed_areas(gpkg):
    p = gpkg["parcels"]
    ratio = (p.deed_area / shapely.area(p.geometry.values)).dropna()
    assert 0.003 < p.deed_area.isna().mean() < 0.03
    assert (abs(ratio - 1) <= 0.0301).mean() > 0.95
    assert 0.005 < (abs(ratio - 1) >= 0.15).mean() < 0.05


def test_dem(city):
    import rasterio

    with rasterio.open(city.dem_path) as dem:
        assert dem.crs.to_epsg() == 32640
        assert dem.nodata is not None and dem.dtypes[0] == "float32"
        assert abs(dem.res[0] - 10) < 1e-9
        z = dem.read(1)
        rows = z.shape[0]
        north, south = z[: rows // 6].mean(), z[-rows // 6:].mean()
        assert north > south + 100
        assert 1100 < np.median(z[-rows // 3:]) < 1200
        assert 1350 < z.max() < 1800


def test_determinism(city, tmp_path):
    params = CityParams(parcels=N_PARCELS, seed=SEED, layers={"parcels"})
    again = generate_city(params, out_dir=tmp_path / "again")
    assert list(pyogrio.list_layers(again.gpkg_path)[:, 0]) == ["parcels"]
    assert _parcels_hash(again.gpkg_path) == _parcels_hash(city.gpkg_path)
    other = generate_city(CityParams(parcels=N_PARCELS, seed=SEED + 1, layers={"parcels"}),
                          out_dir=tmp_path / "other")
    assert _parcels_hash(other.gpkg_path) != _parcels_hash(city.gpkg_path)


def test_codes_fit_widths_for_larger_towns(tmp_path):
    result = generate_city(CityParams(parcels=12000, seed=7, layers={"parcels"}), out_dir=tmp_path)
    p = pyogrio.read_dataframe(result.gpkg_path, layer="parcels", read_geometry=False)
    assert abs(len(p) - 12000) <= 1200
    assert p.renewal_code.is_unique
    assert p.renewal_code.str[0].nunique() >= 3


def test_command_line(tmp_path, capsys):
    from data.demo_city.__main__ import main

    assert main(["--parcels", "600", "--seed", "3", "--out", str(tmp_path), "--layers", "parcels,streets",
                 "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "parcels" in printed and "streets" in printed
    assert {name for name, _ in pyogrio.list_layers(tmp_path / "demo_city.gpkg")} == {"parcels", "streets"}
    assert not (tmp_path / "dem.tif").exists()
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path), "--layers", "parcels,nonsense"])
