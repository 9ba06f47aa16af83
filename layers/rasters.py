"""Raster layers (DEM, hillshade, orthophoto): a GeoTIFF in any CRS is checked, kept as a Cloud-Optimized GeoTIFF
(rio-cogeo) in VAR_DIR/rasters, and served as XYZ PNG tiles in Web Mercator (rio-tiler reads only the COG's
overview and blocks a tile needs, and reprojects them). A hillshade is made from a DEM by GDAL's `gdaldem`.

A file that GDAL cannot read as a GeoTIFF, or one without a CRS (an unprojected image cannot be placed on the map),
is refused with a clear message and nothing is kept.
"""

import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from django.db import transaction
from django.utils.translation import gettext as _

from common import municipality
from common.errors import BadParameter
from layers.models import Raster

TILE_SIZE = 256


def raster_dir() -> Path:
    path = municipality.var_dir() / "rasters"  # the current municipality's
    path.mkdir(parents=True, exist_ok=True)
    return path


def check_geotiff(path: Path) -> "rasterio.crs.CRS":
    import rasterio
    from rasterio.errors import RasterioIOError

    name = {"file": Path(path).name}
    try:
        with rasterio.open(path) as src:
            if src.driver != "GTiff":
                raise BadParameter(_("%(file)s is a %(driver)s file, not a GeoTIFF") % {**name, "driver": src.driver})
            if src.crs is None:
                raise BadParameter(_("%(file)s has no coordinate reference system (unprojected): georeference it "
                                     "(e.g. gdal_translate -a_srs EPSG:…) and upload it again") % name)
            if src.transform.is_identity and not src.gcps[0]:
                raise BadParameter(_("%(file)s has a CRS but no georeferencing (no geotransform or GCPs)") % name)
            if src.width < 2 or src.height < 2:
                raise BadParameter(_("%(file)s is empty") % name)
            src.read(1, window=((0, 1), (0, 1)))  # a corrupt body fails here rather than while tiling
            return src.crs
    except RasterioIOError as exc:
        raise BadParameter(_("%(file)s is not a readable GeoTIFF: %(error)s") % {**name, "error": exc}) from None


# A DEM without a declared NoData value whose pixels are this share (or more) exactly 0, or whose border is mostly
# its minimum value (a fill such as -32768 or -9999 around the data), is probably hiding missing data as heights.
NODATA_SUSPECT_SHARE = 0.05
NODATA_BORDER_SHARE = 0.5
NODATA_SAMPLE_PIXELS = 1024  # the check reads the band decimated to at most this many pixels a side (nearest)


def undeclared_nodata(path: Path) -> dict | None:
    """What looks like missing data in a raster that declares no NoData value: None when it declares one or nothing
    looks suspicious, else {"value": the suspect value, "share": its share of the pixels, "why": "zeros" or
    "border"}. Reads the first band decimated by nearest neighbour (exact values kept), so a large DEM costs little."""
    import rasterio
    from rasterio.enums import Resampling

    with rasterio.open(path) as src:
        if src.nodata is not None or src.count < 1:
            return None
        scale = max(src.width, src.height) / NODATA_SAMPLE_PIXELS
        shape = (max(2, round(src.height / max(scale, 1))), max(2, round(src.width / max(scale, 1))))
        band = src.read(1, out_shape=shape, resampling=Resampling.nearest)
    finite = np.isfinite(band) if band.dtype.kind == "f" else np.ones(band.shape, bool)
    if not finite.any():
        return None
    zeros = float(np.mean(band == 0))
    if zeros >= NODATA_SUSPECT_SHARE:
        return {"value": 0, "share": zeros, "why": "zeros"}
    low = band[finite].min()
    border = np.concatenate([band[0], band[-1], band[1:-1, 0], band[1:-1, -1]])
    at_min = float(np.mean(band == low))
    if low != 0 and float(np.mean(border == low)) >= NODATA_BORDER_SHARE and at_min >= NODATA_SUSPECT_SHARE:
        value = low.item()
        return {"value": int(value) if float(value).is_integer() else value, "share": at_min, "why": "border"}
    return None


def nodata_warning(path: Path, option: str = "--nodata %s") -> str | None:
    """The warning for a DEM that hides missing data as heights (see undeclared_nodata), naming the option that
    declares it (`option` % value: the command's --nodata, the upload API's nodata=)."""
    found = undeclared_nodata(path)
    if found is None:
        return None
    values = {"file": Path(path).name, "share": f"{found['share']:.0%}", "value": found["value"],
              "how": option % found["value"]}
    if found["why"] == "zeros":
        text = _("%(file)s declares no NoData value and %(share)s of its pixels are exactly 0: they are used as "
                 "heights of 0 m (slopes and elevations of the parcels there will be wrong). If they are missing "
                 "data, load it again with %(how)s.")
    else:
        text = _("%(file)s declares no NoData value and its border is mostly %(value)s (%(share)s of its pixels): "
                 "they are used as heights. If they are missing data, load it again with %(how)s.")
    return text % values


def load_file(src: Path, slug: str, title: str, title_en: str, kind: str, nodata: float | None = None,
              option: str = "--nodata %s") -> tuple[Raster, str | None]:
    """What load_raster and the upload API both do: a DEM given no `nodata` is looked at for missing data written as
    heights (the warning is returned, naming `option`; the file is loaded as it is: the user decides), then ingest."""
    import numpy as np
    import rasterio

    warning = None
    check_geotiff(src)  # an unreadable file is refused first, with its own message
    if kind == Raster.Kind.DEM and nodata is None:
        warning = nodata_warning(src, option)
    if nodata is not None:
        with rasterio.open(src) as source:
            dtype = source.dtypes[0]
        whole = np.issubdtype(np.dtype(dtype), np.integer)
        if (whole and not float(nodata).is_integer()) or not rasterio.dtypes.in_dtype_range(nodata, dtype):
            limits = np.iinfo(dtype) if whole else np.finfo(dtype)
            raise BadParameter(_("nodata %(value)s does not fit the file's pixels (%(dtype)s: %(kind)s from %(min)s "
                                 "to %(max)s)") % {"value": nodata, "dtype": dtype, "min": limits.min,
                                                   "max": limits.max,
                                                   "kind": _("whole numbers") if whole else _("numbers")})
        if float(nodata).is_integer():
            nodata = int(nodata)
    return ingest(src, slug, title, title_en, kind, nodata=nodata), warning


def ingest(src: Path, slug: str, title: str, title_en: str, kind: str, is_demo: bool = False,
           nodata: float | None = None) -> Raster:
    """Check `src`, write it as a COG next to the other rasters (whole or not at all) and record it. `nodata`
    declares the value of missing pixels in the COG (for a file that declares none, or a wrong one)."""
    from rio_cogeo.cogeo import cog_translate
    from rio_cogeo.profiles import cog_profiles

    if kind not in Raster.Kind.values:
        raise BadParameter(_("Unknown raster kind '%(kind)s'; kinds: %(kinds)s")
                           % {"kind": kind, "kinds": ", ".join(Raster.Kind.values)})
    if not slug or not slug.replace("-", "").replace("_", "").isalnum():
        raise BadParameter(_("slug must be letters, digits, - or _"))
    crs = check_geotiff(src)
    target = raster_dir() / f"{slug}.tif"
    with tempfile.NamedTemporaryFile(dir=target.parent, suffix=".tif", delete=False) as tmp:
        tmp_path = Path(tmp.name)
    try:
        cog_translate(str(src), str(tmp_path), cog_profiles.get("deflate"), nodata=nodata, quiet=True,
                      in_memory=False)
        with transaction.atomic():
            raster, _created = Raster.objects.update_or_create(slug=slug, defaults={
                "title": title, "title_en": title_en, "kind": kind, "path": str(target),
                "srid": crs.to_epsg(), "is_demo": is_demo})
            os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)
    return raster


def make_hillshade(dem: Raster, slug: str) -> Raster:
    """A hillshade of a DEM (GDAL's gdaldem, sun from the north-west at 45°), kept as its own raster layer."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "hillshade.tif"
        result = subprocess.run(["gdaldem", "hillshade", "-compute_edges", "-az", "315", "-alt", "45", dem.path,
                                 str(out)], capture_output=True, text=True)
        if result.returncode != 0:
            raise BadParameter(f"gdaldem could not shade {dem.slug}: {result.stderr.strip()[-500:]}")
        return ingest(out, slug, f"سایه‌روشن {dem.title}", f"Hillshade of {dem.title_en or dem.title}",
                      Raster.Kind.HILLSHADE, dem.is_demo)


def render_tile(raster: Raster, z: int, x: int, y: int) -> bytes | None:
    """A 256 px PNG of the tile in Web Mercator; None when the tile lies outside the raster. Hillshades and images
    are drawn as they are; a DEM is stretched over its own range and shown as grey relief."""
    from rio_tiler.errors import TileOutsideBounds
    from rio_tiler.io import Reader

    with Reader(raster.path) as reader:
        try:
            image = reader.tile(x, y, z, tilesize=TILE_SIZE, resampling_method="bilinear")
        except TileOutsideBounds:
            return None
        if raster.kind == Raster.Kind.DEM or image.data.dtype != np.uint8:
            stats = reader.statistics(max_size=256)
            band = next(iter(stats.values()))
            image = image.rescale(in_range=((band.min, band.max),))
    return image.render(img_format="PNG")
