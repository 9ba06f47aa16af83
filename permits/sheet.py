"""The permits' section of the parcel sheet (key "permits": reports' staff page looks for a key with "permit" in it)
and of a citizen's "My properties" page.

What the sheet shows depends on who asks, and only ever what that person may see:
- everyone: the parcel's issued permits and certificates (number, kind, dates, what was approved, the verification
  link; no applicant, no owner) and the case types one may apply for, with their "Apply" links;
- a signed-in citizen: their own cases on the parcel (tracking code, type, status, step, link);
- staff with permits.view_case: the parcel's open cases (tracking code, type, step, desk, days left), no names.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _

from permits import citizen_docs, service
from permits.models import Case, Issued

OPEN = (Case.Status.OPEN, Case.Status.RETURNED, Case.Status.AWAITING_PAYMENT)
LIMIT = 50   # cases or issued documents listed per parcel


def _case_row(case: Case, *, staff: bool = False) -> dict:
    definition = service.definition_of(case)
    row = {"tracking_code": case.tracking_code or "", "case_type": citizen_docs.pick(case.case_type),
           "status": case.status, "status_label": citizen_docs.status_label(case),
           "step": service.step_name(definition, case.step), "holder": citizen_docs.holder(case),
           "days_left": service.days_left(case) if case.is_open else None,
           "submitted_at": case.submitted_at.isoformat() if case.submitted_at else None}
    if staff:
        row["url"] = citizen_docs.url_or_none("permits:staff_case", case.public_id)
    else:
        row["url"] = (reverse("permits:apply", args=[case.parcel_id]) + f"?case={case.public_id}"
                      if case.status == Case.Status.DRAFT else reverse("permits:case", args=[case.public_id]))
    return row


def issued_of(parcel_id: int) -> list[dict]:
    rows = (Issued.objects.filter(parcel_id=parcel_id).select_related("case__case_type", "case__workflow")
            .order_by("-issued_at")[:LIMIT])
    return citizen_docs.jsonable([citizen_docs.issued_doc(i) for i in rows])


def apply_options(user, parcel_id: int) -> list[dict]:
    """The case types one may ask for on the parcel, each with its "Apply" link and whether this user may use it
    (owners; engineers with the owner's consent; anyone signed in for those that need no ownership)."""
    signed_in = user is not None and user.is_authenticated
    owner = signed_in and service.owns(user, parcel_id)
    engineer = service.engineer_of(user) if signed_in and not owner else None
    consented = engineer is not None and service.usable_consent(engineer, parcel_id) is not None
    out = []
    for case_type, workflow in service.open_types():
        definition = service.definition_of(workflow)
        allowed = (not definition.needs_ownership) or owner or consented
        if not signed_in:
            reason = _("Sign in with your mobile number to apply.")
        elif allowed:
            reason = ""
        elif engineer is not None:
            reason = _("Ask the owner's consent first.")
        else:
            reason = _("Only the parcel's owner, or an engineer with the owner's consent, may apply.")
        out.append({"code": case_type.code, "name": citizen_docs.pick(case_type), "demo": workflow.is_demo,
                    "allowed": bool(allowed) and signed_in, "reason": reason,
                    "url": reverse("permits:apply", args=[parcel_id]) + f"?type={case_type.code}"})
    return out


def build(parcel, request=None) -> dict:
    """The sheet section's data for the person asking (see the module's docstring)."""
    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated
    data = {"parcel_id": parcel.pk, "issued": issued_of(parcel.pk), "apply": apply_options(user, parcel.pk),
            "mine": None, "open_cases": None, "signed_in": signed_in, "is_engineer": False,
            "status_url": reverse("permits:status"),
            "engineer_url": reverse("permits:engineer") + f"?parcel={parcel.pk}"}
    data["demo"] = any(a["demo"] for a in data["apply"])
    if signed_in:
        mine = (Case.objects.filter(parcel_id=parcel.pk, applicant=user).exclude(status=Case.Status.WITHDRAWN)
                .select_related("case_type", "workflow", "desk").order_by("-created_at")[:LIMIT])
        data["mine"] = [_case_row(c) for c in mine]
        data["is_engineer"] = service.engineer_of(user) is not None
    if signed_in and user.has_perm("permits.view_case"):
        open_cases = (Case.objects.filter(parcel_id=parcel.pk, status__in=OPEN)
                      .select_related("case_type", "workflow", "desk").order_by("step_due_at")[:LIMIT])
        data["open_cases"] = [_case_row(c, staff=True) for c in open_cases]
    return data


def properties_build(citizen, parcel_ids) -> dict:
    """{parcel_id: context} for a citizen's "My properties": their cases on each parcel, its issued documents and
    the Apply link (accounts passes only the citizen's own parcels)."""
    ids = [int(i) for i in parcel_ids or ()]
    if not ids:
        return {}
    user = citizen.user
    cases: dict[int, list] = {i: [] for i in ids}
    for case in (Case.objects.filter(parcel_id__in=ids, applicant=user).exclude(status=Case.Status.WITHDRAWN)
                 .select_related("case_type", "workflow", "desk").order_by("-created_at")[:LIMIT * 4]):
        cases[case.parcel_id].append(_case_row(case))
    issued: dict[int, list] = {i: [] for i in ids}
    for i in (Issued.objects.filter(parcel_id__in=ids).select_related("case__case_type", "case__workflow")
              .order_by("-issued_at")[:LIMIT * 4]):
        issued[i.parcel_id].append(citizen_docs.jsonable(citizen_docs.issued_doc(i)))
    return {i: {"parcel_id": i, "cases": cases[i], "issued": issued[i],
                "apply_url": reverse("permits:apply", args=[i])} for i in ids}


def register() -> None:
    """From PermitsConfig.ready(): the parcel sheet's section and the "My properties" section."""
    from accounts.properties import PropertySection
    from accounts.properties import register as register_property
    from parcels.sheet import SheetSection, register_section

    register_section(SheetSection(
        key="permits", title_fa="پروانه‌ها و درخواست‌ها", title_en="Permits and applications",
        url_name="permits:parcel_section", build=build, template="permits/citizen/sheet_section.html",
        script="permits/sheet.js", order=60))
    register_property(PropertySection(
        key="permits", title_fa="پروانه‌ها و درخواست‌ها", title_en="Permits and applications",
        template="permits/citizen/properties_section.html", build=properties_build, order=60))
