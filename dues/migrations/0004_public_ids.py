"""Bills and payments get a random public id (UUID 4) that URLs and the API use instead of the sequential primary
key. Existing rows get one each from PostgreSQL's gen_random_uuid() (a field default would give them all the same)."""

import uuid

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("dues", "0003_reasons_as_codes")]

    operations = [
        migrations.AddField("bill", "public_id", models.UUIDField(null=True, editable=False)),
        migrations.AddField("payment", "public_id", models.UUIDField(null=True, editable=False)),
        migrations.RunSQL("UPDATE dues_bill SET public_id = gen_random_uuid() WHERE public_id IS NULL;"
                          "UPDATE dues_payment SET public_id = gen_random_uuid() WHERE public_id IS NULL;",
                          migrations.RunSQL.noop),
        migrations.AlterField("bill", "public_id", models.UUIDField(default=uuid.uuid4, unique=True, editable=False)),
        migrations.AlterField("payment", "public_id",
                              models.UUIDField(default=uuid.uuid4, unique=True, editable=False)),
    ]
