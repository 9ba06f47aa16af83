"""The performance dashboards against the real PostGIS: each panel's rows equal a count made here, independently,
from the rows the tests made (dues assessed and paid, permit cases moved and issued, reports resolved); the page
and the CSVs are public, carry no personal data, and follow new data (the cache is keyed by the data version)."""

import csv
import datetime as dt
import io
import statistics
import time
from collections import Counter, defaultdict

import jdatetime
import pytest
from django.db import transaction
from django.db.models import Count, Sum
from django.utils import translation
from django.utils import timezone

from permits.models import Case, CaseEvent, CaseType, Issued
from tests.dues_support import dues_city  # noqa: F401  (fixture)
from tests.permits.conftest import applicant, desk_staff, permit_types  # noqa: F401  (fixtures)
from tests.permits.test_sla import history  # noqa: F401  (fixture)
from tests.reports.conftest import categories  # noqa: F401  (fixture)
from tests.reports.test_public import assert_nothing_personal, city_reports  # noqa: F401  (fixture)
from tests.zoning_fixtures import demo_rulebook  # noqa: F401  (fixture)
from transparency import dashboards
from transparency.registry import PANELS

pytestmark = pytest.mark.django_db

TZ = timezone.get_default_timezone()
KEYS = ("dues_collections", "permits_issued", "permits_step_days", "reports_by_month", "reports_by_category")


def jalali_month(moment) -> str:
    day = jdatetime.date.fromgregorian(date=moment.astimezone(TZ).date())
    return f"{day.year:04d}-{day.month:02d}"


def rows_of(key):
    return dashboards.rows(PANELS[key])


def csv_rows(client, key) -> list[list[str]]:
    answer = client.get(f"/transparency/dashboards/{key}.csv", HTTP_COOKIE="django_language=en")
    assert answer.status_code == 200 and answer["Content-Type"] == "text/csv; charset=utf-8"
    assert answer.content.startswith("\ufeff".encode())  # Excel reads the Persian names
    return list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))


def test_every_app_registered_its_panels():
    assert set(KEYS) <= set(PANELS)
    assert [p.key for p in dashboards.panels() if p.key in KEYS] == list(KEYS)  # dues, permits, reports


# --- dues -----------------------------------------------------------------------------------------------------------

@pytest.fixture
def payments(dues_city):
    """Three parcels' bills paid (one in part): ledger entries in this test's transaction."""
    from dues import billing
    from dues.models import Assessment
    from parcels.models import Parcel

    ids = (Assessment.objects.filter(is_current=True, year=dues_city, district__isnull=False, amount__gt=0)
           .order_by("parcel_id").values_list("parcel_id", flat=True).distinct()[:60])
    paid = []
    for parcel in Parcel.objects.filter(pk__in=list(ids)).order_by("pk"):
        try:
            with transaction.atomic():
                bill = billing.issue(parcel)
        except billing.BillError:   # paid already (a committed fixture of another module paid it)
            continue
        billing.record_payment(bill, "test", f"DASH-{len(paid)}", bill.amount if paid else bill.amount // 2)
        paid.append(parcel)
        if len(paid) == 3:
            return paid
    pytest.fail("no three parcels owe dues")


def _dues_expected():
    from dues.models import Assessment, LedgerEntry

    out = defaultdict(lambda: {"parcels": 0, "assessed": 0, "collected": 0})
    for row in (Assessment.objects.filter(is_current=True).values("year", "district__name")
                .annotate(total=Sum("amount"), n=Count("id"))):
        out[(row["year"], row["district__name"])].update(parcels=row["n"], assessed=row["total"])
    for row in (LedgerEntry.objects.filter(kind__in=("payment", "credit")).values("year", "parcel__district__name")
                .annotate(total=Sum("amount"))):
        out[(row["year"], row["parcel__district__name"])]["collected"] = row["total"]
    return dict(out)


def test_dues_rows_equal_the_assessments_and_the_ledger(payments, client, english):
    rows = rows_of("dues_collections")
    got = {(r["year"], r["district"]): {k: r[k] for k in ("parcels", "assessed", "collected")} for r in rows}
    expected = _dues_expected()
    assert got == expected
    assert sum(r["collected"] for r in rows) > 0 and len({r["year"] for r in rows}) == 2
    # the page draws one chart per year, districts along the axis
    page = dashboards.page(PANELS["dues_collections"])
    assert [c["title"] for c in page["charts"]] == [str(y) for y in sorted({r["year"] for r in rows}, reverse=True)]
    first = page["charts"][0]
    assert len(first["datasets"]) == 2 and len(first["labels"]) == len(first["datasets"][0]["data"])


def later(monkeypatch, seconds):
    """The clock of the rows' cache moved on by `seconds` and one more."""
    now = time.time()
    monkeypatch.setattr(dashboards.time, "time", lambda: now + seconds + 1)


def test_dues_rows_follow_a_new_payment(payments, client, monkeypatch):
    from dues import billing
    from dues.models import Assessment
    from parcels.models import Parcel

    before = sum(r["collected"] for r in rows_of("dues_collections"))
    assert sum(r["collected"] for r in rows_of("dues_collections")) == before   # from the cache now
    candidates = (Assessment.objects.filter(is_current=True, amount__gt=0).exclude(parcel__in=payments)
                  .values_list("parcel_id", flat=True).order_by("-parcel_id")[:60])
    for parcel in Parcel.objects.filter(pk__in=list(candidates)):
        try:
            with transaction.atomic():
                bill = billing.issue(parcel)
            break
        except billing.BillError:
            continue
    billing.record_payment(bill, "test", "DASH-NEW", bill.amount)
    # within the panel's refresh time the rows made before are kept (payments arrive all day) ...
    assert sum(r["collected"] for r in rows_of("dues_collections")) == before
    later(monkeypatch, PANELS["dues_collections"].refresh)
    # ... after it, the new version makes them again
    after = sum(r["collected"] for r in rows_of("dues_collections"))
    assert after > before
    assert {(r["year"], r["district"]): r["collected"] for r in rows_of("dues_collections")} == {
        k: v["collected"] for k, v in _dues_expected().items()}


# --- permits --------------------------------------------------------------------------------------------------------

@pytest.fixture
def issued(history):
    """Documents issued for the history's cases at known moments (this month and the months before) and kinds."""
    now = history["now"]
    earlier = now - dt.timedelta(days=65)
    made = []
    for case, at, kind, number in ((history["a"], now, "permit", "D-1"), (history["b"], earlier, "permit", "D-2"),
                                   (history["c"], earlier, "inquiry", "D-3")):
        made.append(Issued.objects.create(case=case, parcel=case.parcel, kind=kind, number=number,
                                          verification_code=number + "0000", issued_at=at))
    return made


def test_permits_issued_per_jalali_month(issued, client):
    rows = rows_of("permits_issued")
    expected = Counter((jalali_month(i.issued_at), i.kind) for i in Issued.objects.all())
    got = {(r["month"], kind): r[kind] for r in rows for kind in ("permit", "completion_certificate",
                                                                  "certificate", "inquiry", "decision") if r[kind]}
    assert got == dict(expected)
    assert sum(r["total"] for r in rows) == Issued.objects.count() == 3
    # every month from the first to the last, in order, the empty ones too
    months = [r["month"] for r in rows]
    assert months == sorted(months) and len(rows) >= 3
    assert all(r["total"] == 0 for r in rows if r["month"] not in {m for m, _k in expected})


def _stays():
    """Each case's stays in its steps, from its events, counted here: {(case type code, step): [days]}."""
    stays = defaultdict(list)
    for case in Case.objects.select_related("case_type"):
        moves = list(CaseEvent.objects.filter(case=case).exclude(to_step="").order_by("at", "id"))
        for entered, left in zip(moves, moves[1:]):
            stays[(case.case_type.code, entered.to_step)].append((left.at - entered.at).total_seconds() / 86400)
    return stays


def test_permits_median_days_per_step(history, desk_staff, client):
    from tests.permits.test_sla import _act

    _act(history["c"], "approve", desk_staff, history["now"])   # a third site visit: 1 day (a median, not a mean)
    rows = rows_of("permits_step_days")
    stays = _stays()
    assert stays  # the history moved cases through steps
    by_name = {}
    for case_type in CaseType.objects.all():
        code = case_type.code
        for step in case_type.current().definition["steps"]:
            by_name[(case_type.name, step["name"])] = (code, step["code"], step.get("days"))
    got = {}
    for r in rows:
        code, step, days = by_name[(r["case_type"], r["step"])]
        assert r["sla_days"] == days
        got[(code, step)] = (r["median_days"], r["stays"])
    assert got == {k: (round(statistics.median(v), 2), len(v)) for k, v in stays.items()}
    assert got[("building_permit", "site_visit")] == (2.0, 3)        # A after 2 days, B after 4, C after 1


def test_permit_rows_follow_a_moved_case(history, desk_staff, client, monkeypatch):
    from tests.permits.test_sla import _act

    before = {(r["case_type"], r["step"]): r["stays"] for r in rows_of("permits_step_days")}
    _act(history["c"], "approve", desk_staff, timezone.now())
    assert {(r["case_type"], r["step"]): r["stays"] for r in rows_of("permits_step_days")} == before
    later(monkeypatch, PANELS["permits_step_days"].refresh)
    after = {(r["case_type"], r["step"]): r["stays"] for r in rows_of("permits_step_days")}
    assert sum(after.values()) == sum(before.values()) + 1


# --- reports --------------------------------------------------------------------------------------------------------

def _visible_reports(data):
    from reports.models import Report

    return [Report.objects.get(pk=r.pk) for r in data["reports"] + [data["home"]]]


def _fix_days(reports):
    days = [(r.resolved_at - r.created_at).total_seconds() / 86400 for r in reports if r.resolved_at]
    return round(statistics.median(days), 2) if days else None


def test_reports_by_month_and_category(city_reports, client):
    visible = _visible_reports(city_reports)
    made, fixed = defaultdict(list), Counter()
    for r in visible:
        made[jalali_month(r.created_at)].append(r)
        if r.resolved_at:
            fixed[jalali_month(r.resolved_at)] += 1
    rows = {r["month"]: r for r in rows_of("reports_by_month")}
    for month in set(made) | set(fixed):
        assert rows[month]["reports"] == len(made[month])
        assert rows[month]["resolved"] == fixed[month]
        assert rows[month]["median_days"] == _fix_days(made[month])
    assert sum(r["reports"] for r in rows.values()) == len(visible)

    by_category = defaultdict(list)
    for r in visible:
        by_category[r.category.code].append(r)
    got = {r["code"]: (r["reports"], r["resolved"], r["median_days"]) for r in rows_of("reports_by_category")}
    assert got == {code: (len(rs), sum(1 for r in rs if r.resolved_at), _fix_days(rs))
                   for code, rs in by_category.items()}


# --- the page and the CSVs ----------------------------------------------------------------------------------------

@pytest.fixture
def everything(payments, issued, city_reports):
    return {"reports": city_reports, "issued": issued, "payments": payments}


def test_csv_parses_back_to_the_rows(everything, client):
    for key in KEYS:
        panel = PANELS[key]
        table = csv_rows(client, key)
        with translation.override("en"):
            assert table[0] == [str(c.label) for c in panel.columns]
        rows = dashboards.rows(panel)
        assert len(table) == len(rows) + 1, key
        for line, row in zip(table[1:], rows):
            for value, column in zip(line, panel.columns):
                if column.kind in ("integer", "rials", "year"):
                    assert value == ("" if row[column.key] is None else str(row[column.key])), (key, column.key)
                elif column.kind == "days":
                    assert (float(value) if value else None) == row[column.key], (key, column.key)
                elif column.kind == "month":
                    assert value == row["month"]


def test_csv_headers_are_in_the_readers_language(everything, client):
    answer = client.get("/transparency/dashboards/dues_collections.csv", HTTP_COOKIE="django_language=fa")
    head = next(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert head[:2] == ["سال", "منطقه"]
    assert csv_rows(client, "dues_collections")[0][:2] == ["Year", "District"]


def test_page_is_public_with_a_chart_and_a_table_per_panel_and_nothing_personal(everything, client):
    from parcels.models import Owner

    page = client.get("/transparency/dashboards/")  # anonymous, Persian
    assert page.status_code == 200
    html = page.content.decode()
    for key in KEYS:
        assert f'data-testid="panel-{key}"' in html and f'id="{key}-table"' in html
        assert f'href="/transparency/dashboards/{key}.csv"' in html
        assert f'data-panel="{key}"' in html     # its canvas
    assert 'src="/static/vendor/chartjs/chart.umd.min.js"' in html and "<script nonce" not in html
    assert "۱۴" in html                           # Persian digits (Jalali years 14xx)
    months = jdatetime.date.j_months_fa
    assert any(f"{m} ۱۴" in html for m in months)  # Jalali months by name
    for answer in [page] + [client.get(f"/transparency/dashboards/{key}.csv") for key in KEYS]:
        assert_nothing_personal(answer.content, everything["reports"])
        for case in Case.objects.all():
            assert case.applicant_phone.encode() not in answer.content
            assert case.tracking_code is None or case.tracking_code.encode() not in answer.content
        for owner in Owner.objects.filter(ownerships__parcel__in=everything["payments"]):
            for name in (owner.first_name, owner.last_name, owner.national_id, owner.legal_name):
                assert not name or name.encode() not in answer.content
    english = client.get("/transparency/dashboards/", HTTP_COOKIE="django_language=en").content.decode()
    assert "Renewal dues assessed and collected" in english and any(m in english for m in jdatetime.date.j_months_en)


def test_unknown_panel_is_404(client):
    assert client.get("/transparency/dashboards/nothing.csv").status_code == 404


def test_cold_page_costs_one_statement_per_panel_and_warm_none(everything, client, django_assert_max_num_queries):
    from django.core.cache import caches

    caches["ogc"].clear()
    client.get("/transparency/dashboards/")        # the session, the language: set up once
    caches["ogc"].clear()
    with django_assert_max_num_queries(20):
        assert client.get("/transparency/dashboards/").status_code == 200
    with django_assert_max_num_queries(6) as warm:   # the versions only (reports: its layer's version)
        assert client.get("/transparency/dashboards/").status_code == 200
    assert not any("percentile_cont" in q["sql"] or "dues_ledgerentry e" in q["sql"] for q in warm.captured_queries)
