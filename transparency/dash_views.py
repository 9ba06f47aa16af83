"""The public pages of the dashboards and the open-data catalogue: anonymous, read-only, no personal data (the
panels are counts, sums and medians; the catalogue lists public layers only)."""

from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from common.edge import json_response
from common.errors import NotFound
from transparency import catalogue, dashboards
from transparency.registry import PANELS


@require_GET
def dashboards_page(request):
    shown = [dashboards.page(panel) for panel in dashboards.panels()]
    charts = {item["panel"].key: {"chart": item["panel"].chart, "stacked": item["panel"].stacked,
                                  "charts": item["charts"]} for item in shown}
    return render(request, "transparency/dashboards/page.html", {"panels": shown, "charts": charts})


@require_GET
def dashboard_csv(request, key):
    panel = PANELS.get(key)
    if panel is None:
        raise NotFound(_("There is no dashboard %(key)s.") % {"key": key[:40]})
    response = HttpResponse(dashboards.as_csv(panel), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{key}.csv"'
    return response


@require_GET
def catalogue_page(request):
    return render(request, "transparency/catalogue/page.html", {"entries": catalogue.entries(request)})


@require_GET
def catalogue_json(request):
    response = json_response(catalogue.as_jsonld(request))
    response["Content-Type"] = "application/ld+json; charset=utf-8"
    return response
