"""Terrain per parcel from a DEM GeoTIFF (any CRS): mean and maximum elevation and slope, for every parcel at once.

Slope (percent) is computed once for the whole grid (numpy central differences in metres: for a geographic CRS the
cell size is converted at each row's latitude). Parcels are read in the DEM's CRS (PostGIS transforms them), burnt
into a label grid with rasterio (cells whose centre lies in the parcel) and summarised with bincount: no per-parcel
loop. Parcels smaller than a cell get the value of the cell under their inner point. Results go back with COPY and
one UPDATE."""

from __future__ import annotations

import io
import time

import numpy as np
import rasterio
from rasterio import features
from django.db import connection, transaction
from pyproj import CRS
from shapely import wkb

from zoning import overlays

EARTH_M_PER_DEG = 111_320.0


class TerrainError(Exception):
    pass


def slope_percent(z: np.ndarray, transform, crs: CRS) -> np.ndarray:
    """Slope in percent for each cell (NaN where the DEM has no data)."""
    dx, dy = abs(transform.a), abs(transform.e)
    if crs.is_geographic:
        rows = np.arange(z.shape[0])
        lat = transform.f + (rows + 0.5) * transform.e
        dx_m = (dx * EARTH_M_PER_DEG * np.cos(np.radians(lat)))[:, None]
        dy_m = dy * EARTH_M_PER_DEG
    else:
        unit = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
        dx_m, dy_m = dx * unit, dy * unit
    gy, gx = np.gradient(z)
    return 100.0 * np.hypot(gx / dx_m, gy / dy_m)


def _dem_srid(crs: CRS) -> int:
    epsg = crs.to_epsg()
    if epsg is None:
        raise TerrainError(f"the DEM's CRS has no EPSG code PostGIS can transform to: {crs.to_string()}")
    return epsg


def compute(dem_path: str, parcel_ids=None, stdout=None) -> dict:
    """Compute terrain for the given parcels (all when None) and store it; returns counts and timings."""
    started = time.perf_counter()
    with rasterio.open(dem_path) as src:
        if src.crs is None:
            raise TerrainError(f"{dem_path} declares no CRS")
        z = src.read(1, masked=True).astype("float64").filled(np.nan)
        transform, crs, shape = src.transform, CRS.from_wkt(src.crs.to_wkt()), (src.height, src.width)
    slope = slope_percent(z, transform, crs)
    t_grid = time.perf_counter()

    params = {"srid": _dem_srid(crs), "all": parcel_ids is None, "ids": list(parcel_ids or [])}
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT p.id, ST_AsBinary(g.geom), ST_X(ST_PointOnSurface(g.geom)), ST_Y(ST_PointOnSurface(g.geom))
            FROM parcels_parcel p CROSS JOIN LATERAL (SELECT ST_Transform(p.geom, %(srid)s) AS geom) g
            WHERE %(all)s OR p.id = ANY(%(ids)s)
        """, params)
        rows = cursor.fetchall()
    if not rows:
        return {"parcels": 0}
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    index = np.arange(1, len(rows) + 1, dtype=np.int32)        # label 0 = no parcel
    labels = features.rasterize(((wkb.loads(bytes(r[1])), int(i)) for r, i in zip(rows, index)),
                                out_shape=shape, transform=transform, fill=0, dtype="int32")
    t_burn = time.perf_counter()

    n = len(rows) + 1
    flat_labels, flat_z, flat_s = labels.ravel(), z.ravel(), slope.ravel()
    ok = (flat_labels > 0) & np.isfinite(flat_z) & np.isfinite(flat_s)
    lab, zz, ss = flat_labels[ok], flat_z[ok], flat_s[ok]
    cells = np.bincount(lab, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        z_mean = np.bincount(lab, weights=zz, minlength=n) / cells
        s_mean = np.bincount(lab, weights=ss, minlength=n) / cells
    z_max = np.full(n, -np.inf)
    s_max = np.full(n, -np.inf)
    np.maximum.at(z_max, lab, zz)
    np.maximum.at(s_max, lab, ss)

    # Parcels smaller than a cell: the cell under their inner point.
    small = np.flatnonzero(cells[1:] == 0) + 1
    if len(small):
        xs = np.array([rows[i - 1][2] for i in small])
        ys = np.array([rows[i - 1][3] for i in small])
        r_idx, c_idx = rasterio.transform.rowcol(transform, xs, ys)
        r_idx, c_idx = np.asarray(r_idx), np.asarray(c_idx)
        inside = (r_idx >= 0) & (r_idx < shape[0]) & (c_idx >= 0) & (c_idx < shape[1])
        for i, r, c, ins in zip(small, r_idx, c_idx, inside):
            if ins:
                z_mean[i] = z_max[i] = z[r, c]
                s_mean[i] = s_max[i] = slope[r, c]

    def clean(a):
        return np.where(np.isfinite(a[1:]), np.round(a[1:], 2), np.nan)

    out = np.column_stack([ids, clean(z_mean), clean(z_max), clean(s_mean), clean(s_max)])
    buf = io.StringIO()
    for row in out:
        buf.write(f"{int(row[0])}," + ",".join("" if np.isnan(v) else f"{v:.2f}" for v in row[1:]) + "\n")
    with transaction.atomic(), connection.cursor() as cursor:
        if parcel_ids is None:
            overlays.refresh(None, parts=())            # every parcel has its overlay row
        else:
            overlays.refresh(list(ids), parts=())
        cursor.execute("CREATE TEMP TABLE tmp_terrain (parcel_id bigint, elevation_mean float, elevation_max float,"
                       " slope_mean float, slope_max float) ON COMMIT DROP")
        with cursor.cursor.copy("COPY tmp_terrain FROM STDIN WITH (FORMAT csv)") as copy:
            copy.write(buf.getvalue())
        cursor.execute("""
            UPDATE zoning_parceloverlay o
            SET elevation_mean = t.elevation_mean, elevation_max = t.elevation_max,
                slope_mean = t.slope_mean, slope_max = t.slope_max
            FROM tmp_terrain t WHERE o.parcel_id = t.parcel_id
        """)
        updated = cursor.rowcount
    done = time.perf_counter()
    return {"parcels": updated, "without_dem_cover": int(np.isnan(out[:, 1]).sum()),
            "seconds": {"slope_grid": round(t_grid - started, 2), "read_and_burn": round(t_burn - t_grid, 2),
                        "stats_and_write": round(done - t_burn, 2), "total": round(done - started, 2)}}
