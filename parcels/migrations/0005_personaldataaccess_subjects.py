"""Each personal-data access records every owner and parcel it showed, not only a single one."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("parcels", "0004_sync_roles_with_every_app")]

    operations = [
        migrations.AddField(
            model_name="personaldataaccess",
            name="subjects",
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
