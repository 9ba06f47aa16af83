"""The public side of reports against the real PostGIS: the public view and the layer "reports" (tiles, OGC API
Features), the cluster tiles, the statistics (JSON, CSV, page). No answer may carry personal data: the reports are
made with known phone numbers and descriptions, and every public answer is scanned for them."""

import csv
import datetime as dt
import io
import statistics
from collections import Counter, defaultdict

import jdatetime
import pytest
from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import connection
from django.utils import timezone

from layers import tiles
from layers.registry import LAYERS
from reports import service, workflow
from reports.layers import MIN_ZOOM
from reports.models import Report
from reports.service import Reporter
from tests.reports.mvt import decode

pytestmark = pytest.mark.django_db

PHONE_PREFIX = "0917555"
SECRET = "SECRET-TEXT"
HOME_WORDS = "خانه‌ی آقای رازی"


def _phone(i):
    return f"{PHONE_PREFIX}{i:04d}"


@pytest.fixture
def city_reports(categories, demo_city, role_users):
    """Reports on parcels of the demo city over months, with known phone numbers and descriptions: some resolved
    after known days, one rejected, one closed, one merged, and one about a home (illegal construction)."""
    from parcels.models import Parcel

    admin = role_users["admin"]
    parcels = list(Parcel.objects.filter(renewal_code__isnull=False).order_by("id")[40:70])
    base = timezone.now() - dt.timedelta(days=400)
    codes = ["pothole", "street-light", "waste", "pothole", "sidewalk", "street-light", "pothole", "waste",
             "debris", "pothole", "street-light", "waste", "pothole", "fallen-tree"]
    fix_days = [3, 10, None, 5, 1, 2, None, 8, 40, 12, None, 4, 7, 20]
    made = []
    for i, (code, days) in enumerate(zip(codes, fix_days)):
        point = parcels[i].geom.point_on_surface
        created = base + dt.timedelta(days=23 * i, hours=5)
        report = service.submit(category=categories[code], point=Point(point.x, point.y, srid=point.srid),
                                description=f"{SECRET}-{i} {HOME_WORDS}", reporter=Reporter(phone=_phone(i)),
                                now=created)
        if days is not None:
            report = service.change_status(report, workflow.RESOLVED, by=admin,
                                           now=created + dt.timedelta(days=days, hours=i))
        made.append(report)
    service.change_status(made[2], workflow.REJECTED, by=admin, note="not ours",
                          now=made[2].created_at + dt.timedelta(days=1))
    service.change_status(made[1], workflow.CLOSED, by=admin, now=made[1].resolved_at + dt.timedelta(days=1))
    dup = service.submit(category=categories["pothole"], point=made[0].geom, description=f"{SECRET}-dup",
                         reporter=Reporter(phone=_phone(99)), now=made[0].created_at + dt.timedelta(hours=1))
    service.change_status(dup, workflow.MERGED, by=admin, into=made[6])
    home_point = parcels[20].geom.point_on_surface
    home = service.submit(category=categories["illegal-construction"],
                          point=Point(home_point.x + 0.5, home_point.y + 0.5, srid=home_point.srid),
                          description=f"{SECRET}-home {HOME_WORDS}", reporter=Reporter(phone=_phone(50)),
                          now=base + dt.timedelta(days=100))
    return {"reports": [Report.objects.get(pk=r.pk) for r in made], "merged": Report.objects.get(pk=dup.pk),
            "home": Report.objects.get(pk=home.pk), "admin": admin}


def assert_nothing_personal(content: bytes, data=None):
    assert PHONE_PREFIX.encode() not in content
    assert SECRET.encode() not in content
    assert HOME_WORDS.encode() not in content
    assert "رازی".encode() not in content
    if data is not None:
        for report in data["reports"] + [data["home"], data["merged"]]:
            assert report.reporter_phone.encode() not in content
            assert report.public_id.hex.encode() not in content


def _tile_of(point, z):
    wgs = point.transform(4326, clone=True)
    return tiles.lonlat_to_tile(wgs.x, wgs.y, z)


def _count_in_tile(z, x, y, **where) -> int:
    """An independent count: the visible reports whose public place lies in the tile (PostGIS's own test)."""
    sql = ("SELECT count(*) FROM reports_report r WHERE r.status <> 'merged' AND "
           "ST_Intersects(ST_Transform(r.public_geom, 3857), ST_TileEnvelope(%s, %s, %s))")
    args = [z, x, y]
    if "category" in where:
        sql += " AND r.category_id = %s"
        args.append(where["category"])
    if "open" in where:
        sql += " AND r.status = ANY(%s)" if where["open"] else " AND NOT r.status = ANY(%s)"
        args.append(sorted(workflow.OPEN))
    if where.get("start"):  # local days, `end` included
        sql += " AND (r.created_at AT TIME ZONE %s)::date >= %s"
        args += [settings.TIME_ZONE, where["start"]]
    if where.get("end"):
        sql += " AND (r.created_at AT TIME ZONE %s)::date <= %s"
        args += [settings.TIME_ZONE, where["end"]]
    with connection.cursor() as cursor:
        cursor.execute(sql, args)
        return cursor.fetchone()[0]


# --- the view and the layer ---------------------------------------------------------------------------------------

def test_public_view_has_no_personal_columns_and_no_merged_reports(city_reports):
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM reports_public_report")
        names = [c.name for c in cursor.description]
        rows = cursor.fetchall()
    assert "id" in names and "geom" in names
    for forbidden in ("reporter_id", "reporter_phone", "description", "address", "public_id", "rating_comment",
                      "assignee_id", "crew", "status_note"):
        assert forbidden not in names
    ids = {row[names.index("id")] for row in rows}
    assert city_reports["merged"].pk not in ids
    assert {r.pk for r in city_reports["reports"]} <= ids and city_reports["home"].pk in ids
    text = repr(rows).encode()
    assert_nothing_personal(text, city_reports)
    fixed = {row[names.index("id")]: row[names.index("days_to_fix")] for row in rows}
    for r in city_reports["reports"]:
        if r.resolved_at:
            assert fixed[r.pk] == pytest.approx((r.resolved_at - r.created_at).total_seconds() / 86400, abs=0.05)
        else:
            assert fixed[r.pk] is None


def test_home_report_is_public_at_its_block_not_its_place(city_reports, client):
    home = city_reports["home"]
    assert not home.public_geom.equals(home.geom) and home.public_geom.distance(home.geom) > 0.4
    item = client.get(f"/ogc/collections/reports/items/{home.pk}?crs=http://www.opengis.net/def/crs/EPSG/0/"
                      f"{home.geom.srid}")
    assert item.status_code == 200, item.content
    x, y = item.json()["geometry"]["coordinates"]
    assert (x, y) == pytest.approx((home.public_geom.x, home.public_geom.y), abs=0.01)
    assert abs(x - home.geom.x) + abs(y - home.geom.y) > 0.4
    assert item.json()["properties"]["approximate"] is True


def test_layer_reads_its_base_tables_and_follows_their_versions(city_reports, client):
    from layers import versions
    from layers.registry import LAYERS

    layer = LAYERS["reports"]
    assert set(layer.sources) == {"reports_public_report", "reports_report", "reports_category"}
    assert versions.missing_triggers([layer]) == []
    report = city_reports["reports"][0]
    z = 16
    x, y = _tile_of(report.public_geom, z)
    first = client.get(f"/tiles/reports/{z}/{x}/{y}.pbf")
    assert first.status_code == 200
    codes = {f["properties"]["code"] for f in decode(first.content)["reports"]}
    assert report.tracking_code in codes
    category = report.category
    category.colour = "#123456"
    category.save()  # only the category changes
    again = client.get(f"/tiles/reports/{z}/{x}/{y}.pbf", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 200 and again["ETag"] != first["ETag"]
    colours = {f["properties"]["code"]: f["properties"]["colour"] for f in decode(again.content)["reports"]}
    assert colours[report.tracking_code] == "#123456"
    listed = {l["name"]: l for l in client.get("/api/layers").json()["layers"]}["reports"]
    assert listed["public"] and {c["value"] for c in listed["legend"]} == set(
        city_reports["reports"][0].category.__class__.objects.values_list("code", flat=True))
    assert client.get("/tiles/reports.json").status_code == 200


def test_ogc_items_and_tiles_carry_no_personal_data(city_reports, client):
    items = client.get("/ogc/collections/reports/items?limit=1000")
    assert items.status_code == 200
    features = items.json()["features"]
    assert {f["id"] for f in features} == {r.pk for r in city_reports["reports"]} | {city_reports["home"].pk}
    assert_nothing_personal(items.content, city_reports)
    for f in features:
        assert set(f["properties"]) <= {"code", "category", "category_name", "category_name_en", "colour",
                                        "approximate", "status", "open", "created", "resolved", "days_to_fix",
                                        "voices"}
    seen = set()
    for report in city_reports["reports"] + [city_reports["home"]]:
        for z in (MIN_ZOOM - 1, MIN_ZOOM, 16):
            x, y = _tile_of(report.public_geom, z)
            tile = client.get(f"/tiles/reports/{z}/{x}/{y}.pbf")
            # points only from the zoom the map draws them at (clusters below it)
            assert tile.status_code == (200 if z >= MIN_ZOOM else 204)
            assert_nothing_personal(tile.content, city_reports)
            seen |= {f["properties"]["code"] for f in decode(tile.content).get("reports", [])}
    assert city_reports["merged"].tracking_code not in seen
    assert city_reports["home"].tracking_code in seen
    export = client.get("/api/layers/export?layers=reports&format=csv")
    assert export.status_code == 200
    # (an export reads the database on a connection of its own: the test's rows are not committed, so only its
    # columns are checked here; the view's test checks what the rows hold)
    header = b"".join(export.streaming_content).decode("utf-8-sig").splitlines()[0].split(",")
    assert set(header) - {"WKT"} == {f.name for f in LAYERS["reports"].fields}
    assert not {"reporter_phone", "description", "reporter", "phone"} & set(header)


# --- clusters -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("z", [8, 11, 13, 15])
def test_cluster_counts_equal_the_reports_in_the_tile(city_reports, client, z):
    done = set()
    total = 0
    for report in city_reports["reports"] + [city_reports["home"]]:
        x, y = _tile_of(report.public_geom, z)
        if (x, y) in done:
            continue
        done.add((x, y))
        answer = client.get(f"/tiles/reports/clusters/{z}/{x}/{y}.pbf")
        assert answer.status_code == 200, answer.content
        assert_nothing_personal(answer.content, city_reports)
        cells = decode(answer.content)["clusters"]
        count = sum(c["properties"]["count"] for c in cells)
        assert count == _count_in_tile(z, x, y)
        total += count
        for c in cells:
            (px, py), = c["points"]
            assert 0 <= px <= 4096 and 0 <= py <= 4096
    assert total == len(city_reports["reports"]) + 1  # every visible report in exactly one tile, the merged in none


def test_a_report_just_past_a_tile_edge_counts_in_the_next_tile_only(city_reports, client):
    """Cells are found through a box with a margin: a report 1 m past the tile's east edge is in that margin, and
    must be counted in the next tile, not in this one."""
    report = city_reports["reports"][0]
    z = 16
    x, y = _tile_of(report.public_geom, z)
    with connection.cursor() as cursor:
        cursor.execute("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(ST_SetSRID(ST_MakePoint("
                       "ST_XMax(ST_TileEnvelope(%s, %s, %s)) + 1, ST_Y(ST_Transform(%s::geometry, 3857))), 3857), "
                       "%s) AS p) q", [z, x, y, report.public_geom.ewkt, report.public_geom.srid])
        px, py = cursor.fetchone()
    beyond = service.submit(category=report.category, point=Point(px, py, srid=report.public_geom.srid),
                            description="just past the edge", reporter=Reporter())
    assert _tile_of(beyond.public_geom, z) == (x + 1, y)
    here = decode(client.get(f"/tiles/reports/clusters/{z}/{x}/{y}.pbf").content).get("clusters", [])
    there = decode(client.get(f"/tiles/reports/clusters/{z}/{x + 1}/{y}.pbf").content).get("clusters", [])
    assert sum(c["properties"]["count"] for c in here) == _count_in_tile(z, x, y)
    assert sum(c["properties"]["count"] for c in there) == _count_in_tile(z, x + 1, y) >= 1


def test_cluster_dominant_category_and_filters(city_reports, client):
    z = 6
    report = city_reports["reports"][0]
    x, y = _tile_of(report.public_geom, z)
    url = f"/tiles/reports/clusters/{z}/{x}/{y}.pbf"
    cells = decode(client.get(url).content)["clusters"]
    assert len(cells) == 1  # the whole town in one cell at z6
    visible = city_reports["reports"] + [city_reports["home"]]
    counts = Counter(r.category_id for r in visible)
    top = max(counts.values())
    winners = {r.category.code for r in visible if counts[r.category_id] == top}
    assert cells[0]["properties"]["count"] == len(visible)
    assert cells[0]["properties"]["category"] in winners

    pothole = report.category
    only = decode(client.get(url, {"category": pothole.code}).content)["clusters"]
    assert sum(c["properties"]["count"] for c in only) == _count_in_tile(z, x, y, category=pothole.pk) == \
        sum(1 for r in visible if r.category_id == pothole.pk)
    opened = decode(client.get(url, {"status": "open"}).content)["clusters"]
    assert sum(c["properties"]["count"] for c in opened) == _count_in_tile(z, x, y, open=True) == \
        sum(1 for r in visible if r.is_open)
    closed = decode(client.get(url, {"status": "closed"}).content)["clusters"]
    assert sum(c["properties"]["count"] for c in closed) == sum(1 for r in visible if not r.is_open)
    start = (report.created_at + dt.timedelta(days=30)).date()
    end = (report.created_at + dt.timedelta(days=130)).date()
    tz = timezone.get_default_timezone()
    expected = sum(1 for r in visible if start <= r.created_at.astimezone(tz).date() <= end)
    period = decode(client.get(url, {"from": start.isoformat(), "to": end.isoformat()}).content).get("clusters", [])
    assert sum(c["properties"]["count"] for c in period) == expected > 0
    jalali = jdatetime.date.fromgregorian(date=start).strftime("%Y/%m/%d")
    same = client.get(url, {"from": jalali, "to": end.isoformat()})
    assert same.content == client.get(url, {"from": start.isoformat(), "to": end.isoformat()}).content


@pytest.mark.parametrize("z", [8, 11, 13])
def test_cluster_counts_with_a_period_equal_the_reports_in_the_tile(city_reports, client, z):
    """A period's whole months are read from reports_cluster_month, its partial months report by report: the
    counts are exactly those of the reports made in the period (local days), whatever the period."""
    from reports import clusters

    reports = city_reports["reports"]
    tz = timezone.get_default_timezone()
    days = [r.created_at.astimezone(tz).date() for r in reports]
    periods = [(days[2], days[10]), (days[3] + dt.timedelta(days=1), None), (None, days[6]),
               (days[4] - dt.timedelta(days=2), days[4] + dt.timedelta(days=2)),  # within a month or two
               (days[1].replace(day=1), days[9].replace(day=28))]
    used_months = False
    for start, end in periods:
        query = {k: v.isoformat() for k, v in (("from", start), ("to", end)) if v}
        total = 0
        for x, y in {_tile_of(r.public_geom, z) for r in reports}:
            params = clusters.cluster_params(z, x, y, start=start, end=end)
            used_months |= params["months"]
            cells = decode(client.get(f"/tiles/reports/clusters/{z}/{x}/{y}.pbf", query).content).get("clusters", [])
            count = sum(c["properties"]["count"] for c in cells)
            assert count == _count_in_tile(z, x, y, start=start, end=end), (start, end, x, y)
            total += count
        made = [r.created_at.astimezone(tz).date() for r in reports + [city_reports["home"]]]
        expected = sum(1 for day in made if (start is None or start <= day) and (end is None or day <= end))
        assert total == expected > 0, (start, end)
    assert used_months  # the months' sums were read (the counts above are checked through them)


def _months():
    with connection.cursor() as cursor:
        cursor.execute("SELECT month, gx, gy, category_id, open, n, round(sx::numeric, 3), round(sy::numeric, 3) "
                       "FROM reports_cluster_month WHERE n > 0 ORDER BY 1, 2, 3, 4, 5")
        return cursor.fetchall()


def _months_counted():
    """An independent count of reports_cluster_month: the visible reports per UTC month, 100 m square, category,
    open."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT (date_trunc('month', created_at AT TIME ZONE 'UTC'))::date, "
                       "floor(ST_X(public_geom) / 100)::int, floor(ST_Y(public_geom) / 100)::int, category_id, "
                       "status = ANY(%s), count(*)::int, round(sum(ST_X(public_geom))::numeric, 3), "
                       "round(sum(ST_Y(public_geom))::numeric, 3) "
                       "FROM reports_report WHERE status <> 'merged' GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5",
                       [sorted(workflow.OPEN)])
        return cursor.fetchall()


def test_the_heat_map_counts_every_visible_report_once(city_reports, client):
    """/api/reports/heat: the whole city's reports per heat cell, from the squares' sums (and a period's months):
    the counts add up to the reports that pass the filters, each cell's place is among its reports."""
    from reports import heat

    visible = city_reports["reports"] + [city_reports["home"]]
    tz = timezone.get_default_timezone()
    for zoom in (8, 12, 14):
        doc = client.get("/api/reports/heat", {"zoom": zoom}).json()
        assert doc["total"] == sum(p[2] for p in doc["points"]) == len(visible)
        assert doc["max"] == max(p[2] for p in doc["points"])
        assert doc["cell_metres"] == heat.squares_per_cell(zoom, doc["points"][0][0]) * 100  # about 8 px wide
        assert_nothing_personal(client.get("/api/reports/heat", {"zoom": zoom}).content, city_reports)
    # at z14 the cells are 100 m squares: each report's place is within a cell's reach of a heat point
    doc = client.get("/api/reports/heat", {"zoom": 14}).json()
    for report in visible:
        place = report.public_geom.transform(4326, clone=True)
        near = min(abs(p[0] - place.y) + abs(p[1] - place.x) for p in doc["points"])
        assert near < 0.003, report.tracking_code  # degrees: a few hundred metres at most
    pothole = city_reports["reports"][0].category
    only = client.get("/api/reports/heat", {"zoom": 12, "category": pothole.code, "status": "open"}).json()
    assert only["total"] == sum(1 for r in visible if r.category_id == pothole.pk and r.is_open)
    days = [r.created_at.astimezone(tz).date() for r in city_reports["reports"]]
    for start, end in ((days[2], days[10]), (days[5], None), (None, days[3]), (days[4], days[4])):
        query = {"zoom": 12, **{k: v.isoformat() for k, v in (("from", start), ("to", end)) if v}}
        made = [r.created_at.astimezone(tz).date() for r in visible]
        expected = sum(1 for day in made if (start is None or start <= day) and (end is None or day <= end))
        assert client.get("/api/reports/heat", query).json()["total"] == expected > 0, query
    answer = client.get("/api/reports/heat", {"zoom": 12})
    assert client.get("/api/reports/heat", {"zoom": 12}, HTTP_IF_NONE_MATCH=answer["ETag"]).status_code == 304
    service.change_status(city_reports["reports"][2], workflow.MERGED, by=city_reports["admin"],
                          into=city_reports["reports"][0]) if city_reports["reports"][2].is_open else \
        Report.objects.filter(pk=city_reports["reports"][2].pk).update(status=workflow.MERGED,
                                                                      merged_into=city_reports["reports"][0])
    changed = client.get("/api/reports/heat", {"zoom": 12}, HTTP_IF_NONE_MATCH=answer["ETag"])
    assert changed.status_code == 200 and changed.json()["total"] == len(visible) - 1  # a new version, recounted
    for bad in ({}, {"zoom": 2}, {"zoom": 15}, {"zoom": 12, "category": "no-such"}, {"zoom": 12, "from": "2024-02-30"},
                {"zoom": 12, "from": "2024-05-01", "to": "2024-04-01"}):
        answer = client.get("/api/reports/heat", bad)
        assert answer.status_code == 400 and answer.json()["error"] == "bad_parameter", bad


def test_cluster_tiles_are_cached_by_version_and_revalidated(city_reports, client):
    report = city_reports["reports"][3]
    x, y = _tile_of(report.public_geom, 10)
    url = f"/tiles/reports/clusters/10/{x}/{y}.pbf"
    first = client.get(url)
    version = first["X-Layer-Version"]
    assert client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    pinned = client.get(url, {"v": version})
    assert pinned.content == first.content and "immutable" in pinned["Cache-Control"]
    service.change_status(report, workflow.REJECTED, by=city_reports["admin"], note="duplicate of a fixed one") \
        if report.is_open else None
    Report.objects.filter(pk=report.pk).update(status=workflow.MERGED, merged_into=city_reports["reports"][0])
    changed = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert changed.status_code == 200 and changed["ETag"] != first["ETag"]
    before = sum(c["properties"]["count"] for c in decode(first.content)["clusters"])
    after = sum(c["properties"]["count"] for c in decode(changed.content)["clusters"])
    assert after == before - 1


def _squares():
    with connection.cursor() as cursor:
        cursor.execute("SELECT gx, gy, category_id, open, n, round(sx::numeric, 3), round(sy::numeric, 3) "
                       "FROM reports_cluster_cell WHERE n > 0 ORDER BY 1, 2, 3, 4")
        return cursor.fetchall()


def _squares_counted() -> list:
    """An independent count of reports_cluster_cell: the visible reports per 100 m square, category, open."""
    from reports import clusters

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT floor(ST_X(public_geom) / {clusters.GRID})::int, "
                       f"floor(ST_Y(public_geom) / {clusters.GRID})::int, category_id, status = ANY(%s), count(*), "
                       "round(sum(ST_X(public_geom))::numeric, 3), round(sum(ST_Y(public_geom))::numeric, 3) "
                       "FROM reports_report WHERE status <> 'merged' GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4",
                       [sorted(workflow.OPEN)])
        return cursor.fetchall()


def test_cluster_squares_follow_every_change_of_the_reports(city_reports, client):
    """The low-zoom tiles read their inner part from reports_cluster_cell: its trigger must keep it equal to the
    reports through submissions, status changes (merged: gone), a new category, a new place and a deletion."""
    from reports import clusters

    first = _squares()
    assert first == _squares_counted() and sum(row[4] for row in first) == len(city_reports["reports"]) + 1
    first_months = _months()
    assert first_months == _months_counted() and sum(row[5] for row in first_months) == sum(row[4] for row in first)
    reports = city_reports["reports"]
    service.change_status(reports[5], workflow.RESOLVED, by=city_reports["admin"]) if reports[5].is_open else None
    Report.objects.filter(pk=reports[4].pk).update(category=reports[1].category)
    moved = reports[7].public_geom.clone()
    moved.x += 250
    Report.objects.filter(pk=reports[7].pk).update(public_geom=moved)
    Report.objects.filter(pk=reports[3].pk).update(status=workflow.MERGED, merged_into=reports[0])
    Report.objects.filter(pk=reports[8].pk).delete()
    Report.objects.filter(pk=reports[9].pk).update(voices=7)  # no counted column: nothing to do
    Report.objects.filter(pk=reports[10].pk).update(created_at=reports[10].created_at - dt.timedelta(days=45))
    assert _squares() == _squares_counted() != first
    assert _months() == _months_counted() != first_months
    # the tiles at low zoom do read the table (the counts above are only checked through it when they do)
    x, y = _tile_of(reports[0].public_geom, 11)
    assert clusters.cluster_params(11, x, y)["cells"]
    cells = decode(client.get(f"/tiles/reports/clusters/11/{x}/{y}.pbf").content)["clusters"]
    assert sum(c["properties"]["count"] for c in cells) == _count_in_tile(11, x, y) == len(reports) - 1


@pytest.mark.parametrize("url", [
    "/tiles/reports/clusters/23/0/0.pbf", "/tiles/reports/clusters/3/8/0.pbf", "/tiles/reports/clusters/3/0/99.pbf",
    "/tiles/reports/clusters/5/1/1.pbf?category=no-such-thing", "/tiles/reports/clusters/5/1/1.pbf?status=maybe",
    "/tiles/reports/clusters/5/1/1.pbf?from=2024-02-30", "/tiles/reports/clusters/5/1/1.pbf?to=yesterday",
    "/tiles/reports/clusters/5/1/1.pbf?from=2024-05-01&to=2024-04-01",
    "/api/reports/stats?category=no-such-thing", "/api/reports/stats?district=ZZ", "/api/reports/stats?from=1403/13/01",
    "/reports/stats.csv?table=people", "/reports/stats.csv?to=2024-13-01",
])
def test_bad_parameters_are_refused_with_400(categories, client, url):
    answer = client.get(url)
    assert answer.status_code == 400, (url, answer.status_code, answer.content[:300])
    if url.startswith(("/api/", "/tiles/")):
        assert answer.json()["error"] == "bad_parameter"


def test_unknown_cluster_path_is_404_and_far_tiles_empty(categories, client):
    assert client.get("/tiles/reports/clusters/3/1.pbf").status_code == 404
    far = client.get("/tiles/reports/clusters/10/0/0.pbf")
    assert far.status_code == 200 and decode(far.content).get("clusters", []) == []


# --- statistics ---------------------------------------------------------------------------------------------------

def _expected(reports, key):
    """The statistics computed in Python from the reports themselves."""
    groups = defaultdict(list)
    for r in reports:
        groups[key(r)].append(r)
    out = {}
    for k, rs in groups.items():
        days = [(r.resolved_at - r.created_at).total_seconds() / 86400 for r in rs if r.resolved_at]
        out[k] = {"reports": len(rs), "open": sum(1 for r in rs if r.is_open),
                  "resolved": len(days), "median_days": round(statistics.median(days), 2) if days else None}
    return out


def _visible(data):
    return [Report.objects.get(pk=r.pk) for r in data["reports"] + [data["home"]]]


def test_stats_by_category_district_and_month_match_a_python_count(city_reports, client):
    answer = client.get("/api/reports/stats")
    assert answer.status_code == 200
    assert_nothing_personal(answer.content, city_reports)
    doc = answer.json()
    visible = _visible(city_reports)
    by_cat = _expected(visible, lambda r: r.category.code)
    got = {row["code"]: {k: row[k] for k in ("reports", "open", "resolved", "median_days")}
           for row in doc["by_category"]}
    assert got == by_cat
    by_district = _expected(visible, lambda r: r.district.code if r.district_id else None)
    got = {row["code"]: {k: row[k] for k in ("reports", "open", "resolved", "median_days")}
           for row in doc["by_district"]}
    assert got == by_district
    assert doc["totals"]["reports"] == len(visible)

    tz = timezone.get_default_timezone()

    def month(moment):
        j = jdatetime.date.fromgregorian(date=moment.astimezone(tz).date())
        return f"{j.year:04d}-{j.month:02d}"

    made = _expected(visible, lambda r: month(r.created_at))
    fixed = Counter(month(r.resolved_at) for r in visible if r.resolved_at)
    rows = {row["month"]: row for row in doc["by_month"]}
    for m, expected in made.items():
        assert rows[m]["reports"] == expected["reports"]
        assert rows[m]["median_days"] == expected["median_days"]
    for m, count in fixed.items():
        assert rows[m]["resolved"] == count
    assert sum(r["reports"] for r in doc["by_month"]) == len(visible)
    assert sum(r["resolved"] for r in doc["by_month"]) == sum(fixed.values())
    months = [r["month"] for r in doc["by_month"]]
    assert months == sorted(months) and len(months) == len(set(months))
    first = doc["by_month"][0]
    y, m = map(int, first["month"].split("-"))
    assert first["start"] == jdatetime.date(y, m, 1).togregorian().isoformat()

    slow = [row["code"] for row in doc["slowest"]]
    ranked = sorted((v["median_days"], k) for k, v in by_cat.items() if v["median_days"] is not None)
    assert slow[0] == max(ranked)[1]


def test_stats_filters(city_reports, client):
    visible = _visible(city_reports)
    doc = client.get("/api/reports/stats", {"category": "pothole"}).json()
    assert [row["code"] for row in doc["by_category"]] == ["pothole"]
    assert doc["totals"]["reports"] == sum(1 for r in visible if r.category.code == "pothole")
    district = next(r.district for r in visible if r.district_id)
    doc = client.get("/api/reports/stats", {"district": district.code}).json()
    assert doc["totals"]["reports"] == sum(1 for r in visible if r.district_id == district.pk)
    tz = timezone.get_default_timezone()
    start = visible[3].created_at.astimezone(tz).date()
    end = visible[8].created_at.astimezone(tz).date()
    doc = client.get("/api/reports/stats", {"from": start.isoformat(), "to": end.isoformat()}).json()
    inside = [r for r in visible if start <= r.created_at.astimezone(tz).date() <= end]
    assert doc["totals"]["reports"] == len(inside) > 0
    assert doc["filters"]["from"] == start.isoformat()


def test_stats_csv_parses_with_persian_and_an_excel_bom(city_reports, client):
    for table in ("category", "district", "month"):
        answer = client.get("/reports/stats.csv", {"table": table})
        assert answer.status_code == 200 and answer["Content-Type"].startswith("text/csv")
        assert answer.content.startswith(b"\xef\xbb\xbf")
        assert_nothing_personal(answer.content, city_reports)
        rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
        assert len(rows) >= 2
        if table == "category":
            by_code = {row[0]: row for row in rows[1:]}
            pothole = city_reports["reports"][0].category
            assert by_code["pothole"][1] == pothole.name  # Persian by default
            count = sum(1 for r in _visible(city_reports) if r.category_id == pothole.pk)
            assert int(by_code["pothole"][2]) == count
    client.cookies["django_language"] = "en"
    english = client.get("/reports/stats.csv", {"table": "category", "category": "pothole"})
    rows = list(csv.reader(io.StringIO(english.content.decode("utf-8-sig"))))
    assert rows[0][0] == "Category code" and rows[1][1] == city_reports["reports"][0].category.name_en
    assert len(rows) == 2


def test_stats_follow_new_data(city_reports, client):
    before = client.get("/api/reports/stats").json()["totals"]["reports"]
    report = city_reports["reports"][4]
    service.submit(category=report.category, point=report.geom, description="another", reporter=Reporter(),
                   now=timezone.now())
    assert client.get("/api/reports/stats").json()["totals"]["reports"] == before + 1


def test_pages_render_without_personal_data(city_reports, client):
    client.cookies["django_language"] = "en"
    page = client.get("/reports/map/")
    assert page.status_code == 200 and b"/reports/new/" in page.content
    assert_nothing_personal(page.content, city_reports)
    assert b"Street light out or broken" in page.content  # the legend from the categories
    stats_page = client.get("/reports/stats/", {"category": "pothole"})
    assert stats_page.status_code == 200 and b"chart.umd" in stats_page.content
    assert_nothing_personal(stats_page.content, city_reports)
    bad = client.get("/reports/stats/", {"from": "nonsense"})
    assert bad.status_code == 400


def test_openapi_describes_the_public_endpoints():
    from reports import openapi_public

    for path in ("/api/reports/stats", "/tiles/reports/clusters/{z}/{x}/{y}.pbf"):
        operation = openapi_public.PATHS[path]["get"]
        assert {"200", "400"} <= set(operation["responses"])
    assert "304" in openapi_public.PATHS["/tiles/reports/clusters/{z}/{x}/{y}.pbf"]["get"]["responses"]
