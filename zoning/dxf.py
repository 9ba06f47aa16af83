"""The buildable envelope as a DXF drawing for the engineer's CAD (ezdxf): the parcel, the road-widening strip and
the envelope as closed polylines on their own layers, in the municipality's projected coordinates (metres), and a
text line saying what the drawing is. CAD users draw in metres on the city's grid, so nothing is reprojected."""

from __future__ import annotations

import io

import ezdxf
import shapely

from zoning.eligibility import Envelope, ParcelFacts
from zoning.rules import ZoneRules

# name, AutoCAD colour index (7 white/black, 1 red, 3 green), and which geometry goes on the layer
LAYERS = (("PARCEL", 7, "geometry"), ("ROAD_WIDENING", 1, "widening"), ("ENVELOPE", 3, "footprint"))


def envelope_drawing(facts: ParcelFacts, rules: ZoneRules, env: Envelope) -> str:
    """The DXF text (R2010, units metres)."""
    doc = ezdxf.new("R2010", units=6)   # 6 = metres
    msp = doc.modelspace()
    geoms = {"geometry": facts.geometry, "widening": facts.widening, "footprint": env.footprint}
    for name, color, source in LAYERS:
        doc.layers.add(name, color=color)
        for polygon in shapely.get_parts(geoms[source]):
            if polygon.geom_type != "Polygon":
                continue
            for ring in [polygon.exterior, *polygon.interiors]:
                msp.add_lwpolyline(list(ring.coords)[:-1], close=True, dxfattribs={"layer": name})
    doc.layers.add("TEXT", color=7)
    # English and ASCII: CAD fonts commonly lack Persian shaping
    label = (f"parcel {facts.parcel_id} zone {facts.zone_code} max floors {env.max_floors} "
             f"max GFA {env.max_gross_floor_area:.1f} m2 ({rules.rulebook}, {rules.on_date})")
    point = facts.geometry.representative_point()
    msp.add_text(label, dxfattribs={"layer": "TEXT", "height": 0.5, "insert": (point.x, point.y)})
    buf = io.StringIO()
    doc.write(buf)
    return buf.getvalue()
