from django.apps import AppConfig


class CommonConfig(AppConfig):
    """The small shared library every app may use (errors, request parameters, language, Jalali dates, database
    helpers, template filters). It names no app of the project."""

    name = "common"
    verbose_name = "Shared library"

    def ready(self):
        from common import tenancy

        tenancy.install()  # connections["default"] is the current municipality's database (common/tenancy.py)
