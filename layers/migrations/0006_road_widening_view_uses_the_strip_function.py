"""The road-widening layer reads the one definition of the strip (parcels migration 0003) instead of its own copy."""

from django.db import migrations

from common import municipality

VIEW = """
CREATE OR REPLACE VIEW layers_road_widening AS
SELECT f.id, p.id AS parcel_id, p.renewal_code, s.name AS street, s.planned_width, ST_Area(g.geom) AS area, g.geom
FROM parcels_frontage f
JOIN parcels_street s ON s.id = f.street_id AND s.planned_width > s.existing_width
JOIN parcels_parcel p ON p.id = f.parcel_id
CROSS JOIN LATERAL (
    SELECT ST_Multi(ST_CollectionExtract(
               road_widening_strip(p.geom, s.geom, s.planned_width, s.existing_width), 3)
           )::geometry(MultiPolygon, {srid}) AS geom
) g
WHERE NOT ST_IsEmpty(g.geom)
"""


def replace_view(apps, schema_editor):
    """In the CRS of the municipality being migrated (a view's column type is fixed when it is created)."""
    schema_editor.execute(VIEW.format(srid=int(municipality.current().srid)))


class Migration(migrations.Migration):
    dependencies = [("layers", "0005_raster_permissions"), ("parcels", "0003_road_widening_strip")]

    operations = [migrations.RunPython(replace_view, migrations.RunPython.noop)]
