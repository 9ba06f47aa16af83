"""Loading the generated demo city into the database, through the same import core as a real city's files.

All layers load in one transaction: the demo city is there completely or not at all. Every run is recorded as an
ImportRun marked is_demo, which the pages use to say on screen that the data is generated.
"""

from __future__ import annotations

import io
import logging
import time
from pathlib import Path

import pandas as pd
import pyogrio
from django.db import connection, transaction
from django.utils.translation import gettext as _

from common import municipality
from common.db import batch_session
from parcels import overview
from parcels.importing import ImportOptions, run_import

log = logging.getLogger(__name__)

# (layer spec, GeoPackage layer, mapping target <- source). Order matters: blocks need zones, parcels need blocks
# and streets (frontages), buildings need parcels.
SPATIAL_LAYERS = [
    ("districts", "districts", {"code": "code", "name": "name", "name_en": "name_en"}),
    ("cadastral_zones", "cadastral_zones", {"code": "code", "district": "district_code", "name": "name",
                                            "name_en": "name_en"}),
    ("blocks", "blocks", {"code": "code", "land_price": "land_price"}),
    ("streets", "streets", {"source_id": "street_id", "name": "name", "name_en": "name_en", "kind": "kind",
                            "existing_width": "existing_width", "planned_width": "planned_width"}),
    ("parcels", "parcels", {"renewal_code": "renewal_code", "plate_section": "plate_section",
                            "plate_main": "plate_main", "plate_sub": "plate_sub", "postal_code": "postal_code",
                            "deed_area": "deed_area", "land_use": "land_use"}),
    ("buildings", "buildings", {"source_id": "building_no", "parcel": "renewal_code", "floors_above": "floors_above",
                                "floors_below": "floors_below", "structure_type": "structure_type",
                                "year_built": "year_built", "use": "use", "gross_floor_area": "gross_floor_area",
                                "units": "units"}),
    ("zoning", "zoning", {"source_id": "=zoning-", "code": "code", "name": "name", "name_en": "name_en",
                          "colour": "colour"}),
    ("overlays", "historic_core", {"source_id": "=historic_core", "kind": "=historic_core", "name": "name",
                                   "name_en": "name_en"}),
    ("overlays", "river", {"source_id": "=river", "kind": "=river", "name": "name", "name_en": "name_en"}),
    ("overlays", "floodplain", {"source_id": "=floodplain", "kind": "=floodplain", "name": "name",
                                "name_en": "name_en"}),
    ("overlays", "fault_line", {"source_id": "=fault_line", "kind": "=fault_line", "name": "name",
                                "name_en": "name_en"}),
]


def demo_loaded() -> bool:
    from parcels.models import ImportRun, Parcel

    return ImportRun.demo_data_loaded() and Parcel.objects.exists()


def load_city(gpkg: Path, dem: Path | None, progress: bool = False, stdout=None) -> dict:
    """Load every layer of the demo GeoPackage; return counts per layer."""
    say = (stdout.write if stdout else log.info)
    counts = {}
    started = time.perf_counter()
    with transaction.atomic():
        for spec_name, source_layer, mapping in SPATIAL_LAYERS:
            if source_layer not in _layers(gpkg):
                continue
            mapping = dict(mapping)
            if mapping.get("source_id") == "=zoning-":
                mapping["source_id"] = "@fid"
            if "colour" in mapping and "colour" not in _fields(gpkg, source_layer):
                del mapping["colour"]  # a GeoPackage generated before zone colours were data: the fallback palette
            opts = ImportOptions(
                layer=spec_name, path=str(gpkg), source_layer=source_layer, mapping=mapping, commit=True,
                keep_unmapped=False, is_demo=True, run_by="load_demo_city", progress=progress,
                fix=True,  # a generated sliver valid in UTM may not be at GeoJSON's 7 decimals: snapped
            )
            report = run_import(opts)
            counts[source_layer] = report.inserted + report.updated + report.unchanged
            say(f"  {source_layer:<16} " + _("%(rows)s rows  (%(seconds).1fs)")
                % {"rows": f"{counts[source_layer]:>9,}", "seconds": report.timings["total"]})
        with batch_session():
            counts.update(_load_owners(gpkg))
        if dem is not None and dem.exists():
            _register_dem(dem)
        with batch_session():  # the tiles' land-use overview now, so the demo's low zooms show at once
            overview.rebuild()
    say("  " + _("demo city loaded in %(seconds).1fs") % {"seconds": time.perf_counter() - started})
    return counts


def _fields(gpkg: Path, layer: str) -> set[str]:
    return {str(name) for name in pyogrio.read_info(gpkg, layer=layer)["fields"]}


def _layers(gpkg: Path) -> set[str]:
    return {str(row[0]) for row in pyogrio.list_layers(gpkg)}


def _copy(cursor, table: str, frame: pd.DataFrame) -> None:
    buf = io.StringIO()
    frame.to_csv(buf, index=False, header=False)
    cols = ", ".join(f'"{c}"' for c in frame.columns)
    with cursor.cursor.copy(f"COPY {table} ({cols}) FROM STDIN WITH (FORMAT csv)") as copy:
        copy.write(buf.getvalue())


def _load_owners(gpkg: Path) -> dict:
    """Owners, ownerships and addresses: attribute tables, staged with COPY and joined to parcels and streets."""
    owners = pyogrio.read_dataframe(gpkg, layer="owners", read_geometry=False)
    shares = pyogrio.read_dataframe(gpkg, layer="ownerships", read_geometry=False)
    addresses = pyogrio.read_dataframe(gpkg, layer="addresses", read_geometry=False)
    with connection.cursor() as cursor:
        cursor.execute("""
            CREATE TEMP TABLE demo_owner (owner_id text, kind text, first_name text, last_name text,
                legal_name text, national_id text, phone text) ON COMMIT DROP;
            CREATE TEMP TABLE demo_share (renewal_code text, owner_id text, share_dang numeric) ON COMMIT DROP;
            CREATE TEMP TABLE demo_address (renewal_code text, street_id text, plaque text) ON COMMIT DROP;
        """)
        cols = ["owner_id", "kind", "first_name", "last_name", "legal_name", "national_id", "phone"]
        _copy(cursor, "demo_owner", owners[cols].astype(object))
        _copy(cursor, "demo_share", shares[["renewal_code", "owner_id", "share_dang"]].astype(object))
        _copy(cursor, "demo_address", addresses[["renewal_code", "street_id", "plaque"]].astype(object))
        cursor.execute("""
            INSERT INTO parcels_owner (source_id, kind, first_name, last_name, legal_name, national_id, phone)
            SELECT 'demo-' || owner_id, kind, COALESCE(first_name, ''), COALESCE(last_name, ''),
                   COALESCE(legal_name, ''), national_id, COALESCE(phone, '')
            FROM demo_owner
            ON CONFLICT (source_id) DO UPDATE SET kind = EXCLUDED.kind, first_name = EXCLUDED.first_name,
                last_name = EXCLUDED.last_name, legal_name = EXCLUDED.legal_name,
                national_id = EXCLUDED.national_id, phone = EXCLUDED.phone
        """)
        n_owners = cursor.rowcount
        cursor.execute("""
            DELETE FROM parcels_ownership WHERE parcel_id IN (
                SELECT p.id FROM parcels_parcel p JOIN demo_share s ON s.renewal_code = p.renewal_code)
        """)
        cursor.execute("""
            INSERT INTO parcels_ownership (parcel_id, owner_id, share_dang)
            SELECT p.id, o.id, s.share_dang
            FROM demo_share s
            JOIN parcels_parcel p ON p.renewal_code = s.renewal_code
            JOIN parcels_owner o ON o.source_id = 'demo-' || s.owner_id
        """)
        n_shares = cursor.rowcount
        cursor.execute("""
            DELETE FROM parcels_address WHERE parcel_id IN (
                SELECT p.id FROM parcels_parcel p JOIN demo_address a ON a.renewal_code = p.renewal_code)
        """)
        cursor.execute("""
            INSERT INTO parcels_address (parcel_id, street_id, plaque)
            SELECT p.id, st.id, COALESCE(a.plaque, '')
            FROM demo_address a
            JOIN parcels_parcel p ON p.renewal_code = a.renewal_code
            LEFT JOIN parcels_street st ON st.source_id = a.street_id
        """)
        n_addresses = cursor.rowcount
    return {"owners": n_owners, "ownerships": n_shares, "addresses": n_addresses}


def _register_dem(dem: Path) -> None:
    from layers.models import Raster

    Raster.objects.update_or_create(
        slug="demo-dem",
        defaults={"title": "مدل رقومی ارتفاع (نمایشی)", "title_en": "Elevation model (demo)", "kind": "dem",
                  "path": str(dem), "srid": municipality.current().srid, "is_demo": True},
    )
