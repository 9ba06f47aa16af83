"""Reference data (land-use classes, structure types), role groups, and the database rule that the shares of
one parcel may not exceed six dang, checked at commit so shares can be moved within a transaction."""

import csv
from pathlib import Path

from django.db import migrations

REFERENCE = Path(__file__).resolve().parents[2] / "data" / "reference"

SHARE_TRIGGER = """
CREATE FUNCTION parcels_check_dang_total() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE total numeric;
BEGIN
    SELECT COALESCE(sum(share_dang), 0) INTO total FROM parcels_ownership WHERE parcel_id = NEW.parcel_id;
    IF total > 6 THEN
        RAISE EXCEPTION 'shares of parcel % total % dang; at most 6 dang make the whole', NEW.parcel_id, total
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER ownership_dang_total
    AFTER INSERT OR UPDATE ON parcels_ownership
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION parcels_check_dang_total();
"""

DROP_SHARE_TRIGGER = """
DROP TRIGGER IF EXISTS ownership_dang_total ON parcels_ownership;
DROP FUNCTION IF EXISTS parcels_check_dang_total();
"""


def load_reference(apps, schema_editor):
    LandUse = apps.get_model("parcels", "LandUse")
    StructureType = apps.get_model("parcels", "StructureType")
    with open(REFERENCE / "land_uses.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            LandUse.objects.update_or_create(
                code=row["code"],
                defaults={"name_fa": row["name_fa"], "name_en": row["name_en"],
                          "planning_class": row["planning_class"] == "yes", "confidence": row["confidence"]},
            )
    with open(REFERENCE / "structure_types.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            StructureType.objects.update_or_create(
                code=row["code"], defaults={"name_fa": row["name_fa"], "name_en": row["name_en"]}
            )


class Migration(migrations.Migration):
    dependencies = [
        ("parcels", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(load_reference, migrations.RunPython.noop),
        migrations.RunSQL(SHARE_TRIGGER, DROP_SHARE_TRIGGER),
    ]
