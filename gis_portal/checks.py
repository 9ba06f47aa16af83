"""System checks (`manage.py check`, and before migrate/runserver) for what must hold to run at all."""

from django.conf import settings
from django.core.checks import Error, Tags, register


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
    from django.contrib.gis.gdal import SpatialReference
    from django.contrib.gis.gdal.error import SRSException

    srid = settings.MUNICIPALITY_SRID
    try:
        srs = SpatialReference(srid)
    except (SRSException, Exception) as exc:
        return [Error(f"MUNICIPALITY_SRID {srid} is not a known CRS: {exc}", id="gis_portal.E002")]
    if not srs.projected:
        return [Error(
            f"MUNICIPALITY_SRID {srid} ({srs.name}) is not a projected CRS; areas and lengths need metres.",
            hint="Use the municipality's UTM zone, e.g. 32640 for Darab (UTM 40N).",
            id="gis_portal.E003",
        )]
    if srs.linear_name.lower() not in ("metre", "meter"):
        return [Error(f"MUNICIPALITY_SRID {srid} measures in {srs.linear_name}, not metres.", id="gis_portal.E004")]
    return []


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
