from django.apps import AppConfig
from django.db.models.signals import post_migrate


class PortalConfig(AppConfig):
    """The site layer: composes the apps into one portal (the map page, roles, the demo loader, the OpenAPI
    description, context processors). Nothing below it imports it."""

    name = "portal"
    verbose_name = "Portal"

    def ready(self):
        from portal import roles

        # portal is installed after every app, so its post_migrate runs once their permissions exist
        post_migrate.connect(roles.sync_after_migrate, sender=self, dispatch_uid="portal.sync_roles")
