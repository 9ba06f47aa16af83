from django.apps import AppConfig


class GisPortalConfig(AppConfig):
    name = "gis_portal"
    verbose_name = "GIS portal"

    def ready(self):
        from gis_portal import checks  # noqa: F401  (registers system checks)
