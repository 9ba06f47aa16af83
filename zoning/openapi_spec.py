"""OpenAPI description of the zoning endpoints (merged into /api/openapi.json by portal.openapi.full_spec)."""

from common.openapi import BBOX
from common.openapi import DATE as DATE_SCHEMA
from common.openapi import ERROR, _errors, _param

PARCEL = _param("parcel_id", "parcel id", {"type": "integer"}, "path")
DATE = _param("date", "the rules in force on this date: Jalali 1405/02/11 or ISO 2026-05-01, Persian digits accepted "
              "(default today)", DATE_SCHEMA, required=False)
TEXT = {"type": "string", "maxLength": 200}  # a code or name as common.params.text reads it (longer: 400)
# The plausible ranges zoning/eligibility.py checks (outside them: 400 with the field named).
AREA = {"type": "number", "minimum": 1, "maximum": 1_000_000}
# A parcel whose overlay facts (zone, widening, hazards) are not computed yet: a read never computes them.
NOT_COMPUTED = {"503": {"description": "overlays_not_computed: the parcel's zoning facts are not computed yet "
                                       "(an administrator runs manage.py refresh_overlays)",
                        "content": {"application/json": {"schema": ERROR}}}}
PROPOSAL_PARAMS = [
    _param("land_use", "proposed land-use class code (data/reference/land_uses.csv)", TEXT, required=False),
    _param("floors", "floors above ground (1-100)", {"type": "integer", "minimum": 1, "maximum": 100}, required=False),
    _param("gross_floor_area", "m²", AREA, required=False),
    _param("footprint_area", "m² (or give footprint)", AREA, required=False),
    _param("footprint", "GeoJSON Polygon in WGS84", {"type": "string"}, required=False),
    _param("units", "dwelling or business units", {"type": "integer", "minimum": 1, "maximum": 10_000},
           required=False),
    _param("parking_spaces", "parking spaces provided", {"type": "integer", "minimum": 0, "maximum": 10_000},
           required=False),
    _param("height", "m (default floors × the rulebook's floor height)", {"type": "number", "minimum": 1,
                                                                           "maximum": 500}, required=False),
]
ENVELOPE = {"$ref": "#/components/schemas/Envelope"}
SUBDIVISION = {"description": "parts with area, frontage, area_ok, frontage_ok; ok", "content": {"application/json": {
    "schema": {"type": "object", "required": ["parts", "ok"], "properties": {
        "parts": {"type": "array", "items": {"type": "object"}}, "ok": {"type": "boolean"}}}}}}
DECISION = {"$ref": "#/components/schemas/Decision"}
BAD_PROPOSAL = {"description": "Bad proposal: message and one entry per bad field", "content": {"application/json": {
    "schema": {"type": "object", "required": ["error", "message"], "properties": {
        "error": {"type": "string"}, "message": {"type": "string"}, "fields": {"type": "object"}}}}}}
QUERY_PARAMS = [
    _param("zone", "zone code", TEXT, required=False),
    _param("land_use", "current land use", TEXT, required=False),
    _param("district", "district code", TEXT, required=False),
    _param("area_min", "m² (not above area_max)", {"type": "number", "minimum": 0, "maximum": 1e9}, required=False),
    _param("area_max", "m²", {"type": "number", "minimum": 0, "maximum": 1e9}, required=False),
    _param("non_conforming", "current use not allowed or conditional in the zone", {"type": "boolean"}, required=False),
    _param("widening", "losing land to road widening", {"type": "boolean"}, required=False),
    _param("steep", "mean slope above min_slope (default the rulebook's steep_slope_pct)", {"type": "boolean"},
           required=False),
    _param("min_slope", "%", {"type": "number", "minimum": 0, "maximum": 1000}, required=False),
    _param("floodplain", "in the floodplain", {"type": "boolean"}, required=False),
    _param("page", "1-based", {"type": "integer", "minimum": 1, "maximum": 10_000_000}, required=False),
    _param("page_size", "at most 500", {"type": "integer", "minimum": 1, "maximum": 500}, required=False),
    _param("geometry", "include WGS84 geometry in JSON results", {"type": "boolean"}, required=False),
    _param("format", "json (paginated), csv (all rows), geojson (at most 5,000 features; X-Total-Count, "
           "X-Features-Truncated)", {"enum": ["json", "csv", "geojson"]}, required=False),
    _param("report", "capacity: development capacity by district instead of parcels", {"enum": ["capacity"]},
           required=False),
    DATE,
]

PATHS = {
    "/api/parcels/{parcel_id}/eligibility": {
        "get": {
            "summary": "What can be built here: the buildable envelope and the zone's rules with citations; with "
                       "proposal parameters, the decision rule by rule",
            "parameters": [PARCEL, DATE, *PROPOSAL_PARAMS],
            "responses": {"200": {"description": "Envelope (no proposal given) or Decision", "content": {
                "application/json": {"schema": {"oneOf": [ENVELOPE, DECISION]}}}},
                "400": BAD_PROPOSAL, **_errors(404), **NOT_COMPUTED},
        },
        "post": {
            "summary": "Decision for a proposal given as a JSON object (same fields as the GET parameters; footprint "
                       "as a GeoJSON object)",
            "parameters": [PARCEL],
            "requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}},
            "responses": {"200": {"description": "Decision", "content": {"application/json": {"schema": DECISION}}},
                          "400": BAD_PROPOSAL, **_errors(404), **NOT_COMPUTED},
        },
    },
    "/api/parcels/{parcel_id}/eligibility/section": {"get": {
        "summary": "The parcel sheet's 'what can be built' section (the envelope data, or why it is unavailable)",
        "parameters": [PARCEL],
        "responses": {"200": {"description": "Envelope or {unavailable} (no zone, no rulebook, overlays not "
                                             "computed yet)", "content": {"application/json": {"schema": {
                                                 "type": "object"}}}}, **_errors(404)},
    }},
    "/api/parcels/{parcel_id}/envelope.geojson": {"get": {
        "summary": "The envelope, the parcel and the road-widening strip as a GeoJSON download (WGS84)",
        "parameters": [PARCEL, DATE],
        "responses": {"200": {"description": "FeatureCollection", "content": {"application/geo+json": {
                          "schema": {"type": "object", "required": ["type", "features"]}}}},
                      **_errors(400, 404), **NOT_COMPUTED},
    }},
    "/api/parcels/{parcel_id}/envelope.dxf": {"get": {
        "summary": "The same as DXF (layers PARCEL, ROAD_WIDENING, ENVELOPE, TEXT) in the municipality's projected "
                   "coordinates (metres)",
        "parameters": [PARCEL, DATE],
        "responses": {"200": {"description": "DXF", "content": {"application/dxf": {}}}, **_errors(400, 404),
                      **NOT_COMPUTED},
    }},
    "/api/parcels/{parcel_id}/subdivision": {
        "get": {"summary": "Subdivision check (حد نصاب تفکیک): proposed split lines -> each part's area and frontage",
                "parameters": [PARCEL, DATE, _param("lines", "GeoJSON LineString / MultiLineString / list (at most "
                                                    "100 lines), WGS84", {"type": "string", "minLength": 1})],
                "responses": {"200": SUBDIVISION,
                              "400": BAD_PROPOSAL, **_errors(404), **NOT_COMPUTED}},
        "post": {"summary": "Subdivision check with {\"lines\": [...GeoJSON LineStrings]}", "parameters": [PARCEL],
                 "requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}},
                 "responses": {"200": SUBDIVISION, "400": BAD_PROPOSAL, **_errors(404),
                               **NOT_COMPUTED}},
    },
    "/api/zoning/parcels": {"get": {
        "summary": "Land-use queries: parcels by zone, use, district, area; non-conforming; road widening; steep; "
                   "floodplain. Counted and paginated; CSV and GeoJSON downloads; capacity by district",
        "parameters": QUERY_PARAMS,
        "responses": {"200": {"description": "{count, page, page_size, results} (format=json), {districts} "
                                             "(report=capacity), or a download", "content": {
            "application/json": {"schema": {"type": "object"}}, "text/csv": {},
            "application/geo+json": {"schema": {"type": "object", "required": ["type", "features"]}}}},
                      **_errors(400)},
    }},
    "/api/zoning/rulebooks/changes/parcels": {"get": {
        "summary": "The parcels a change of the plan's rules reaches: those in zones where some rule value differs "
                   "between two rulebook versions, a page at a time (by id), optionally in a box",
        "parameters": [
            _param("from", "the older rulebook version's id", {"type": "integer", "minimum": 1,
                                                               "maximum": 2**31 - 1}),
            _param("to", "the newer rulebook version's id (not the same as from)",
                   {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}),
            _param("bbox", "only parcels meeting this box", BBOX, required=False),
            _param("after", "the next_after of the previous page (default 0: from the first parcel)",
                   {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}, required=False),
            _param("limit", "parcels in the page (default 500)", {"type": "integer", "minimum": 1, "maximum": 2000},
                   required=False),
        ],
        "responses": {"200": {"description": "FeatureCollection (WGS84) with numberReturned, next_after (null on the "
                                             "last page) and zones (the codes reached)", "content": {
            "application/geo+json": {"schema": {"type": "object", "required": ["type", "features", "next_after"],
                                                 "properties": {"type": {"const": "FeatureCollection"},
                                                                "features": {"type": "array"},
                                                                "numberReturned": {"type": "integer"},
                                                                "next_after": {"type": ["integer", "null"]},
                                                                "zones": {"type": "array",
                                                                          "items": {"type": "string"}}}}}}},
                      **_errors(400, 404)},
    }},
}

SCHEMAS = {
    "Citation": {"type": "object", "required": ["document", "article", "effective_from"], "properties": {
        "document": {"type": "string"}, "article": {"type": "string"},
        "effective_from": {"type": "string", "format": "date"}}},
    "Envelope": {"type": "object", "required": ["parcel_id", "zone_code", "rulebook", "envelope", "rules"],
                 "properties": {
                     "parcel_id": {"type": "integer"}, "zone_code": {"type": "string"}, "rulebook": {"type": "string"},
                     "on_date": {"type": "string", "format": "date"}, "is_demo_rulebook": {"type": "boolean"},
                     "notice": {"type": ["object", "null"]},
                     "envelope": {"type": "object", "properties": {
                         "footprint": {"type": ["object", "null"], "description": "GeoJSON, WGS84"},
                         "max_floors": {"type": "integer"}, "max_height": {"type": ["number", "null"]},
                         "max_footprint_area": {"type": "number"}, "max_gross_floor_area": {"type": "number"},
                         "remaining_floor_area": {"type": "number"}, "net_area": {"type": "number"}}},
                     "rules": {"type": "array", "items": {"type": "object", "properties": {
                         "key": {"type": "string"}, "value": {}, "citation": {"$ref": "#/components/schemas/Citation"},
                         "value_text": {"type": "string", "description": "the value in the request's language"}}}},
                 }},
    "Decision": {"type": "object", "required": ["status", "checks", "envelope"], "properties": {
        "status": {"enum": ["eligible", "conditional", "not_eligible"]},
        "zone_code": {"type": "string"}, "rulebook": {"type": "string"}, "on_date": {"type": "string"},
        "checks": {"type": "array", "items": {"type": "object", "required": ["key", "status"], "properties": {
            "key": {"type": "string"}, "title_fa": {"type": "string"}, "title_en": {"type": "string"},
            "limit": {}, "proposed": {},
            "limit_text": {"type": "string"}, "proposed_text": {"type": "string"},   # in the request's language
            "status": {"enum": ["pass", "fail", "conditional", "not_checked"]},
            "citation": {"oneOf": [{"$ref": "#/components/schemas/Citation"}, {"type": "null"}]},
            "note": {"type": "string"}}}},
        "envelope": {"type": "object"}}},
}
