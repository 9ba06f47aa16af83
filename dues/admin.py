"""Admin: tariff books with their history (simple-history), assessment runs, bills, payments and the ledger."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from dues.models import Assessment, AssessmentRun, Bill, LedgerEntry, Payment, TariffBook


@admin.register(TariffBook)
class TariffBookAdmin(SimpleHistoryAdmin):
    list_display = ("year", "name", "status", "title_fa", "discount_percent", "penalty_percent_per_month",
                    "penalty_cap_percent", "loaded_at")
    list_filter = ("status", "year")
    readonly_fields = ("source_file", "loaded_at")


@admin.register(AssessmentRun)
class AssessmentRunAdmin(admin.ModelAdmin):
    list_display = ("year", "book", "started_at", "finished_at", "created", "reassessed", "unchanged",
                    "bills_superseded", "run_by")
    readonly_fields = [f.name for f in AssessmentRun._meta.fields]


@admin.register(Assessment)
class AssessmentAdmin(admin.ModelAdmin):
    list_display = ("parcel", "year", "amount", "book", "is_current", "run")
    list_filter = ("year", "is_current")
    raw_id_fields = ("parcel",)
    readonly_fields = [f.name for f in Assessment._meta.fields]
    show_full_result_count = False


@admin.register(Bill)
class BillAdmin(admin.ModelAdmin):
    list_display = ("bill_id", "payment_id", "kind", "reference", "parcel", "amount", "status", "issued_at")
    list_filter = ("kind", "status", "jalali_year")
    search_fields = ("bill_id", "payment_id", "reference")
    raw_id_fields = ("parcel",)
    readonly_fields = [f.name for f in Bill._meta.fields] + ["why_superseded"]

    @admin.display(description=_("Why it was superseded"))
    def why_superseded(self, bill):
        """The stored reason's code and values, said in the reader's language."""
        return bill.superseded_text() or "—"


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = ("gateway_ref", "gateway", "bill", "amount", "kind", "paid_at")
    list_filter = ("gateway", "kind")
    readonly_fields = [f.name for f in Payment._meta.fields]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    list_display = ("parcel", "year", "kind", "amount", "payment", "at")
    list_filter = ("kind", "year")
    raw_id_fields = ("parcel", "payment")
    readonly_fields = [f.name for f in LedgerEntry._meta.fields]
