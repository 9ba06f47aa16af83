"""Planners and administrators may upload raster layers (parcels/groups.py lists the roles' permissions)."""

from django.db import migrations


def sync(apps, schema_editor):
    from parcels.groups import sync_role_groups

    sync_role_groups(apps)


class Migration(migrations.Migration):
    dependencies = [("layers", "0004_road_widening_view"), ("parcels", "0002_reference_data_roles_share_trigger")]

    operations = [migrations.RunPython(sync, migrations.RunPython.noop)]
