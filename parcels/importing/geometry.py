"""The geometry of each row: present, of the layer's type, valid (or repaired with --fix), where the CRS says it
should be, reprojected into the municipality's CRS and valid again. Vectorised with shapely over a whole batch;
only rows with a problem get a Python loop, for their message."""

from __future__ import annotations

import numpy as np
import shapely
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy
from pyproj import CRS, Transformer

from parcels.importing.errors import ImportError_
from parcels.importing.options import ImportOptions
from parcels.importing.report import RowIssues
from parcels.importing.specs import LayerSpec

_TYPE_NAMES = {0: "Point", 1: "LineString", 2: "LinearRing", 3: "Polygon", 4: "MultiPoint", 5: "MultiLineString",
               6: "MultiPolygon", 7: "GeometryCollection", -1: "nothing"}
_GEOMETRY_KINDS = {"polygon": pgettext_lazy("geometry type", "polygon"), "line": pgettext_lazy("geometry type", "line")}


def prepare(wkb: np.ndarray, spec: LayerSpec, opts: ImportOptions, src_crs: CRS, transformer: Transformer | None,
            rows: RowIssues) -> np.ndarray:
    """The batch's geometries in the municipality's CRS; rows that fail are flagged in `rows`."""
    geoms = shapely.from_wkb(wkb, on_invalid="ignore")
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    rows.flag(missing, "empty_geometry", _("the feature has no geometry or an empty one"))
    geoms = _to_expected_type(geoms, spec, rows)
    # Validity is judged in the file's own coordinates, so reasons point where the operator can find them.
    geoms = _validate(geoms, rows, spec, opts.fix)
    _check_extent(geoms[rows.ok], src_crs, opts)
    if transformer is not None:
        geoms = shapely.transform(geoms, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))
        # Rarely, reprojection makes a valid ring touch itself: checked again, in the municipality's CRS.
        geoms = _validate(geoms, rows, spec, opts.fix, reprojected=True)
    return geoms


def as_stored(geoms: np.ndarray, spec: LayerSpec, ok: np.ndarray) -> np.ndarray:
    """None for the rows that are not imported; polygons as multipolygons, as the tables keep them."""
    geoms = np.where(ok, geoms, None)
    if spec.geometry == "polygon":
        single = shapely.get_type_id(geoms) == 3
        if single.any():
            geoms[single] = shapely.multipolygons(geoms[single], indices=np.arange(int(single.sum())))
    return geoms


def _validate(geoms, rows: RowIssues, spec: LayerSpec, fix: bool, reprojected: bool = False):
    """Flag invalid geometries with GEOS's reason (untranslated: it names the place), or repair them with --fix."""
    invalid = rows.ok & ~shapely.is_valid(geoms)
    if not invalid.any():
        return geoms
    idx = np.flatnonzero(invalid)
    reasons = shapely.is_valid_reason(geoms[idx])
    repaired = _repair(geoms[idx], spec) if fix else [None] * len(idx)
    fixed_text, unfixable_text = _("repaired: %(reason)s"), _("%(reason)s; repair left no %(geometry)s geometry")
    where = _("after reprojection to EPSG:%(srid)s: %(problem)s") if reprojected else "%(problem)s"
    geometry = _GEOMETRY_KINDS.get(spec.geometry, spec.geometry)
    geoms = geoms.copy()
    for j, i in enumerate(idx):
        if repaired[j] is not None:
            problem = fixed_text % {"reason": reasons[j]}
            rows.repaired(i, where % {"srid": settings.MUNICIPALITY_SRID, "problem": problem})
            geoms[i] = repaired[j]
            continue
        problem = unfixable_text % {"reason": reasons[j], "geometry": geometry} if fix else reasons[j]
        rows.flag_row(i, "invalid_geometry", where % {"srid": settings.MUNICIPALITY_SRID, "problem": problem})
    return geoms


def _to_expected_type(geoms, spec: LayerSpec, rows: RowIssues):
    types = shapely.get_type_id(geoms)
    if spec.geometry == "polygon":
        wrong = rows.ok & ~np.isin(types, [3, 6])  # Polygon, MultiPolygon
        rows.flag(wrong, "wrong_geometry_type",
                  _type_messages(types, wrong, _("the geometry is a %(found)s, expected a polygon")))
    elif spec.geometry == "line":
        single = np.isin(types, [1])
        multi_one = (types == 5) & (shapely.get_num_geometries(geoms) == 1)
        geoms = np.where(multi_one, shapely.get_geometry(geoms, 0), geoms)
        wrong = rows.ok & ~(single | multi_one)
        rows.flag(wrong, "wrong_geometry_type", _type_messages(
            shapely.get_type_id(geoms), wrong,
            _("the geometry is a %(found)s, expected a line (split multi-part lines into segments)")))
    return geoms


def _type_messages(types: np.ndarray, wrong: np.ndarray, text: str) -> list[str]:
    messages = [""] * len(types)
    for i in np.flatnonzero(wrong):  # only the rows flagged, not the whole batch
        messages[i] = text % {"found": _TYPE_NAMES.get(int(types[i]), types[i])}
    return messages


def _repair(geoms, spec: LayerSpec):
    """make_valid, keeping only the parts of the layer's geometry type (a bow-tie becomes two triangles)."""
    fixed = shapely.make_valid(geoms, method="structure", keep_collapsed=False)
    out = []
    for g in fixed:
        if spec.geometry == "polygon":
            parts = [p for p in shapely.get_parts(g) if shapely.get_type_id(p) in (3, 6)]
            g = shapely.union_all(parts) if parts else None
            if g is not None and (g.is_empty or not g.is_valid):
                g = None
        out.append(g)
    return out


def _check_extent(geoms, src_crs: CRS, opts: ImportOptions) -> None:
    """Catch a wrong or missing CRS before anything is written: coordinates must fall where the source CRS and
    the municipality's CRS are meant to be used."""
    if len(geoms) == 0 or opts.allow_outside_area:
        return
    xmin, ymin, xmax, ymax = shapely.total_bounds(geoms)
    if not np.isfinite([xmin, ymin, xmax, ymax]).all():
        return
    looks_like_degrees = -180 <= xmin <= xmax <= 180 and -90 <= ymin <= ymax <= 90
    bounds = {"xmin": xmin, "ymin": ymin, "xmax": xmax, "ymax": ymax, "crs": src_crs.to_string()}
    if src_crs.is_projected and looks_like_degrees:
        raise ImportError_(
            _("The coordinates (%(xmin).4f, %(ymin).4f … %(xmax).4f, %(ymax).4f) look like longitude/latitude, "
              "but the CRS is %(crs)s (projected, metres). Use --srs EPSG:4326 (with --force-srs if the file "
              "declares the wrong one).") % bounds
        )
    if src_crs.is_geographic and not looks_like_degrees:
        raise ImportError_(
            _("The coordinates (%(xmin).1f, %(ymin).1f … %(xmax).1f, %(ymax).1f) are not longitude/latitude, "
              "but the CRS is %(crs)s. Give the file's projected CRS with --srs.") % bounds
        )
    target = CRS.from_epsg(settings.MUNICIPALITY_SRID)
    area = target.area_of_use
    if area is None:
        return
    to_lonlat = Transformer.from_crs(src_crs, CRS.from_epsg(4326), always_xy=True)
    lons, lats = to_lonlat.transform([xmin, xmax, xmin, xmax], [ymin, ymin, ymax, ymax])
    margin = 2.0  # degrees: cities near a zone's edge often keep the zone of their province
    if (min(lons) < area.west - margin or max(lons) > area.east + margin
            or min(lats) < area.south - margin or max(lats) > area.north + margin):
        raise ImportError_(
            _("The features lie at longitude %(lon_min).3f…%(lon_max).3f, latitude %(lat_min).3f…%(lat_max).3f, "
              "outside the area of the municipality's CRS EPSG:%(srid)s (%(area)s). Is --srs right? "
              "(--allow-outside-area imports anyway.)")
            % {"lon_min": min(lons), "lon_max": max(lons), "lat_min": min(lats), "lat_max": max(lats),
               "srid": settings.MUNICIPALITY_SRID, "area": area.name}
        )
