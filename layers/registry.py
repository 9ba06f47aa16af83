"""Published layers: what each may show to the public and how its features are fetched.

The seed of the layer registry (the layers issue extends it with styles, exports, OGC API and tiles): one entry per
layer, read alike by the map page and the API. Only the columns listed here ever leave the server, so owners'
data cannot leak through a layer.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Layer:
    name: str
    title: str
    title_en: str
    table: str
    columns: tuple[str, ...]  # public attribute columns (SQL expressions over alias t, with "AS name")
    max_features: int  # never more features per GeoJSON request
    tile_min_zoom: int = 0  # vector tiles of the layer exist from this zoom on (below: no content)
    tile_max_features: int = 20_000  # never more features in one tile
    # Below detail_zoom tiles carry only overview_columns (what the map styles by): a z14 parcels tile holds
    # ~10,000 parcels, and their codes and areas tripled its size for nothing the map can show at that scale.
    detail_zoom: int = 0
    overview_columns: tuple[str, ...] = ()

    def tile_columns(self, z: int) -> tuple[str, ...]:
        return self.columns if z >= self.detail_zoom else self.overview_columns


LAYERS = {
    layer.name: layer
    for layer in [
        Layer("districts", "مناطق", "Districts", "parcels_district",
              ("t.code AS code", "t.name AS name", "t.name_en AS name_en"), 100, 0),
        Layer("blocks", "بلوک‌ها", "Blocks", "parcels_block",
              ("t.code AS code",), 3000, 13),
        Layer("streets", "معابر", "Streets", "parcels_street",
              ("t.name AS name", "t.kind AS kind", "t.existing_width AS existing_width",
               "t.planned_width AS planned_width"), 5000, 12),
        Layer("zoning", "پهنه‌بندی", "Zoning", "zoning_zone",
              ("t.code AS code", "t.name AS name"), 3000, 10),
        Layer("parcels", "قطعات", "Parcels", "parcels_parcel",
              ("t.id AS id", "t.renewal_code AS renewal_code", "t.land_use_id AS land_use",
               "round(t.measured_area::numeric, 1) AS measured_area", "t.is_corner AS is_corner",
               "t.widest_street_width AS widest_street_width"), 5000, 14,
              detail_zoom=16, overview_columns=("t.land_use_id AS land_use",)),
        Layer("buildings", "ساختمان‌ها", "Buildings", "parcels_building",
              ("t.floors_above AS floors_above", "t.structure_type_id AS structure_type"), 5000, 15),
    ]
}
