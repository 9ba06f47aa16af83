"""The public side of reports: the map of reports (points from the layer "reports", clusters at low zoom), the
statistics (page, JSON, CSV) and the cluster tiles. Nothing here reads personal data: the points and the pop-ups
come from the public view and reports/public.py, the statistics are counts and medians."""

import csv
import io

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from common import params
from common.edge import json_response
from common.errors import BadParameter
from common.i18n import is_persian
from layers import tiles
from layers.geojson import city_extent
from layers.views import check_tile
from parcels.models import District
from reports.public import base_layers, map_center
from reports import clusters, heat, stats, workflow
from reports.layers import MIN_ZOOM, layer
from reports.models import Category, Report

STATUS_FILTERS = ("open", "closed")
CATEGORY_MAX = 50  # codes in one ?category= list


def _categories() -> list[Category]:
    return list(Category.objects.order_by("order", "code"))


def category_ids(request, name: str = "category") -> list[int]:
    """?category=code[,code...]: the categories' ids; 400 for an unknown code."""
    value = params.text(request.GET, name, max_length=CATEGORY_MAX * 41)
    codes = [c.strip() for c in value.split(",") if c.strip()]
    if not codes:
        return []
    known = dict(Category.objects.filter(code__in=codes).values_list("code", "id"))
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise BadParameter(_("%(name)s: no category has the code '%(code)s'")
                           % {"name": name, "code": unknown[0][:40]})
    return [known[c] for c in codes]


def period(request):
    start = params.date(request.GET, "from")
    end = params.date(request.GET, "to")
    if start and end and end < start:
        raise BadParameter(_("The period ends (to) before it starts (from)."))
    return start, end


# --- the map ------------------------------------------------------------------------------------------------------

@require_GET
def map_page(request):
    """The public map of reports."""
    spec = layer()
    categories = [{"code": c.code, "name": c.name, "name_en": c.name_en or c.name, "colour": c.colour}
                  for c in _categories()]
    return render(request, "reports/public_map.html", {
        "categories": categories,
        "config": {
            "center": map_center(),
            "zoom": settings.LEAFLET_CONFIG["DEFAULT_ZOOM"],
            "basemapUrl": settings.BASEMAP_URL, "basemapAttribution": settings.BASEMAP_ATTRIBUTION,
            "base": base_layers(),  # the city's own layers under the reports
            "pointsUrl": f"/tiles/{spec.name}/{{z}}/{{x}}/{{y}}.pbf",
            "clustersUrl": "/tiles/reports/clusters/{z}/{x}/{y}.pbf",
            "heatUrl": "/api/reports/heat",
            "heatUpTo": heat.HEAT_MAX_ZOOM,  # the heat map (or the clusters, by the switch) up to this zoom
            "version": tiles.layer_version(spec),
            "pointsFrom": max(MIN_ZOOM, 15),  # points from this zoom, clusters below
            "reportUrl": "/api/reports/CODE",
            "city": city_extent(),
        },
    })


@require_GET
def cluster_tile(request, z, x, y):
    """Reports per grid cell of a tile (reports/clusters.py), with the map's filters."""
    check_tile(z, x, y)
    categories = category_ids(request)
    status = params.choice(request.GET, "status", STATUS_FILTERS)
    start, end = period(request)
    version = params.text(request.GET, "v", max_length=20)
    answer = clusters.answer(layer(), z, x, y, version, request.headers.get("If-None-Match"),
                             categories=categories, status=status, start=start, end=end)
    response = HttpResponse(answer.body, status=answer.status)
    for name, value in answer.headers:
        response[name] = value
    return response


@require_GET
def heat_json(request):
    """GET /api/reports/heat?zoom=&category=&status=&from=&to=: the reports per heat cell of the whole city at that
    zoom (reports/heat.py), for the public map's heat layer; ETag / 304 by the reports layer's data version."""
    zoom = params.integer(request.GET, "zoom", required=True, min=heat.MIN_ZOOM, max=heat.MAX_ZOOM)
    categories = category_ids(request)
    status = params.choice(request.GET, "status", STATUS_FILTERS)
    start, end = period(request)
    params.text(request.GET, "v", max_length=20)  # the map's cache-busting version: the answer does not depend on it
    version, doc = heat.cached(layer(), zoom, categories=categories, status=status, start=start, end=end)
    etag = clusters.etag(version, zoom, 0, 0, "heat|" + clusters.filter_key(categories, status, start, end))
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
    else:
        response = json_response({**doc, "version": version})
    response["ETag"] = etag
    response["Cache-Control"] = "public, max-age=0, must-revalidate"
    return response


# --- statistics -------------------------------------------------------------------------------------------------

def stats_filters(request) -> stats.Filters:
    start, end = period(request)
    category = params.text(request.GET, "category", max_length=40).strip()
    district = params.text(request.GET, "district", max_length=10).strip()
    category_id = district_id = None
    if category:
        category_id = Category.objects.filter(code=category).values_list("id", flat=True).first()
        if category_id is None:
            raise BadParameter(_("%(name)s: no category has the code '%(code)s'") % {"name": "category",
                                                                                      "code": category})
    if district:
        district_id = District.objects.filter(code=district).values_list("id", flat=True).first()
        if district_id is None:
            raise BadParameter(_("district: no district has the code '%(code)s'") % {"code": district})
    return stats.Filters(start=start, end=end, category_id=category_id, district_id=district_id)


def _filters_doc(request, filters: stats.Filters) -> dict:
    return {"from": filters.start.isoformat() if filters.start else None,
            "to": filters.end.isoformat() if filters.end else None,
            "category": request.GET.get("category") or None, "district": request.GET.get("district") or None}


@require_GET
def stats_json(request):
    filters = stats_filters(request)
    return json_response({"filters": _filters_doc(request, filters), **stats.everything(filters)})


@require_GET
def stats_page(request):
    filters = stats_filters(request)
    data = stats.everything(filters)
    english = not is_persian()
    query = request.GET.urlencode()
    return render(request, "reports/public_stats.html", {
        "data": data, "filters": _filters_doc(request, filters), "english": english,
        "start": filters.start, "end": filters.end,
        "categories": _categories(), "districts": District.objects.order_by("code"),
        "query": query,
        "csv_links": _csv_links(request), "status_labels": status_labels(),
    })


def _without_table(request) -> str:
    query = request.GET.copy()
    query.pop("table", None)
    return query.urlencode()


def _csv_links(request) -> list[tuple[str, str]]:
    rest = _without_table(request)
    return [(label, f"?table={name}" + (f"&{rest}" if rest else ""))
            for name, label in (("category", _("By category")), ("district", _("By district")),
                                ("month", _("By month")))]


def _csv_rows(name: str, rows: list[dict], english: bool) -> tuple[list[str], list[list]]:
    pick = (lambda r: r["name_en"]) if english else (lambda r: r["name"])
    if name == "category":
        head = [_("Category code"), _("Category"), _("Reports"), _("Open"), _("Resolved"), _("Median days to fix"),
                _("Days to fix (SLA)")]
        body = [[r["code"], pick(r), r["reports"], r["open"], r["resolved"], r["median_days"], r["sla_days"]]
                for r in rows]
    elif name == "district":
        head = [_("District code"), _("District"), _("Reports"), _("Open"), _("Resolved"), _("Median days to fix")]
        body = [[r["code"] or "", pick(r) if r["code"] else _("Outside the districts"), r["reports"], r["open"],
                 r["resolved"], r["median_days"]] for r in rows]
    else:
        head = [_("Month"), _("First day"), _("Month name"), _("Reports"), _("Resolved"), _("Median days to fix")]
        body = [[r["month"], r["start"], r["label_en"] if english else r["label"], r["reports"], r["resolved"],
                 r["median_days"]] for r in rows]
    return head, body


@require_GET
def stats_csv(request):
    """One table as CSV, UTF-8 with a BOM (Excel then reads the Persian names)."""
    name = params.choice(request.GET, "table", stats.TABLES, default="category")
    filters = stats_filters(request)
    head, body = _csv_rows(name, stats.table(name, filters), not is_persian())
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(head)
    for row in body:
        writer.writerow(["" if v is None else v for v in row])
    response = HttpResponse(out.getvalue().encode("utf-8"), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="reports-by-{name}.csv"'
    return response


def status_labels() -> dict:
    return {code: str(label) for code, label in Report.Status.choices if code != workflow.MERGED}
