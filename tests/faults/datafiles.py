"""Generated input files of the fault suite: a grid of square parcels as big as the test needs, in the
municipality's CRS around the demo city's centre, written with GDAL (pyogrio)."""

import math
from pathlib import Path

import numpy as np


def parcel_grid(path: Path, rows: int, srid: int, cell: float = 12.0) -> Path:
    """`rows` square parcels (source_id P000001…, a deed area) in a GeoPackage at `path` (kept if present)."""
    import geopandas as gpd
    import shapely
    from pyproj import Transformer

    if path.exists():
        return path
    side = math.ceil(math.sqrt(rows))
    x0, y0 = Transformer.from_crs(4326, srid, always_xy=True).transform(54.553, 28.755)
    i = np.arange(rows)
    col, row = i % side, i // side
    minx = x0 - side * cell / 2 + col * cell
    miny = y0 - side * cell / 2 + row * cell
    geoms = shapely.box(minx, miny, minx + cell - 0.5, miny + cell - 0.5)
    frame = gpd.GeoDataFrame({"source_id": [f"P{n:06d}" for n in i + 1],
                              "deed_area": np.round((cell - 0.5) ** 2, 2)}, geometry=geoms, crs=f"EPSG:{srid}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.gpkg")
    tmp.unlink(missing_ok=True)
    frame.to_file(tmp, driver="GPKG", engine="pyogrio")
    tmp.rename(path)
    return path
