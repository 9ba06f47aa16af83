from django.apps import AppConfig


class TransparencyConfig(AppConfig):
    """The city in the open: council decisions and municipal projects with public comments, performance dashboards
    and the open-data catalogue. Apps above register their dashboard panels and datasets (transparency/registry.py);
    the tariff books and rulebooks' public pages are their own apps' (dues, zoning)."""

    name = "transparency"
    verbose_name = "Transparency"
