"""The dues section of the parcel sheet: what the parcel owes today, year by year, and a link to its bill.
Public data only: amounts of a parcel are not personal data, owners never appear."""

import jdatetime
from django.urls import reverse

from dues import billing
from dues.tariffs import NoTariffBook


def build(parcel, request=None, as_of: jdatetime.date | None = None) -> dict:
    as_of = as_of or billing.today()
    data = {"as_of": as_of.strftime("%Y/%m/%d"), "year": as_of.year, "currency": "IRR",
            "ledger": [{"year": y.year, "assessed": y.assessed, "discount": y.discount, "penalty": y.penalty,
                        "rounding": y.rounding, "paid": y.paid, "credit": y.credit, "balance": y.balance}
                       for y in billing.ledger(parcel.pk)],
            "owed": None, "error": None, "bill_url": reverse("dues:parcel_bill", args=[parcel.pk])}
    try:
        total, _ = billing.compute(parcel.pk, as_of)
    except (billing.BillError, NoTariffBook) as exc:
        data["error"] = str(exc)
        return data
    data["owed"] = {
        "items": [{"year": i.year, "outstanding": i.outstanding, "months_late": i.months_late,
                   "penalty": i.penalty, "discount": i.discount, "due": i.due} for i in total.items],
        "arrears": sum(i.due for i in total.items if i.year < as_of.year),
        "total": total.total, "payable": total.payable,
    }
    return data
