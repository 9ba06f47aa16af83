"""Once the role groups were synced here, which made the cadastre's migrations depend on every app's. The roles are
now synced after every migrate by the site layer (portal/roles.py), from what each app declares: this migration is
kept empty so databases that applied it stay consistent."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("parcels", "0003_road_widening_strip")]

    operations = []
