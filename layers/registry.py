"""The layer registry: the one description of every published layer.

Each layer is registered once with its Persian and English title, its fields (SQL expression, type, labels), its
style (enough for a QGIS QML and the portal's legend) and who may see it. Exports (`layers/exports.py`), the OGC API
(`layers/ogc.py`), vector tiles (`layers/tiles.py`) and the portal's layer switcher all read it. Only the fields
listed here ever leave the server, so owners' data cannot leak through a layer: a layer that shows personal data
carries the personal-data permission and is refused to everyone else.

The cadastre's layers are registered here (this app publishes the cadastre below it); every other app (zoning's
zones and overlays, assessments, permits, reports, ...) adds its layers with `register(Layer(...))` from their
AppConfig.ready(), over a table or view with an integer `id` and a `geom` column in the municipality's CRS. A layer
names in `reads` every other table its SQL reads (a field's subquery, a view's base tables): its data version is the
sum of the versions of all of them, and after every migrate each gets its data-version trigger
(layers/versions.py), so tile caches, ETags and cached OGC counts follow all the data a layer shows.
tests/test_layer_versions.py compares `reads` with the tables PostgreSQL's plan of the layer's query reads.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

from parcels import overview

PERSONAL_DATA_PERMISSION = "parcels.view_personal_data"


@dataclass(frozen=True)
class Field:
    name: str
    sql: str  # SQL expression over the layer's table (alias t)
    type: str  # "integer" | "real" | "string" | "boolean": the type exports and the OGC API declare
    title: str
    title_en: str
    filterable: bool = True  # may be used in ?name=value filters (exports, OGC API)


@dataclass(frozen=True)
class Style:
    """How a layer is drawn, in QGIS and in the portal's legend. Colours are #rrggbb; widths in millimetres (QGIS).
    With `by`, features are coloured by the value of a field (or of its first letter with `by_prefix`):
    `classes` maps a value to (colour, Persian label, English label); an empty label means "look it up" (land uses).
    `classes_from`, when given, returns the classes from the data at the time they are drawn (zoning: one class per
    zone code loaded, with its colour kept in the data), instead of the fixed `classes`."""

    geometry: str  # "polygon" | "line" | "point" | "mixed"
    stroke: str
    stroke_width: float = 0.26
    fill: str | None = None  # None: outline only
    fill_opacity: float = 1.0
    dashed: bool = False
    by: str | None = None
    by_prefix: bool = False
    classes: tuple[tuple[str, str, str, str], ...] = ()  # (value, colour, label, label_en)
    classes_from: Callable[[], tuple[tuple[str, str, str, str], ...]] | None = None

    def current_classes(self) -> tuple[tuple[str, str, str, str], ...]:
        return self.classes_from() if self.classes_from is not None else self.classes


@dataclass(frozen=True)
class Overview:
    """A generalised copy of a layer that its vector tiles read at low zooms (layers/tiles.py) instead of the layer's
    table: rows in EPSG:3857 (the tiles' CRS), already simplified, in bands: a `band` column holds the zoom a row is
    made for, and a tile at zoom z reads the rows of the largest band <= z; above the last band, the layer's table.
    `columns` are the attribute columns of the copy (the layer's overview_fields, by the same names). The app that
    owns the data builds and keeps it current (parcels/overview.py); its table is one of the layer's sources, so
    the layer's data version, ETags and tile caches follow it too."""

    table: str
    bands: tuple[int, ...]  # ascending
    columns: tuple[str, ...]

    def band(self, z: int) -> int | None:
        """The band a tile at zoom z reads (None: above the overview, or below its first band: the layer's table)."""
        if not self.bands or z > self.bands[-1] or z < self.bands[0]:
            return None
        return max(b for b in self.bands if b <= z)


@dataclass(frozen=True)
class Layer:
    name: str
    title: str
    title_en: str
    table: str  # a table or view with an integer id and a geom column in the municipality's CRS
    fields: tuple[Field, ...]
    style: Style
    max_features: int  # never more features per GeoJSON / OGC API page
    tile_min_zoom: int = 0  # vector tiles of the layer exist from this zoom on (below: no content)
    tile_max_features: int = 20_000  # never more features in one tile
    # Below detail_zoom tiles carry only overview_fields (what the map styles by): a z14 parcels tile holds
    # ~10,000 parcels, and their codes and areas tripled its size for nothing the map can show at that scale.
    detail_zoom: int = 0
    overview_fields: tuple[str, ...] = ()
    overview: Overview | None = None  # a generalised copy its tiles read at low zooms instead of `table`
    permission: str | None = None  # None: public; otherwise the Django permission needed to see the layer
    in_portal: bool = True  # drawn as vector tiles in the portal's layer switcher
    # Other tables the layer's SQL reads (subqueries of its fields; a view's base tables): its version follows them too.
    reads: tuple[str, ...] = ()
    versioned: bool = True  # every table it reads has a data-version trigger (layers/versions.py); False: never cached
    description_en: str = ""
    draw_order: int = 100  # the map draws layers (and lists them) by this, lowest first, whoever registered them

    @property
    def columns(self) -> tuple[str, ...]:
        """The public attribute columns as SQL select items ("expr AS name"), as the tile and GeoJSON SQL use."""
        return tuple(f"{f.sql} AS {f.name}" for f in self.fields)

    def tile_columns(self, z: int) -> tuple[str, ...]:
        """The columns a vector tile at zoom z carries."""
        if z >= self.detail_zoom or not self.overview_fields:
            return self.columns
        return tuple(f"{f.sql} AS {f.name}" for f in self.fields if f.name in self.overview_fields)

    @property
    def sources(self) -> tuple[str, ...]:
        """Every table (or view) the layer reads: its version is theirs (layers/versions.py)."""
        return (self.table, *self.reads, *((self.overview.table,) if self.overview else ()))

    @property
    def regional_tables(self) -> tuple[str, ...]:
        """The tables whose edits are kept per edit region (layers/versions.py): the layer's own table and its
        overview's, both drawn on its tiles; an edit of either changes only the tiles over it."""
        return (self.table, *((self.overview.table,) if self.overview else ()))

    def regional_tables_at(self, z: int | None) -> tuple[str, ...]:
        """The regional tables a tile at zoom z draws: its overview's at the overview's bands, else the layer's own
        table (z None: a page or export, which reads the table). A tile's version counts only these, so a rebuild
        of the overview leaves the detailed tiles' URLs alone and a parcel edit the overview's."""
        if self.overview is not None and z is not None and self.overview.band(z) is not None:
            return (self.overview.table,)
        return (self.table,)

    @property
    def is_public(self) -> bool:
        return self.permission is None

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)

    def visible_to(self, user) -> bool:
        if self.is_public:
            return True
        return bool(user is not None and user.is_authenticated and user.has_perm(self.permission))


def _s(name, title, title_en, sql=None):
    return Field(name, sql or f"t.{name}", "string", title, title_en)


LAND_USE_COLOURS = (  # labels come from the land-use table (data/reference/land_uses.csv)
    ("residential", "#f4d58d"), ("commercial", "#e4572e"), ("education", "#4e8fd1"), ("religious", "#2e7d32"),
    ("green_space", "#7cc576"), ("health", "#c2185b"), ("administrative", "#6d4c41"), ("sports", "#00897b"),
    ("industrial", "#616161"), ("vacant", "#e0e0e0"), ("historic_heritage", "#8e24aa"),
)
_LAYERS: dict[str, Layer] = {}
LAYERS = _LAYERS  # name -> Layer, by draw_order (the map draws them in this order)


def register(layer: Layer) -> Layer:
    if layer.name in _LAYERS:
        raise ValueError(f"layer {layer.name!r} is registered twice")
    if not layer.is_public and layer.in_portal:
        raise ValueError(f"layer {layer.name!r}: only public layers are drawn in the portal")
    bad = [name for name in layer.sources if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name)]
    if bad:  # the names are written into SQL (layers/versions.py)
        raise ValueError(f"layer {layer.name!r}: {bad} are not plain table names")
    _LAYERS[layer.name] = layer
    ordered = sorted(_LAYERS.values(), key=lambda l: l.draw_order)  # stable: registration order within an order
    _LAYERS.clear()
    _LAYERS.update((l.name, l) for l in ordered)
    return layer


def portal_layers() -> list[Layer]:
    return [layer for layer in _LAYERS.values() if layer.in_portal]


def layers_for(user) -> list[Layer]:
    return [layer for layer in _LAYERS.values() if layer.visible_to(user)]


register(Layer(
    "districts", "مناطق", "Districts", "parcels_district",
    (_s("code", "کد منطقه", "District code"), _s("name", "نام", "Name"), _s("name_en", "نام انگلیسی", "English name")),
    Style("polygon", "#123c52", 0.6, dashed=True), 100, 0,
    draw_order=10,
))
register(Layer(
    "blocks", "بلوک‌ها", "Blocks", "parcels_block",
    (_s("code", "کد بلوک", "Block code"),),
    Style("polygon", "#9e9e9e", 0.26, fill="#fafafa", fill_opacity=0.4), 3000, 13,
    draw_order=20,
))
register(Layer(
    "streets", "معابر", "Streets", "parcels_street",
    (_s("name", "نام معبر", "Street name"), _s("kind", "نوع", "Kind"),
     Field("existing_width", "t.existing_width", "real", "عرض موجود (م)", "Existing width (m)"),
     Field("planned_width", "t.planned_width", "real", "عرض طرح (م)", "Planned width (m)")),
    Style("line", "#9e8f6a", 0.8), 5000, 12,
    draw_order=30,
))
register(Layer(
    "parcels", "قطعات", "Parcels", "parcels_parcel",
    (Field("id", "t.id", "integer", "شناسه", "Id"),
     _s("renewal_code", "کد نوسازی", "Renewal code"),
     # the city's own key for the parcel, kept by the import (its id in the city's file): findable by it everywhere
     _s("source_id", "شناسهٔ قطعه در سامانهٔ شهرداری", "City's own parcel ID"),
     _s("land_use", "کاربری", "Land use", "t.land_use_id"),
     Field("measured_area", "round(t.measured_area::numeric, 1)", "real", "مساحت (م²)", "Measured area (m²)"),
     Field("is_corner", "t.is_corner", "boolean", "نبش", "Corner parcel"),
     Field("widest_street_width", "t.widest_street_width", "real", "عرض عریض‌ترین معبر (م)",
           "Widest street width (m)")),
    Style("polygon", "#5d4037", 0.2, fill="#d7ccc8", fill_opacity=0.75, by="land_use",
          classes=tuple((code, colour, "", "") for code, colour in LAND_USE_COLOURS)), 5000, 10,
    detail_zoom=16, overview_fields=("land_use",),
    # z10-z14: the land-use overview (parcels merged by block and use at z14, a land-use mosaic below; parcels/overview.py)
    overview=Overview(overview.TABLE, overview.BANDS, ("land_use",)),
    draw_order=50,
))
register(Layer(
    "buildings", "ساختمان‌ها", "Buildings", "parcels_building",
    (Field("floors_above", "t.floors_above", "integer", "طبقات روی زمین", "Floors above ground"),
     _s("structure_type", "نوع سازه", "Structure type", "t.structure_type_id")),
    Style("polygon", "#3e2723", 0.15, fill="#8d6e63", fill_opacity=0.5), 5000, 15,
    draw_order=60,
))
register(Layer(
    "cadastral_zones", "حوزه‌ها", "Cadastral zones", "parcels_cadastralzone",
    (_s("code", "کد حوزه", "Zone code"), _s("name", "نام", "Name"), _s("name_en", "نام انگلیسی", "English name")),
    Style("polygon", "#37474f", 0.4, dashed=True), 500, 11, in_portal=False,
    draw_order=70,
))
register(Layer(
    "road_widening", "عقب‌نشینی", "Road widening", "layers_road_widening",
    (Field("parcel_id", "t.parcel_id", "integer", "شناسهٔ قطعه", "Parcel id"),
     _s("renewal_code", "کد نوسازی", "Renewal code"),
     _s("street", "معبر", "Street"),
     Field("planned_width", "t.planned_width", "real", "عرض طرح (م)", "Planned width (m)"),
     Field("area", "round(t.area::numeric, 2)", "real", "مساحت (م²)", "Area (m²)")),
    Style("polygon", "#d50000", 0.2, fill="#d50000", fill_opacity=0.45), 5000, 15, in_portal=False,
    reads=("parcels_frontage", "parcels_street", "parcels_parcel"),  # the view's base tables (layers migration 0006)
    description_en="The strip of each parcel inside the planned width of a street it fronts (computed on the fly).",
    draw_order=90,
))
register(Layer(
    "parcel_owners", "مالکان قطعات", "Parcel owners", "parcels_parcel",
    (Field("id", "t.id", "integer", "شناسه", "Id"),
     _s("renewal_code", "کد نوسازی", "Renewal code"),
     Field("owners", "(SELECT string_agg(concat_ws(' ', NULLIF(w.legal_name, ''), NULLIF(w.first_name, ''),"
                     " NULLIF(w.last_name, ''), '(' || o.share_dang || ' دانگ)'), '، ' ORDER BY o.id)"
                     " FROM parcels_ownership o JOIN parcels_owner w ON w.id = o.owner_id WHERE o.parcel_id = t.id)",
           "string", "مالکان", "Owners", filterable=False)),
    Style("polygon", "#4a148c", 0.3, fill="#ce93d8", fill_opacity=0.4), 5000, 14,
    permission=PERSONAL_DATA_PERMISSION, in_portal=False, reads=("parcels_ownership", "parcels_owner"),
    description_en="Owners' names and shares: staff with the personal-data permission only; every use is recorded.",
    draw_order=100,
))
