"""What each importable layer accepts: its target table, key, fields and their rules.

A registry, not an if-chain: commands, the admin and tests look layers up by name. The cadastre's layers are
registered here; another app registers its own from its AppConfig.ready() with register(LayerSpec(...)) (and, if it
needs one, a post-load step with postload.register), so this package never names it.
"""

from dataclasses import dataclass, field

from django.apps import apps


@dataclass(frozen=True)
class Field:
    """A target field. `kind` decides parsing and validation:
    str, int, float, decimal, renewal_code, postal_code, ref, code_ref (a row of another table), and
    parcel_ref (a parcel's renewal code or source id)."""

    name: str
    kind: str = "str"
    column: str | None = None
    required: bool = False
    min: float | None = None
    max: float | None = None
    max_length: int | None = None
    # kind="ref": the value is the primary key of ref_model ("app_label.Model");
    # kind="code_ref": the value is ref_model's `code`, stored as its id.
    ref_model: str | None = None
    choices: tuple[str, ...] | None = None
    # A year field's calendar ("jalali" or "gregorian"): min and max are years of it, and a source that declares
    # another calendar (--calendar) has its years converted (fields.py).
    calendar: str | None = None

    @property
    def db_column(self) -> str:
        return self.column or self.name


@dataclass(frozen=True)
class LayerSpec:
    name: str
    model_label: str
    geometry: str  # "polygon" (stored MultiPolygon), "line" (LineString) or "any"
    keys: tuple[str, ...]  # unique target fields usable as the import key; the first is the default
    fields: tuple[Field, ...]
    has_attributes: bool = True
    title: str = ""
    within_file_unique: tuple[tuple[str, ...], ...] = field(default_factory=tuple)

    @property
    def model(self):
        return apps.get_model(self.model_label)

    @property
    def table(self) -> str:
        return self.model._meta.db_table

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]


# A feature's Persian and English names, as several layers have them.
NAME = Field("name", max_length=200)
NAME_EN = Field("name_en", max_length=200)

LAYERS: dict[str, LayerSpec] = {}


def register(spec: LayerSpec) -> LayerSpec:
    LAYERS[spec.name] = spec
    return spec


register(LayerSpec(
    name="parcels", model_label="parcels.Parcel", geometry="polygon", title="Parcels",
    keys=("renewal_code", "source_id"),
    fields=(
        Field("renewal_code", "renewal_code", max_length=40),
        Field("source_id", max_length=100),
        Field("plate_section", "int", min=0, max=32767),
        Field("plate_main", "int", min=0, max=2_147_483_647),
        Field("plate_sub", "int", min=0, max=2_147_483_647),
        Field("postal_code", "postal_code"),
        Field("deed_area", "decimal", min=0.01, max=1e9),
        Field("land_use", "ref", column="land_use_id", ref_model="parcels.LandUse"),
    ),
    within_file_unique=(("postal_code",), ("plate_section", "plate_main", "plate_sub")),
))

register(LayerSpec(
    name="streets", model_label="parcels.Street", geometry="line", title="Street centerlines",
    keys=("source_id",),
    fields=(
        Field("source_id", max_length=100),
        NAME, NAME_EN,
        Field("kind", choices=("main", "local", "dead_end")),
        Field("existing_width", "float", required=True, min=1, max=200),
        Field("planned_width", "float", min=1, max=200),
    ),
))

register(LayerSpec(
    name="buildings", model_label="parcels.Building", geometry="polygon", title="Buildings",
    keys=("source_id",),
    fields=(
        Field("source_id", max_length=100),
        Field("parcel", "parcel_ref", column="parcel_id"),
        Field("floors_above", "int", min=0, max=100),
        Field("floors_below", "int", min=0, max=10),
        Field("structure_type", "ref", column="structure_type_id", ref_model="parcels.StructureType"),
        Field("year_built", "int", min=1200, max=1500, calendar="jalali"),
        Field("use", "ref", column="use_id", ref_model="parcels.LandUse"),
        Field("gross_floor_area", "float", min=0, max=1e7),
        Field("units", "int", min=0, max=100000),
    ),
))

register(LayerSpec(
    name="districts", model_label="parcels.District", geometry="polygon", title="Districts", has_attributes=False,
    keys=("code",),
    fields=(Field("code", required=True, max_length=10), Field("name", required=True, max_length=100),
            Field("name_en", max_length=100)),
))

register(LayerSpec(
    name="cadastral_zones", model_label="parcels.CadastralZone", geometry="polygon", title="Cadastral zones",
    has_attributes=False, keys=("code",),
    fields=(Field("code", required=True, max_length=20),
            Field("district", "code_ref", column="district_id", required=True, ref_model="parcels.District"),
            Field("name", required=True, max_length=100), Field("name_en", max_length=100)),
))

register(LayerSpec(
    name="blocks", model_label="parcels.Block", geometry="polygon", title="Blocks", has_attributes=False,
    keys=("code",),
    fields=(Field("code", required=True, max_length=30), Field("land_price", "int", min=0, max=10**15)),
))
