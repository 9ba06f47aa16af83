"""The geometry of each row: present, of the layer's type, valid (or repaired with --fix), where the CRS says it
should be, reprojected into the municipality's CRS and valid again, and valid in every CRS it is served in
(SERVED_CRS). Vectorised with shapely over a whole batch; only rows with a problem get a Python loop, for their
message."""

from __future__ import annotations

import numpy as np
import shapely
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy
from pyproj import CRS, Transformer

from common import geo, municipality
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
    return _check_served(geoms, rows, spec, opts.fix)


# The coordinate systems the stored geometries are served in, with the decimals they are written with: GeoJSON, the
# OGC API and the parcel sheet send longitude/latitude with 7 decimals (ST_AsGeoJSON(…, 7)); vector tiles are cut in
# Web Mercator. A ring valid in the municipality's CRS can cross itself there (a spike a millimetre wide collapses
# when its two sides round to the same point): checked here, so what is stored is valid wherever it is read.
SERVED_CRS = ((4326, 7), (3857, None))
EARTH_RADIUS = 6_371_000.0  # m
ROUNDING = 0.01  # m: the most 7 decimals of a degree move a vertex (0.5e-7° of latitude is 0.56 cm), with margin


def _may_change(geoms: np.ndarray, srid: int) -> np.ndarray:
    """The geometries whose validity another CRS could change: those whose minimum clearance (the least distance a
    vertex must move to make them invalid) is below what serving them moves a vertex: the rounding to 7 decimals,
    plus how far a smooth reprojection bends a straight segment from where its end points land (at most about
    length²/R; the geometry's diagonal bounds its longest segment). Most parcels clear it by far, and only the rest
    pay for the reprojection and the check; a file in geographic coordinates is checked whole."""
    if not CRS.from_epsg(srid).is_projected:
        return np.ones(len(geoms), dtype=bool)
    xmin, ymin, xmax, ymax = shapely.bounds(geoms).T
    diagonal = np.hypot(xmax - xmin, ymax - ymin)
    margin = 2 * (ROUNDING + diagonal ** 2 / EARTH_RADIUS)
    with np.errstate(invalid="ignore"):
        return ~(shapely.minimum_clearance(geoms) > margin)  # NaN-safe: an unknown clearance is checked


def served_invalid(geoms: np.ndarray, srid: int) -> list[tuple[np.ndarray, int, list[str]]]:
    """For each served CRS: (the rows invalid there, its EPSG code, GEOS's reasons for them)."""
    out = []
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    idx = np.flatnonzero(present)
    if len(idx):
        idx = idx[_may_change(geoms[idx], srid)]
    if not len(idx):
        return out
    for target, decimals in SERVED_CRS:
        if target == srid:
            continue
        transformer = geo.transformer(srid, target)

        def move(xy, transformer=transformer, decimals=decimals):
            moved = np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))
            return np.round(moved, decimals) if decimals is not None else moved

        served = shapely.transform(geoms[idx], move)
        bad = ~shapely.is_valid(served)
        if bad.any():
            mask = np.zeros(len(geoms), dtype=bool)
            mask[idx[bad]] = True
            out.append((mask, target, list(shapely.is_valid_reason(served[bad]))))
    return out


def _check_served(geoms, rows: RowIssues, spec: LayerSpec, fix: bool):
    """Flag rows whose geometry, valid where it is stored, is invalid in a CRS it is served in; with --fix, snap
    them to the served precision (which removes such slivers and spikes) and check again."""
    srid = municipality.current().srid
    candidates = np.where(rows.ok, geoms, None)
    found = served_invalid(candidates, srid)
    if not found:
        return geoms
    where = _("valid in EPSG:%(srid)s but not in EPSG:%(served)s, where it is served: %(reason)s")
    problems: dict[int, str] = {}
    for mask, served, reasons in found:
        for i, reason in zip(np.flatnonzero(mask), reasons):
            problems.setdefault(int(i), where % {"srid": srid, "served": served, "reason": reason})
    idx = np.array(sorted(problems))
    geoms = geoms.copy()
    if fix:
        grid = 1e-7 if CRS.from_epsg(srid).is_geographic else 0.01  # what 7 decimals of a degree are: about 1 cm
        snapped = np.empty(len(idx), dtype=object)
        snapped[:] = _repair(shapely.set_precision(geoms[idx], grid), spec)
        still = np.zeros(len(idx), dtype=bool)
        usable = np.array([g is not None for g in snapped])
        for mask, _served, _reasons in served_invalid(np.where(usable, snapped, None), srid):
            still |= mask
        for j, i in enumerate(idx):
            if usable[j] and not still[j] and shapely.is_valid(snapped[j]):
                rows.repaired(i, _("repaired: %(problem)s (snapped to %(grid)g)") % {"problem": problems[i],
                                                                                    "grid": grid})
                geoms[i] = snapped[j]
                continue
            rows.flag_row(i, "invalid_geometry", problems[i] + "; " + _("snapping did not repair it"))
        return geoms
    for i in idx:
        rows.flag_row(i, "invalid_geometry", problems[i])
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
    srid = municipality.current().srid
    geoms = geoms.copy()
    for j, i in enumerate(idx):
        if repaired[j] is not None:
            problem = fixed_text % {"reason": reasons[j]}
            rows.repaired(i, where % {"srid": srid, "problem": problem})
            geoms[i] = repaired[j]
            continue
        problem = unfixable_text % {"reason": reasons[j], "geometry": geometry} if fix else reasons[j]
        rows.flag_row(i, "invalid_geometry", where % {"srid": srid, "problem": problem})
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
    srid = municipality.current().srid
    target = CRS.from_epsg(srid)
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
               "srid": srid, "area": area.name}
        )
