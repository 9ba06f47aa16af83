"""The city-wide assessment of a year (the assess_year command) as a long job finance staff start from the finance
page, with its progress by chunk of parcels. The same code as the command (dues.assessment.assess_year): one
transaction, all or nothing; a cancel rolls it back. Its result is the summary by district as CSV.
Registered from DuesConfig.ready()."""

import csv

from django.utils.translation import gettext as _

from dues.assessment import assess_year
from dues.tariffs import TariffError
from jobs.registry import JobError, JobKind, Outcome, register
from jobs.runner import result_dir

KIND = "dues.assess_year"
PERMISSION = "dues.view_collections"  # finance and admin staff


def run_assessment(job, progress) -> Outcome:
    year = int(job.params["year"])
    who = job.user.get_username() if job.user_id else "-"
    try:
        result = assess_year(year, run_by=f"job {job.pk} ({who})"[:100],
                             on_chunk=lambda done, total: progress(done, total, _("Assessing parcels…")))
    except TariffError as exc:
        raise JobError(str(exc)) from None
    run = result.run
    name = f"assessment-{year}-run-{run.pk}.csv"
    path = result_dir(job) / name
    with open(path, "w", newline="", encoding="utf-8-sig") as fh:  # with a BOM: spreadsheets read it as UTF-8
        writer = csv.writer(fh)
        writer.writerow([_("district"), _("name"), _("parcels"), _("dues (rials)")])
        for row in result.summary:
            writer.writerow([row["district"] or "", row["name"] or "", row["parcels"], row["dues"]])
    message = (_("%(year)s with %(book)s: %(created)s new, %(reassessed)s reassessed, %(unchanged)s unchanged, "
                 "%(superseded)s open bills superseded (run %(run)s)")
               % {"year": year, "book": run.book.name, "created": run.created, "reassessed": run.reassessed,
                  "unchanged": run.unchanged, "superseded": run.bills_superseded, "run": run.pk})
    return Outcome(path, name, "text/csv; charset=utf-8", message)


def register_kind() -> None:
    register(JobKind(KIND, "ارزیابی عوارض سال", "Assessment of a year", run=run_assessment, permission=PERMISSION))
