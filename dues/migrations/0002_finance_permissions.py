"""Once granted the dues permissions to finance staff and administrators. The roles are now synced after every
migrate by the site layer (portal/roles.py) from dues' AppConfig.role_permissions: kept empty."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("dues", "0001_initial"), ("parcels", "0002_reference_data_roles_share_trigger"),
                    ("auth", "0012_alter_user_first_name_max_length")]
    operations = []
