"""Finance staff's reports: collections by year and district, and the daily reconciliation of gateway payments
against the ledger; fee bills (dues/fee_bills.py) apart, since they are not on the renewal ledger: their collections
by Jalali year of issue, and their payments of the day by gateway beside the renewal ones. Raw SQL: each is one
aggregate over the whole ledger (FILTERed sums, a FULL JOIN of what was assessed with what moved) that the ORM would
split into several queries."""

from datetime import date, datetime, time, timedelta

import jdatetime
from django.db import connection
from django.utils import timezone

from dues import gateways
from dues.models import Payment

_COLLECTIONS = """
WITH assessed AS (
    SELECT a.year, a.district_id, count(*) AS parcels, sum(a.amount) AS assessed
    FROM dues_assessment a WHERE a.is_current GROUP BY a.year, a.district_id
), moved AS (
    SELECT e.year, p.district_id,
           sum(e.amount) FILTER (WHERE e.kind IN ('payment', 'credit')) AS collected,
           sum(e.amount) FILTER (WHERE e.kind = 'discount') AS discount,
           sum(e.amount) FILTER (WHERE e.kind = 'penalty') AS penalty,
           sum(e.amount) FILTER (WHERE e.kind = 'rounding') AS rounding
    FROM dues_ledgerentry e JOIN parcels_parcel p ON p.id = e.parcel_id GROUP BY e.year, p.district_id
)
SELECT COALESCE(a.year, m.year) AS year, d.code, d.name, d.name_en, COALESCE(a.parcels, 0),
       COALESCE(a.assessed, 0)::bigint,
       COALESCE(m.discount, 0)::bigint, COALESCE(m.penalty, 0)::bigint, COALESCE(m.rounding, 0)::bigint,
       COALESCE(m.collected, 0)::bigint
FROM assessed a FULL JOIN moved m ON m.year = a.year AND m.district_id IS NOT DISTINCT FROM a.district_id
LEFT JOIN parcels_district d ON d.id = COALESCE(a.district_id, m.district_id)
ORDER BY 1 DESC, 2
"""

_RECONCILIATION = """
SELECT p.gateway, p.kind, count(*), sum(p.amount)::bigint,
       sum((SELECT sum(e.amount) FROM dues_ledgerentry e
            WHERE e.payment_id = p.id AND e.kind IN ('payment', 'credit')))::bigint
FROM dues_payment p JOIN dues_bill b ON b.id = p.bill_id
WHERE p.paid_at >= %s AND p.paid_at < %s AND b.kind = 'renewal'
GROUP BY p.gateway, p.kind ORDER BY 1, 2
"""

# Fee payments post nothing to the ledger: what the day's gateway statement must also contain.
_FEE_PAYMENTS = """
SELECT p.gateway, p.kind, count(*), sum(p.amount)::bigint
FROM dues_payment p JOIN dues_bill b ON b.id = p.bill_id
WHERE p.paid_at >= %s AND p.paid_at < %s AND b.kind = 'fee'
GROUP BY p.gateway, p.kind ORDER BY 1, 2
"""

# Per Jalali year of issue: live fee bills (a superseded one was never owed) and the money paid on any fee bill
# (a payment that reached a bill superseded meanwhile is counted too: it is money received).
_FEE_COLLECTIONS = """
SELECT b.jalali_year,
       count(*) FILTER (WHERE b.status <> 'superseded'),
       COALESCE(sum(b.amount) FILTER (WHERE b.status <> 'superseded'), 0)::bigint,
       count(*) FILTER (WHERE b.status = 'paid'),
       COALESCE(sum(m.paid), 0)::bigint
FROM dues_bill b
LEFT JOIN (SELECT bill_id, sum(amount) AS paid FROM dues_payment GROUP BY bill_id) m ON m.bill_id = b.id
WHERE b.kind = 'fee'
GROUP BY b.jalali_year ORDER BY 1 DESC
"""


# The collections' data version for the public dashboard (dues/dashboards.py): assessment runs only add rows (a
# reassessed parcel gets a new row, its old one is marked not current in the same transaction) and the ledger is
# append-only, so their newest ids change with every write; the parcels' and districts' layer versions follow a
# parcel moved to another district. Each max() is one step down its primary key.
_COLLECTIONS_VERSION = """
SELECT (SELECT coalesce(max(id), 0) FROM dues_assessment), (SELECT coalesce(max(id), 0) FROM dues_assessmentrun),
       (SELECT coalesce(max(id), 0) FROM dues_ledgerentry),
       (SELECT coalesce(sum(version), 0) FROM layers_tableversion
        WHERE table_name IN ('parcels_parcel', 'parcels_district'))
"""

# When the collections last changed: the last finished run, the newest ledger entry.
_COLLECTIONS_CHANGED = """
SELECT greatest((SELECT max(finished_at) FROM dues_assessmentrun),
                (SELECT at FROM dues_ledgerentry ORDER BY id DESC LIMIT 1))
"""


def collections_version() -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(_COLLECTIONS_VERSION)
        return cursor.fetchone()


def collections_changed_at():
    with connection.cursor() as cursor:
        cursor.execute(_COLLECTIONS_CHANGED)
        return cursor.fetchone()[0]


def collections() -> list[dict]:
    """Per year and district (its name in both languages): assessed − discount + penalty − rounding − collected =
    balance."""
    with connection.cursor() as cursor:
        cursor.execute(_COLLECTIONS)
        rows = cursor.fetchall()
    out = []
    for year, code, name, name_en, parcels, assessed, discount, penalty, rounding, collected in rows:
        out.append({"year": year, "district": code, "name": name, "name_en": name_en or "", "parcels": parcels,
                    "assessed": assessed,
                    "discount": discount, "penalty": penalty, "rounding": rounding, "collected": collected,
                    "balance": assessed - discount + penalty - rounding - collected})
    return out


def fee_collections() -> list[dict]:
    """Fee bills per Jalali year of issue: bills (live ones), billed, paid bills and collected (rials)."""
    with connection.cursor() as cursor:
        cursor.execute(_FEE_COLLECTIONS)
        return [{"year": r[0], "bills": r[1], "billed": r[2], "paid_bills": r[3], "collected": r[4]}
                for r in cursor.fetchall()]


def reconciliation(day: date) -> dict:
    """Payments of renewal bills verified on one day (local time) by gateway, against the ledger entries they
    posted; and, apart (`fee_rows`, `fee_payments`, `fee_amount`), the day's payments of fee bills, which post
    nothing to the ledger. The gateway's and the kind's labels are in the reader's language (the gateway's is None
    for a name no backend has)."""
    start = datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())
    with connection.cursor() as cursor:
        cursor.execute(_RECONCILIATION, [start, start + timedelta(days=1)])
        rows = [{"gateway": r[0], "gateway_label": gateways.label(r[0]), "kind": r[1],
                 "kind_label": str(Payment.Kind(r[1]).label), "payments": r[2], "amount": r[3], "posted": r[4] or 0,
                 "difference": r[3] - (r[4] or 0)} for r in cursor.fetchall()]
        cursor.execute(_FEE_PAYMENTS, [start, start + timedelta(days=1)])
        fee_rows = [{"gateway": r[0], "gateway_label": gateways.label(r[0]), "kind": r[1],
                     "kind_label": str(Payment.Kind(r[1]).label), "payments": r[2], "amount": r[3]}
                    for r in cursor.fetchall()]
    return {"date": jdatetime.date.fromgregorian(date=day).strftime("%Y/%m/%d"), "gregorian": day.isoformat(),
            "rows": rows, "payments": sum(r["payments"] for r in rows), "amount": sum(r["amount"] for r in rows),
            "reconciled": all(r["difference"] == 0 for r in rows),
            "fee_rows": fee_rows, "fee_payments": sum(r["payments"] for r in fee_rows),
            "fee_amount": sum(r["amount"] for r in fee_rows)}
