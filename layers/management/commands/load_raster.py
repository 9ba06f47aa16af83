"""manage.py load_raster: keep a GeoTIFF (any CRS) as a Cloud-Optimized GeoTIFF raster layer; --hillshade-of makes
the layer a hillshade of an already loaded DEM instead (`load_raster --hillshade-of demo-dem demo-hillshade`)."""

from pathlib import Path

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from common.commands import BaseCommand
from common.errors import ApiError
from layers import rasters
from layers.models import Raster


class Command(BaseCommand):
    help = "Load a GeoTIFF as a raster layer (kept as a COG, served as XYZ PNG tiles)."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("file", nargs="?", help="the GeoTIFF")
        parser.add_argument("--title", default="")
        parser.add_argument("--title-en", default="")
        parser.add_argument("--kind", default=Raster.Kind.ORTHOPHOTO, choices=Raster.Kind.values)
        parser.add_argument("--hillshade-of", metavar="DEM_SLUG", help="shade this DEM instead of reading a file")
        parser.add_argument("--if-absent", action="store_true", help="do nothing if the slug exists")
        parser.add_argument("--nodata", type=float, metavar="VALUE",
                            help="the value of missing pixels (for a file that declares none, e.g. --nodata 0)")

    def handle(self, *args, **opts):
        slug = opts["slug"]
        if opts["if_absent"] and Raster.objects.filter(slug=slug).exists():
            return
        try:
            if opts["hillshade_of"]:
                dem = Raster.objects.filter(slug=opts["hillshade_of"]).first()
                if dem is None:
                    if opts["if_absent"]:
                        return  # no DEM loaded (a city without one): nothing to shade
                    raise CommandError(_("No raster %(slug)r") % {"slug": opts["hillshade_of"]})
                raster = rasters.make_hillshade(dem, slug)
            else:
                if not opts["file"]:
                    raise CommandError(_("Give the GeoTIFF file (or --hillshade-of)"))
                raster, warning = rasters.load_file(Path(opts["file"]), slug, opts["title"] or slug,
                                                    opts["title_en"], opts["kind"], nodata=opts["nodata"])
                if warning:
                    self.stderr.write(self.style.WARNING(_("Warning: %(warning)s") % {"warning": warning}))
        except ApiError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(_("Raster %(slug)s: %(path)s") % {"slug": raster.slug, "path": raster.path})
