"""The council decisions and the municipal projects in the open-data catalogue (transparency/registry.py): each as
GeoJSON (WGS84; rows without a place have a null geometry) and CSV, served by transparency/civic_views.py."""

from django.db.models import Max
from django.utils.translation import gettext_lazy as _

from transparency.registry import DATASETS, Dataset, Distribution, register_dataset

DECISIONS, PROJECTS = "council-decisions", "municipal-projects"


def _decisions_distributions():
    return [Distribution(_("Council decisions (GeoJSON)"), "application/geo+json", "transparency:decisions_geojson",
                         format="GeoJSON"),
            Distribution(_("Council decisions (CSV)"), "text/csv", "transparency:decisions_csv", format="CSV")]


def _projects_distributions():
    return [Distribution(_("Municipal projects (GeoJSON)"), "application/geo+json", "transparency:projects_geojson",
                         format="GeoJSON"),
            Distribution(_("Municipal projects (CSV)"), "text/csv", "transparency:projects_csv", format="CSV")]


def _modified(model_name: str):
    def modified():
        from django.apps import apps

        return apps.get_model("transparency", model_name).objects.aggregate(at=Max("updated_at"))["at"]
    return modified


def register_datasets() -> None:
    if DECISIONS not in DATASETS:
        register_dataset(Dataset(
            DECISIONS, _("Council decisions"),
            _("Decisions of the city council: number, date, session, title, text, status, budget and place, with the "
              "projects each concerns."),
            _decisions_distributions, _modified("Decision"), keywords=("council", "decisions", "budget"),
            theme="government", order=40))
    if PROJECTS not in DATASETS:
        register_dataset(Dataset(
            PROJECTS, _("Municipal projects"),
            _("The municipality's projects: status, budget and money spent, dates, responsible department, progress "
              "and place on the map."),
            _projects_distributions, _modified("Project"), keywords=("projects", "budget", "construction"),
            theme="government", order=41))
