from django.apps import AppConfig


class ParcelsConfig(AppConfig):
    name = "parcels"
    verbose_name = "Cadastre"

    def ready(self):
        from parcels import signals  # noqa: F401  (keeps derived facts fresh, history baselines)
