"""Renewal-dues reminders: one SMS a year to every mobile number whose owner owes that year's dues.

"Your 1405 renewal dues are ready; 10% off until the end of Esfand": the year, the tariff book's good-payer discount
and its deadline (the last day of the year, 29 Esfand or 30 in a leap year: dues.calculator gives the discount to
the current year paid within it), the number of parcels and the total still owed for the year.

Who gets it: owners (parcels_ownership) of parcels with a current assessment of the year that is not fully paid
(the ledger's outstanding: assessed − discount + penalty − rounding − paid > 0), one message per mobile number
(several owners may share a number, an owner may own several parcels; a parcel counts once per number), keyed
`dues.reminder:<year>:<phone>` so a rerun of the campaign sends nothing new. Owners without a mobile number
(^09\\d{9}$) are skipped and counted (one row each); numbers that opted out of reminders (notices.Preference) are
skipped and counted by notices.

Set-based: the recipients are one SELECT (below) handed to notices.service.enqueue_campaign, which writes every
message in one INSERT … SELECT with `not_before` spaced at the campaign's rate; workers render and send them.
"""

import json
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import jdatetime
from django.conf import settings
from django.db import connection
from django.utils.translation import gettext as _

from dues.models import TariffBook

EVENT = "dues.reminder"
MOBILE_SQL_RE = "^09[0-9]{9}$"     # parcels.identifiers / DOMAIN.md §6: a mobile number, normalised

# What the admin's template preview renders (notices.events.Event.sample_context): the shape of every context.
# year; discount_percent (as people write it, "10" or "7.5"); deadline (Jalali YYYY/MM/DD, the template writes
# Persian digits); count (parcels owing); total (rials still owed for the year, grouped: "45,600,000") and
# total_rials (the same as a number). The default SMS (data/notices/templates.toml) says the first three, to stay
# one Persian SMS part; staff may add the others in the admin.
SAMPLE_CONTEXT = {"year": 1405, "discount_percent": "10", "deadline": "1405/12/29", "count": 2,
                  "total": "45,600,000", "total_rials": 45_600_000}


def key(year: int, phone: str) -> str:
    """The idempotency key of a number's reminder of a year (notices adds the channel)."""
    return f"{EVENT}:{year}:{phone}"


def discount_deadline(year: int) -> jdatetime.date:
    """The last day the good-payer discount of `year` is given: the last day of that Jalali year."""
    return jdatetime.date(year + 1, 1, 1) - timedelta(days=1)


def _percent(value) -> str:
    """10.00 → "10", 7.50 → "7.5" (as people write a percentage)."""
    return f"{Decimal(value).normalize():f}"


@dataclass(frozen=True)
class Terms:
    """What every reminder of a year says besides the recipient's own numbers."""
    year: int
    discount_percent: str
    deadline: str          # Jalali, YYYY/MM/DD (the template shows Persian digits in Persian)


def terms(year: int) -> Terms:
    """The year's terms from its approved tariff book (NoTariffBook when there is none: never a guess)."""
    book = TariffBook.objects.approved(year)
    return Terms(year, _percent(book.discount_percent), discount_deadline(year).strftime("%Y/%m/%d"))


# Per parcel, what is still owed of the year: the current assessment less what the ledger settled (dues.billing's
# LedgerYear.outstanding: discount, rounding and payments count against it, penalties for it, credit is kept apart).
_OWED = """
SELECT a.parcel_id, a.amount - COALESCE(l.settled, 0) AS outstanding
FROM dues_assessment a
LEFT JOIN (SELECT e.parcel_id, sum(CASE WHEN e.kind = 'penalty' THEN -e.amount ELSE e.amount END)::bigint AS settled
           FROM dues_ledgerentry e WHERE e.year = %s AND e.kind <> 'credit' GROUP BY e.parcel_id) l
       ON l.parcel_id = a.parcel_id
WHERE a.year = %s AND a.is_current
"""

# One row per recipient: a mobile number (its owners' parcels, each once), or an owner without one (skipped by
# notices as not a mobile number, and so counted). Columns as enqueue_campaign wants them: phone, language ('' for
# the number's preference), context, key. Positional %s only (enqueue_campaign appends its own).
ROWS = f"""
SELECT min(r.phone) AS phone, ''::text AS language,
       jsonb_build_object('year', %s::int, 'discount_percent', %s::text, 'deadline', %s::text,
                          'count', count(*), 'total_rials', sum(r.outstanding)::bigint,
                          'total', to_char(sum(r.outstanding), 'FM999,999,999,999,999,990')) AS context,
       %s::text || r.who AS key
FROM (
    SELECT DISTINCT o.who, o.phone, w.parcel_id, w.outstanding
    FROM ({_OWED}) w
    JOIN parcels_ownership s ON s.parcel_id = w.parcel_id
    JOIN (SELECT id, phone, CASE WHEN phone ~ '{MOBILE_SQL_RE}' THEN phone ELSE 'owner-' || id END AS who
          FROM parcels_owner) o ON o.id = s.owner_id
    WHERE w.outstanding > 0
) r
GROUP BY r.who
"""


def rows(year: int, t: Terms | None = None) -> tuple[str, list]:
    """The recipients' SELECT and its parameters (for notices.service.enqueue_campaign)."""
    t = t or terms(year)
    return ROWS, [year, t.discount_percent, t.deadline, f"{EVENT}:{year}:", year, year]


# The dry run and the staff page's preview: what enqueue_campaign would do, counted the same way, writing nothing.
# (notices keys a campaign's SMS as the row's key + ':sms'; notices.queries.CAMPAIGN.)
_PREVIEW = f"""
WITH src AS ({ROWS}),
cand AS (
    SELECT s.*, s.phone !~ '{MOBILE_SQL_RE}' AS invalid, COALESCE(p.reminders_opt_out, false) AS opted_out,
           EXISTS (SELECT 1 FROM notices_message m WHERE m.idempotency_key = s.key || ':sms') AS existing
    FROM src s LEFT JOIN notices_preference p ON p.phone = s.phone
), todo AS (
    SELECT * FROM cand WHERE NOT invalid AND NOT opted_out AND NOT existing
)
SELECT (SELECT count(*) FROM cand),
       (SELECT count(*) FROM cand WHERE invalid),
       (SELECT count(*) FROM cand WHERE opted_out AND NOT invalid),
       (SELECT count(*) FROM cand WHERE existing AND NOT invalid AND NOT opted_out),
       (SELECT count(*) FROM todo),
       (SELECT COALESCE(sum((context->>'count')::int), 0) FROM todo),
       (SELECT COALESCE(sum((context->>'total_rials')::bigint), 0) FROM todo),
       (SELECT context FROM todo ORDER BY phone LIMIT 1)
"""


@dataclass
class Preview:
    year: int
    terms: Terms
    rows: int               # numbers and owners without one, owing the year's dues
    invalid: int            # owners owing without a mobile number
    opted_out: int
    existing: int           # numbers already sent this year's reminder
    to_send: int
    parcels: int            # parcels the messages to send name (a parcel counts once per number)
    total_due: int          # rials the messages to send name
    rate: float
    sample_context: dict | None
    sample_text: str        # the first message to send, rendered (Persian); "" when none or no template

    @property
    def seconds(self) -> float:
        """How long sending takes at the rate (the messages' not_before spacing)."""
        return self.to_send / self.rate if self.rate else 0.0


def rate_or_default(rate: float | None) -> float:
    return float(rate or settings.NOTICES_REMINDER_RATE)


def preview(year: int, rate: float | None = None, language: str = "fa") -> Preview:
    """The campaign as it would be started now: counts and a sample text. Writes nothing."""
    from notices import rendering

    t = terms(year)
    sql, params = rows(year, t)
    with connection.cursor() as cursor:
        cursor.execute(_PREVIEW, params)
        total, invalid, opted_out, existing, to_send, parcels, total_due, sample = cursor.fetchone()
    if isinstance(sample, str):
        sample = json.loads(sample)
    context = sample or dict(SAMPLE_CONTEXT, year=year, discount_percent=t.discount_percent, deadline=t.deadline)
    try:
        text = rendering.render(EVENT, "sms", language, context)[1]
    except rendering.NoTemplate:
        text = ""
    return Preview(year, t, total, invalid, opted_out, existing, to_send, parcels, total_due, rate_or_default(rate),
                   sample, text)


def start(year: int, rate: float | None = None, user=None):
    """Enqueue the year's reminders (one statement); returns the notices Batch with its counts. A second start
    of the same year enqueues only numbers that did not get it yet (new owners, new mobile numbers)."""
    from notices.service import enqueue_campaign

    sql, params = rows(year)
    return enqueue_campaign(EVENT, sql, params, batch_name=batch_name(year), rate=rate_or_default(rate),
                            created_by=user)


def batch_name(year: int) -> str:
    return f"{EVENT}:{year}"


def campaigns():
    """The reminder campaigns, newest first."""
    from notices.models import Batch

    return Batch.objects.filter(event=EVENT).order_by("-created_at", "-id")


def report(batch) -> dict:
    """A campaign's report: its messages by status (queued, sending, sent, delivered, failed, dead), the
    numbers skipped (opted out, no mobile number, already sent) and the rows considered."""
    from notices.models import Status

    by_status = batch.report()
    return {"batch": batch, "year": _year_of(batch), "rows": batch.rows, "enqueued": batch.enqueued,
            "statuses": [{"status": s, "label": str(Status(s).label), "count": by_status.get(s, 0)}
                         for s in Status.values],
            "by_status": by_status,
            "skipped": [{"what": "opted_out", "label": _("Opted out"), "count": batch.skipped_opted_out},
                        {"what": "invalid", "label": _("No mobile number"), "count": batch.skipped_invalid},
                        {"what": "existing", "label": _("Already sent"), "count": batch.skipped_existing}],
            "done": by_status.get("queued", 0) + by_status.get("sending", 0) == 0}


def _year_of(batch) -> int | None:
    tail = batch.name.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else None


def register_event() -> None:
    """The notices event of the reminders (from DuesConfig.ready())."""
    from notices.events import Event, register

    register(Event(EVENT, "یادآوری عوارض نوسازی", "Renewal dues reminder", "reminder", channels=("sms",),
                   sample_context=SAMPLE_CONTEXT))
