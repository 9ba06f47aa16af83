"""A statement-level trigger on every published table bumps its row in layers_tableversion (tile cache keys)."""

from django.db import migrations

TABLES = ["parcels_district", "parcels_block", "parcels_street", "parcels_parcel", "parcels_building",
          "zoning_zone", "zoning_overlay"]

FUNCTION = """
CREATE FUNCTION layers_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO layers_tableversion (table_name, version, changed_at) VALUES (TG_TABLE_NAME, 1, now())
    ON CONFLICT (table_name) DO UPDATE SET version = layers_tableversion.version + 1, changed_at = now();
    RETURN NULL;
END $$;
"""

TRIGGER = """
CREATE TRIGGER {table}_bump_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION layers_bump_version();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("layers", "0002_table_version"),
        ("parcels", "0001_initial"),
        ("zoning", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(FUNCTION, "DROP FUNCTION layers_bump_version()"),
    ] + [
        migrations.RunSQL(TRIGGER.format(table=t), f"DROP TRIGGER {t}_bump_version ON {t}") for t in TABLES
    ]
