from django.apps import AppConfig


class ZoningConfig(AppConfig):
    name = "zoning"
    verbose_name = "Zoning"
