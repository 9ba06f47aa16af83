"""Zoning's importable layers: zoning districts and overlays, registered with the import from
ZoningConfig.ready() (`manage.py import_layer zoning|overlays FILE`, `import_zoning FILE`). Their post-load steps
(the parcels' overlay facts) are registered there too, from zoning/overlays.py."""

from parcels.importing.specs import NAME, NAME_EN, Field, LayerSpec, register
from zoning.models import Overlay

ZONING = LayerSpec(
    name="zoning", model_label="zoning.Zone", geometry="polygon", title="Zoning districts",
    keys=("source_id",),
    fields=(Field("source_id", max_length=100), Field("code", required=True, max_length=40), NAME, NAME_EN,
            Field("colour", max_length=7)),  # #rrggbb of the zone code; anything else falls back to the palette
)

OVERLAYS = LayerSpec(
    name="overlays", model_label="zoning.Overlay", geometry="any", title="Overlays", has_attributes=False,
    keys=("source_id",),
    fields=(Field("source_id", max_length=100),
            Field("kind", required=True, choices=tuple(Overlay.Kind.values)),
            NAME, NAME_EN),
)


def register_import_specs() -> None:
    register(ZONING)
    register(OVERLAYS)
