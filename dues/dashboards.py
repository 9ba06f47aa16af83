"""The dues' public dashboard (transparency/registry.py): renewal dues assessed and collected per district and
Jalali year, the finance page's collections statement (dues/reports.py `collections`) reused as it is: one
aggregate over the assessments and the ledger; sums per district only, no parcel, no person.

The rows are cached by the dashboards under `collections_version` (the newest assessment, run and ledger entry, and
the parcels' and districts' layer versions), so the page costs the statement again only after the data changed, and
at most every ten minutes (`refresh`): payments arrive all day, and at a million parcels the statement takes
seconds (bench/dashboards.py)."""

from django.utils.translation import gettext_lazy as _

from dues import reports
from transparency.dashboards import REFRESH
from transparency.registry import PANELS, Column, Panel, register_panel


def rows() -> list[dict]:
    return [{"year": r["year"], "district": r["name"], "district_en": r["name_en"], "parcels": r["parcels"],
             "assessed": r["assessed"], "collected": r["collected"], "balance": r["balance"]}
            for r in reports.collections()]


def register() -> None:
    if "dues_collections" in PANELS:
        return
    register_panel(Panel(
        key="dues_collections", title=_("Renewal dues assessed and collected"),
        description=_("Per Jalali year and district: the renewal dues assessed, what was collected (payments and "
                      "credits) and what is still owed (after discounts, penalties and rounding), in rials."),
        columns=(Column("year", _("Year"), "year"),
                 Column("district", _("District"), "name", missing=_("Outside the districts")),
                 Column("parcels", _("Parcels"), "integer"), Column("assessed", _("Assessed"), "rials"),
                 Column("collected", _("Collected"), "rials"), Column("balance", _("Balance"), "rials")),
        rows=rows, x="district", series=("assessed", "collected"), group="year", chart="bar",
        version=reports.collections_version, refresh=REFRESH, modified=reports.collections_changed_at, order=10,
        keywords=(_("renewal dues"), _("municipal revenue"))))
