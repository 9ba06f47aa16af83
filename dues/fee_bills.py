"""Fee bills: the bill of a permit's (or any other app's) fees, with the national bill ID / payment ID, paid through
the same gateway and pages as a renewal bill. Other apps reach this through dues.api only.

- A fee bill is billed under the caller's `reference` (a case's): the same reference and lines give the same bill;
  other lines give a new bill that supersedes the unpaid one; a paid reference keeps its paid bill, never a second.
  At most one live (not superseded) bill per reference: a partial unique index, and a transaction-scoped advisory
  lock on the reference so that concurrent issuers wait for each other instead of one failing on the index.
- **Bill ID file code**: a fee bill takes the next number of the PostgreSQL sequence `dues_fee_file_code`
  (90,000,000 to 99,999,999, migration 0005), so each fee bill has a bill ID of its own, and none can be a renewal
  bill's, whose file code is the parcel's id (below 90,000,000: dues.billing.issue refuses a parcel id above). Ten
  million fee bills before the sequence is exhausted (it never wraps: issuing then fails loudly).
- Payment ID: the payable amount (thousands) + the Jalali year's last digit + the month of issue, as a renewal
  bill's. Fee bills do not expire: no penalty or discount moves with the date.
- Paying: dues.billing.check_payable refuses a paid, superseded or partly paid fee bill and recomputes nothing;
  dues.billing.record_payment posts nothing to the renewal ledger and, when the bill becomes fully paid, sends
  dues.signals.bill_paid once the transaction commits.
"""

import json

import jdatetime
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from dues import billid, billing, fees
from dues import documents as bill_documents
from dues.billing import BillError
from dues.models import Bill
from parcels.models import Parcel

FILE_CODE_SEQUENCE = "dues_fee_file_code"     # starts at billid.FEE_FILE_CODES_FROM (migration 0005)
LOCK_CLASS = 0x46454553           # "FEES": the first key of the references' advisory locks
_LINE_FIELDS = ("code", "label_fa", "label_en", "kind", "formula", "inputs", "amount", "legal_basis",
                "legal_basis_en")


def _items(lines) -> list[dict]:
    """The evaluated lines as the bill keeps them (JSON-ready, only the fields a bill shows); BillError when a line
    has no code, label or whole-rial amount."""
    if not isinstance(lines, list) or not lines:
        raise BillError("bad_fee", _("A fee bill needs at least one fee line."))
    items = []
    for number, line in enumerate(lines, start=1):
        amount = line.get("amount") if isinstance(line, dict) else None
        if (not isinstance(amount, int) or isinstance(amount, bool) or not line.get("code")
                or not line.get("label_fa") or line.get("kind", "charge") not in fees.KINDS):
            raise BillError("bad_fee", _("Fee line %(number)s needs a code, a Persian label, a kind of charge, "
                                         "reduction or value, and its amount in whole rials (evaluate the lines "
                                         "first).") % {"number": number})
        items.append({name: line.get(name, {} if name == "inputs" else "") for name in _LINE_FIELDS}
                     | {"kind": line.get("kind", "charge"), "formula": str(line.get("formula", ""))})
    return json.loads(json.dumps(items, cls=DjangoJSONEncoder))   # as the JSON column gives them back


def current(reference: str) -> Bill | None:
    """The reference's live bill (issued, partly paid or paid; never a superseded one), or None."""
    return (Bill.objects.filter(kind=Bill.Kind.FEE, reference=reference).exclude(status=Bill.Status.SUPERSEDED)
            .select_related("parcel").first())


def issue(parcel_id: int, *, reference: str, lines: list[dict], title_fa: str, title_en: str = "") -> Bill:
    """The reference's bill for these evaluated lines (see the module docstring). BillError (code `bad_fee`) for
    lines, a reference or a parcel that cannot be billed, or fees under 1,000 rials (nothing to pay: no bill)."""
    if not isinstance(reference, str) or not reference.strip() or len(reference) > 100:
        raise BillError("bad_fee", _("A fee bill needs a reference of at most 100 characters."))
    if not isinstance(title_fa, str) or not title_fa.strip() or not isinstance(title_en, str):
        raise BillError("bad_fee", _("A fee bill needs a Persian title."))
    items = _items(lines)
    total = fees.total(items)
    amount, rounding = fees.payable(total)
    if amount <= 0:
        raise BillError("bad_fee", _("The fees add up to %(total)s rials: under 1,000 rials there is nothing to "
                                     "bill.") % {"total": billing._rials(total)})
    if not Parcel.objects.filter(pk=parcel_id).exists():
        raise BillError("bad_fee", _("No parcel with id %(id)s.") % {"id": parcel_id})
    with transaction.atomic():
        with connection.cursor() as cursor:   # one issuer per reference at a time; released at commit
            cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [LOCK_CLASS, reference])
        live = (Bill.objects.select_for_update().filter(kind=Bill.Kind.FEE, reference=reference)
                .exclude(status=Bill.Status.SUPERSEDED).first())
        if live is not None:
            if live.status == Bill.Status.PAID:
                return live                    # paid: never a second bill, whatever the lines now say
            if live.status == Bill.Status.PARTIALLY_PAID:
                raise BillError("bad_fee", _("Bill %(bill)s of this reference is partly paid: finance staff must "
                                             "settle it before the fees can change.") % {"bill": live.bill_id})
            if live.parcel_id == parcel_id and live.items == items and live.amount == amount:
                return live
        today = billing.today()
        with connection.cursor() as cursor:
            cursor.execute("SELECT nextval(%s)", [FILE_CODE_SEQUENCE])
            file_code = cursor.fetchone()[0]
        bill_code = billid.bill_id(file_code, billid.company_code())
        try:
            payment_code = billid.payment_id(bill_code, amount, today.year, today.month)
        except ValueError:
            raise BillError("bad_fee", _("The fees add up to %(total)s rials: too much for one bill's payment ID.")
                            % {"total": billing._rials(total)}) from None
        if live is not None:                   # first, so that the new bill is the one live bill of the reference
            live.status = Bill.Status.SUPERSEDED
            live.superseded_reason = Bill.Superseded.FEES_CHANGED
            live.superseded_params = {"bill": bill_code}
            live.save(update_fields=["status", "superseded_reason", "superseded_params"])
        bill = Bill.objects.create(
            parcel_id=parcel_id, kind=Bill.Kind.FEE, reference=reference, title_fa=title_fa.strip(),
            title_en=title_en.strip(), as_of=today.togregorian(), jalali_year=today.year, items=items, total=total,
            rounding=rounding, amount=amount, bill_id=bill_code, payment_id=payment_code)
        bill_documents.issue_bill(bill, detail(bill))          # printed once, after commit (dues/documents.py)
        return bill


def summary(bill: Bill) -> dict:
    """What dues.api gives the calling app: ids, amount, status and the citizen's URLs (the pay URL takes a POST
    with the page's CSRF token, as the bill page's button sends it)."""
    paid = sum(p.amount for p in bill.payments.all())
    return {"id": str(bill.public_id), "bill_id": bill.bill_id, "payment_id": bill.payment_id, "amount": bill.amount,
            "status": bill.status, "paid": bill.status == Bill.Status.PAID, "paid_amount": paid,
            "page_url": reverse("dues:bill_page", args=[bill.public_id]),
            "pdf_url": reverse("dues:bill_pdf", args=[bill.public_id]),
            "pay_url": reverse("dues:pay", args=[bill.public_id])}


def detail(bill: Bill) -> dict:
    """A fee bill as the bill page and its JSON show it (the shape of dues.billing.bill_detail, with `lines` and the
    title in place of years)."""
    parcel = bill.parcel
    return {
        "id": str(bill.public_id), "kind": bill.kind, "title_fa": bill.title_fa, "title_en": bill.title_en,
        "parcel": {"id": parcel.pk, "renewal_code": parcel.renewal_code},
        "issued_at": bill.issued_at.isoformat(),
        "as_of": jdatetime.date.fromgregorian(date=bill.as_of).strftime("%Y/%m/%d"), "status": bill.status,
        "years": [], "lines": bill.items, "total": bill.total, "rounding": bill.rounding, "amount": bill.amount,
        "bill_id": bill.bill_id, "payment_id": bill.payment_id, "barcode": bill.barcode,
        "paid": sum(p.amount for p in bill.payments.all()),
        "superseded_code": bill.superseded_code, "superseded_params": bill.superseded_params or None,
        "superseded_reason": bill.superseded_text() or None,
    }

