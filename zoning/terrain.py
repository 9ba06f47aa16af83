"""Terrain per parcel from a DEM GeoTIFF (any CRS): mean and maximum elevation and slope, for every parcel at once.

Slope (percent) is computed once for the whole grid (numpy central differences in metres: for a geographic CRS the
cell size is converted at each row's latitude). Parcels are read in the DEM's CRS (PostGIS transforms them), burnt
into a label grid with rasterio (cells whose centre lies in the parcel) and summarised with bincount: no per-parcel
loop. Parcels smaller than a cell get the value of the cell under their inner point. Results go back with COPY and
one UPDATE."""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import rasterio
import shapely
from django.db import connection, transaction
from pyproj import CRS
from rasterio import features
from rasterio.errors import WindowError
from rasterio.windows import Window, from_bounds
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


def compute(dem_path: str, parcel_ids=None) -> dict:
    """Compute terrain for the given parcels (all when None) and store it; returns counts and timings. For a few
    parcels only the window of the DEM around them is read."""
    started = time.perf_counter()
    params = {"all": parcel_ids is None, "ids": list(parcel_ids or [])}
    with rasterio.open(dem_path) as src:
        if src.crs is None:
            raise TerrainError(f"{dem_path} declares no CRS")
        crs = CRS.from_wkt(src.crs.to_wkt())
        params["srid"] = _dem_srid(crs)
        with connection.cursor() as cursor:
            cursor.execute("""
                SELECT p.id, ST_AsBinary(g.geom), ST_X(ST_PointOnSurface(g.geom)), ST_Y(ST_PointOnSurface(g.geom))
                FROM parcels_parcel p CROSS JOIN LATERAL (SELECT ST_Transform(p.geom, %(srid)s) AS geom) g
                WHERE %(all)s OR p.id = ANY(%(ids)s)
            """, params)
            rows = cursor.fetchall()
        if not rows:
            return {"parcels": 0, "without_dem_cover": 0, "seconds": {"total": 0.0}}
        geoms = [wkb.loads(bytes(r[1])) for r in rows]
        window = None
        if parcel_ids is not None:
            x0, y0, x1, y1 = shapely.total_bounds(geoms)
            pad = 2 * max(abs(src.transform.a), abs(src.transform.e))   # neighbours for the slope at the edge
            full = Window(0, 0, src.width, src.height)
            window = from_bounds(x0 - pad, y0 - pad, x1 + pad, y1 + pad, src.transform).round_offsets()
            try:
                window = window.round_lengths().intersection(full)
            except WindowError:       # the parcels lie outside the DEM
                return {"parcels": 0, "without_dem_cover": len(rows), "seconds": {"total": 0.0}}
        z = src.read(1, window=window, masked=True).astype("float64").filled(np.nan)
        transform = src.window_transform(window) if window is not None else src.transform
        shape = z.shape
    slope = slope_percent(z, transform, crs)
    t_grid = time.perf_counter()

    ids = np.array([r[0] for r in rows], dtype=np.int64)
    index = np.arange(1, len(rows) + 1, dtype=np.int32)        # label 0 = no parcel
    labels = features.rasterize(zip(geoms, (int(i) for i in index)),
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
        cursor.execute("DROP TABLE IF EXISTS tmp_terrain")
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
        cursor.execute("DROP TABLE tmp_terrain")
    done = time.perf_counter()
    return {"parcels": updated, "without_dem_cover": int(np.isnan(out[:, 1]).sum()),
            "seconds": {"read_and_slope": round(t_grid - started, 2), "burn": round(t_burn - t_grid, 2),
                        "stats_and_write": round(done - t_burn, 2), "total": round(done - started, 2)}}


def refresh_from_registered_dem(parcel_ids) -> None:
    """Hook after a parcel edit or a partial import: terrain of those parcels from the registered DEM, if any (a
    whole-city refresh is left to `manage.py compute_terrain`)."""
    from layers.models import Raster

    if parcel_ids is None or not list(parcel_ids):
        return
    raster = Raster.objects.filter(kind=Raster.Kind.DEM).order_by("-id").first()
    if raster is not None and Path(raster.path).exists():
        compute(raster.path, parcel_ids)


def post_load_parcels(cursor, report=None) -> dict:
    """After a parcel import that touched part of the city: their terrain (a first load: compute_terrain)."""
    cursor.execute("SELECT id FROM import_touched")
    ids = [row[0] for row in cursor.fetchall()]
    cursor.execute("SELECT count(*) FROM parcels_parcel")
    if not ids or len(ids) > 0.5 * cursor.fetchone()[0]:
        return {}
    refresh_from_registered_dem(ids)
    return {"terrain refreshed for parcels": len(ids)}
