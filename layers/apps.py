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
        from django.db.models.signals import post_migrate

        from layers.jobs import register_kind
        from layers.versions import install_after_migrate

        register_kind()  # exports as long jobs (jobs/)
        from common import front
        from layers.ogc import front_items

        # OGC API items pages of public layers answered before Django's request cycle (common/front.py)
        front.register(r"/ogc/collections/(?P<name>[^/]+)/items", front_items)
        # every table a registered layer reads gets its data-version trigger (layers/versions.py)
        post_migrate.connect(install_after_migrate, sender=self, dispatch_uid="layers.version_triggers")
        # after an import (the demo city's load included), the low-zoom tiles are warmed by a job (layers/seeding.py)
        from layers.seeding import defer_seeding
        from parcels.importing.core import data_loaded

        data_loaded.connect(defer_seeding, dispatch_uid="layers.seed_tiles")
