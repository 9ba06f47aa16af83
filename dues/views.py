"""Dues pages and JSON: the sheet section, bills (JSON, printable HTML, PDF), the payment flow through the gateway,
and finance staff's collections and daily reconciliation."""

from common.i18n import is_persian
import secrets
import subprocess
import tempfile
from datetime import date, datetime, time, timedelta
from pathlib import Path

import jdatetime
from django.conf import settings
from django.contrib.auth.decorators import permission_required
from django.db import connection, transaction
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dues import billing, calculator
from dues.gateways import gateway
from dues.assessment import what_if
from dues.models import Assessment, Bill, PaymentAttempt, SandboxTransaction, TariffBook
from dues.sheet import build as build_section
from dues.tariffs import NoTariffBook, TariffError, compile_book
from common.errors import ApiError, NotFound, json_errors
from parcels.models import Parcel


def _json(data, status=200):
    return JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})


def _is_fa() -> bool:
    return is_persian()


def _jalali(d: date) -> str:
    return jdatetime.date.fromgregorian(date=d).strftime("%Y/%m/%d")


class Forbidden(ApiError):
    status = 403
    code = "forbidden"


# --- Citizen side -----------------------------------------------------------------------------------------


@require_GET
@json_errors
def parcel_dues(request, parcel_id):
    """The dues section of the parcel sheet (JSON)."""
    parcel = Parcel.objects.filter(pk=parcel_id).first()
    if parcel is None:
        raise NotFound(f"No parcel with id {parcel_id}.")
    return _json(build_section(parcel, request))


def bill_detail(bill: Bill) -> dict:
    """A bill with every year's lines: formula, the values put into it, amount (recomputed by the pure
    calculator from the facts the assessment stored, and checked against the stored amounts)."""
    assessments = {a.pk: a for a in Assessment.objects.filter(pk__in=[i["assessment"] for i in bill.items])
                   .select_related("book")}
    years = []
    for item in bill.items:
        a = assessments[item["assessment"]]
        compiled = compile_book(a.book)
        result = calculator.assess(compiled.lines, compiled.parameters, a.facts)
        if result.line_amounts() != a.lines or result.amount != a.amount:
            raise ApiError(f"The {a.year} assessment no longer matches its tariff book; finance staff must reassess.")
        years.append({**item, "book": {"year": a.book.year, "name": a.book.name, "title_fa": a.book.title_fa,
                                       "title_en": a.book.title_en, "approval": a.book.approval},
                      "lines": [{"code": r.code, "label_fa": r.label_fa, "label_en": r.label_en, "kind": r.kind,
                                 "formula": r.formula, "inputs": r.inputs, "amount": r.amount,
                                 "legal_basis": r.legal_basis} for r in result.lines if not r.hidden]})
    parcel = bill.parcel
    return {
        "id": bill.pk, "parcel": {"id": parcel.pk, "renewal_code": parcel.renewal_code},
        "issued_at": bill.issued_at.isoformat(), "as_of": _jalali(bill.as_of), "status": bill.status,
        "years": years, "total": bill.total, "rounding": bill.rounding, "amount": bill.amount,
        "bill_id": bill.bill_id, "payment_id": bill.payment_id, "barcode": bill.barcode,
        "paid": sum(p.amount for p in bill.payments.all()),
        "superseded_reason": bill.superseded_reason or None,
    }


@require_GET
@json_errors
def bill_json(request, bill_pk):
    bill = Bill.objects.filter(pk=bill_pk).select_related("parcel").first()
    if bill is None:
        raise NotFound(f"No bill {bill_pk}.")
    return _json(bill_detail(bill))


@require_GET
def parcel_bill(request, parcel_id):
    """Issue (or reuse) the parcel's bill as of today and show it."""
    parcel = get_object_or_404(Parcel, pk=parcel_id)
    try:
        bill = billing.issue(parcel)
    except (billing.BillError, NoTariffBook) as exc:
        return render(request, "dues/message.html", {"fa": _is_fa(), "message": str(exc), "parcel": parcel},
                      status=409)
    return redirect("dues:bill_page", bill.pk)


def _bill_context(request, bill):
    detail = bill_detail(bill)
    return {"fa": _is_fa(), "bill": detail, "bill_obj": bill, "issued": timezone.localtime(bill.issued_at),
            "is_demo": bool(bill.parcel.import_run and bill.parcel.import_run.is_demo),
            "message": request.GET.get("message", "")}


@require_GET
def bill_page(request, bill_pk):
    """The printable bill: every year's lines with formula and values, bill ID, payment ID, barcode."""
    bill = get_object_or_404(Bill.objects.select_related("parcel__import_run"), pk=bill_pk)
    return render(request, "dues/bill.html", _bill_context(request, bill))


@require_GET
def bill_pdf(request, bill_pk):
    """The same page printed to PDF by headless Chromium (the browser the tests already drive): the PDF is
    exactly the printable page, with its Persian shaping and RTL, and no second layout engine to keep."""
    bill = get_object_or_404(Bill.objects.select_related("parcel__import_run"), pk=bill_pk)
    html = render(request, "dues/bill.html", {**_bill_context(request, bill), "for_pdf": True}).content
    with tempfile.TemporaryDirectory() as tmp:
        page, pdf = Path(tmp) / "bill.html", Path(tmp) / "bill.pdf"
        page.write_bytes(html)
        try:
            subprocess.run([settings.DUES_CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                            "--no-pdf-header-footer", f"--user-data-dir={tmp}/profile", f"--print-to-pdf={pdf}",
                            page.as_uri()], check=True, timeout=60, capture_output=True)
        except (OSError, subprocess.SubprocessError) as exc:
            message = (f"The PDF could not be printed ({type(exc).__name__}; DUES_CHROMIUM="
                       f"{settings.DUES_CHROMIUM}): print the bill page from the browser instead.")
            return render(request, "dues/message.html", {"fa": _is_fa(), "message": message}, status=503)
        response = HttpResponse(pdf.read_bytes(), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="bill-{bill.bill_id}-{bill.payment_id}.pdf"'
    return response


@require_POST
def pay(request, bill_pk):
    """Send the citizen to the gateway, unless the bill is no longer what the parcel owes."""
    bill = get_object_or_404(Bill, pk=bill_pk)
    try:
        billing.check_payable(bill)
    except billing.BillError as exc:
        return render(request, "dues/message.html", {"fa": _is_fa(), "message": str(exc), "parcel": bill.parcel,
                                                     "bill": bill}, status=409)
    gw = gateway()
    attempt = PaymentAttempt.objects.create(bill=bill, token=secrets.token_urlsafe(24), gateway=gw.name,
                                            amount=bill.amount)
    callback = request.build_absolute_uri(reverse("dues:callback", args=[gw.name]))
    return redirect(gw.start(attempt, callback))


@require_GET
def callback(request, gateway_name):
    """The gateway sends the citizen back here. The claim is verified with the gateway, then recorded once per
    gateway reference, however many times (or how concurrently) the callback arrives."""
    gw = gateway()
    attempt = PaymentAttempt.objects.filter(token=request.GET.get("token", ""), gateway=gateway_name).first()
    if attempt is None or gw.name != gateway_name:
        return render(request, "dues/message.html", {"fa": _is_fa(), "message": "Unknown payment."}, status=404)
    verification = gw.verify(attempt, request.GET)
    if not verification.ok:
        PaymentAttempt.objects.filter(pk=attempt.pk, status=PaymentAttempt.Status.STARTED).update(
            status=PaymentAttempt.Status.FAILED, finished_at=timezone.now(), message=verification.message)
        return redirect(reverse("dues:bill_page", args=[attempt.bill_id]) + "?message=failed")
    billing.record_payment(attempt.bill, gw.name, verification.reference, verification.amount)
    PaymentAttempt.objects.filter(pk=attempt.pk).update(status=PaymentAttempt.Status.PAID, finished_at=timezone.now())
    return redirect(reverse("dues:bill_page", args=[attempt.bill_id]) + "?message=paid")


@require_http_methods(["GET", "POST"])
def sandbox_page(request, token):
    """The local sandbox bank's page: pay or cancel. It keeps its own record and sends the user back."""
    attempt = get_object_or_404(PaymentAttempt, token=token)
    if request.method == "GET":
        return render(request, "dues/sandbox.html", {"fa": _is_fa(), "attempt": attempt, "bill": attempt.bill})
    with transaction.atomic():
        tx = SandboxTransaction.objects.filter(token=token).first()
        if tx is None:
            tx = SandboxTransaction.objects.create(token=token, reference="SBX" + secrets.token_hex(8).upper(),
                                                   amount=attempt.amount, succeeded=request.POST.get("action") == "pay")
    return redirect(reverse("dues:callback", args=["sandbox"]) + f"?token={token}&ref={tx.reference}")


# --- Finance staff --------------------------------------------------------------------------------------------

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
SELECT COALESCE(a.year, m.year) AS year, d.code, d.name, COALESCE(a.parcels, 0), COALESCE(a.assessed, 0)::bigint,
       COALESCE(m.discount, 0)::bigint, COALESCE(m.penalty, 0)::bigint, COALESCE(m.rounding, 0)::bigint,
       COALESCE(m.collected, 0)::bigint
FROM assessed a FULL JOIN moved m ON m.year = a.year AND m.district_id IS NOT DISTINCT FROM a.district_id
LEFT JOIN parcels_district d ON d.id = COALESCE(a.district_id, m.district_id)
ORDER BY 1 DESC, 2
"""


def collections() -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(_COLLECTIONS)
        rows = cursor.fetchall()
    out = []
    for year, code, name, parcels, assessed, discount, penalty, rounding, collected in rows:
        out.append({"year": year, "district": code, "name": name, "parcels": parcels, "assessed": assessed,
                    "discount": discount, "penalty": penalty, "rounding": rounding, "collected": collected,
                    "balance": assessed - discount + penalty - rounding - collected})
    return out


def reconciliation(day: date) -> dict:
    """Payments verified on one day (local time) by gateway, against the ledger entries they posted."""
    tz = timezone.get_current_timezone()
    start = datetime.combine(day, time.min, tzinfo=tz)
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT p.gateway, p.kind, count(*), sum(p.amount)::bigint,
                   sum((SELECT sum(e.amount) FROM dues_ledgerentry e
                        WHERE e.payment_id = p.id AND e.kind IN ('payment', 'credit')))::bigint
            FROM dues_payment p WHERE p.paid_at >= %s AND p.paid_at < %s
            GROUP BY p.gateway, p.kind ORDER BY 1, 2""", [start, start + timedelta(days=1)])
        rows = [{"gateway": r[0], "kind": r[1], "payments": r[2], "amount": r[3], "posted": r[4] or 0,
                 "difference": r[3] - (r[4] or 0)} for r in cursor.fetchall()]
    return {"date": _jalali(day), "gregorian": day.isoformat(), "rows": rows,
            "payments": sum(r["payments"] for r in rows), "amount": sum(r["amount"] for r in rows),
            "reconciled": all(r["difference"] == 0 for r in rows)}


@permission_required("dues.view_collections", raise_exception=True)
def finance_page(request):
    raw = request.GET.get("date", "")
    try:
        day = jdatetime.datetime.strptime(raw, "%Y/%m/%d").togregorian().date() if raw else timezone.localdate()
    except ValueError:
        day = timezone.localdate()
    drafts = TariffBook.objects.filter(status=TariffBook.Status.DRAFT).order_by("-year", "name")
    chosen = drafts.filter(pk=request.GET.get("what_if")).first() if request.GET.get("what_if", "").isdigit() else None
    comparison = None
    if chosen is not None:
        try:
            comparison = what_if(chosen)
        except TariffError as exc:
            comparison = str(exc)
    return render(request, "dues/finance.html", {"fa": _is_fa(), "collections": collections(),
                                                 "reconciliation": reconciliation(day), "drafts": drafts,
                                                 "what_if_book": chosen, "what_if": comparison})


@require_GET
@json_errors
def finance_json(request):
    if not request.user.has_perm("dues.view_collections"):
        raise Forbidden("Finance staff only.")
    raw = request.GET.get("date", "")
    try:
        day = date.fromisoformat(raw) if raw else timezone.localdate()
    except ValueError:
        raise ApiError(f"date {raw!r} is not YYYY-MM-DD") from None
    return _json({"collections": collections(), "reconciliation": reconciliation(day)})
