from django.apps import AppConfig


class LayersConfig(AppConfig):
    name = "layers"
    verbose_name = "Layers"

    # What the layers' permissions give each role (portal/roles.py syncs the groups after every migrate).
    role_permissions = {
        "planner": ["view_raster", "add_raster", "change_raster"],
        "admin": ["view_raster", "add_raster", "change_raster", "delete_raster"],
    }

    def ready(self):
        from layers.jobs import register_kind

        register_kind()  # exports as long jobs (jobs/)
