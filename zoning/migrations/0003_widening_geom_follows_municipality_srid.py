"""zoning_parceloverlay.widening_geom was created by migration 0002 with Darab's SRID (32640) written in, whatever
MUNICIPALITY_SRID said; 0002 now follows the setting. This brings a database migrated before that fix into line: when
every other geometry column of the cadastre is in MUNICIPALITY_SRID and this one is not, its type is changed to the
setting (its values, if any, transformed). A Darab database (everything at 32640) is left exactly as it is, and so
is a database whose cadastre itself is in another CRS than the setting: the system check gis_portal.E020 reports
that mismatch rather than a migration guessing which one is right. "The setting" is now the CRS of the municipality
being migrated (common.municipality.current(): MUNICIPALITY_SRID for the default one)."""

from django.db import migrations

from common import municipality

SRID_OF = """SELECT srid FROM geometry_columns
              WHERE f_table_schema = current_schema() AND f_table_name = %s AND f_geometry_column = %s"""


def follow_setting(apps, schema_editor):
    srid = int(municipality.current().srid)  # of the municipality being migrated
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(SRID_OF, ["zoning_parceloverlay", "widening_geom"])
        row = cursor.fetchone()
        if row is None or row[0] == srid:
            return  # created by the fixed 0002, or a Darab database: nothing to change
        cursor.execute(SRID_OF, ["parcels_parcel", "geom"])
        parcels = cursor.fetchone()
        if parcels is None or parcels[0] != srid:
            return  # the cadastre is not in the setting's CRS either: the system check says so
        cursor.execute(
            f"ALTER TABLE zoning_parceloverlay ALTER COLUMN widening_geom TYPE geometry(MultiPolygon, {srid}) "
            f"USING ST_Transform(widening_geom, {srid})")


class Migration(migrations.Migration):
    dependencies = [("zoning", "0002_historicalrulebook_parceloverlay_rulebook_and_more")]

    operations = [migrations.RunPython(follow_setting, migrations.RunPython.noop)]
