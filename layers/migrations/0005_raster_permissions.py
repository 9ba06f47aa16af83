"""Once synced the role groups (planners and administrators may upload raster layers). The roles are now synced after
every migrate by the site layer (portal/roles.py) from layers' AppConfig.role_permissions: kept empty."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("layers", "0004_road_widening_view"), ("parcels", "0002_reference_data_roles_share_trigger")]

    operations = []
