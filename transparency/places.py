"""A decision's or a project's place as a data file gives it: WKT (a point, a line, an area or their multi- forms) in
one of three frames, stored in the municipality's CRS:

- "EPSG:4326" (the default): longitude/latitude, checked against the city's extent (common/geo.py) before it is
  transformed;
- "city": already in the municipality's CRS (municipality.current().srid);
- "extent": fractions of the loaded city's extent (its parcels'), 0 0 the south-west corner, 1 1 the north-east: what
  the demo file uses, so that its places fall inside whichever city is loaded (Darab in EPSG:32640, the generated
  town in 32639, …).

Errors are ValueErrors in the reader's language, naming what is wrong (the loader adds the row)."""

from __future__ import annotations

import math

from django.contrib.gis.gdal import GDALException
from django.contrib.gis.geos import GEOSException, GEOSGeometry
from django.db import connection
from django.utils.translation import gettext as _

from common import geo, municipality
from transparency.models import GEOMETRY_TYPES

FRAMES = ("EPSG:4326", "city", "extent")
MAX_POINTS = 10_000


def city_box() -> tuple[float, float, float, float] | None:
    """(xmin, ymin, xmax, ymax) of the loaded parcels in the municipality's CRS, or None when there are none."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
                       "FROM (SELECT ST_Extent(geom)::geometry AS e FROM parcels_parcel) x")
        row = cursor.fetchone()
    return tuple(row) if row and row[0] is not None else None


def _scaled(geom: GEOSGeometry, box) -> GEOSGeometry:
    """A geometry in fractions of `box` as coordinates in the box's CRS (the shape's WKT rewritten point by point)."""
    xmin, ymin, xmax, ymax = box

    def at(coords):
        if coords and isinstance(coords[0], (int, float)):
            return (xmin + coords[0] * (xmax - xmin), ymin + coords[1] * (ymax - ymin))
        return [at(c) for c in coords]

    from django.contrib.gis.geos import (LinearRing, LineString, MultiLineString, MultiPoint, MultiPolygon, Point,
                                         Polygon)

    kind = geom.geom_type
    coords = geom.coords
    if kind == "Point":
        return Point(*at(coords))
    if kind == "LineString":
        return LineString(at(coords))
    if kind == "Polygon":
        return Polygon(*[LinearRing(ring) for ring in at(coords)])
    if kind == "MultiPoint":
        return MultiPoint(*[Point(*c) for c in at(coords)])
    if kind == "MultiLineString":
        return MultiLineString(*[LineString(c) for c in at(coords)])
    return MultiPolygon(*[Polygon(*[LinearRing(ring) for ring in poly]) for poly in at(coords)])


def parse(wkt: str, frame: str = "EPSG:4326", box=None) -> GEOSGeometry:
    """The place `wkt` in `frame` as a valid geometry in the municipality's CRS. `box`: the city's extent for the
    "extent" frame (city_box(), asked once by the caller)."""
    if frame not in FRAMES:
        raise ValueError(_("place_crs must be one of %(frames)s, not %(frame)s")
                         % {"frames": ", ".join(FRAMES), "frame": str(frame)[:40]})
    text = str(wkt or "").strip()
    if not text:
        raise ValueError(_("the place is empty"))
    if "SRID=" in text.upper():
        raise ValueError(_("give the place as plain WKT, its frame in place_crs"))
    try:
        geom = GEOSGeometry(text)
    except (GEOSException, ValueError, TypeError, GDALException):
        raise ValueError(_("the place is not WKT a point, line or area can be read from")) from None
    if geom.geom_type.upper() not in GEOMETRY_TYPES:
        raise ValueError(_("a place is a point, a line, an area or several of one kind, not a %(kind)s")
                         % {"kind": geom.geom_type})
    if geom.empty:
        raise ValueError(_("the place is empty"))
    if geom.num_points > MAX_POINTS:
        raise ValueError(_("the place has more than %(max)s points") % {"max": MAX_POINTS})
    if not all(math.isfinite(v) for v in geom.extent):
        raise ValueError(_("the place has coordinates that are not numbers"))
    if frame == "extent":
        if box is None:
            raise ValueError(_("places relative to the city's extent need the city's parcels loaded first"))
        x0, y0, x1, y1 = geom.extent
        if min(x0, y0) < 0 or max(x1, y1) > 1:
            raise ValueError(_("a place relative to the city's extent has coordinates from 0 to 1"))
        geom = _scaled(geom, box)
        geom.srid = municipality.current().srid
    elif frame == "city":
        geom.srid = municipality.current().srid
    else:
        x0, y0, x1, y1 = geom.extent
        if not (geo.in_city(x0, y0) and geo.in_city(x1, y1)):
            raise ValueError(_("the place (longitude, latitude) lies outside the city's area"))
        geom.srid = 4326
        try:
            geom.transform(municipality.current().srid)
        except GDALException:
            raise ValueError(_("the place (longitude, latitude) lies outside the city's area")) from None
    if not all(math.isfinite(v) for v in geom.extent):
        raise ValueError(_("the place lies outside the city's area"))
    if not geom.valid:
        raise ValueError(_("the place is not a valid shape (%(reason)s)") % {"reason": geom.valid_reason[:80]})
    return geom
