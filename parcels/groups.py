"""Roles as groups: what each kind of user may do. Used by the data migration and by tests."""

ROLE_PERMISSIONS = {
    # A citizen account sees public cadastral data only (the same as anonymous users, plus their own cases).
    "citizen": [],
    # Engineers check parcels and proposals: read the cadastre and zoning.
    "engineer": [
        "parcels.view_parcel", "parcels.view_building", "parcels.view_street", "parcels.view_block",
        "parcels.view_district", "parcels.view_cadastralzone", "parcels.view_address",
        "zoning.view_zone", "zoning.view_overlay", "zoning.view_rulebook", "zoning.view_rule",
    ],
    # Planners query and export land use, and keep zones and overlays.
    "planner": [
        "parcels.view_parcel", "parcels.view_building", "parcels.view_street", "parcels.view_block",
        "parcels.view_district", "parcels.view_cadastralzone", "parcels.view_address",
        "zoning.view_zone", "zoning.add_zone", "zoning.change_zone",
        "zoning.view_overlay", "zoning.add_overlay", "zoning.change_overlay",
        "layers.view_raster", "layers.add_raster", "layers.change_raster",
        "zoning.view_rulebook", "zoning.view_rule",
    ],
    # Finance staff assess and collect dues: they need owners (personal data, access recorded).
    # (Every app's roles are listed here, and one migration per change syncs the groups to exactly this list.)
    "finance": [
        "parcels.view_parcel", "parcels.view_building", "parcels.view_block", "parcels.view_district",
        "parcels.view_owner", "parcels.view_ownership", "parcels.view_personal_data",
        "dues.view_collections", "dues.view_bill", "dues.view_payment", "dues.view_ledgerentry",
        "dues.view_assessment", "dues.view_assessmentrun", "dues.view_tariffbook",
    ],
    # Administrators keep all cadastral and zoning data.
    "admin": [
        f"{app}.{action}_{model}"
        for app, models in {
            "parcels": ["parcel", "building", "street", "block", "district", "cadastralzone", "address",
                        "owner", "ownership", "landuse", "structuretype", "importrun"],
            "zoning": ["zone", "overlay", "rulebook", "rule"],
            "dues": ["tariffbook"],
        }.items()
        for model in models
        for action in ("view", "add", "change", "delete")
    ] + ["parcels.view_personal_data", "parcels.view_personaldataaccess",
         "layers.view_raster", "layers.add_raster", "layers.change_raster", "layers.delete_raster",
         "dues.view_collections", "dues.view_bill", "dues.view_payment", "dues.view_ledgerentry",
         "dues.view_assessment", "dues.view_assessmentrun"],
}


def sync_role_groups(apps=None):
    """Create or update the role groups with exactly their permissions (idempotent)."""
    from django.contrib.auth.management import create_permissions
    from django.apps import apps as global_apps

    apps = apps or global_apps
    for app_config in global_apps.get_app_configs():
        create_permissions(app_config, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codes in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        perms = []
        for code in codes:
            app_label, codename = code.split(".")
            perms.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        group.permissions.set(perms)
