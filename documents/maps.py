"""Small maps printed on documents: shapes as SVG paths in a fixed box, north up, with a scale bar. Pure: no Django.

Shapes come as a GeoJSON FeatureCollection whose features carry a `kind` property (parcel, neighbour, road_widening,
envelope, ...), in WGS84 longitude/latitude (`lonlat=True`, as zoning's envelope features) or already in metres of
the municipality's projected CRS (`lonlat=False`). The printed page draws each kind with its own style."""

from __future__ import annotations

import math

METRES_PER_DEGREE = 111_320.0
# drawn bottom to top: neighbours under the parcel, the strip and the envelope over it
DRAW_ORDER = {"neighbour": -2, "street": -1, "parcel": 0, "road_widening": 1, "envelope": 2}
SCALE_STEPS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


def rings(geometry: dict | None) -> list:
    """The rings of a Polygon or MultiPolygon (lines of a LineString or MultiLineString); [] for anything else."""
    if not geometry:
        return []
    kind, coordinates = geometry.get("type"), geometry.get("coordinates")
    if kind in ("Polygon", "MultiLineString"):
        return list(coordinates)
    if kind == "MultiPolygon":
        return [ring for polygon in coordinates for ring in polygon]
    if kind == "LineString":
        return [coordinates]
    return []


def map_svg(features: dict, width: int = 300, height: int = 200, margin: int = 12, *, lonlat: bool = True,
            focus: tuple[str, ...] | None = None, pad: float = 0.0) -> dict | None:
    """The features as SVG paths in a `width` × `height` box: {"paths": [(kind, d)], "scale": (pixels, metres),
    "width", "height"}; None when nothing is drawn. The box frames the features of the `focus` kinds (all when None)
    widened by `pad` (a share of their size, e.g. 0.4 shows the neighbours around a parcel); what lies beyond is cut by
    the SVG's box. Polygons are closed paths; lines (streets) open ones."""
    shapes = [(f.get("properties", {}).get("kind", ""), f.get("geometry") or {}) for f in features.get("features", [])]
    framed = [p for kind, g in shapes if focus is None or kind in focus for ring in rings(g) for p in ring]
    if not framed:
        return None
    lats = [p[1] for p in framed]
    shrink = math.cos(math.radians((min(lats) + max(lats)) / 2)) if lonlat else 1.0

    def metres(p):   # a degree of longitude is shorter than one of latitude
        return ((p[0] * shrink * METRES_PER_DEGREE, p[1] * METRES_PER_DEGREE) if lonlat else (p[0], p[1]))

    xs, ys = zip(*(metres(p) for p in framed))
    grow = pad * max(max(xs) - min(xs), max(ys) - min(ys))
    x0, x1, y0, y1 = min(xs) - grow, max(xs) + grow, min(ys) - grow, max(ys) + grow
    width_m, height_m = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
    scale = min((width - 2 * margin) / width_m, (height - 2 * margin) / height_m)   # pixels per metre
    left = margin + ((width - 2 * margin) - width_m * scale) / 2
    top = margin + ((height - 2 * margin) - height_m * scale) / 2

    def xy(p):
        x, y = metres(p)
        return left + (x - x0) * scale, top + (y1 - y) * scale

    paths = []
    for kind, geometry in sorted(shapes, key=lambda s: DRAW_ORDER.get(s[0], 3)):
        closed = geometry.get("type") in ("Polygon", "MultiPolygon")
        d = " ".join("M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in map(xy, ring)) + (" Z" if closed else "")
                     for ring in rings(geometry) if ring)
        if d:
            paths.append((kind, d))
    metres_bar = next(m for m in SCALE_STEPS if m * scale >= 40 or m == SCALE_STEPS[-1])
    return {"paths": paths, "scale": (round(metres_bar * scale, 1), metres_bar), "width": width, "height": height}
