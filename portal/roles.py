"""Roles as groups: what each kind of user may do.

Each app declares what its own permissions give each role, on its AppConfig (`role_permissions`, a dict of role ->
permission codenames of that app, or `app_label.codename` for another app's permission the role needs there). This
module collects them and, after every `migrate`, sets each role group to exactly that list, so a new app's
permissions reach the roles without a migration anywhere else.
"""

from django.core.exceptions import ImproperlyConfigured

ROLES = ("citizen", "engineer", "planner", "finance", "service", "permits", "admin")

# What every role is, in the site's words (the groups' names are the keys).
DESCRIPTIONS = {
    "citizen": "sees public data, plus their own cases",
    "engineer": "checks parcels and proposals against the rulebook",
    "planner": "queries and exports land use, keeps zones, overlays and rasters",
    "finance": "assesses and collects dues (sees owners: personal data, access recorded)",
    "service": "city services staff: handle the reports (137) of their departments",
    "permits": "permit office staff: act on permit cases at their desks (sees applicants: personal data, recorded)",
    "admin": "keeps the cadastre, the rulebook and the tariff book",
}


def role_permissions(app_configs=None) -> dict[str, list[str]]:
    """role -> sorted `app_label.codename` list, from every installed app's `role_permissions`."""
    from django.apps import apps

    grants: dict[str, set[str]] = {role: set() for role in ROLES}
    for config in app_configs or apps.get_app_configs():
        for role, perms in getattr(config, "role_permissions", {}).items():
            if role not in grants:
                raise ImproperlyConfigured(f"{config.label}.role_permissions names an unknown role {role!r}")
            grants[role].update(p if "." in p else f"{config.label}.{p}" for p in perms)
    return {role: sorted(perms) for role, perms in grants.items()}


def model_permissions(*models: str, actions=("view", "add", "change", "delete")) -> list[str]:
    """Codenames of the usual model permissions: model_permissions("zone", "rule") -> view_zone, add_zone, ..."""
    return [f"{action}_{model}" for model in models for action in actions]


def sync_role_groups(using="default") -> None:
    """Create or update the role groups with exactly their permissions (idempotent)."""
    from django.contrib.auth.models import Group, Permission

    for role, codes in role_permissions().items():
        group, _ = Group.objects.using(using).get_or_create(name=role)
        perms = []
        for code in codes:
            app_label, codename = code.split(".")
            try:
                perms.append(Permission.objects.using(using).get(content_type__app_label=app_label, codename=codename))
            except Permission.DoesNotExist:
                raise ImproperlyConfigured(f"role {role!r}: no permission {code!r}") from None
        group.permissions.set(perms)


def sync_after_migrate(sender, using="default", plan=None, **kwargs):
    sync_role_groups(using)
