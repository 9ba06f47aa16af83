"""The dues section of the parcel certificate (documents/sections.py), registered from DuesConfig.ready(): whether the
parcel's renewal dues are settled up to the certificate's date, or what is owed then (the amount a bill of that day
would ask, and the years it covers). Amounts of a parcel only: never who owns it or who paid."""

from __future__ import annotations

import datetime as dt

import jdatetime

from dues import billing
from dues.tariffs import NoTariffBook


def build(parcel, on_date: dt.date) -> dict:
    """{"status": settled | owed | unknown, "as_of" (ISO date), "payable" (rials a bill of that day asks), ...}."""
    as_of = jdatetime.date.fromgregorian(date=on_date)
    data = {"as_of": on_date.isoformat(), "year": as_of.year, "currency": "IRR"}
    try:
        total, _ids = billing.compute(parcel.pk, as_of)
    except billing.BillError as exc:        # this year is not assessed for the parcel: nothing can be said
        return {**data, "status": "unknown", "reason": exc.code}
    except NoTariffBook:
        return {**data, "status": "unknown", "reason": "no_tariff_book"}
    owed = [i for i in total.items if i.due > 0]
    return {**data, "status": "owed" if total.payable > 0 else "settled", "payable": total.payable,
            "total": total.total, "arrears": sum(i.due for i in owed if i.year < as_of.year),
            "years_owed": [i.year for i in owed]}


def register() -> None:
    """From DuesConfig.ready()."""
    from documents.sections import CertificateSection, register as register_section

    register_section(CertificateSection(key="dues", order=50, build=build, template="dues/certificate_section.html"))
