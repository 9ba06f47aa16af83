"""System checks (`manage.py check`, and before migrate/runserver) for what must hold to run at all."""

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.core.checks import Warning as CheckWarning


@register()
def gdal_found(app_configs, **kwargs):
    try:
        from django.contrib.gis.gdal import gdal_version

        gdal_version()
    except Exception as exc:  # ImproperlyConfigured or OSError from ctypes, depending on what is missing
        return [Error(f"GDAL was not found: {exc}", hint="Install Debian's gdal-bin (./run demo does).", id="gis_portal.E001")]
    return []


@register()
def municipality_srid_projected(app_configs, **kwargs):
    """The default municipality's CRS must be projected and in metres (the checks of MUNICIPALITIES_FILE's tables,
    common.municipality.srid_fault)."""
    from common import municipality

    kind, problem = municipality.srid_fault(settings.MUNICIPALITY_SRID)
    if not kind:
        return []
    ids = {municipality.SRID_UNKNOWN: "gis_portal.E002", municipality.SRID_NOT_PROJECTED: "gis_portal.E003",
           municipality.SRID_NOT_METRES: "gis_portal.E004"}
    hint = "Use the municipality's UTM zone, e.g. 32640 for Darab (UTM 40N)."
    return [Error(f"MUNICIPALITY_SRID {problem}.", hint=hint if kind == municipality.SRID_NOT_PROJECTED else None,
                  id=ids[kind])]


@register()
def renewal_code_widths(app_configs, **kwargs):
    widths = settings.RENEWAL_CODE_WIDTHS
    if len(widths) != 7 or any(w < 1 or w > 6 for w in widths):
        return [Error(f"RENEWAL_CODE_WIDTHS must be 7 widths of 1-6 digits, not {widths}.", id="gis_portal.E005")]
    return []


@register(Tags.database)
def postgis_present(app_configs, databases=None, **kwargs):
    """PostGIS 3 must be installable in the database (migrate creates the extension) or installed."""
    from django.db import connections

    errors = []
    for alias in databases or []:
        with connections[alias].cursor() as cursor:
            cursor.execute(
                "SELECT default_version, installed_version FROM pg_available_extensions WHERE name = 'postgis'"
            )
            row = cursor.fetchone()
        if row is None:
            errors.append(Error(
                f"PostGIS is not available on the database server of '{alias}'.",
                hint="Install Debian's postgresql-15-postgis-3 (./run demo does).", id="gis_portal.E010",
            ))
            continue
        version = row[1] or row[0]
        if int(version.split(".")[0]) < 3:
            errors.append(Error(f"PostGIS {version} is too old; version 3 or later is needed.", id="gis_portal.E011"))
    return errors


# The migration that brings a column left at Darab's SRID by an old migration into line (zoning 0003): while it is
# not applied, that column's mismatch is what `migrate` will fix, so it must not stop migrate (which runs these checks).
_FIXED_BY_MIGRATION = {
    ("zoning_parceloverlay", "widening_geom"): ("zoning", "0003_widening_geom_follows_municipality_srid"),
}
# Derived copies made only for vector tiles, kept in the tiles' CRS on purpose (parcels/overview.py): not a CRS
# mismatch. Nothing measures areas or lengths on them.
TILE_COPIES_3857 = {("parcels_landuse_overview", "geom")}


@register()
def geometry_fields_follow_srid(app_configs, **kwargs):
    """Every geometry field of every model is in the current municipality's CRS (common.fields): a field declared
    with an SRID of its own would keep one city's CRS in every municipality's database."""
    from django.apps import apps

    return fixed_srid_fields(apps.get_models(include_auto_created=True))


def fixed_srid_fields(models) -> list[Error]:
    from django.contrib.gis.db.models import GeometryField

    from common.fields import MunicipalSRID

    return [Error(f"{model._meta.label}.{field.name} is declared with SRID {field.srid}, not in the municipality's "
                  "CRS.", hint="Declare it with a field of common.fields (MunicipalMultiPolygonField, ...), and its "
                               "migration too.", obj=model, id="gis_portal.E020")
            for model in models for field in model._meta.local_fields
            if isinstance(field, GeometryField) and not isinstance(field, MunicipalSRID)]


@register(Tags.database)
def geometry_columns_follow_srid(app_configs, databases=None, **kwargs):
    """Every geometry column in a municipality's database (tables and views of the project's schema) is in its CRS
    (MUNICIPALITY_SRID for the default municipality's, the connection "default").

    Runs with `manage.py check --database default` and before every `migrate` (Django runs database checks there),
    so `./run demo` stops before serving when the setting and the database disagree: a changed MUNICIPALITY_SRID
    after the first migrate, or a column an older migration created in another CRS. Geography columns (always
    longitude/latitude) are reported too: the project keeps every geometry in the municipality's CRS."""
    from django.db import connections
    from django.db.migrations.recorder import MigrationRecorder

    errors = []
    for alias in databases or []:
        srid = _srid_of_database(alias)
        if srid is None:
            continue  # no municipality's database (yet): nothing to compare with
        connection = connections[alias]
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass('geometry_columns') IS NOT NULL")
            if not cursor.fetchone()[0]:
                continue  # PostGIS not installed yet (before the first migrate): nothing stored in any CRS
            cursor.execute(
                "SELECT f_table_name, f_geometry_column, srid, 'geometry' FROM geometry_columns"
                " WHERE f_table_schema = current_schema() AND srid NOT IN (0, %s)"
                " UNION ALL SELECT f_table_name, f_geography_column, srid, 'geography' FROM geography_columns"
                " WHERE f_table_schema = current_schema() ORDER BY 1, 2", [srid])
            wrong = [row for row in cursor.fetchall() if not (row[2] == 3857 and row[:2] in TILE_COPIES_3857)]
            cursor.execute("SELECT srid FROM geometry_columns WHERE f_table_schema = current_schema()"
                           " AND f_table_name = 'parcels_parcel' AND f_geometry_column = 'geom'")
            cadastre = cursor.fetchone()
        if not wrong:
            continue
        applied = set(MigrationRecorder(connection).applied_migrations()) if MigrationRecorder(
            connection).has_table() else set()
        if cadastre is not None and cadastre[0] != srid:
            errors.append(Error(
                f"MUNICIPALITY_SRID is {srid} but the database '{alias}' stores the cadastre in EPSG:{cadastre[0]} "
                f"({len(wrong)} geometry column(s) in other CRSs than the setting, e.g. "
                f"{wrong[0][0]}.{wrong[0][1]}).",
                hint=f"Set MUNICIPALITY_SRID={cadastre[0]} for this database, or create a new database for the other "
                     "CRS (createdb, DATABASE_URL, migrate, then import): the SRID is fixed at the first migrate.",
                id="gis_portal.E021"))
            continue
        for table, column, found, kind in wrong:
            fix = _FIXED_BY_MIGRATION.get((table, column))
            if fix is not None and fix not in applied:
                errors.append(CheckWarning(
                    f"{table}.{column} is in EPSG:{found}, not MUNICIPALITY_SRID ({srid}); migration {fix[0]}.{fix[1]} "
                    "changes it.", hint="Run manage.py migrate.", id="gis_portal.W022"))
                continue
            errors.append(Error(
                f"{table}.{column} in database '{alias}' is a {kind} column in EPSG:{found}, not in "
                f"MUNICIPALITY_SRID ({srid}).",
                hint=f"Change its type to geometry(..., {srid}) with ST_Transform in a migration (as zoning migration "
                     "0003 does), and declare it with a field of common.fields.",
                id="gis_portal.E022"))
    return errors


def _srid_of_database(alias: str) -> int | None:
    """The CRS of the municipality whose database (or a replica of it) `alias` is."""
    from common import municipality

    if alias == "default":  # the current municipality's connection (common/tenancy.py)
        alias = municipality.current().database
    for city in municipality.registry().values():
        if alias == city.database or alias in settings.DATABASE_REPLICAS.get(city.database, []):
            return city.srid
    return None


# Numbers that would run but mean nothing (a share above 1, an edit zoom no tile is made at, a sticky time below
# zero): refused at start, with the setting's name, instead of routing or invalidating strangely. (name, low, high)
RANGES = (
    ("DATABASE_PRIMARY_READ_SHARE", 0.0, 1.0),
    ("DATABASE_STICKY_SECONDS", 0, 3600),
    ("DATABASE_REPLICA_MAX_LAG_SECONDS", 0.0, 3600.0),
    ("DATABASE_REPLICA_CHECK_SECONDS", 0.0, 3600.0),
    ("TILE_EDIT_ZOOM", 10, 22),
    ("TILE_EDIT_MAX_REGIONS", 1, 100_000),
    ("TILE_EDIT_REGIONS_KEPT", 1, 10_000_000),
)


@register()
def settings_in_range(app_configs, **kwargs):
    errors = []
    for name, low, high in RANGES:
        value = getattr(settings, name, None)
        if value is not None and not low <= value <= high:
            errors.append(Error(f"{name} is {value}; it must lie between {low} and {high}.", id="gis_portal.E030"))
    if settings.TILE_EDIT_REGIONS_KEPT < settings.TILE_EDIT_MAX_REGIONS:
        errors.append(Error(f"TILE_EDIT_REGIONS_KEPT ({settings.TILE_EDIT_REGIONS_KEPT}) is below TILE_EDIT_MAX_REGIONS "
                            f"({settings.TILE_EDIT_MAX_REGIONS}): one edit could list more regions than are kept.",
                            id="gis_portal.E031"))
    return errors
