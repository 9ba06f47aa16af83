"""Opening the source: the file through GDAL (pyogrio), any vector format; its layer; its coordinate reference
system (declared, or given with --srs); the optional CSV join; and the field mapping with the import key.

Everything here happens before a row is read, so a file that cannot be imported at all is refused (ImportError_)
before anything is written.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pyogrio
from django.utils.translation import gettext as _
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from parcels.importing import fields as field_rules
from parcels.importing.errors import ImportError_
from parcels.importing.options import ImportOptions
from parcels.importing.specs import LayerSpec


@dataclass
class Source:
    """An opened source file and how its fields map onto the layer."""

    gdal_path: str  # the path as GDAL reads it (/vsizip/ for a zip)
    layer: str
    driver: str
    feature_count: int | None  # None when the format cannot tell without reading
    crs: CRS
    fields: list[str]  # the file's fields, then the join CSV's columns
    join: field_rules.Join | None
    mapping: dict[str, str]  # target field -> source field
    key: str

    @property
    def unmapped_fields(self) -> list[str]:
        mapped = set(self.mapping.values())
        return [f for f in self.fields if f not in mapped]

    def transformer_to(self, srid: int) -> Transformer | None:
        """Coordinates from the file's CRS into EPSG:srid, or None when they are the same."""
        target = CRS.from_epsg(srid)
        if self.crs.equals(target):
            return None
        return Transformer.from_crs(self.crs, target, always_xy=True)


def open_source(opts: ImportOptions, spec: LayerSpec) -> Source:
    gdal_path, info = _source_info(opts)
    crs = _source_crs(opts, info)
    join = field_rules.load_join(opts, info) if opts.join_csv else None
    source_fields = [str(f) for f in info["fields"]] + (join.columns if join else [])
    mapping = field_rules.resolve_mapping(spec, opts.mapping or {}, source_fields)
    return Source(gdal_path=gdal_path, layer=info["layer"], driver=info.get("driver") or "",
                  feature_count=info.get("features") or None, crs=crs, fields=source_fields, join=join,
                  mapping=mapping, key=_key(opts, spec, mapping))


def _key(opts: ImportOptions, spec: LayerSpec, mapping: dict[str, str]) -> str:
    """The field that identifies a feature across imports: --key, else the layer's first key the file maps."""
    key = opts.key or next((k for k in spec.keys if k in mapping), None)
    if key is None:
        raise ImportError_(
            _("No key field is mapped for %(layer)s: map one of %(keys)s (e.g. --map %(example)s=<source field>) "
              "so re-imports update in place.") % {"layer": spec.name, "keys": ", ".join(spec.keys),
                                                   "example": spec.keys[-1]}
        )
    if key not in spec.keys:
        raise ImportError_(_("--key %(key)s is not a unique field of %(layer)s; use one of %(keys)s")
                           % {"key": key, "layer": spec.name, "keys": ", ".join(spec.keys)})
    if key not in mapping:
        raise ImportError_(_("The key %(key)s is not mapped to a source field; add --map %(key)s=<source field>")
                           % {"key": key})
    return key


def _gdal_path(path: str) -> str:
    if not os.path.exists(path):
        raise ImportError_(_("File not found: %(path)s") % {"path": path})
    if path.lower().endswith(".zip"):
        return f"/vsizip/{os.path.abspath(path)}"
    return path


def _source_info(opts: ImportOptions) -> tuple[str, dict]:
    gdal_path = _gdal_path(opts.path)
    try:
        layers = pyogrio.list_layers(gdal_path)
    except Exception as exc:  # pyogrio raises DataSourceError and friends; the message is GDAL's
        raise ImportError_(_("GDAL cannot read %(path)s: %(error)s") % {"path": opts.path, "error": exc}) from None
    names = [str(row[0]) for row in layers]
    if opts.source_layer:
        if opts.source_layer not in names:
            raise ImportError_(_("%(path)s has no layer %(layer)r; it has: %(layers)s")
                               % {"path": opts.path, "layer": opts.source_layer, "layers": ", ".join(names)})
        layer = opts.source_layer
    else:
        if not names:
            raise ImportError_(_("%(path)s has no layers") % {"path": opts.path})
        if len(names) > 1:
            spatial = [str(row[0]) for row in layers if row[1] is not None]
            if len(spatial) != 1:
                raise ImportError_(_("%(path)s has several layers (%(layers)s); choose one with --source-layer")
                                   % {"path": opts.path, "layers": ", ".join(names)})
            names = spatial
        layer = names[0]
    try:
        info = pyogrio.read_info(gdal_path, layer=layer, **(opts.open_options or {}))
    except Exception as exc:
        raise ImportError_(_("GDAL cannot read layer %(layer)r of %(path)s: %(error)s")
                           % {"layer": layer, "path": opts.path, "error": exc}) from None
    info["layer"] = layer
    return gdal_path, info


def _source_crs(opts: ImportOptions, info: dict) -> CRS:
    declared = info.get("crs")
    if opts.srs:
        try:
            given = CRS.from_user_input(opts.srs)
        except CRSError as exc:
            raise ImportError_(_("--srs %(srs)r is not a CRS PROJ knows: %(error)s")
                               % {"srs": opts.srs, "error": exc}) from None
        if declared and not opts.force_srs and not CRS.from_user_input(declared).equals(given, ignore_axis_order=True):
            raise ImportError_(
                _("The file declares %(declared)s but --srs says %(srs)s; pass --force-srs if the file's declaration "
                  "is wrong.") % {"declared": declared, "srs": opts.srs}
            )
        return given
    if not declared:
        raise ImportError_(
            _("%(path)s declares no coordinate reference system. Give it with --srs, e.g. --srs EPSG:4326 for "
              "longitude/latitude.") % {"path": opts.path}
        )
    try:
        return CRS.from_user_input(declared)
    except CRSError as exc:
        raise ImportError_(_("The file's CRS %(crs)r is not usable: %(error)s")
                           % {"crs": declared, "error": exc}) from None
