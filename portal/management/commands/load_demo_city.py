"""manage.py load_demo_city: generate the demo town at Darab (if not yet generated) and load it.

The generated files are cached in VAR_DIR by their parameters, so a second run only loads (or, with --if-absent,
does nothing when the demo city is already in the database)."""

import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from common import municipality
from common.commands import BaseCommand
from parcels.importing import ImportAborted, ImportError_


class Command(BaseCommand):
    help = "Generate (if needed) and load the demo city; one transaction."

    def add_arguments(self, parser):
        parser.add_argument("--parcels", type=int, default=20000, help="about how many parcels (default 20,000)")
        parser.add_argument("--seed", type=int, default=1404)
        parser.add_argument("--out", help="folder for the generated GeoPackage and DEM (default "
                                          "VAR_DIR/demo_city_N_SEED, with the SRID and centre when not Darab's)")
        parser.add_argument("--center-lon", type=float, default=None,
                            help="the town's centre, longitude (default Darab's), inside the municipality's CRS's area")
        parser.add_argument("--center-lat", type=float, default=None, help="the town's centre, latitude")
        parser.add_argument("--if-absent", action="store_true", help="do nothing when the demo city is loaded already")

    def handle(self, *args, **opts):
        from data.demo_city.generator import CityParams, generate_city
        from data.demo_city.loader import demo_loaded, load_city

        if opts["parcels"] < 100 or opts["parcels"] > 2_000_000:
            raise CommandError(_("--parcels must be between 100 and 2,000,000"))
        if opts["if_absent"] and demo_loaded():
            self.stdout.write(_("Demo city already loaded; nothing to do."))
            return
        where = {k: v for k, v in (("center_lon", opts["center_lon"]), ("center_lat", opts["center_lat"]))
                 if v is not None}
        folder = f"demo_city_{opts['parcels']}_{opts['seed']}"
        srid = municipality.current().srid
        if srid != CityParams.srid or where:  # another city's files never mix with Darab's
            folder += f"_{srid}" + "".join(f"_{v:g}" for v in where.values())
        out = Path(opts["out"] or settings.VAR_DIR / folder)
        gpkg, dem = out / "demo_city.gpkg", out / "dem.tif"
        progress = sys.stderr.isatty()
        if not gpkg.exists():
            self.stdout.write(_("Generating the demo city (%(parcels)s parcels, seed %(seed)s) in %(folder)s …")
                              % {"parcels": f"{opts['parcels']:,}", "seed": opts["seed"], "folder": out})
            params = CityParams(parcels=opts["parcels"], seed=opts["seed"], srid=srid, **where)
            result = generate_city(params, out_dir=out, progress=progress)
            gpkg, dem = result.gpkg_path, result.dem_path
        self.stdout.write(_("Loading %(file)s …") % {"file": gpkg})
        try:
            counts = load_city(gpkg, dem, progress=progress, stdout=self.stdout)
        except (ImportError_, ImportAborted) as exc:
            report = getattr(exc, "report", None)
            if report is not None:
                self.stdout.write(report.summary())
            raise CommandError(_("The demo city did not load (nothing was written): %(error)s")
                               % {"error": exc}) from None
        self.stdout.write(self.style.SUCCESS(_("Demo city loaded: %(counts)s")
                                             % {"counts": ", ".join(f"{k} {v:,}" for k, v in counts.items())}))
