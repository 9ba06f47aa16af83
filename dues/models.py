"""Renewal dues (عوارض نوسازی): tariff books, assessments, bills, payments and the ledger.

Money is always integer rials (BigIntegerField). The tariff book is data (one per Jalali year, loaded from
data/tariffs/ and editable in the admin with history); dues/calculator.py and dues/assessment.py apply it.
"""

import uuid

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from common.i18n import is_persian
from common.jalali import persian_digits
from dues import tariffs
from parcels.models import District, Parcel


class TariffBookManager(models.Manager):
    def approved(self, year: int) -> "TariffBook":
        """The approved book of a Jalali year; NoTariffBook when there is none (never a guess)."""
        book = self.filter(year=year, status=TariffBook.Status.APPROVED).first()
        if book is None:
            raise tariffs.NoTariffBook(gettext("No approved tariff book for %(year)s: load and approve one "
                                               "(manage.py load_tariff_book).") % {"year": year})
        return book


class TariffBook(models.Model):
    """A council-approved (or draft) tariff book of one Jalali year: parameters, attribute facts and bill lines.

    `lines` is a list of {code, label_fa, label_en, kind, formula, legal_basis, legal_basis_en, hide_if_zero}; kind
    is `value` (shown, not payable), `charge` or `reduction` (reductions and exemptions need their legal basis, in
    Persian; legal_basis_en is its English). The year's assessed dues are the sum of charge and reduction lines,
    never below zero.
    """

    class Status(models.TextChoices):
        DRAFT = tariffs.DRAFT, _("Draft")
        APPROVED = tariffs.APPROVED, _("Approved")

    year = models.PositiveSmallIntegerField(help_text="Jalali year, e.g. 1403")
    name = models.CharField(max_length=100, help_text="Identifies the book within its year, e.g. 'council-1403'.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    title_fa = models.CharField(max_length=300)
    title_en = models.CharField(max_length=300, blank=True)
    approval = models.CharField(max_length=500, blank=True, help_text="The council resolution that approved it.")
    discount_percent = models.DecimalField(max_digits=5, decimal_places=2,
                                           help_text="Good-payer discount for the current year paid within it.")
    penalty_percent_per_month = models.DecimalField(max_digits=5, decimal_places=2,
                                                    help_text="Late penalty per whole month of delay.")
    penalty_cap_percent = models.DecimalField(max_digits=5, decimal_places=2, help_text="Cap of the late penalty.")
    parameters = models.JSONField(default=dict, blank=True, help_text="Named numbers the formulas use.")
    attributes = models.JSONField(default=dict, blank=True,
                                  help_text="Facts read from the parcel's attributes JSON: name → default.")
    lines = models.JSONField(default=list)
    source_file = models.CharField(max_length=500, blank=True)
    loaded_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()
    objects = TariffBookManager()

    class Meta:
        ordering = ["-year", "name"]
        constraints = [
            models.UniqueConstraint(fields=["year", "name"], name="tariffbook_year_name_unique"),
            models.UniqueConstraint(fields=["year"], condition=Q(status="approved"),
                                    name="tariffbook_one_approved_per_year"),
        ]

    def __str__(self):
        return f"{self.year} {self.name} ({self.status})"

    def data(self) -> tariffs.BookData:
        return tariffs.BookData(**{name: getattr(self, name) for name in tariffs.FIELDS})

    def compiled(self) -> tariffs.CompiledBook:
        """The book checked and its formulas parsed (TariffError lists every problem)."""
        return tariffs.compile_book(self.data())

    def clean(self):
        try:
            self.compiled()
        except tariffs.TariffError as exc:
            raise ValidationError(str(exc)) from None


class TariffChangeEffect(models.Model):
    """What a year's approved book changes against the previous approved book, by district: both books applied to
    the same cadastre (dues.assessment.compare_books), stored once per pair so that the public tariff page reads a
    few rows instead of running two city-wide computations per view (`manage.py compute_tariff_effects`).

    `fingerprint` is the two books' contents hashed (dues.public_pages.fingerprint): a book edited since makes the
    figures stale, and the page then says they are being brought up to date instead of showing them."""

    book = models.ForeignKey(TariffBook, on_delete=models.CASCADE, related_name="+")
    previous = models.ForeignKey(TariffBook, on_delete=models.CASCADE, related_name="+")
    fingerprint = models.CharField(max_length=64)
    rows = models.JSONField(help_text="By district: district, name, name_en, parcels, previous, current, "
                                      "change_percent (rials).")
    parcels = models.PositiveIntegerField(help_text="Parcels of the cadastre the figures were computed over.")
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["book", "previous"], name="tariffchangeeffect_pair_unique")]

    def __str__(self):
        return f"effect of {self.book} against {self.previous}"


class AssessmentRun(models.Model):
    """One city-wide assessment of a year (or a what-if run, which writes no assessment)."""

    year = models.PositiveSmallIntegerField()
    book = models.ForeignKey(TariffBook, on_delete=models.PROTECT, related_name="runs")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    run_by = models.CharField(max_length=150, blank=True)
    created = models.PositiveIntegerField(default=0, help_text="Parcels assessed for the first time.")
    reassessed = models.PositiveIntegerField(default=0, help_text="Parcels whose assessment changed.")
    unchanged = models.PositiveIntegerField(default=0)
    bills_superseded = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=list, blank=True, help_text="Parcels and dues by district.")

    class Meta:
        ordering = ["-started_at"]

    def __str__(self):
        return f"assessment {self.year} with {self.book.name} ({self.started_at:%Y-%m-%d %H:%M})"


class Assessment(models.Model):
    """The dues of one parcel for one year under one book, with the facts and line amounts it was made from.

    A reassessment never overwrites: the old row stays (is_current false, superseded_by_run set) and a new row is
    written. At most one current assessment per parcel and year (partial unique index)."""

    parcel = models.ForeignKey(Parcel, on_delete=models.PROTECT, related_name="dues_assessments", db_index=False)
    year = models.PositiveSmallIntegerField()
    book = models.ForeignKey(TariffBook, on_delete=models.PROTECT, related_name="+", db_index=False)
    run = models.ForeignKey(AssessmentRun, on_delete=models.PROTECT, related_name="assessments", db_index=False)
    district = models.ForeignKey(District, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                 db_index=False)
    amount = models.BigIntegerField(help_text="Assessed dues of the year, rials.")
    lines = models.JSONField(help_text="Line code → amount in rials.")
    facts = models.JSONField(help_text="The parcel facts the formulas used.")
    is_current = models.BooleanField(default=True)
    superseded_by_run = models.ForeignKey(AssessmentRun, on_delete=models.PROTECT, null=True, blank=True,
                                          related_name="superseded", db_index=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["parcel", "year"], condition=Q(is_current=True),
                                    name="assessment_one_current"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="assessment_amount_not_negative"),
        ]
        indexes = [models.Index(fields=["year", "district"], condition=Q(is_current=True),
                                name="assessment_year_district")]


class Bill(models.Model):
    """A bill for a parcel with the national bill ID / payment ID; its amount never changes once issued.

    Two kinds: a **renewal** bill asks every unpaid year of renewal dues as of a date, each with its own book,
    discount and penalty (a reassessment or a newer bill supersedes it; its payments post to the ledger); a **fee**
    bill asks the fee lines another app evaluated (a permit's fees, through dues.api) under the caller's
    `reference`, and its payments post nothing to the renewal ledger (dues/fee_bills.py)."""

    class Kind(models.TextChoices):
        RENEWAL = "renewal", _("Renewal dues")
        FEE = "fee", _("Fees")

    class Status(models.TextChoices):
        ISSUED = "issued", _("Issued")
        PARTIALLY_PAID = "partial", _("Partially paid")
        PAID = "paid", _("Paid")
        SUPERSEDED = "superseded", _("Superseded")

    class Superseded(models.TextChoices):
        """Why a bill was superseded: the code stored in `superseded_reason`, the values its message names in
        `superseded_params`; the label is that message, read in the reader's language (`superseded_text`)."""

        REPLACED = "replaced", _("Replaced by bill %(bill)s.")
        REASSESSED = "reassessed", _("The dues of %(year)s were reassessed (assessment run %(run)s).")
        FEES_CHANGED = "fees_changed", _("The fees were changed: replaced by bill %(bill)s.")

    parcel = models.ForeignKey(Parcel, on_delete=models.PROTECT, related_name="dues_bills")
    # What every URL and the API name the bill by: random, so bills cannot be walked by counting (the id is internal).
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    issued_at = models.DateTimeField(auto_now_add=True)
    as_of = models.DateField(help_text="The date penalties and the discount were computed for (Gregorian stored).")
    jalali_year = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.RENEWAL)
    reference = models.CharField(max_length=100, blank=True, db_index=True, help_text=(
        "Fee bills: what the calling app bills under (a permit case's reference); empty on renewal bills."))
    title_fa = models.CharField(max_length=300, blank=True, help_text="Fee bills: what the bill is for, in Persian.")
    title_en = models.CharField(max_length=300, blank=True, help_text="Fee bills: the same in English.")
    items = models.JSONField(help_text=("Renewal bills: one entry per year billed (assessed, paid before, discount, "
                                        "penalty, due). Fee bills: the fee lines (code, labels, formula, inputs, "
                                        "amount)."))
    total = models.BigIntegerField(help_text="Sum of the years' dues, rials.")
    rounding = models.BigIntegerField(help_text="Rials left off so the amount is whole thousands.")
    amount = models.BigIntegerField(help_text="Payable, whole thousands of rials.")
    bill_id = models.CharField(max_length=13)
    payment_id = models.CharField(max_length=13)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ISSUED)
    superseded_reason = models.CharField(max_length=300, blank=True, help_text=(
        "A code of Bill.Superseded; a bill superseded before the codes keeps the English text it was given."))
    superseded_params = models.JSONField(default=dict, blank=True, help_text="The values the reason's message names.")

    class Meta:
        ordering = ["-issued_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="bill_amount_positive"),
            # a fee bill's bill ID carries its own file code (dues/fee_bills.py): never two alike
            models.UniqueConstraint(fields=["bill_id"], condition=Q(kind="fee"), name="bill_fee_bill_id_unique"),
            # one live (not superseded) bill per reference: two concurrent issuers cannot both write one
            models.UniqueConstraint(fields=["reference"], condition=Q(kind="fee") & ~Q(status="superseded"),
                                    name="bill_fee_one_live_per_reference"),
        ]
        permissions = [("view_collections", "Can see collections and reconciliation reports")]

    def __str__(self):
        return f"bill {self.bill_id}/{self.payment_id}"

    @property
    def is_fee(self) -> bool:
        return self.kind == self.Kind.FEE

    @property
    def barcode(self) -> str:
        return self.bill_id.zfill(13) + self.payment_id.zfill(13)

    @property
    def superseded_code(self) -> str | None:
        """The reason's code (None when not superseded, or superseded before the codes)."""
        return self.superseded_reason if self.superseded_reason in self.Superseded.values else None

    def superseded_text(self) -> str:
        """Why the bill was superseded, in the reader's language ("" when it was not)."""
        if self.superseded_code is None:
            return self.superseded_reason          # empty, or an old row's English text: shown as it was stored
        params = {k: persian_digits(v) if is_persian() else v for k, v in self.superseded_params.items()}
        return str(self.Superseded(self.superseded_reason).label) % params


class PaymentAttempt(models.Model):
    """A citizen sent to the gateway to pay a bill: the token ties the gateway's callback to the bill."""

    class Status(models.TextChoices):
        STARTED = "started", _("Started")
        PAID = "paid", _("Paid")
        FAILED = "failed", _("Failed")

    class Failure(models.TextChoices):
        """Why the gateway did not confirm a payment, stored as a code; the label is what people read."""

        NO_SUCH_TRANSACTION = "no_such_transaction", _("The bank has no such transaction.")
        CANCELLED = "cancelled", _("The payment was cancelled at the bank.")
        NOT_CONFIRMED = "not_confirmed", _("The bank did not confirm the payment.")

    bill = models.ForeignKey(Bill, on_delete=models.PROTECT, related_name="attempts")
    token = models.CharField(max_length=64, unique=True)
    gateway = models.CharField(max_length=30)
    amount = models.BigIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.STARTED)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    failure = models.CharField(max_length=30, choices=Failure.choices, blank=True)
    message = models.CharField(max_length=300, blank=True, help_text=(
        "What the bank said in its own words, if anything; an attempt failed before the failure codes keeps the "
        "English text it was given."))

    def failure_text(self) -> str:
        """Why the payment failed, in the reader's language ("" when it did not)."""
        return str(self.get_failure_display()) if self.failure else self.message


class Payment(models.Model):
    """Money the gateway verified. The gateway's reference is unique: a callback repeated any number of times,
    at once or later, records one payment."""

    class Kind(models.TextChoices):
        FULL = "full", _("Full")
        PARTIAL = "partial", _("Partial")
        OVER = "over", _("Over-payment")

    bill = models.ForeignKey(Bill, on_delete=models.PROTECT, related_name="payments")
    parcel = models.ForeignKey(Parcel, on_delete=models.PROTECT, related_name="dues_payments")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)  # as Bill.public_id
    gateway = models.CharField(max_length=30)
    gateway_ref = models.CharField(max_length=100)
    amount = models.BigIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    paid_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-paid_at"]
        constraints = [
            models.UniqueConstraint(fields=["gateway", "gateway_ref"], name="payment_gateway_ref_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
        ]


class LedgerEntry(models.Model):
    """A movement on a parcel's dues account for a year. Assessed amounts come from current assessments; these
    entries carry what happened at payment: discount granted, penalty charged, rials rounded off, money paid, and
    credit from over-payment (a negative balance the municipality owes back or carries forward)."""

    class Kind(models.TextChoices):
        DISCOUNT = "discount", _("Discount")
        PENALTY = "penalty", _("Penalty")
        ROUNDING = "rounding", _("Rounded off")
        PAYMENT = "payment", _("Payment")
        CREDIT = "credit", _("Over-payment credit")

    parcel = models.ForeignKey(Parcel, on_delete=models.PROTECT, related_name="dues_ledger")
    year = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    amount = models.BigIntegerField(help_text="Rials, positive; the kind says which way it counts.")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="entries")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="ledger_amount_positive")]
        verbose_name_plural = "ledger entries"


class SandboxTransaction(models.Model):
    """The local sandbox gateway's own record of a transaction (what a bank keeps on its side)."""

    token = models.CharField(max_length=64, unique=True)
    reference = models.CharField(max_length=100, unique=True)
    amount = models.BigIntegerField()
    succeeded = models.BooleanField()
    at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.reference

