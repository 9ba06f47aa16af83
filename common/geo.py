"""Places people and programs send, checked before any coordinate transform.

The municipality's data is kept in its projected CRS (municipality.current().srid: a UTM zone, a state plane ...),
and a projection is defined only for a part of the Earth: PROJ refuses a point far from it ("Point outside of
projection domain"; a transverse Mercator zone fails some 80° from its meridian) or, for a polygon, silently makes
infinite coordinates that match nothing (a whole-world bbox then found no parcel). So every WGS84 point or box a
request brings is clipped here to the city's extent, in longitude/latitude, before it is transformed:

- `city_extent()`: where the city's CRS is usable: its area of use (from the EPSG database, via pyproj), widened
  by CITY_EXTENT_MARGIN degrees (a city may lie just past its zone's edge, as Darab does), narrowed until every
  point of a grid over it transforms to finite coordinates. A city's data lies in its CRS's area of use (give or
  take the margin), so clipping a query to it changes no answer; it only keeps the transform inside the
  projection's domain. (An SRID the EPSG database does not know gets the whole world: nothing to clip to.)
- `clip_box` / `in_city`: a WGS84 box clipped to it (None: wholly outside, the answer is empty) / a point inside it
  (outside: "outside the city", a 404).
- `mercator_to_lonlat`: a Web Mercator (EPSG:3857) box as the same box in longitude/latitude (exact: both are
  rectangles of the same meridians and parallels), so it is clipped the same way.

Parsing and range checks (finite numbers, ±180/±90, min below max) are common.params' (`bbox`, `number`); the
parsed geometry a request sends (GeoJSON) is checked by `geojson_geometry`.
"""

import functools
import math
import threading

from django.utils.translation import gettext as _

from common import municipality, params
from common.errors import BadParameter

WORLD = (-180.0, -90.0, 180.0, 90.0)
CITY_EXTENT_MARGIN = 5.0  # degrees around the CRS's area of use
EARTH_RADIUS = 6378137.0  # of Web Mercator (EPSG:3857)
_GRID = 24  # points per side of the grid that must transform


@functools.cache
def _city_extent(srid: int) -> tuple[float, float, float, float]:
    from pyproj import CRS, Transformer
    from pyproj.exceptions import CRSError

    try:
        crs = CRS.from_epsg(srid)
    except CRSError:
        return WORLD
    area = crs.area_of_use
    base = (area.west, area.south, area.east, area.north) if area is not None else WORLD
    if base[0] > base[2]:  # an area of use across the antimeridian: all longitudes
        base = (-180.0, base[1], 180.0, base[3])
    to_city = Transformer.from_crs(4326, crs, always_xy=True)
    margin = CITY_EXTENT_MARGIN
    while True:
        box = (max(base[0] - margin, -180.0), max(base[1] - margin, -90.0),
               min(base[2] + margin, 180.0), min(base[3] + margin, 90.0))
        if _transforms(to_city, box) or margin == 0:
            return box
        margin = margin / 2 if margin > 0.1 else 0


def _transforms(transformer, box) -> bool:
    """Whether every point of a grid over the box (edges included) transforms to finite coordinates."""
    lons = [box[0] + (box[2] - box[0]) * i / _GRID for i in range(_GRID + 1)]
    lats = [box[1] + (box[3] - box[1]) * j / _GRID for j in range(_GRID + 1)]
    xs, ys = transformer.transform([lon for lon in lons for _ in lats], [lat for _ in lons for lat in lats],
                                   errcheck=False)
    return all(math.isfinite(v) for v in (*xs, *ys))


def city_extent() -> tuple[float, float, float, float]:
    """(min lon, min lat, max lon, max lat) of the part of the Earth where the city's CRS can be used."""
    return _city_extent(municipality.current().srid)


def clip_box(box: tuple[float, float, float, float]) -> tuple[float, float, float, float] | None:
    """A WGS84 box clipped to the city's extent, or None when it lies wholly outside (nothing can be found)."""
    west, south, east, north = city_extent()
    clipped = (max(box[0], west), max(box[1], south), min(box[2], east), min(box[3], north))
    if clipped[0] >= clipped[2] or clipped[1] >= clipped[3]:
        return None
    return clipped


BOX_EDGE_SEGMENTS = 32  # per edge of a box, so its edges follow the meridians and parallels in the city's CRS


def box_sql(box: tuple[float, float, float, float]) -> tuple[str, list]:
    """SQL (and its parameters) for a WGS84 box already clipped by clip_box, in the city's CRS, for
    `ST_Intersects(t.geom, <box>)`: the box's edges are cut into BOX_EDGE_SEGMENTS pieces before the transform, so
    they stay the meridians and parallels the box means (four corners alone would be joined by straight lines)."""
    step = max(box[2] - box[0], box[3] - box[1]) / BOX_EDGE_SEGMENTS
    return ("ST_Transform(ST_Segmentize(ST_MakeEnvelope(%s, %s, %s, %s, 4326), %s), %s)",
            [*box, step, municipality.current().srid])


def in_city(lon: float, lat: float) -> bool:
    """Whether a WGS84 point lies in the city's extent (a point outside it is outside the city)."""
    west, south, east, north = city_extent()
    return west <= lon <= east and south <= lat <= north


_transforms_of_thread = threading.local()


def coord_transform(source: int, target: int):
    """GDAL's transform from one SRID to another, made once per thread (GEOSGeometry.transform(srid) makes two
    spatial references and the transform on every call: about a millisecond, a twentieth of a report's submission).
    Pass it to GEOSGeometry.transform; a GDAL transform object is not to be shared between threads."""
    from django.contrib.gis.gdal import CoordTransform, SpatialReference

    made = getattr(_transforms_of_thread, "made", None)
    if made is None:
        made = _transforms_of_thread.made = {}
    key = (source, target)
    if key not in made:
        made[key] = CoordTransform(SpatialReference(source), SpatialReference(target))
    return made[key]


@functools.cache
def transformer(source: int, target: int):
    """pyproj's transformer from one EPSG code to another, x/y (longitude/latitude) order, made once per process
    (making one reads the EPSG database: milliseconds). pyproj's transformers may be used from several threads."""
    from pyproj import Transformer

    return Transformer.from_crs(source, target, always_xy=True)


def mercator_to_lonlat(box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """A Web Mercator box (metres) as longitude/latitude; beyond the map's square it stops at ±180° / the poles."""
    half = math.pi * EARTH_RADIUS

    def lon(x):
        return max(-180.0, min(180.0, math.degrees(max(-half, min(half, x)) / EARTH_RADIUS)))

    def lat(y):
        return math.degrees(math.atan(math.sinh(max(-half, min(half, y)) / EARTH_RADIUS)))

    return lon(box[0]), lat(box[1]), lon(box[2]), lat(box[3])


# -- geometry sent by people (GeoJSON in WGS84) ------------------------------------------------------------------

class BadGeometry(BadParameter):
    """A geometry a request sent that cannot be used; `reason` says why without naming the field."""

    def __init__(self, name: str, reason: str):
        super().__init__(_("%(name)s is not a GeoJSON geometry in WGS84: %(reason)s")
                         % {"name": name, "reason": reason})
        self.reason = reason


MAX_VERTICES = 10_000  # a footprint or a set of split lines is drawn by hand: far fewer
GEOMETRY_TYPES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon")


def geojson_geometry(value, name: str, kinds: tuple[str, ...]):
    """A GeoJSON geometry (a dict, or its JSON text) in WGS84 as a shapely geometry, checked before GEOS sees it: one
    of `kinds`, every coordinate a finite longitude/latitude in the city's extent, lines of at least 2 points, rings
    closed with at least 4, at most MAX_VERTICES points. BadParameter naming the field (`name`) otherwise."""
    from shapely.geometry import shape

    def bad(reason: str):
        return BadGeometry(name, reason)

    if isinstance(value, str):
        value = params.json_value(value, name)
    if not isinstance(value, dict) or value.get("type") not in GEOMETRY_TYPES:
        raise bad(_("give an object with a type (%(types)s) and coordinates") % {"types": ", ".join(kinds)})
    if value["type"] not in kinds:
        raise bad(_("a %(type)s is not accepted here; give a %(types)s")
                  % {"type": value["type"], "types": ", ".join(kinds)})
    kind = value["type"]
    depth = {"Point": 0, "MultiPoint": 1, "LineString": 1, "MultiLineString": 2, "Polygon": 2, "MultiPolygon": 3}[kind]
    count = [0]

    def position(p):
        if not isinstance(p, (list, tuple)) or len(p) not in (2, 3) or \
                not all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in p):
            raise bad(_("a position must be [longitude, latitude]"))
        lon, lat = float(p[0]), float(p[1])
        if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
            raise bad(_("coordinates must be finite WGS84 longitude/latitude"))
        if not in_city(lon, lat):
            raise bad(_("the point (%(lon)s, %(lat)s) is far outside the city") % {"lon": lon, "lat": lat})
        count[0] += 1
        if count[0] > MAX_VERTICES:
            raise bad(_("more than %(max)s points") % {"max": MAX_VERTICES})
        return lon, lat

    def walk(coords, level, role):
        if level == 0:
            return position(coords)
        if not isinstance(coords, (list, tuple)):
            raise bad(_("coordinates are not nested as a %(type)s's") % {"type": kind})
        items = [walk(c, level - 1, "ring" if role == "polygon" else
                      "polygon" if role == "multipolygon" else
                      "line" if role == "multiline" else None) for c in coords]
        if role == "line" and len(items) < 2:
            raise bad(_("a line needs at least 2 points"))
        if role == "ring" and (len(items) < 4 or items[0] != items[-1]):
            raise bad(_("a polygon's ring needs at least 4 points, the last the same as the first"))
        if role == "polygon" and not items:
            raise bad(_("a polygon needs a ring"))
        return items

    role = {"LineString": "line", "MultiLineString": "multiline", "Polygon": "polygon",
            "MultiPolygon": "multipolygon"}.get(kind)
    walk(value.get("coordinates"), depth, role)
    try:
        return shape({"type": kind, "coordinates": value["coordinates"]})
    except Exception as exc:  # shapely/GEOS refusing what passed the checks above: still the sender's input
        raise bad(str(exc)) from None
