"""The permits' public dashboards (transparency/registry.py): the permits and certificates issued per Jalali month,
by kind, and the median days a case spends in each step of its case type's workflow against the days the step
allows. Each is one statement of permits/queries.py over every case; counts and medians only, no person.

The rows are cached by the dashboards under `data_version` (the newest case event and the layers' versions of the
cases, case types and issued documents), so the page costs its SQL again only after a case moved, and at most every
ten minutes (`refresh`: a busy office moves cases all day; the step medians take seconds at 100k cases)."""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from common import jalali, municipality
from permits import queries
from permits.models import CaseType
from transparency.dashboards import REFRESH, changed_at
from transparency.registry import PANELS, Column, Panel, register_panel

FIRST_YEAR, LAST_YEAR = 1370, 1430  # Jalali years the month buckets know
KINDS = (("permit", _("Building permits")), ("completion_certificate", _("Completion certificates")),
         ("certificate", _("Certificates")), ("inquiry", _("Planning inquiries")), ("decision", _("Decisions")))


@functools.cache
def _thresholds(zone_name: str) -> list[dt.datetime]:
    """The instants the Jalali months start at in that time zone (the municipality's)."""
    zone = zoneinfo.ZoneInfo(zone_name)
    return [timezone.make_aware(dt.datetime.combine(day, dt.time()), zone)
            for _y, _m, day in jalali.month_starts(FIRST_YEAR, LAST_YEAR)]


def issued_rows() -> list[dict]:
    """One row per Jalali month from the first to the last with an issued document (empty months included): the
    documents issued that month by kind, and their total."""
    starts = jalali.month_starts(FIRST_YEAR, LAST_YEAR)
    found: dict[int, dict] = {}
    for bucket, kind, count in queries.issued_by_month(_thresholds(municipality.current().time_zone)):
        if 1 <= bucket <= len(starts):
            found.setdefault(bucket, {})[kind] = count
    if not found:
        return []
    out = []
    for bucket in range(min(found), max(found) + 1):
        year, month, _first = starts[bucket - 1]
        counts = found.get(bucket, {})
        row = {"month": f"{year:04d}-{month:02d}", **{kind: counts.get(kind, 0) for kind, _label in KINDS}}
        row["total"] = sum(counts.values())
        out.append(row)
    return out


def step_rows() -> list[dict]:
    """Per case type and step of its current workflow (in the workflow's order): the median days of the finished
    stays, how many there were, and the days the step allows."""
    medians = {(type_id, step): (median, stays) for type_id, step, median, stays in queries.step_days()}
    out = []
    for case_type in CaseType.objects.order_by("order", "code"):
        workflow = case_type.current()
        if workflow is None:
            continue
        for step in workflow.definition.get("steps", []):
            median, stays = medians.get((case_type.id, step.get("code")), (None, 0))
            if not stays:
                continue
            out.append({"case_type": case_type.name, "case_type_en": case_type.name_en,
                        "step": step.get("name", step.get("code")), "step_en": step.get("name_en", ""),
                        "median_days": None if median is None else round(float(median), 2),
                        "sla_days": step.get("days"), "stays": stays})
    return out


def modified():
    return changed_at("permits_case", "permits_issued")


def register() -> None:
    if "permits_issued" not in PANELS:
        register_panel(Panel(
            key="permits_issued", title=_("Permits and certificates issued per month"),
            description=_("Documents the municipality issued at the end of permit and certificate cases, per Jalali "
                          "month and kind (revoked ones included: they were issued)."),
            columns=(Column("month", _("Month"), "month"),
                     *(Column(kind, label, "integer") for kind, label in KINDS),
                     Column("total", _("Total"), "integer")),
            rows=issued_rows, x="month", series=tuple(kind for kind, _label in KINDS), chart="bar", stacked=True,
            version=queries.data_version, refresh=REFRESH, modified=modified, order=30,
            keywords=(_("permits"), _("certificates"))))
    if "permits_step_days" not in PANELS:
        register_panel(Panel(
            key="permits_step_days", title=_("Days per step of a permit case"),
            description=_("The median days cases spent in each step of their workflow (from entering the step to "
                          "leaving it, finished stays only), against the days the step allows."),
            columns=(Column("case_type", _("Case type"), "name"), Column("step", _("Step"), "name"),
                     Column("median_days", _("Median days"), "days"),
                     Column("sla_days", _("Days allowed"), "days"),
                     Column("stays", _("Cases that passed the step"), "integer")),
            rows=step_rows, x="step", series=("median_days", "sla_days"), group="case_type", chart="bar",
            version=queries.data_version, refresh=REFRESH, modified=modified, order=40,
            keywords=(_("permits"), _("service times"))))
