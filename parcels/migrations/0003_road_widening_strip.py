"""Two definitions every part of the system shares, as SQL functions:

- street_corridor: the strip along a street a parcel fronts (the existing width plus the frontage tolerance); used
  for frontages (parcels/derived.py) and the front lot lines (zoning/facts.py);
- road_widening_strip (عقب‌نشینی): the part of a parcel inside the planned width of a street it fronts, when the street
  is to be widened; used by the parcel sheet (parcels/sheet.py), the maintained overlay (zoning/overlays.py) and the
  published layer (layers migration 0006).

Plain IMMUTABLE SQL functions, which PostgreSQL inlines into each query: they cost nothing over writing the
expression out, and a city whose plan measures the corridor differently changes it here only."""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION street_corridor(street geometry, existing_width double precision,
                                           tolerance double precision)
RETURNS geometry LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ST_Buffer(street, existing_width / 2.0 + tolerance, 'endcap=flat join=mitre')
$$;
CREATE OR REPLACE FUNCTION road_widening_strip(parcel geometry, street geometry, planned_width double precision,
                                               existing_width double precision)
RETURNS geometry LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN planned_width > existing_width THEN
        ST_Intersection(parcel, ST_Buffer(street, planned_width / 2.0, 'endcap=flat join=mitre'))
    END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("parcels", "0002_reference_data_roles_share_trigger")]

    operations = [
        migrations.RunSQL(FUNCTION, "DROP FUNCTION road_widening_strip(geometry, geometry, double precision, "
                                    "double precision); DROP FUNCTION street_corridor(geometry, double precision, "
                                    "double precision)"),
    ]
