"""manage.py export_layer: registered layers to a GeoPackage (styled for QGIS), zipped Shapefile, GeoJSON, CSV or
FlatGeobuf, in the municipality's CRS or any EPSG, filtered by district, bbox or field values. The file appears
whole or not at all."""

from pathlib import Path

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from common.commands import BaseCommand
from common.errors import ApiError
from layers.exports import FORMATS, ExportFailed, ExportRequest, export
from layers.registry import LAYERS


class Command(BaseCommand):
    help = "Export registered layers (all of them, staff-only ones included: this runs with the server's rights)."

    def add_arguments(self, parser):
        parser.add_argument("layers", nargs="+", help=f"layer names: {', '.join(LAYERS)}")
        parser.add_argument("-o", "--output", required=True, help="file to write")
        parser.add_argument("-f", "--format", default=None, choices=list(FORMATS),
                            help="default: from the output's suffix, else gpkg")
        parser.add_argument("--srid", help="EPSG code of the output CRS (default: the municipality's)")
        parser.add_argument("--district", help="only features in this district (code)")
        parser.add_argument("--bbox", help="minlon,minlat,maxlon,maxlat (WGS84)")
        parser.add_argument("--where", action="append", default=[], metavar="FIELD=VALUE",
                            help="only features whose field equals the value (repeatable)")

    def handle(self, *args, **opts):
        unknown = [name for name in opts["layers"] if name not in LAYERS]
        if unknown:
            raise CommandError(_("Unknown layer(s) %(unknown)s; layers: %(layers)s")
                               % {"unknown": ", ".join(unknown), "layers": ", ".join(LAYERS)})
        out = Path(opts["output"]).resolve()
        fmt = opts["format"] or {".gpkg": "gpkg", ".zip": "shp", ".geojson": "geojson", ".json": "geojson",
                                 ".csv": "csv", ".fgb": "fgb"}.get(out.suffix.lower(), "gpkg")
        filters = {}
        for item in opts["where"]:
            name, sep, value = item.partition("=")
            if not sep:
                raise CommandError(_("--where %(item)r must be FIELD=VALUE") % {"item": item})
            filters[name] = value
        req = ExportRequest([LAYERS[n] for n in opts["layers"]], fmt, opts["srid"], opts["district"], opts["bbox"],
                            filters)
        try:
            export(req, out)
        except ApiError as exc:
            raise CommandError(exc.message) from None
        except ExportFailed as exc:  # a full disk says so in words (ExportNoRoom.message), then the detail
            raise CommandError(f"{exc.message} ({exc})" if hasattr(exc, "message") else str(exc)) from None
        self.stdout.write(_("Wrote %(file)s (%(size)s bytes)") % {"file": out, "size": f"{out.stat().st_size:,}"})
