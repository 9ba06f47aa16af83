"""Bills, the per-parcel ledger and recording payments.

The ledger of a parcel, per year: assessed (its current assessment) − discount + penalty − rounding − paid =
balance. Discount, penalty and rounding are posted when a payment settles a year, as the paid bill computed them;
over-payment is posted as credit (a negative balance the municipality owes back or carries forward). Every
Payment's amount equals the sum of its payment and credit entries, so the ledger always reconciles with the money.

Fee bills (dues/fee_bills.py, Bill.Kind.FEE) are not on this ledger: a renewal bill never supersedes nor counts them,
their payments post no entry, and check_payable recomputes nothing for them.
"""

from dataclasses import dataclass
from decimal import Decimal
from functools import partial

import jdatetime
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from common.errors import ApiError
from common.i18n import is_persian
from common.jalali import persian_digits
from dues import billid, calculator, signals
from dues import documents as bill_documents
from dues.models import Assessment, Bill, LedgerEntry, Payment, TariffBook
from dues.tariffs import NoTariffBook
from parcels.models import Parcel


class BillError(ValueError):
    """A bill that cannot be issued or paid: `code` for programs, the message for the citizen, in their language."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class StaleAssessment(ApiError):
    """A stored assessment that its tariff book no longer reproduces: finance staff must reassess the year."""

    status = 409
    code = "stale_assessment"


def _rials(amount: int) -> str:
    """An amount as people read it in a message (Persian digits and separator on Persian pages)."""
    text = f"{amount:,}"
    return persian_digits(text.replace(",", "٬")) if is_persian() else text


def today() -> jdatetime.date:
    from django.utils import timezone

    return jdatetime.date.fromgregorian(date=timezone.localdate())


def terms_of(book: TariffBook) -> calculator.Terms:
    return calculator.Terms(Decimal(book.discount_percent), Decimal(book.penalty_percent_per_month),
                            Decimal(book.penalty_cap_percent))


_SIGN = {LedgerEntry.Kind.DISCOUNT: -1, LedgerEntry.Kind.PENALTY: 1, LedgerEntry.Kind.ROUNDING: -1,
         LedgerEntry.Kind.PAYMENT: -1, LedgerEntry.Kind.CREDIT: -1}


@dataclass
class LedgerYear:
    year: int
    assessed: int = 0
    discount: int = 0
    penalty: int = 0
    rounding: int = 0
    paid: int = 0
    credit: int = 0

    @property
    def outstanding(self) -> int:
        """What is still owed of the year's dues (credit is kept apart)."""
        return self.assessed - self.discount + self.penalty - self.rounding - self.paid

    @property
    def balance(self) -> int:
        return self.outstanding - self.credit


def ledger(parcel_id: int) -> list[LedgerYear]:
    years: dict[int, LedgerYear] = {}
    for year, amount in Assessment.objects.filter(parcel_id=parcel_id, is_current=True).values_list("year", "amount"):
        years.setdefault(year, LedgerYear(year)).assessed = amount
    sums = (LedgerEntry.objects.filter(parcel_id=parcel_id).values("year", "kind").annotate(total=Sum("amount")))
    for row in sums:
        entry = years.setdefault(row["year"], LedgerYear(row["year"]))
        field = {"payment": "paid"}.get(row["kind"], row["kind"])
        setattr(entry, field, getattr(entry, field) + row["total"])
    return [years[y] for y in sorted(years)]


def compute(parcel_id: int, as_of: jdatetime.date) -> tuple[calculator.BillTotal, dict[int, int]]:
    """What a bill dated `as_of` asks of the parcel; also each year's assessment id (to spot reassessment).
    The current year must have an approved book and an assessment: never a guess."""
    TariffBook.objects.approved(as_of.year)  # NoTariffBook if the year has none
    assessments = {a.year: a for a in Assessment.objects.filter(parcel_id=parcel_id, is_current=True,
                                                                year__lte=as_of.year).select_related("book")}
    if as_of.year not in assessments:
        raise BillError("not_assessed", _("The dues of %(year)s are not assessed for this parcel yet "
                                          "(manage.py assess_year).") % {"year": as_of.year})
    outstanding = {y.year: y.outstanding for y in ledger(parcel_id)}
    dues = [calculator.YearDue(year, a.amount, a.amount - outstanding.get(year, a.amount), terms_of(a.book))
            for year, a in assessments.items()]
    return calculator.bill(as_of, dues), {year: a.pk for year, a in assessments.items()}


def _items_json(total: calculator.BillTotal, assessment_ids: dict[int, int]) -> list[dict]:
    return [{"year": i.year, "assessment": assessment_ids[i.year], "assessed": i.assessed,
             "settled_before": i.settled_before, "outstanding": i.outstanding, "months_late": i.months_late,
             "penalty_percent": str(i.penalty_percent), "penalty": i.penalty,
             "discount_percent": str(i.discount_percent), "discount": i.discount, "due": i.due}
            for i in total.items]


def _still_owed(bills, items: list[dict], amount: int) -> Bill | None:
    """The bill among these that still asks exactly what is owed."""
    return next((b for b in bills if b.items == items and b.amount == amount), None)


def open_bill(parcel, as_of: jdatetime.date | None = None) -> Bill | None:
    """The parcel's issued bill that still asks exactly what is owed on the date (today by default), or None.
    Reads only: what a GET shows. BillError / NoTariffBook when nothing can be billed."""
    total, ids = compute(parcel.pk, as_of or today())
    if total.payable <= 0:
        return None
    return _still_owed(Bill.objects.filter(parcel=parcel, kind=Bill.Kind.RENEWAL, status=Bill.Status.ISSUED),
                       _items_json(total, ids), total.payable)


def issue(parcel, as_of: jdatetime.date | None = None) -> Bill:
    """The parcel's bill as of a date (today by default): the open bill if it still asks exactly what is owed,
    else a new one that supersedes the parcel's other open bills. BillError when nothing is owed. Idempotent: the
    same day, the same bill."""
    as_of = as_of or today()
    total, ids = compute(parcel.pk, as_of)
    if total.payable <= 0:
        raise BillError("nothing_owed", _("Nothing is owed on this parcel: no bill to issue."))
    if parcel.pk >= billid.FEE_FILE_CODES_FROM:   # its file code would be a fee bill's (dues/fee_bills.py)
        raise ValueError(f"parcel id {parcel.pk} is too large for a renewal bill's file code")
    items = _items_json(total, ids)
    with transaction.atomic():
        # One issuer per parcel at a time (a double click, two tabs): the second finds the first one's bill. NO KEY
        # UPDATE conflicts only with itself, not with the foreign-key checks of payments being recorded meanwhile.
        list(Parcel.objects.select_for_update(no_key=True).filter(pk=parcel.pk).values_list("pk", flat=True))
        open_bills = Bill.objects.select_for_update().filter(parcel=parcel, kind=Bill.Kind.RENEWAL,
                                                             status=Bill.Status.ISSUED)
        same = _still_owed(open_bills, items, total.payable)
        if same is not None:
            return same
        bill_code = billid.bill_id(parcel.pk, billid.company_code())
        bill = Bill.objects.create(
            parcel=parcel, as_of=as_of.togregorian(), jalali_year=as_of.year, items=items, total=total.total,
            rounding=total.rounding, amount=total.payable, bill_id=bill_code,
            payment_id=billid.payment_id(bill_code, total.payable, as_of.year, as_of.month),
        )
        open_bills.exclude(pk=bill.pk).update(status=Bill.Status.SUPERSEDED, superseded_reason=Bill.Superseded.REPLACED,
                                              superseded_params={"bill": bill.pk})
        bill_documents.issue_bill(bill, bill_detail(bill))    # printed once, after commit (dues/documents.py)
    return bill


def check_payable(bill: Bill, as_of: jdatetime.date | None = None) -> None:
    """Refuse paying a bill that is no longer what the parcel owes (reassessed, replaced, paid, or a month later
    so the penalty or the discount changed): the citizen gets a fresh bill instead. A fee bill is payable while it
    is issued: its amount does not move with the date, and nothing is recomputed."""
    if bill.status == Bill.Status.PAID:
        raise BillError("already_paid", _("This bill is already paid."))
    if bill.is_fee:
        if bill.status == Bill.Status.SUPERSEDED:
            raise BillError("superseded", _("This bill has been replaced by a newer one because the fees changed; "
                                            "please pay the new bill."))
        if bill.status == Bill.Status.PARTIALLY_PAID:
            raise BillError("partially_paid", _("Part of this bill is paid already: please ask the municipality's "
                                                "revenue office how to pay the rest."))
        return
    if bill.status == Bill.Status.SUPERSEDED:
        raise BillError("superseded", _("This bill has been replaced because the dues it asks have changed; please "
                                        "take a new bill."))
    try:
        total, ids = compute(bill.parcel_id, as_of or today())
    except (BillError, NoTariffBook) as exc:
        raise BillError("not_payable", _("This bill cannot be paid now: %(reason)s") % {"reason": exc}) from None
    if total.payable != bill.amount or _items_json(total, ids) != bill.items:
        raise BillError("amount_changed", _("This bill's amount has changed: it says %(billed)s rials, the parcel now "
                                            "owes %(owed)s rials; please take a new bill.")
                        % {"billed": _rials(bill.amount), "owed": _rials(total.payable)})


def record_payment(bill: Bill, gateway: str, reference: str, amount: int) -> tuple[Payment, bool]:
    """Record money the gateway verified, once per gateway reference however often or concurrently it is reported.
    Returns (payment, created). Full, partial and over-payments are posted explicitly (see the module docstring).

    A fee bill's payment posts nothing to the ledger; the one that makes the bill fully paid sends dues.api.bill_paid
    on commit. A payment reaching a superseded fee bill (paid at the bank while the fees changed) is recorded but
    leaves the bill superseded, so the reference keeps one live bill: finance staff refund or credit it."""
    if amount <= 0:
        raise BillError("bad_amount", _("A payment must be a positive amount."))
    with transaction.atomic():
        bill = Bill.objects.select_for_update().get(pk=bill.pk)   # serialises callbacks of the same bill
        existing = Payment.objects.filter(gateway=gateway, gateway_ref=reference).first()
        if existing:
            return existing, False
        paid_before = bill.payments.aggregate(s=Sum("amount"))["s"] or 0
        still_due = max(0, bill.amount - paid_before)
        kind = (Payment.Kind.FULL if amount == still_due else
                Payment.Kind.PARTIAL if amount < still_due else Payment.Kind.OVER)
        try:
            with transaction.atomic():
                payment = Payment.objects.create(bill=bill, parcel_id=bill.parcel_id, gateway=gateway,
                                                 gateway_ref=reference, amount=amount, kind=kind)
        except IntegrityError:  # another process recorded this reference first
            return Payment.objects.get(gateway=gateway, gateway_ref=reference), False
        total_paid = paid_before + amount
        status = Bill.Status.PAID if total_paid >= bill.amount else Bill.Status.PARTIALLY_PAID
        if not bill.is_fee:
            _post(bill, payment, paid_before)
        elif bill.status == Bill.Status.SUPERSEDED:
            status = bill.status
        elif status == Bill.Status.PAID and bill.status != Bill.Status.PAID:
            transaction.on_commit(partial(signals.announce_paid, bill.pk, total_paid))
        if status != bill.status:
            bill.status = status
            bill.save(update_fields=["status"])
        bill_documents.issue_receipt(payment)     # once per payment: a repeated reference returned above
    return payment, True


def _post(bill: Bill, payment: Payment, paid_before: int) -> None:
    """Allocate the payment to the bill's years, oldest first; a year fully covered gets the discount, penalty
    and (the last year) the rounding the bill computed; money beyond the bill is credit."""
    entries = []
    cursor = paid_before                     # rials of the bill already covered by earlier payments
    money = payment.amount
    last = len(bill.items) - 1
    for i, item in enumerate(bill.items):
        due = item["due"] - (bill.rounding if i == last else 0)   # what this year takes of the payable amount
        covered_before = min(due, max(0, cursor))
        cursor -= due
        take = min(due - covered_before, money)
        if take <= 0:
            continue
        money -= take
        entry = dict(parcel_id=bill.parcel_id, year=item["year"], payment=payment)
        entries.append(LedgerEntry(kind=LedgerEntry.Kind.PAYMENT, amount=take, **entry))
        if covered_before + take == due:     # the year is settled by this bill
            for kind, value in ((LedgerEntry.Kind.DISCOUNT, item["discount"]), (LedgerEntry.Kind.PENALTY, item["penalty"]),
                                (LedgerEntry.Kind.ROUNDING, bill.rounding if i == last else 0)):
                if value:
                    entries.append(LedgerEntry(kind=kind, amount=value, **entry))
    if money > 0:
        entries.append(LedgerEntry(kind=LedgerEntry.Kind.CREDIT, amount=money, parcel_id=bill.parcel_id,
                                   year=bill.jalali_year, payment=payment))
    LedgerEntry.objects.bulk_create(entries)


def bill_detail(bill: Bill) -> dict:
    """A bill with every year's lines: formula, the values put into it, amount (recomputed by the pure calculator
    from the facts the assessment stored, and checked against the stored amounts). JSON-ready; dates Jalali; what
    people read is in both languages (labels, legal basis) or in the request's (the reason it was superseded).
    A renewal bill only (a fee bill's is dues.fee_bills.detail)."""
    assessments = {a.pk: a for a in Assessment.objects.filter(pk__in=[i["assessment"] for i in bill.items])
                   .select_related("book")}
    years = []
    for item in bill.items:
        a = assessments[item["assessment"]]
        compiled = a.book.compiled()
        result = calculator.assess(compiled.lines, compiled.parameters, a.facts)
        if result.line_amounts() != a.lines or result.amount != a.amount:
            raise StaleAssessment(_("The %(year)s assessment no longer matches its tariff book; finance staff must "
                                    "reassess.") % {"year": a.year})
        years.append({**item, "book": {"year": a.book.year, "name": a.book.name, "title_fa": a.book.title_fa,
                                       "title_en": a.book.title_en, "approval": a.book.approval},
                      "lines": [{"code": r.code, "label_fa": r.label_fa, "label_en": r.label_en, "kind": r.kind,
                                 "formula": r.formula, "inputs": r.inputs, "amount": r.amount,
                                 "legal_basis": r.legal_basis, "legal_basis_en": r.legal_basis_en}
                                for r in result.lines if not r.hidden]})
    parcel = bill.parcel
    return {
        "id": str(bill.public_id), "kind": bill.kind,
        "parcel": {"id": parcel.pk, "renewal_code": parcel.renewal_code},
        "issued_at": bill.issued_at.isoformat(),
        "as_of": jdatetime.date.fromgregorian(date=bill.as_of).strftime("%Y/%m/%d"), "status": bill.status,
        "years": years, "total": bill.total, "rounding": bill.rounding, "amount": bill.amount,
        "bill_id": bill.bill_id, "payment_id": bill.payment_id, "barcode": bill.barcode,
        "paid": sum(p.amount for p in bill.payments.all()),
        # why it was superseded: the code and its values for programs, the message for people (their language)
        "superseded_code": bill.superseded_code, "superseded_params": bill.superseded_params or None,
        "superseded_reason": bill.superseded_text() or None,
    }
