"""Indexes of the search (parcels/search.py): a trigram index on street names (half-spaces as spaces) for "any part of
the name" (pg_trgm: a trusted extension since PostgreSQL 13, so the database owner may create it, as PostGIS), addresses by
plaque (then street) for "street + plaque", and (plate_main, plate_sub) for a plate typed as "main/sub"."""

import django.contrib.postgres.indexes
import django.db.models.functions.text
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("parcels", "0005_personaldataaccess_subjects"),
    ]

    operations = [
        # not dropped on the way back: other tables or databases' objects may use it
        migrations.RunSQL("CREATE EXTENSION IF NOT EXISTS pg_trgm", migrations.RunSQL.noop),
        # Django writes this expression index as "(REPLACE(…) gin_trgm_ops)", which PostgreSQL refuses: the SQL is
        # written here, the model's state is the Meta index.
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(
                "CREATE INDEX street_name_plain_trgm ON parcels_street "
                "USING gin ((replace(name, '\u200c', ' ')) gin_trgm_ops)",
                "DROP INDEX street_name_plain_trgm")],
            state_operations=[migrations.AddIndex(
                model_name="street",
                index=django.contrib.postgres.indexes.GinIndex(
                    django.contrib.postgres.indexes.OpClass(
                        django.db.models.functions.text.Replace(
                            models.F("name"), models.Value("\u200c"), models.Value(" ")),
                        name="gin_trgm_ops"),
                    name="street_name_plain_trgm"),
            )]),
        migrations.AddIndex(
            model_name="address",
            index=models.Index(fields=["plaque", "street"], name="address_plaque_street_idx"),
        ),
        migrations.AddIndex(
            model_name="parcel",
            index=models.Index(fields=["plate_main", "plate_sub"], name="parcel_plate_main_sub_idx"),
        ),
    ]
