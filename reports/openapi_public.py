"""OpenAPI of the public side of reports (reports/public_views.py), merged by reports/openapi_spec.py: the
statistics (JSON), the heat map (JSON) and the cluster tiles. The points themselves are the layer "reports" of the layers app
(/tiles/reports/{z}/{x}/{y}.pbf, /ogc/collections/reports/items), described there; a report's pop-up reads
/api/reports/{code} (the citizen's side)."""

from common.openapi import DATE, _param, error

from reports.heat import MAX_ZOOM as HEAT_MAX, MIN_ZOOM as HEAT_MIN
from reports.public_views import CATEGORY_MAX

_DATE_FROM = _param("from", "only reports made on or after this day (Jalali or ISO)", DATE, required=False)
_DATE_TO = _param("to", "only reports made on or before this day (Jalali or ISO); not before `from`", DATE,
                  required=False)
_STATS_FILTERS = [
    _DATE_FROM, _DATE_TO,
    _param("category", "only this category (its code)", {"type": "string", "maxLength": 40}, required=False),
    _param("district", "only this district (its code)", {"type": "string", "maxLength": 10}, required=False),
]
_400 = error(400, "A bad parameter (`bad_parameter`): an unknown category or district, a date that is not one, a "
                  "period that ends before it starts, a value too long")
_NUMBER_OR_NULL = {"type": ["number", "null"]}
_COUNTS = {"reports": {"type": "integer", "minimum": 0}, "open": {"type": "integer", "minimum": 0},
           "resolved": {"type": "integer", "minimum": 0}, "median_days": _NUMBER_OR_NULL}

PATHS = {
    "/api/reports/stats": {"get": {
        "summary": "Statistics of reports: counts and median days to fix by category, district and (Jalali) month",
        "description": "Merged reports (duplicates) are not counted; rejected ones count as reports, never as fixed. "
                       "Days to fix: resolution − reporting, in days; the median over the resolved reports. "
                       "`by_month` lists every month from the first to the last with reports: reports made that "
                       "month, reports resolved that month (by the resolution's date, within the period) and the "
                       "median days to fix of the month's reports. `slowest`: the categories with the highest "
                       "median. No personal data. The same tables as CSV for spreadsheets (UTF-8 with a BOM): "
                       "/reports/stats.csv?table=category|district|month with the same filters (a download of the "
                       "statistics page, not part of this API).",
        "parameters": _STATS_FILTERS,
        "responses": {"200": {"description": "The tables", "content": {"application/json": {"schema": {
            "$ref": "#/components/schemas/ReportStats"}}}}, **_400},
    }},
    "/api/reports/heat": {"get": {
        "summary": "Reports per heat cell of the whole city at a zoom: the public map's heat layer (low zoom)",
        "description": "Each point is a heat cell (about 8 screen pixels wide at `zoom`, whole 100 m squares of the "
                       "city's CRS): its reports' mean place (WGS84) and their number, the densest first (at most "
                       "20,000). The counts add up to the reports that pass the filters (merged ones never); "
                       "`max` is the densest cell's (the heat's full scale). No personal data. ETag by the reports "
                       "layer's data version: revalidate with If-None-Match (304).",
        "parameters": [
            _param("zoom", "the map's zoom", {"type": "integer", "minimum": HEAT_MIN, "maximum": HEAT_MAX}),
            _param("category", "category codes, comma-separated", {"type": "string", "maxLength": CATEGORY_MAX * 41},
                   required=False),
            _param("status", "open (submitted, accepted, assigned, in progress) or closed (the others)",
                   {"enum": ["open", "closed"]}, required=False),
            _DATE_FROM, _DATE_TO,
            _param("v", "the data version the map asks for (a cache key only)", {"type": "string", "maxLength": 20},
                   required=False),
        ],
        "responses": {
            "200": {"description": "The heat points", "content": {"application/json": {"schema": {
                "$ref": "#/components/schemas/ReportHeat"}}}},
            "304": {"description": "Not modified (If-None-Match matched the ETag)"},
            **error(400, "A bad parameter (`bad_parameter`): a missing or out-of-range zoom, an unknown category, "
                         "a bad status or date, a period that ends before it starts"),
        },
    }},
    "/tiles/reports/clusters/{z}/{x}/{y}.pbf": {"get": {
        "summary": "Reports aggregated per grid cell (8×8 cells a tile) as a Mapbox vector tile: the map at low zoom",
        "description": "Layer `clusters`: one point per cell holding reports (their mean place), with `count`, the "
                       "cell's most frequent `category` (code) and its `colour`. The counts of a tile add up to the "
                       "reports whose public place lies in it (merged ones never). Far from the city a tile is "
                       "empty. With `v` = the reports layer's data version (X-Layer-Version) the answer may be "
                       "cached forever; otherwise revalidate with If-None-Match (304).",
        "parameters": [
            _param("z", "zoom 0-22", {"type": "integer", "minimum": 0, "maximum": 22}, "path"),
            _param("x", "column, 0 to 2^z-1", {"type": "integer", "minimum": 0}, "path"),
            _param("y", "row, 0 to 2^z-1", {"type": "integer", "minimum": 0}, "path"),
            _param("category", "category codes, comma-separated", {"type": "string", "maxLength": CATEGORY_MAX * 41},
                   required=False),
            _param("status", "open (submitted, accepted, assigned, in progress) or closed (the others)",
                   {"enum": ["open", "closed"]}, required=False),
            _DATE_FROM, _DATE_TO,
            _param("v", "the data version the URL is for (cache key)", {"type": "string", "maxLength": 20},
                   required=False),
        ],
        "responses": {
            "200": {"description": "The tile (empty when no report is in it)",
                    "content": {"application/vnd.mapbox-vector-tile": {"schema": {"type": "string",
                                                                                  "format": "binary"}}}},
            "304": {"description": "Not modified (If-None-Match matched the ETag)"},
            **error(400, "A bad parameter (`bad_parameter`): a tile that does not exist (zoom above 22, x or y "
                         "beyond 2^z-1), an unknown category, a bad status or date"),
            **error(404, "Not a tile path (`not_found`)"),
        },
    }},
}

SCHEMAS = {
    "ReportHeat": {"type": "object", "required": ["zoom", "cell_metres", "max", "total", "points", "version"],
                   "properties": {
        "zoom": {"type": "integer"}, "cell_metres": {"type": "number", "description": "a heat cell's side"},
        "max": {"type": "integer", "minimum": 0}, "total": {"type": "integer", "minimum": 0},
        "version": {"type": "integer", "description": "the reports layer's data version"},
        "points": {"type": "array", "items": {"type": "array", "minItems": 3, "maxItems": 3,
                                              "items": {"type": "number"},
                                              "description": "[lat, lon, reports]"}}}},
    "ReportStats": {"type": "object", "required": ["filters", "by_category", "by_district", "by_month", "slowest",
                                                   "totals"], "properties": {
        "filters": {"type": "object", "properties": {
            "from": {"type": ["string", "null"], "format": "date"}, "to": {"type": ["string", "null"],
                                                                         "format": "date"},
            "category": {"type": ["string", "null"]}, "district": {"type": ["string", "null"]}}},
        "by_category": {"type": "array", "items": {"$ref": "#/components/schemas/ReportStatsCategory"}},
        "slowest": {"type": "array", "items": {"$ref": "#/components/schemas/ReportStatsCategory"}},
        "by_district": {"type": "array", "items": {"type": "object", "required": ["code", "reports"], "properties": {
            "code": {"type": ["string", "null"], "description": "null: reports outside every district"},
            "name": {"type": ["string", "null"]}, "name_en": {"type": ["string", "null"]}, **_COUNTS}}},
        "by_month": {"type": "array", "items": {"type": "object", "required": ["month", "start", "reports",
                                                                               "resolved"], "properties": {
            "month": {"type": "string", "description": "Jalali YYYY-MM"},
            "start": {"type": "string", "format": "date", "description": "its first day (Gregorian)"},
            "label": {"type": "string"}, "label_en": {"type": "string"}, **_COUNTS}}},
        "totals": {"type": "object", "properties": {k: v for k, v in _COUNTS.items() if k != "median_days"}},
    }},
    "ReportStatsCategory": {"type": "object", "required": ["code", "reports"], "properties": {
        "code": {"type": "string"}, "name": {"type": "string"}, "name_en": {"type": "string"},
        "colour": {"type": "string"}, "sla_days": {"type": "integer"}, **_COUNTS}},
}
