"""Dues pages and JSON: the sheet section, bills (JSON, printable HTML, PDF), issuing a bill, the payment flow
through the gateway, and finance staff's collections and daily reconciliation.

Request → service → response: bills and payments are dues.billing's, the reports dues.reports', the bill's PDF
dues.documents' (printed once in the job queue, served from storage). Nothing is written on a GET except by the
gateway's callback (the bank's answer must be recorded however it arrives) and the document of a bill issued before
bills had documents, on the first request for its PDF."""

import secrets

from django.contrib.auth.decorators import permission_required
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.decorators import staff_otp_required
from common import params
from common.edge import json_response
from common.errors import BadParameter, Forbidden, NotFound
from documents import api as documents_api
from dues import billing, fee_bills, gateways, reports
from dues import documents as bill_documents
from dues.assessment import what_if
from dues.gateways import gateway
from dues.models import Bill, PaymentAttempt, SandboxTransaction, TariffBook
from dues.sheet import build as build_section
from dues.tariffs import NoTariffBook, TariffError
from parcels.models import Parcel

PRINTING_RETRY = 3     # seconds: a bill's PDF being printed is asked for again after this (a print takes 2-5 s)


def _message(request, message: str, status: int, **context):
    return render(request, "dues/message.html", {"message": message, **context}, status=status)


def _detail(bill: Bill) -> dict:
    """The bill as its page and its JSON show it: a renewal bill's years, or a fee bill's lines."""
    return fee_bills.detail(bill) if bill.is_fee else billing.bill_detail(bill)


# --- Citizen side -----------------------------------------------------------------------------------------


@require_GET
def parcel_dues(request, parcel_id):
    """The dues section of the parcel sheet (JSON)."""
    parcel = Parcel.objects.filter(pk=parcel_id).first()
    if parcel is None:
        raise NotFound(_("No parcel with id %(id)s.") % {"id": parcel_id})
    return json_response(build_section(parcel, request))


@require_GET
def bill_json(request, bill_ref):
    bill = Bill.objects.filter(public_id=bill_ref).select_related("parcel").first()
    if bill is None:
        raise NotFound(_("No bill %(number)s.") % {"number": bill_ref})
    return json_response(_detail(bill))


@require_http_methods(["GET", "POST"])
def parcel_bill(request, parcel_id):
    """GET: the parcel's open bill if one is issued, else what a bill would ask today, with a button that issues it
    (nothing is written). POST (that button, CSRF-protected): issue the bill, or reuse the open one, and show it."""
    parcel = get_object_or_404(Parcel, pk=parcel_id)
    if request.method == "GET":
        try:
            bill = billing.open_bill(parcel)
        except (billing.BillError, NoTariffBook):
            bill = None                        # the preview says why nothing can be billed
        if bill is None:
            return render(request, "dues/bill_preview.html", {"parcel": parcel, "data": build_section(parcel, request)})
    else:
        try:
            bill = billing.issue(parcel)
        except (billing.BillError, NoTariffBook) as exc:
            return _message(request, str(exc), 409, parcel=parcel)
    return redirect("dues:bill_page", bill.public_id)


def _bill_context(request, bill):
    # after a failed payment the callback names why (a PaymentAttempt.Failure code), said in the reader's language
    reason = params.text(request.GET, "reason", max_length=30)
    failure = PaymentAttempt.Failure(reason).label if reason in PaymentAttempt.Failure.values else None
    return {"bill": _detail(bill), "bill_obj": bill, "issued": bill.issued_at,
            "is_demo": bool(bill.parcel.import_run and bill.parcel.import_run.is_demo),
            "message": params.text(request.GET, "message", max_length=20), "failure": failure,
            "staging": gateways.sandbox_in_use() and gateways.staging()}


@require_GET
def bill_page(request, bill_ref):
    """The printable bill: every year's lines with formula and values, bill ID, payment ID, barcode."""
    bill = get_object_or_404(Bill.objects.select_related("parcel__import_run"), public_id=bill_ref)
    return render(request, "dues/bill.html", _bill_context(request, bill))


@require_GET
def bill_pdf(request, bill_ref):
    """The bill's PDF as issued: printed once in the job queue (dues/documents.py) and streamed from storage, never
    printed here. A bill issued before bills were documents gets its document now (the one write of this GET, done
    once however many ask at the same time); until the job has printed it, 202 and a page that refreshes itself."""
    bill = get_object_or_404(Bill.objects.select_related("parcel__import_run"), public_id=bill_ref)
    doc = bill_documents.bill_document(bill, _detail)
    if doc.rendered_at is None or not doc.file:
        response = render(request, "dues/bill_printing.html", {"bill": bill, "retry": PRINTING_RETRY}, status=202)
        response["Retry-After"] = str(PRINTING_RETRY)
        response["Cache-Control"] = "no-store"
        return response
    return documents_api.stored_pdf_response(doc.file.open("rb"), f"bill-{bill.bill_id}-{bill.payment_id}.pdf",
                                             doc.sha256)


@require_POST
def pay(request, bill_ref):
    """Send the citizen to the gateway, unless the bill is paid or no longer what is owed (409)."""
    bill = get_object_or_404(Bill.objects.select_related("parcel"), public_id=bill_ref)
    try:
        billing.check_payable(bill)
    except billing.BillError as exc:
        # a renewal bill's page offers a new bill of the parcel; a fee bill's new bill comes from its own app
        return _message(request, str(exc), 409, parcel=None if bill.is_fee else bill.parcel, bill=bill)
    if gateways.sandbox_in_use() and not gateways.sandbox_allowed():
        return _message(request, _("Online payment is not available yet: pay at a bank with the bill ID and payment "
                                   "ID."), 503)
    gw = gateway()
    attempt = PaymentAttempt.objects.create(bill=bill, token=secrets.token_urlsafe(24), gateway=gw.name,
                                            amount=bill.amount)
    callback_url = request.build_absolute_uri(reverse("dues:callback", args=[gw.name]))
    return redirect(gw.start(attempt, callback_url))


@require_GET
def callback(request, gateway_name):
    """The gateway sends the citizen back here. The claim is verified with the gateway, then recorded once per
    gateway reference, however many times (or how concurrently) the callback arrives. A GET that writes, because
    that is how banks call back; what it writes is idempotent."""
    gw = gateway()
    attempt = PaymentAttempt.objects.filter(token=params.text(request.GET, "token", max_length=64),
                                            gateway=gateway_name).first()
    if attempt is None or gw.name != gateway_name:
        return _message(request, _("Unknown payment."), 404)
    verification = gw.verify(attempt, request.GET)
    if not verification.ok:
        known = verification.failure in PaymentAttempt.Failure.values
        failure = str(verification.failure) if known else PaymentAttempt.Failure.NOT_CONFIRMED.value
        PaymentAttempt.objects.filter(pk=attempt.pk, status=PaymentAttempt.Status.STARTED).update(
            status=PaymentAttempt.Status.FAILED, finished_at=timezone.now(), failure=failure,
            message=verification.message)
        return redirect(reverse("dues:bill_page", args=[attempt.bill.public_id]) + f"?message=failed&reason={failure}")
    billing.record_payment(attempt.bill, gw.name, verification.reference, verification.amount)
    PaymentAttempt.objects.filter(pk=attempt.pk).update(status=PaymentAttempt.Status.PAID, finished_at=timezone.now())
    return redirect(reverse("dues:bill_page", args=[attempt.bill.public_id]) + "?message=paid")


@require_http_methods(["GET", "POST"])
def sandbox_page(request, token):
    """The local sandbox bank's page: pay or cancel. It keeps its own record and sends the user back. Only while the
    sandbox is the gateway on a development or declared staging site (dues.checks); elsewhere it does not exist."""
    if not (gateways.sandbox_in_use() and gateways.sandbox_allowed()):
        raise Http404
    attempt = get_object_or_404(PaymentAttempt, token=token)
    if request.method == "GET":
        return render(request, "dues/sandbox.html", {"attempt": attempt, "bill": attempt.bill,
                                                     "staging": gateways.staging()})
    with transaction.atomic():
        tx = SandboxTransaction.objects.filter(token=token).first()
        if tx is None:
            tx = SandboxTransaction.objects.create(token=token, reference="SBX" + secrets.token_hex(8).upper(),
                                                   amount=attempt.amount, succeeded=request.POST.get("action") == "pay")
    return redirect(reverse("dues:callback", args=["sandbox"]) + f"?token={token}&ref={tx.reference}")


# --- Finance staff --------------------------------------------------------------------------------------------


@staff_otp_required  # the finance pages ask staff's second factor when STAFF_OTP_REQUIRED (or they have a device)
@permission_required("dues.view_collections", raise_exception=True)
def finance_page(request):
    day = params.date(request.GET, "date", default=timezone.localdate())
    drafts = TariffBook.objects.filter(status=TariffBook.Status.DRAFT).order_by("-year", "name")
    chosen_pk = params.integer(request.GET, "what_if", min=1)
    chosen = drafts.filter(pk=chosen_pk).first() if chosen_pk else None
    comparison = None
    if chosen is not None:
        try:
            comparison = what_if(chosen)
        except TariffError as exc:
            comparison = str(exc)
    return render(request, "dues/finance.html", {"collections": reports.collections(),
                                                 "fee_collections": reports.fee_collections(),
                                                 "reconciliation": reports.reconciliation(day), "drafts": drafts,
                                                 "what_if_book": chosen, "what_if": comparison,
                                                 "approved_years": TariffBook.objects.filter(
                                                     status=TariffBook.Status.APPROVED).order_by("-year")
                                                 .values_list("year", flat=True).distinct()})


@staff_otp_required
@require_GET
def finance_json(request):
    if not request.user.has_perm("dues.view_collections"):
        raise Forbidden(_("Finance staff only."))
    day = params.date(request.GET, "date", default=timezone.localdate())
    return json_response({"collections": reports.collections(), "fee_collections": reports.fee_collections(),
                          "reconciliation": reports.reconciliation(day)})


# --- The assessment of a year as a job (jobs/) ----------------------------------------------------------------


def _start_assessment(request, given):
    from jobs import service
    from jobs.views import owned

    from dues.jobs import KIND

    year = params.integer(given, "year", required=True, min=1300, max=1500)
    if not TariffBook.objects.filter(year=year, status=TariffBook.Status.APPROVED).exists():
        raise BadParameter(_("No approved tariff book for %(year)s: load and approve one (manage.py "
                             "load_tariff_book).") % {"year": year})
    return service.start(KIND, {"year": year}, request.user, owned=owned(request))


@staff_otp_required
@require_POST
def assessment_job(request):
    """POST {"year": 1404}: reassess the whole city for a year as a job (finance and admin staff); 202 with the job."""
    from jobs.views import accepted, request_data

    return accepted(request, _start_assessment(request, request_data(request)))


@staff_otp_required
@require_POST
def finance_assess(request):
    """The finance page's form: start the job, then follow it on the jobs page."""
    job = _start_assessment(request, request.POST)
    return redirect(reverse("jobs:page") + f"#job-{job.pk}")


# --- Renewal-dues reminders by SMS (dues/reminders.py): finance staff ----------------------------------------------
# The page and the reports need the finance pages' permission (dues.view_collections) and, when the rule asks it, the
# staff second factor; starting a campaign is creating a notices campaign (notices.add_batch, given to finance and
# admin by DuesConfig.role_permissions).


def _reminders_view(view):
    return staff_otp_required(permission_required("dues.view_collections", raise_exception=True)(view))


@require_GET
def _reminders_page(request):
    """The year's campaign as it would start now (counts, a sample text) and the campaigns so far."""
    from common.i18n import is_persian
    from dues import reminders

    year = params.integer(request.GET, "year", default=billing.today().year, min=1300, max=1500)
    try:
        preview, error = reminders.preview(year, language="fa" if is_persian() else "en"), None
    except NoTariffBook as exc:
        preview, error = None, str(exc)
    return render(request, "dues/reminders.html", {
        "year": year, "preview": preview, "error": error,
        "can_start": request.user.has_perm("notices.add_batch"),
        "campaigns": [reminders.report(b) for b in reminders.campaigns()[:20]],
    })


@require_POST
def _reminders_start(request):
    """Start the year's campaign (the numbers that did not get it yet), then show its report."""
    from dues import reminders

    if not request.user.has_perm("notices.add_batch"):
        raise Forbidden(_("Starting a reminder campaign needs the permission to create campaigns."))
    year = params.integer(request.POST, "year", required=True, min=1300, max=1500)
    try:
        batch = reminders.start(year, user=request.user)
    except NoTariffBook as exc:
        return _message(request, str(exc), 409)
    return redirect("dues:reminders_report", batch.pk)


@require_GET
def _reminders_report(request, batch_pk):
    """A campaign's messages by status, and the numbers it skipped."""
    from dues import reminders

    batch = reminders.campaigns().filter(pk=batch_pk).first()
    if batch is None:
        raise NotFound(_("No reminder campaign %(number)s.") % {"number": batch_pk})
    return render(request, "dues/reminders_report.html", {"report": reminders.report(batch)})


reminders_page = _reminders_view(_reminders_page)
reminders_start = _reminders_view(_reminders_start)
reminders_report = _reminders_view(_reminders_report)
