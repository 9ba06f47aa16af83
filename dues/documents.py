"""Bills and receipts as issued documents (documents/): printed once in the job queue, signed, stored, verifiable by
their code, and served from storage (no browser per request).

- Kind "bill" (numbers B-<Jalali year>-00001): issued in the transaction that writes a bill (dues.billing.issue,
  dues.fee_bills.issue). Page one is the bill as people know it (municipality, parcel, the years in a short table,
  the amount in digits and in Persian words, bill ID, payment ID, the 26-digit barcode, a QR code to the bill's page to
  pay online, the verification code and its QR code); the formula-by-formula detail follows as an annex. Its content
  is frozen at issue: a bill printed later says what the bill said then. The verification page adds the bill's state
  today (paid on a date, payable, replaced). A bill that replaces another (dues' own notion: a renewal bill replaces
  the parcel's open renewal bills, a fee bill its reference's unpaid one) marks the earlier bill's document superseded;
  a paid bill stays valid. The documents' `supersedes` (every earlier document of the parcel) is not that notion.
- Kind "receipt" (R-...): issued when a payment is recorded, once per payment (dues.billing.record_payment records a
  gateway reference once however often the bank calls back).
- A bill issued before bills had documents gets its document on the first request for its PDF (`bill_document`).

No personal data: no owner, no national ID; the parcel by its renewal code, plate and street address (public on the
parcel sheet too).
"""

from __future__ import annotations

import datetime as dt

import jdatetime
from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from common import municipality
from common.jalali import jalali
from documents import api as documents
from documents.kinds import DocumentKind, register_kind
from documents.models import IssuedDocument
from dues import barcode, gateways
from dues.models import Bill, Payment
from dues.words import rials_in_words

BILL = "bill"
RECEIPT = "receipt"


def register() -> None:
    """Called from DuesConfig.ready()."""
    register_kind(DocumentKind(code=BILL, name=gettext_lazy("Bill"), prefix="B", html=bill_html,
                               supersedes=False, extra_status=bill_status))
    register_kind(DocumentKind(code=RECEIPT, name=gettext_lazy("Payment receipt"), prefix="R", html=receipt_html))


def bill_source(bill: Bill) -> str:
    return f"dues.bill:{bill.pk}"


def payment_source(payment: Payment) -> str:
    return f"dues.payment:{payment.pk}"


def _pk(source: str, prefix: str) -> int | None:
    head, _sep, pk = source.partition(":")
    return int(pk) if head == prefix and pk.isdigit() else None


# --- What a bill prints -------------------------------------------------------------------------------------------


def payable_until(bill: Bill) -> dt.date | None:
    """The last day a renewal bill asks the right amount: the end of the Jalali month it was computed for (then a
    month more of penalty, or the year's discount gone). A fee bill does not expire: None."""
    if bill.is_fee:
        return None
    day = jdatetime.date.fromgregorian(date=bill.as_of)
    first_of_next = (jdatetime.date(day.year + 1, 1, 1) if day.month == 12
                     else jdatetime.date(day.year, day.month + 1, 1))
    return (first_of_next - dt.timedelta(days=1)).togregorian()


def _public_url(path: str) -> str:
    return settings.DOCUMENTS_PUBLIC_URL.rstrip("/") + path


def _parcel(parcel) -> dict:
    """The parcel as a bill names it: identifiers and street addresses (public, as on the parcel sheet)."""
    addresses = []
    for address in parcel.addresses.select_related("street").order_by("id")[:2]:
        street = address.street.name if address.street else ""
        addresses.append(_("%(street)s, plaque %(plaque)s") % {"street": street, "plaque": address.plaque}
                         if address.plaque else street)
    return {"renewal_code": parcel.renewal_code or "", "plate": parcel.plate, "postal_code": parcel.postal_code or "",
            "addresses": [a for a in addresses if a]}


def bill_content(bill: Bill, detail: dict) -> dict:
    """Everything the bill's PDF prints, JSON-ready and in Persian (frozen in the document at issue). `detail`: the
    bill as its page shows it (dues.billing.bill_detail or dues.fee_bills.detail), printed as the annex."""
    with translation.override("fa"):
        if bill.is_fee:
            rows = [{"label": line.get("label_fa") or line.get("code"), "amount": line["amount"]}
                    for line in bill.items if line.get("kind", "charge") != "value"]
            title = bill.title_fa
        else:
            rows = [{"year": i["year"], "dues": i["outstanding"], "penalty": i["penalty"], "discount": i["discount"],
                     "total": i["due"]} for i in bill.items]
            title = _("Renewal dues bill")
        until = payable_until(bill)
        return {
            "municipality": municipality.current().name, "title": title, "is_fee": bill.is_fee,
            "demo": bool(bill.parcel.import_run_id and bill.parcel.import_run.is_demo),
            "parcel": _parcel(bill.parcel), "rows": rows,
            "total": bill.total, "rounding": bill.rounding, "amount": bill.amount,
            "amount_words": rials_in_words(bill.amount),
            "bill_id": bill.bill_id, "payment_id": bill.payment_id, "barcode": bill.barcode,
            "as_of": bill.as_of.isoformat(), "issued_on": timezone.localdate(bill.issued_at).isoformat(),
            "payable_until": until.isoformat() if until else None,
            "status": bill.status,
            "pay_url": _public_url(reverse("dues:bill_page", args=[bill.public_id])),
            "detail": detail,
        }


def _bill_subject(bill: Bill) -> dict:
    """The public facts the verification page shows (labels are msgids, translated when shown)."""
    facts = [[gettext_noop("Bill ID"), bill.bill_id], [gettext_noop("Payment ID"), bill.payment_id],
             [gettext_noop("Amount payable (rials)"), f"{bill.amount:,}"]]
    if bill.is_fee:
        facts.insert(0, [gettext_noop("For"), bill.title_fa])
    return {"title": gettext_noop("Fee bill") if bill.is_fee else gettext_noop("Renewal dues bill"), "facts": facts}


def _replaced_by(bill: Bill):
    """The bills `bill` replaced (dues' own notion of superseding: see the module docstring)."""
    if bill.is_fee:
        return Bill.objects.filter(kind=Bill.Kind.FEE, reference=bill.reference, status=Bill.Status.SUPERSEDED,
                                   superseded_reason=Bill.Superseded.FEES_CHANGED,
                                   superseded_params__bill=bill.bill_id)
    return Bill.objects.filter(kind=Bill.Kind.RENEWAL, parcel_id=bill.parcel_id, status=Bill.Status.SUPERSEDED,
                               superseded_reason=Bill.Superseded.REPLACED, superseded_params__bill=bill.pk)


def _replacing(bill: Bill) -> Bill | None:
    """The bill that replaced `bill`, if one did."""
    if bill.status != Bill.Status.SUPERSEDED:
        return None
    new = bill.superseded_params.get("bill")
    if bill.superseded_reason == Bill.Superseded.REPLACED and isinstance(new, int):
        return Bill.objects.filter(pk=new, parcel_id=bill.parcel_id).first()
    if bill.superseded_reason == Bill.Superseded.FEES_CHANGED and isinstance(new, str):
        return Bill.objects.filter(kind=Bill.Kind.FEE, reference=bill.reference, bill_id=new).first()
    return None


def issue_bill(bill: Bill, detail: dict) -> IssuedDocument:
    """The bill's document, in the caller's transaction (printed after commit). The documents of the bills it
    replaced are marked superseded by it (and its own, when a bill already replaced it has a document)."""
    doc = documents.issue(BILL, parcel=bill.parcel, subject=_bill_subject(bill), content=bill_content(bill, detail),
                          source=bill_source(bill), valid_until=payable_until(bill))
    earlier = [bill_source(b) for b in _replaced_by(bill)]
    if earlier:
        IssuedDocument.objects.filter(kind=BILL, source__in=earlier, superseded_by__isnull=True).update(
            superseded_by=doc)
    newer = _replacing(bill)
    later_doc = documents.by_source(bill_source(newer)) if newer is not None else None
    if later_doc is not None:
        doc.superseded_by = later_doc
        doc.save(update_fields=["superseded_by"])
    return doc


def bill_document(bill: Bill, detail_of) -> IssuedDocument:
    """The bill's document; for a bill issued before bills had documents, issued now (once, however many requests
    ask at the same time: the bill's row is locked while it is looked for and issued). `detail_of(bill)`: the annex."""
    doc = documents.by_source(bill_source(bill))
    if doc is not None:
        return doc
    with transaction.atomic():
        bill = (Bill.objects.select_for_update(no_key=True, of=("self",)).select_related("parcel__import_run")
                .get(pk=bill.pk))
        doc = documents.by_source(bill_source(bill))
        if doc is None:
            doc = issue_bill(bill, detail_of(bill))
    return doc


def bill_status(doc: IssuedDocument) -> dict | None:
    """What the verification page adds about the bill today: paid on a date, partly paid, payable, or replaced."""
    bill = Bill.objects.filter(pk=_pk(doc.source, "dues.bill")).first()
    if bill is None:
        return None
    label = gettext_noop("Payment")
    if bill.status == Bill.Status.PAID:
        paid_at = bill.payments.aggregate(last=Max("paid_at"))["last"]
        return {"label": label, "value": _("Paid on %(date)s") % {"date": jalali(timezone.localdate(paid_at))}}
    if bill.status == Bill.Status.PARTIALLY_PAID:
        return {"label": label, "value": _("Partly paid")}
    if bill.status == Bill.Status.SUPERSEDED:
        return {"label": label, "value": _("Replaced: no longer payable")}
    return {"label": label, "value": _("Payable")}


def _codes(doc: IssuedDocument) -> dict:
    url = documents.verification_url(doc)
    return {"verification_url": url, "verification_qr": documents.qr_png_data_uri(url)}


def bill_html(doc: IssuedDocument) -> bytes:
    """The bill's page as printed (under translation "fa": documents.rendering)."""
    content = doc.content
    context = {"doc": doc, "c": content, "detail": content["detail"], **_codes(doc),
               "barcode_svg": barcode.svg_data_uri(content["barcode"]),
               "pay_qr": documents.qr_png_data_uri(content["pay_url"])}
    return render_to_string("dues/bill_document.html", context).encode("utf-8")


# --- Receipts -----------------------------------------------------------------------------------------------------


def issue_receipt(payment: Payment) -> IssuedDocument:
    """The payment's receipt, in the transaction that records the payment (once per payment: the caller issues it
    only for a payment it created)."""
    bill = payment.bill
    paid_at = timezone.localtime(payment.paid_at or timezone.now())
    with translation.override("fa"):
        content = {
            "municipality": municipality.current().name,
            "title": bill.title_fa if bill.is_fee else _("Renewal dues bill"),
            "parcel": _parcel(bill.parcel), "amount": payment.amount, "amount_words": rials_in_words(payment.amount),
            "bill_id": bill.bill_id, "payment_id": bill.payment_id, "reference": payment.gateway_ref,
            "gateway": gateways.label(payment.gateway) or payment.gateway, "kind": payment.kind,
            "paid_at": paid_at.isoformat(), "demo": bool(bill.parcel.import_run_id and bill.parcel.import_run.is_demo),
        }
    subject = {"title": gettext_noop("Payment receipt"), "facts": [
        [gettext_noop("Amount paid (rials)"), f"{payment.amount:,}"], [gettext_noop("Bill ID"), bill.bill_id],
        [gettext_noop("Payment ID"), bill.payment_id], [gettext_noop("Bank reference"), payment.gateway_ref],
        [gettext_noop("Paid on"), jdatetime.date.fromgregorian(date=paid_at.date()).strftime("%Y/%m/%d")]]}
    return documents.issue(RECEIPT, parcel=bill.parcel, subject=subject, content=content,
                           source=payment_source(payment))


def receipt_html(doc: IssuedDocument) -> bytes:
    content = doc.content
    context = {"doc": doc, "c": content, "paid_at": dt.datetime.fromisoformat(content["paid_at"]), **_codes(doc)}
    return render_to_string("dues/receipt_document.html", context).encode("utf-8")
