"""Finance staff and administrators see collections and reconciliation; administrators keep tariff books.
(The roles are the groups parcels/groups.py creates; dues adds its own permissions to them.)"""

from django.db import migrations

GRANTS = {
    "finance": ["view_collections", "view_bill", "view_payment", "view_ledgerentry", "view_assessment",
                "view_assessmentrun", "view_tariffbook"],
    "admin": ["view_collections", "view_bill", "view_payment", "view_ledgerentry", "view_assessment",
              "view_assessmentrun", "view_tariffbook", "add_tariffbook", "change_tariffbook", "delete_tariffbook"],
}


def grant(apps, schema_editor):
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    create_permissions(global_apps.get_app_config("dues"), verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codes in GRANTS.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.add(*Permission.objects.filter(content_type__app_label="dues", codename__in=codes))


class Migration(migrations.Migration):
    dependencies = [("dues", "0001_initial"), ("parcels", "0002_reference_data_roles_share_trigger"),
                    ("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
