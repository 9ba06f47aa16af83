"""manage.py compute_terrain [DEM.tif]: mean and maximum elevation and slope of every parcel from a DEM GeoTIFF.

Without a path, the DEM registered in layers (Raster of kind dem; the demo city registers its own). The DEM may be
in any CRS with an EPSG code. One transaction: all parcels are updated or none."""

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from common.commands import BaseCommand
from zoning.terrain import TerrainError, compute


class Command(BaseCommand):
    help = "Compute slope and elevation statistics per parcel from a DEM GeoTIFF."

    def add_arguments(self, parser):
        parser.add_argument("dem", nargs="?", help="GeoTIFF path (default: the registered DEM)")
        parser.add_argument("--if-absent", action="store_true", help="do nothing when terrain is computed already")

    def handle(self, *args, dem=None, if_absent=False, **opts):
        from layers.models import Raster
        from zoning.models import ParcelOverlay

        if if_absent and ParcelOverlay.objects.filter(slope_mean__isnull=False).exists():
            self.stdout.write(_("Terrain already computed; nothing to do."))
            return

        if dem is None:
            raster = Raster.objects.filter(kind=Raster.Kind.DEM).order_by("-id").first()
            if raster is None:
                raise CommandError(_("No DEM registered: give the GeoTIFF's path."))
            dem = raster.path
        try:
            result = compute(dem)
        except (TerrainError, OSError) as exc:   # rasterio's errors are OSError subclasses
            raise CommandError(f"{dem}: {exc}") from None
        self.stdout.write(self.style.SUCCESS(
            _("Terrain of %(parcels)s parcels from %(dem)s in %(seconds)s s (%(outside)s outside the DEM): %(steps)s")
            % {"parcels": f"{result['parcels']:,}", "dem": dem, "seconds": result["seconds"]["total"],
               "outside": result["without_dem_cover"], "steps": result["seconds"]}))
