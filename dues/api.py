"""The dues module's public face for other apps (permits, documents): fee lines evaluated with the tariff formula
language, fee bills with the national bill ID / payment ID paid through the same gateway, and a signal when one is
paid. Other apps import this module only, never the dues module's insides (tests/test_architecture.py).

Fee lines are {code, label_fa, label_en, formula, [kind], [legal_basis], [legal_basis_en]} (dues/fees.py: `kind` is
charge by default, reduction, or value: shown, not billed). A fee bill (dues/fee_bills.py) is paid on its page
(`page_url`) like a renewal bill; its payments are not on the renewal ledger.
"""

from django.utils.translation import gettext as _

from common.errors import ApiError
from dues import fees

# bill_paid: sent (on commit) when a fee bill becomes fully paid, once however often or concurrently the bank calls
# back: sender="dues", reference=<the caller's reference>, bill=<public id, str>, amount=<rials paid when it became
# paid>. Receivers run after the payment's commit (do their own transaction); one that raises is logged and does not
# undo the payment: read fee_bill(reference)["paid"] to catch up.
from dues.signals import bill_paid  # noqa: F401  (re-exported: permits connects to dues.api.bill_paid)

__all__ = ["FeeError", "bill_paid", "check_fee_formulas", "evaluate_fees", "issue_fee_bill", "fee_bill",
           "fee_total"]


class FeeError(ApiError):
    """Fee lines, facts or a fee bill that dues cannot accept; the message names the line and the problem, in the
    reader's language. `line` (1-based) and `code` say which line when it is one line's problem."""

    status = 400
    code = "bad_fee"

    def __init__(self, message: str, *, line: int | None = None, line_code: str = ""):
        super().__init__(message)
        self.line, self.line_code = line, line_code


def _fee_error(exc) -> FeeError:
    """A dues.fees.FeeLineError said in the reader's language, naming its line."""
    problem = _(exc.msgid) % exc.params
    if exc.line is None:
        return FeeError(_("Fees: %(problem)s.") % {"problem": problem})
    return FeeError(_("Fee line %(number)s (%(code)s): %(problem)s.")
                    % {"number": exc.line, "code": exc.code or "?", "problem": problem}, line=exc.line,
                    line_code=exc.code)


def check_fee_formulas(lines: list[dict], names: set[str]) -> None:
    """Raise FeeError naming the line when a fee line's formula is not allowed or names anything but `names`
    (the facts the caller will give) and earlier lines' codes. Lines: {code, label_fa, label_en, formula,
    [kind], [legal_basis]}. Used when a workflow definition is loaded."""
    try:
        fees.check(lines, set(names))
    except fees.FeeLineError as exc:
        raise _fee_error(exc) from None


def evaluate_fees(lines: list[dict], facts: dict) -> list[dict]:
    """Each line with its `amount` in whole rials (the dues rounding: half away from zero per line, later lines use
    the rounded amounts of earlier ones) and `inputs` (the values its formula used), in order; FeeError on a fact
    missing, a formula not allowed, a division by zero or a negative total. Facts: numbers (bools are 1 and 0) or
    texts (only compared with == / !=)."""
    try:
        return fees.evaluate(lines, dict(facts))
    except fees.FeeLineError as exc:
        raise _fee_error(exc) from None


def fee_total(lines: list[dict]) -> int:
    """What a fee bill for these evaluated lines would ask: the sum of the charge and reduction lines rounded down to
    whole thousands of rials. 0 means there is nothing to bill (issue_fee_bill would refuse): the caller moves on
    without a payment."""
    return fees.payable(fees.total(lines))[0]


def issue_fee_bill(parcel_id: int, *, reference: str, lines: list[dict], title_fa: str, title_en: str) -> dict:
    """A bill for the evaluated `lines` (amounts given), idempotent per `reference`: the same reference and lines
    give the same bill; other lines a new bill that supersedes the unpaid one; a paid reference its paid bill (never
    a second); concurrent calls one bill. Returns fee_bill's dict. FeeError for lines without amounts, fees under
    1,000 rials, fees too large for a payment ID, an unknown parcel, or a partly paid bill of the reference."""
    from dues import fee_bills
    from dues.billing import BillError

    try:
        bill = fee_bills.issue(parcel_id, reference=reference, lines=lines, title_fa=title_fa, title_en=title_en)
    except BillError as exc:
        raise FeeError(str(exc)) from None
    return fee_bills.summary(bill)


def fee_bill(reference: str) -> dict | None:
    """The current (not superseded) bill of `reference`, or None: {"id" (public uuid), "bill_id", "payment_id",
    "amount", "status" (issued | partial | paid), "paid" (bool: fully paid), "paid_amount" (rials),
    "page_url" (the bill's page, where the citizen pays), "pdf_url", "pay_url" (takes the page's POST)}."""
    from dues import fee_bills

    bill = fee_bills.current(reference)
    return fee_bills.summary(bill) if bill is not None else None
