"""Bills, the per-parcel ledger and recording payments.

The ledger of a parcel, per year: assessed (its current assessment) − discount + penalty − rounding − paid =
balance. Discount, penalty and rounding are posted when a payment settles a year, as the paid bill computed them;
over-payment is posted as credit (a negative balance the municipality owes back or carries forward). Every
Payment's amount equals the sum of its payment and credit entries, so the ledger always reconciles with the money.
"""

from dataclasses import dataclass
from decimal import Decimal

import jdatetime
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum

from dues import billid, calculator
from dues.models import Assessment, Bill, LedgerEntry, Payment, TariffBook
from dues.tariffs import NoTariffBook, approved_book


class BillError(ValueError):
    """A bill that cannot be issued or paid, with the reason for the citizen."""


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
    approved_book(as_of.year)  # NoTariffBook if the year has none
    assessments = {a.year: a for a in Assessment.objects.filter(parcel_id=parcel_id, is_current=True,
                                                                year__lte=as_of.year).select_related("book")}
    if as_of.year not in assessments:
        raise BillError(f"The dues of {as_of.year} are not assessed for this parcel yet (manage.py assess_year).")
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


def issue(parcel, as_of: jdatetime.date | None = None) -> Bill:
    """The parcel's bill as of a date (today by default): the open bill if it still asks exactly what is owed,
    else a new one that supersedes the parcel's other open bills. BillError when nothing is owed."""
    as_of = as_of or today()
    total, ids = compute(parcel.pk, as_of)
    if total.payable <= 0:
        raise BillError("Nothing is owed on this parcel: no bill to issue.")
    items = _items_json(total, ids)
    with transaction.atomic():
        open_bills = Bill.objects.select_for_update().filter(parcel=parcel, status=Bill.Status.ISSUED)
        for old in open_bills:
            if old.items == items and old.amount == total.payable:   # still exactly what is owed
                return old
        bill_code = billid.bill_id(parcel.pk, settings.DUES_BILL_COMPANY_CODE)
        bill = Bill.objects.create(
            parcel=parcel, as_of=as_of.togregorian(), jalali_year=as_of.year, items=items, total=total.total,
            rounding=total.rounding, amount=total.payable, bill_id=bill_code,
            payment_id=billid.payment_id(bill_code, total.payable, as_of.year, as_of.month),
        )
        open_bills.exclude(pk=bill.pk).update(status=Bill.Status.SUPERSEDED,
                                              superseded_reason=f"replaced by bill {bill.pk}")
    return bill


def check_payable(bill: Bill, as_of: jdatetime.date | None = None) -> None:
    """Refuse paying a bill that is no longer what the parcel owes (reassessed, replaced, paid, or a month later
    so the penalty or the discount changed): the citizen gets a fresh bill instead."""
    if bill.status == Bill.Status.PAID:
        raise BillError("This bill is already paid.")
    if bill.status == Bill.Status.SUPERSEDED:
        raise BillError(f"This bill's amount has changed ({bill.superseded_reason}); please take a new bill.")
    try:
        total, ids = compute(bill.parcel_id, as_of or today())
    except (BillError, NoTariffBook) as exc:
        raise BillError(f"This bill cannot be paid now: {exc}") from None
    if total.payable != bill.amount or _items_json(total, ids) != bill.items:
        raise BillError(f"This bill's amount has changed: it says {bill.amount:,} rials, the parcel now owes "
                        f"{total.payable:,} rials; please take a new bill.")


def record_payment(bill: Bill, gateway: str, reference: str, amount: int) -> tuple[Payment, bool]:
    """Record money the gateway verified, once per gateway reference however often or concurrently it is reported.
    Returns (payment, created). Full, partial and over-payments are posted explicitly (see the module docstring)."""
    if amount <= 0:
        raise BillError("A payment must be a positive amount.")
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
        _post(bill, payment, paid_before)
        total_paid = paid_before + amount
        bill.status = Bill.Status.PAID if total_paid >= bill.amount else Bill.Status.PARTIALLY_PAID
        bill.save(update_fields=["status"])
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
