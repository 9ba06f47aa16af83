from django.apps import AppConfig


class ParcelsConfig(AppConfig):
    name = "parcels"
    verbose_name = "Cadastre"

    # What the cadastre's permissions give each role (portal/roles.py syncs the groups after every migrate).
    _READ = ["view_parcel", "view_building", "view_street", "view_block", "view_district", "view_cadastralzone",
             "view_address"]
    role_permissions = {
        "engineer": _READ,
        "planner": _READ,
        # finance staff assess and collect dues: they need owners (personal data, every access recorded)
        "finance": ["view_parcel", "view_building", "view_block", "view_district", "view_owner", "view_ownership",
                    "view_personal_data"],
        "admin": [f"{action}_{model}" for model in (
            "parcel", "building", "street", "block", "district", "cadastralzone", "address", "owner", "ownership",
            "landuse", "structuretype", "importrun") for action in ("view", "add", "change", "delete")]
        + ["view_personal_data", "view_personaldataaccess"],
    }

    def ready(self):
        from parcels import signals  # noqa: F401  (keeps derived facts fresh, history baselines)
        from parcels.api import register_front_routes

        register_front_routes()  # the sheet answered before Django's request cycle (common/front.py)
