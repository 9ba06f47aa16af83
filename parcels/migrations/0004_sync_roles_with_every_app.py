"""The role groups get exactly the permissions parcels/groups.py lists, now that the zoning rulebook and the dues
app have theirs there too (an earlier sync, run after dues' own grant, had taken the dues permissions away)."""

from django.db import migrations


def sync(apps, schema_editor):
    from parcels.groups import sync_role_groups

    sync_role_groups(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("parcels", "0003_road_widening_strip"),
        ("layers", "0005_raster_permissions"),
        ("dues", "0002_finance_permissions"),
        ("zoning", "0002_historicalrulebook_parceloverlay_rulebook_and_more"),
    ]

    operations = [migrations.RunPython(sync, migrations.RunPython.noop)]
