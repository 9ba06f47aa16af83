"""The reports' public dashboards and their catalogue entry (transparency/registry.py): reports resolved and the
median days to fix, by month (Jalali) and by category: the statistics page's own tables (reports/stats.py), reused
as they are. The dashboards keep them under the reports layer's data version and make them again at most every ten
minutes (`refresh`: reports arrive all day; each table takes seconds at a million reports). Counts and medians."""

from django.utils.translation import gettext_lazy as _

from reports import stats
from transparency.dashboards import REFRESH, changed_at
from transparency.registry import (DATASETS, PANELS, Column, Dataset, Distribution, Panel, register_dataset,
                                   register_panel)


def by_month() -> list[dict]:
    return stats.table("month", stats.Filters())


def by_category() -> list[dict]:
    return stats.table("category", stats.Filters())


def modified():
    return changed_at("reports_report", "reports_category")


def distributions() -> list[Distribution]:
    """The statistics page's CSV tables and its JSON."""
    return [*(Distribution(label, "text/csv", "reports:stats_csv", query=f"table={name}", format="CSV")
              for name, label in (("category", _("By category")), ("district", _("By district")),
                                  ("month", _("By month")))),
            Distribution(_("Statistics as JSON (API)"), "application/json", "reports:api_stats", format="JSON",
                         service=True)]


def register() -> None:
    if "reports_by_month" not in PANELS:
        register_panel(Panel(
            key="reports_by_month", title=_("Reported problems per month"),
            description=_("Per Jalali month: problems reported, problems resolved (in the month of their "
                          "resolution) and the median days to fix the problems reported that month."),
            columns=(Column("month", _("Month"), "month"), Column("reports", _("Reports"), "integer"),
                     Column("resolved", _("Resolved"), "integer"),
                     Column("median_days", _("Median days to fix"), "days")),
            rows=by_month, x="month", series=("reports", "resolved", "median_days"), chart="line",
            version=stats._version, refresh=REFRESH, modified=modified, order=50,
            keywords=(_("reported problems"), "137", _("service times"))))
    if "reports_by_category" not in PANELS:
        register_panel(Panel(
            key="reports_by_category", title=_("Reported problems by category"),
            description=_("Per category: problems reported, resolved, the median days to fix them and the days the "
                          "municipality allows itself (SLA)."),
            columns=(Column("name", _("Category"), "name"), Column("reports", _("Reports"), "integer"),
                     Column("resolved", _("Resolved"), "integer"),
                     Column("median_days", _("Median days to fix"), "days"),
                     Column("sla_days", _("Days to fix (SLA)"), "days")),
            rows=by_category, x="name", series=("resolved", "median_days"), chart="bar",
            version=stats._version, refresh=REFRESH, modified=modified, order=60,
            keywords=(_("reported problems"), "137", _("service times"))))
    if "reports-statistics" not in DATASETS:
        register_dataset(Dataset(
            key="reports-statistics", title=_("Statistics of reported problems"),
            description=_("Reports of problems in the city (the 137 line): how many, how many resolved and the "
                          "median days to fix, by category, by district and by Jalali month."),
            distributions=distributions, modified=modified, keywords=(_("reported problems"), "137", _("statistics")),
            theme=_("Statistics"), order=40, page="reports:stats"))
