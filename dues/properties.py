"""The dues section of a citizen's "My properties" page (accounts.properties): per parcel, the current year's
assessment, the years still unpaid, the latest bill (with a link to its page) and the payments made: renewal dues
only (a permit's fee bill and its payment are the permit's to show).

One query for all the citizen's parcels (a row per parcel, each part a correlated subquery on an indexed
parcel_id). accounts decides which parcels are the citizen's (verified links) and passes only those: this module
answers for exactly the ids it is given and never names an owner.
"""

import json

from django.db import connection
from django.urls import reverse

# Outstanding of a year as dues.billing.LedgerYear has it: assessed − discount + penalty − rounding − paid (credit
# kept apart).
_SECTION = """
SELECT p.id,
       (SELECT jsonb_build_object('year', a.year, 'amount', a.amount)
        FROM dues_assessment a WHERE a.parcel_id = p.id AND a.year = %(year)s AND a.is_current) AS current,
       (SELECT COALESCE(jsonb_agg(jsonb_build_object('year', y.year, 'assessed', y.amount,
                                                     'outstanding', y.outstanding) ORDER BY y.year), '[]'::jsonb)
        FROM (SELECT a.year, a.amount,
                     a.amount - COALESCE((SELECT sum(CASE WHEN e.kind = 'penalty' THEN -e.amount ELSE e.amount END)
                                          FROM dues_ledgerentry e
                                          WHERE e.parcel_id = a.parcel_id AND e.year = a.year
                                            AND e.kind <> 'credit'), 0) AS outstanding
              FROM dues_assessment a WHERE a.parcel_id = p.id AND a.is_current AND a.year <= %(year)s) y
        WHERE y.outstanding > 0) AS unpaid,
       (SELECT jsonb_build_object('ref', b.public_id, 'bill_id', b.bill_id, 'payment_id', b.payment_id, 'amount', b.amount,
                                  'status', b.status, 'issued_at', b.issued_at, 'as_of', b.as_of)
        FROM dues_bill b WHERE b.parcel_id = p.id AND b.kind = 'renewal' ORDER BY b.issued_at DESC, b.id DESC LIMIT 1) AS bill,
       (SELECT COALESCE(jsonb_agg(jsonb_build_object('ref', m.public_id, 'amount', m.amount, 'kind', m.kind,
                                                     'paid_at', m.paid_at, 'bill_ref', mb.public_id)
                                  ORDER BY m.paid_at DESC, m.id DESC), '[]'::jsonb)
        FROM dues_payment m JOIN dues_bill mb ON mb.id = m.bill_id
        WHERE m.parcel_id = p.id AND mb.kind = 'renewal') AS payments,
       p.renewal_code
FROM parcels_parcel p
WHERE p.id = ANY(%(ids)s)
ORDER BY p.id
"""


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


def section_rows(parcel_ids, year: int) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(_SECTION, {"ids": [int(i) for i in parcel_ids], "year": year})
        return cursor.fetchall()


def build(citizen, parcel_ids, year: int | None = None) -> dict:
    """{parcel_id: context} for the parcels given (those accounts found linked to the citizen). Each context:
    year, current ({year, amount} or None: not assessed yet), unpaid ([{year, assessed, outstanding}]),
    unpaid_total, bill ({ref (its public id), bill_id, payment_id, amount, status, status_label, issued_at, url, pdf_url} or None),
    payments ([{ref, amount, kind, kind_label, paid_at, bill_ref, bill_url}]), bill_url (issue or see the parcel's bill),
    settings_url (the first parcel only: where SMS reminders of dues are turned on or off)."""
    from dues import billing
    from dues.models import Bill, Payment

    ids = [int(i) for i in parcel_ids or ()]
    if not ids:
        return {}
    year = year or billing.today().year
    out = {}
    for parcel_id, current, unpaid, bill, payments, renewal_code in section_rows(ids, year):
        current, unpaid, bill, payments = _json(current), _json(unpaid), _json(bill), _json(payments)
        if bill:
            bill["status_label"] = str(Bill.Status(bill["status"]).label)
            bill["url"] = reverse("dues:bill_page", args=[bill["ref"]])
            bill["pdf_url"] = reverse("dues:bill_pdf", args=[bill["ref"]])
        for payment in payments:
            payment["kind_label"] = str(Payment.Kind(payment["kind"]).label)
            payment["bill_url"] = reverse("dues:bill_page", args=[payment["bill_ref"]])
        out[parcel_id] = {"parcel_id": parcel_id, "renewal_code": renewal_code, "year": year, "current": current,
                          "unpaid": unpaid, "unpaid_total": sum(u["outstanding"] for u in unpaid),
                          "bill": bill, "payments": payments,
                          "bill_url": reverse("dues:parcel_bill", args=[parcel_id]),
                          # the reminders' switch is on the citizen's settings page: said once, under the first
                          "settings_url": reverse("accounts:settings") if not out else None}
    return out


def register() -> None:
    """Register the section (from DuesConfig.ready())."""
    from accounts.properties import PropertySection, register as register_section

    register_section(PropertySection(key="dues", title_fa="عوارض نوسازی", title_en="Renewal dues",
                                     template="dues/properties_section.html", build=build, order=50))
