"""City-wide assessment of a year: the book's formulas compiled to one set-based SQL statement.

The SELECT takes every parcel's facts (dues/facts.py) and chains one LATERAL per bill line, so a line can use the
rounded amounts of earlier lines exactly as the pure calculator does (dues/calculator.py). The statement then
writes, per chunk of parcel ids (for the progress bar), in one transaction for the whole city:

- a parcel assessed for the first time gets a row;
- a parcel whose amount, lines, facts or book changed: the old row is kept, marked superseded by this run, and a
  new current row is written (a recorded reassessment); its open bills that include the year are superseded;
- a parcel whose assessment is the same is left alone, so a rerun writes nothing.

A what-if run evaluates a draft book against the current one, by district, and writes nothing.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db import DataError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from tqdm import tqdm

from dues import facts as facts_module
from dues.models import AssessmentRun, Bill, TariffBook
from dues.tariffs import CompiledBook, TariffError

CHUNK = 50_000
# JIT compiles the formulas' long expressions for longer than it saves (measured: 6.6 s of JIT for a 9 s query
# at 100k parcels); the formulas are plain arithmetic that the interpreter runs fast enough.
NO_JIT = "SET LOCAL jit = off"


def computed_sql(compiled: CompiledBook, where: str = "", building_where: str = "") -> str:
    """SELECT parcel_id, district_id, amount, lines (jsonb), facts (jsonb) for the parcels `where` selects.

    One nested derived table per line, each adding its column to the row of the one below, so every line is
    computed once per parcel and later lines read earlier ones as plain columns. `OFFSET 0` keeps each level a
    fence: without it PostgreSQL inlines every line into the lines that use it, and the expression tree (and the
    work per row) grows with each line that refers to earlier ones (measured: minutes instead of seconds at 100k).
    """
    book = compiled.book
    names = {f: f"t.{f}" for f in compiled.facts}
    names.update({k: f"({Decimal(str(v))})::numeric" for k, v in book.parameters.items()})
    facts = facts_module.facts_query(compiled.facts, book.attributes or {}, where, building_where)
    sql = f"SELECT * FROM ({facts} OFFSET 0) t"
    for line in compiled.lines:
        sql = (f"SELECT t.*, round(({line.formula.to_sql(names)})::numeric)::bigint AS {line.code} "
               f"FROM ({sql}) t OFFSET 0")
        names[line.code] = f"t.{line.code}"
    payable = [names[line.code] for line in compiled.lines if line.kind != "value"]
    lines_json = ", ".join(f"'{line.code}', t.{line.code}" for line in compiled.lines)
    facts_json = ", ".join(f"'{f}', t.{f}" for f in sorted(compiled.facts))
    return (f"SELECT t.parcel_id, t.district_id, GREATEST(0, {' + '.join(payable)}) AS amount, "
            f"jsonb_build_object({lines_json}) AS lines, jsonb_build_object({facts_json}) AS facts FROM ({sql}) t")


# Two statements per chunk, in this order, so that the partial unique index (one current row per parcel and year)
# never sees two current rows: first the changed rows are marked superseded, then every parcel without a current
# row gets one. A chunk with no current rows yet (a first run) skips the UPDATE, which would compute it twice.
# The existence check is NOT IN over the chunk's current rows, read once: as a correlated NOT EXISTS it could be
# planned as a nested loop that rescans the table the statement is filling, once per parcel (quadratic; measured).
_SUPERSEDE = """
UPDATE dues_assessment a SET is_current = false, superseded_by_run_id = %(run)s
FROM ({computed}) c
WHERE a.parcel_id = c.parcel_id AND a.year = %(year)s AND a.is_current
  AND (a.amount, a.lines, a.facts, a.book_id) IS DISTINCT FROM (c.amount, c.lines, c.facts, %(book)s::bigint)
"""
_HAS_CURRENT = """
SELECT EXISTS (SELECT 1 FROM dues_assessment WHERE year = %(year)s AND is_current
               AND parcel_id >= %(lo)s AND parcel_id < %(hi)s)
"""
_INSERT = """
INSERT INTO dues_assessment (parcel_id, year, book_id, run_id, district_id, amount, lines, facts, is_current)
SELECT c.parcel_id, %(year)s, %(book)s, %(run)s, c.district_id, c.amount, c.lines, c.facts, true
FROM ({computed}) c
WHERE c.parcel_id NOT IN (SELECT a.parcel_id FROM dues_assessment a WHERE a.year = %(year)s AND a.is_current
                          AND a.parcel_id >= %(lo)s AND a.parcel_id < %(hi)s)
"""

_SUPERSEDE_BILLS = """
UPDATE dues_bill b SET status = 'superseded', superseded_reason = %(reason)s,
                       superseded_params = jsonb_build_object('year', %(year)s, 'run', %(run)s)
WHERE b.status IN ('issued', 'partial') AND b.kind = 'renewal'
  AND b.items @> jsonb_build_array(jsonb_build_object('year', %(year)s))
  AND b.parcel_id IN (SELECT parcel_id FROM dues_assessment WHERE superseded_by_run_id = %(run)s)
"""

_SUMMARY = """
SELECT d.code, d.name, count(*), sum(a.amount)::bigint
FROM dues_assessment a LEFT JOIN parcels_district d ON d.id = a.district_id
WHERE a.year = %s AND a.is_current
GROUP BY d.code, d.name ORDER BY d.code NULLS LAST
"""


@dataclass
class Result:
    run: AssessmentRun
    summary: list[dict]


def assess_year(year: int, run_by: str = "", progress: bool = False, on_chunk=None) -> Result:
    """Assess every parcel for `year` with its approved book (NoTariffBook if there is none). All or nothing.
    `on_chunk(done, total)` (parcels), if given, is called before the first chunk and after each (a job's progress,
    dues/jobs.py); an exception it raises rolls everything back."""
    on_chunk = on_chunk or (lambda done, total: None)
    from common.db import batch_session

    book = TariffBook.objects.approved(year)
    compiled = book.compiled()
    with batch_session(), transaction.atomic():
        run = AssessmentRun.objects.create(year=year, book=book, run_by=run_by)
        with connection.cursor() as cursor:
            cursor.execute(NO_JIT)
            cursor.execute("SELECT min(id), max(id), count(*) FROM parcels_parcel")
            low, high, count = cursor.fetchone()
            bar = tqdm(total=count, unit="parcel", desc=f"assessing {year}", disable=not progress)
            created = reassessed = 0
            on_chunk(0, 1)
            if count:
                computed = computed_sql(compiled, "WHERE p.id >= %(lo)s AND p.id < %(hi)s",
                                        "AND b.parcel_id >= %(lo)s AND b.parcel_id < %(hi)s")
                for lo in range(low, high + 1, CHUNK):
                    params = {"year": year, "book": book.pk, "run": run.pk, "lo": lo, "hi": lo + CHUNK}
                    cursor.execute(_HAS_CURRENT, params)
                    rerun = cursor.fetchone()[0]
                    try:
                        superseded = 0
                        if rerun:  # rows to compare with: only then is the chunk computed for the UPDATE too
                            cursor.execute("ANALYZE dues_assessment")   # statistics of what earlier chunks wrote
                            cursor.execute(_SUPERSEDE.format(computed=computed), params)
                            superseded = cursor.rowcount
                        cursor.execute(_INSERT.format(computed=computed), params)
                        written = cursor.rowcount
                    except DataError as exc:   # e.g. a formula divided by zero for some parcel
                        raise TariffError(_("tariff book %(year)s %(name)s cannot be applied to parcels "
                                            "%(first)s–%(last)s: %(reason)s; nothing was written")
                                          % {"year": year, "name": book.name, "first": lo, "last": lo + CHUNK - 1,
                                             "reason": exc}) from None
                    created += written - superseded
                    reassessed += superseded
                    bar.update(min(CHUNK, high + 1 - lo))
                    on_chunk(min(lo + CHUNK - low, high + 1 - low), high + 1 - low)  # by parcel id
            bar.close()
            # (no ANALYZE here: a rerun analyses before each chunk it compares, and autovacuum keeps the rest fresh)
            cursor.execute(_SUPERSEDE_BILLS, {"year": year, "run": run.pk, "reason": Bill.Superseded.REASSESSED.value})
            run.bills_superseded = cursor.rowcount
            cursor.execute(_SUMMARY, [year])
            summary = [{"district": r[0], "name": r[1], "parcels": r[2], "dues": r[3]} for r in cursor.fetchall()]
        run.created, run.reassessed, run.unchanged = created, reassessed, count - created - reassessed
        run.summary, run.finished_at = summary, timezone.now()
        run.save()
    return Result(run, summary)


_BY_DISTRICT = """
SELECT d.code, d.name, d.name_en, count(*), sum(c.amount)::bigint
FROM ({computed}) c LEFT JOIN parcels_district d ON d.id = c.district_id
GROUP BY d.code, d.name, d.name_en ORDER BY d.code NULLS LAST
"""


def revenue_by_district(book: TariffBook) -> dict:
    """Dues every parcel would owe under `book`, by district (district code → ((name, name_en), parcels, rials))."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(NO_JIT)
        cursor.execute(_BY_DISTRICT.format(computed=computed_sql(book.compiled())))
        return {r[0]: ((r[1], r[2] or ""), r[3], r[4] or 0) for r in cursor.fetchall()}


def compare_books(before: TariffBook, after: TariffBook) -> list[dict]:
    """Dues by district of two books over today's cadastre: `current` is `before`'s, `draft` is `after`'s, and the
    change in percent (None where `before` gives nothing). Two city-wide statements; writes nothing."""
    from common.db import batch_session

    with batch_session():
        now, proposed = revenue_by_district(before), revenue_by_district(after)
    rows = []
    for code in sorted(set(now) | set(proposed), key=lambda c: (c is None, c or "")):
        names, parcels, a = now.get(code, (None, 0, 0))
        names2, parcels2, b = proposed.get(code, (None, 0, 0))
        name, name_en = names or names2
        rows.append({"district": code, "name": name, "name_en": name_en, "parcels": max(parcels, parcels2),
                     "current": a, "draft": b, "change_percent": None if not a else round((b - a) * 100 / a, 1)})
    return rows


def what_if(draft: TariffBook) -> list[dict]:
    """Revenue by district of a draft book against the approved book of the same year, both over today's
    cadastre. Writes nothing."""
    return compare_books(TariffBook.objects.approved(draft.year), draft)
