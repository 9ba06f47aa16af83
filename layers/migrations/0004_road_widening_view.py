"""The road-widening layer as a view over parcels, frontages and streets (the same strip `parcels/sheet.py` computes
for one parcel: the part of a parcel inside the planned width of a street it fronts), so exports, the OGC API and
tiles read it like any table and it is never stale. Also versions the cadastral zones (now a published layer)."""

from django.db import migrations

from common import municipality

VIEW = """
CREATE VIEW layers_road_widening AS
SELECT f.id, p.id AS parcel_id, p.renewal_code, s.name AS street, s.planned_width, ST_Area(g.geom) AS area, g.geom
FROM parcels_frontage f
JOIN parcels_street s ON s.id = f.street_id AND s.planned_width > s.existing_width
JOIN parcels_parcel p ON p.id = f.parcel_id
CROSS JOIN LATERAL (
    SELECT ST_Multi(ST_CollectionExtract(ST_Intersection(
               p.geom, ST_Buffer(s.geom, s.planned_width / 2.0, 'endcap=flat join=mitre')), 3)
           )::geometry(MultiPolygon, {srid}) AS geom
) g
WHERE NOT ST_IsEmpty(g.geom)
"""

TRIGGER = """
CREATE TRIGGER parcels_cadastralzone_bump_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON parcels_cadastralzone FOR EACH STATEMENT EXECUTE FUNCTION layers_bump_version();
"""


def create_view(apps, schema_editor):
    """In the CRS of the municipality being migrated (a view's column type is fixed when it is created)."""
    schema_editor.execute(VIEW.format(srid=int(municipality.current().srid)))


def drop_view(apps, schema_editor):
    schema_editor.execute("DROP VIEW layers_road_widening")


class Migration(migrations.Migration):
    dependencies = [("layers", "0003_version_triggers")]

    operations = [
        migrations.RunPython(create_view, drop_view),
        migrations.RunSQL(TRIGGER, "DROP TRIGGER parcels_cadastralzone_bump_version ON parcels_cadastralzone"),
    ]
