"""manage.py import_layer LAYER FILE — and import_parcels / import_streets / import_buildings (and zoning's
import_zoning), which are this command with the layer fixed. Dry run unless --commit; a dry run exits non-zero when
the commit would be refused, so scripts can check a file before committing it. The report is printed in
English, or in Persian with --language fa (common/commands.py)."""

import getpass
import json
import sys
import tomllib
from pathlib import Path

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from common.commands import BaseCommand
from parcels.importing import LAYERS, ImportAborted, ImportError_, ImportOptions, run_import
from parcels.importing.fields import CALENDARS
from parcels.importing.options import DUPLICATE_POLICIES


def _pairs(items, option):
    out = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise CommandError(_("%(option)s takes NAME=VALUE, not %(item)r") % {"option": option, "item": item})
        out[name.strip()] = value.strip()
    return out


def read_mapping_file(path: str) -> dict:
    """A small mapping file (TOML or JSON): {"fields": {target: source}, "values": {target: {from: to}},
    optional "srs", "key", "source_layer", "join_csv", "join_on", "calendar", "duplicates"}."""
    p = Path(path)
    try:
        text = p.read_bytes()
        data = tomllib.loads(text.decode("utf-8")) if p.suffix.lower() == ".toml" else json.loads(text)
    except (OSError, ValueError, tomllib.TOMLDecodeError) as exc:
        raise CommandError(_("Cannot read the mapping file %(path)s: %(error)s")
                           % {"path": path, "error": exc}) from None
    unknown = set(data) - {"fields", "values", "srs", "key", "source_layer", "join_csv", "join_on", "calendar",
                           "duplicates"}
    if unknown:
        raise CommandError(_("Unknown entries in the mapping file: %(entries)s")
                           % {"entries": ", ".join(sorted(unknown))})
    return data


class Command(BaseCommand):
    help = "Import a vector file (any GDAL format) into a layer. Dry run unless --commit."
    layer = None  # fixed by the per-layer commands

    def add_arguments(self, parser):
        if self.layer is None:
            parser.add_argument("layer", choices=sorted(LAYERS))
        parser.add_argument("file", help="GeoPackage, Shapefile (.shp or .zip), GeoJSON, TopoJSON, FlatGeobuf, CSV with WKT, …")
        parser.add_argument("--map", action="append", metavar="FIELD=SOURCE", help="map a target field to a source field")
        parser.add_argument("--mapping", metavar="FILE", help="mapping file (TOML or JSON)")
        parser.add_argument("--source-layer", help="layer of a multi-layer file")
        parser.add_argument("--srs", help="CRS of a file that declares none, e.g. EPSG:4326")
        parser.add_argument("--force-srs", action="store_true", help="use --srs even where the file declares another CRS")
        parser.add_argument("--key", help="field that identifies a feature across imports (default: the layer's first)")
        parser.add_argument("--fix", action="store_true", help="repair invalid geometries (and report which)")
        parser.add_argument("--skip-invalid", action="store_true", help="with --commit: import the good rows, skip and report the rest")
        parser.add_argument("--commit", action="store_true", help="write to the database (one transaction)")
        parser.add_argument("--join-csv", metavar="CSV", help="join attributes from a CSV")
        parser.add_argument("--join-on", metavar="FIELD[=CSV_COLUMN]", help="join key")
        parser.add_argument("--allow-outside-area", action="store_true", help="accept features outside the CRS's area of use")
        parser.add_argument("--no-attributes", action="store_true", help="drop unmapped fields instead of keeping them as JSON")
        parser.add_argument("--no-derive", action="store_true", help="skip post-load steps (frontages, block links)")
        parser.add_argument("--oo", action="append", metavar="NAME=VALUE", help="GDAL open option, e.g. GEOM_POSSIBLE_NAMES=geom")
        parser.add_argument("--calendar", choices=CALENDARS,
                            help="the calendar the file's years are in (default: each field's own; year_built: Jalali)")
        parser.add_argument("--duplicates", choices=DUPLICATE_POLICIES,
                            help="rows sharing a key: refuse them all (default), keep the first or the largest, or "
                                 "merge their geometries into one multipolygon")
        parser.add_argument("--report-file", metavar="CSV", help="write every problem row to this CSV")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **opts):
        layer = self.layer or opts["layer"]
        file_conf = read_mapping_file(opts["mapping"]) if opts["mapping"] else {}
        mapping = dict(file_conf.get("fields", {}))
        mapping.update(_pairs(opts["map"], "--map"))
        options = ImportOptions(
            layer=layer,
            path=opts["file"],
            commit=opts["commit"],
            mapping=mapping,
            values=file_conf.get("values"),
            source_layer=opts["source_layer"] or file_conf.get("source_layer"),
            srs=opts["srs"] or file_conf.get("srs"),
            force_srs=opts["force_srs"],
            key=opts["key"] or file_conf.get("key"),
            fix=opts["fix"],
            skip_invalid=opts["skip_invalid"],
            join_csv=opts["join_csv"] or file_conf.get("join_csv"),
            join_on=opts["join_on"] or file_conf.get("join_on"),
            allow_outside_area=opts["allow_outside_area"],
            keep_unmapped=not opts["no_attributes"],
            derive=not opts["no_derive"],
            open_options=_pairs(opts["oo"], "--oo"),
            run_by=getpass.getuser(),
            progress=not opts["no_progress"] and sys.stderr.isatty(),
            calendar=opts["calendar"] or file_conf.get("calendar"),
            duplicates=opts["duplicates"] or file_conf.get("duplicates") or "refuse",
        )
        try:
            report = run_import(options)
        except ImportError_ as exc:
            raise CommandError(str(exc)) from None
        except ImportAborted as exc:
            self._write_report(exc.report, opts)
            raise CommandError(exc.report.abort_reason) from None
        self._write_report(report, opts)
        if report.refusal:  # a dry run whose commit would be refused fails like the commit would
            raise CommandError(_("A commit would be refused: %(reason)s") % {"reason": report.refusal})

    def _write_report(self, report, opts):
        self.stdout.write(report.summary())
        if opts["report_file"]:
            report.write_issues_csv(opts["report_file"])
            self.stdout.write("  " + _("every problem row: %(path)s") % {"path": opts["report_file"]})
