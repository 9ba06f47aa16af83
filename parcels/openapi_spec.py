"""OpenAPI description of the cadastre's endpoints (merged into /api/openapi.json by portal.openapi.full_spec)."""

from common.openapi import BBOX, _errors, _param

# A layer name as the registry has them (layers/registry.py); the example is the cadastre's, always registered.
LAYER_NAME = {"type": "string", "pattern": "^[a-z][a-z0-9_]*$", "maxLength": 63, "example": "parcels"}

SHEET = {"description": "The parcel sheet (public facts only: never owners' data)",
         "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ParcelSheet"}}}}

PATHS = {
        "/api/parcels/at": {"get": {
            "summary": "The parcel at a point (a map click)",
            "description": "404 with error `not_found`: no parcel there (a street or open land); with error "
                           "`outside_city`: the point is more than 500 m from any parcel.",
            "parameters": [_param("lon", "longitude", {"type": "number", "minimum": -180, "maximum": 180}),
                           _param("lat", "latitude", {"type": "number", "minimum": -90, "maximum": 90})],
            "responses": {"200": SHEET, **_errors(400, 404)},
        }},
        "/api/parcels/{parcel_id}": {"get": {
            "summary": "A parcel by its id",
            "parameters": [_param("parcel_id", "parcel id", {"type": "integer"}, "path")],
            "responses": {"200": SHEET, **_errors(404)},
        }},
        "/api/parcels/code/{code}": {"get": {
            "summary": "A parcel by its renewal code (کد نوسازی), in any usual spelling",
            "parameters": [_param("code", "e.g. 1-3-068-012-0-0-0, or with spaces or Persian digits",
                                  {"type": "string"}, "path")],
            "responses": {"200": SHEET, **_errors(400, 404)},
        }},
        "/api/search": {"get": {
            "summary": "Type-ahead search: renewal code (or a prefix), registered plate, postal code, street and plaque",
            "parameters": [_param("q", "what was typed, at most 200 characters (400 when longer or absent; blank "
                                  "finds nothing)", {"type": "string", "maxLength": 200})],
            "responses": {"200": {"description": "At most 10 results", "content": {"application/json": {"schema": {
                "type": "object", "properties": {"query": {"type": "string"}, "results": {
                    "type": "array", "maxItems": 10, "items": {"$ref": "#/components/schemas/SearchResult"}}}}}}},
                **_errors(400)},
        }},
        "/api/layers/{layer}.geojson": {"get": {
            "summary": "Features of a layer in a bounding box (capped; X-Features-Truncated says when cut)",
            "parameters": [_param("layer", "a layer name (GET /api/layers): districts, blocks, streets, zoning, "
                                  "parcels, buildings ...", LAYER_NAME, "path"),
                           _param("bbox", "minlon,minlat,maxlon,maxlat", BBOX),
                           _param("limit", "at most the layer's cap (400 above it)", {"type": "integer", "minimum": 1},
                                  required=False)],
            "responses": {"200": {"description": "GeoJSON FeatureCollection",
                                  "content": {"application/geo+json": {"schema": {"type": "object"}}}},
                          **_errors(400, 401, 403, 404)},
        }},
        "/tiles/{layer}/{z}/{x}/{y}.pbf": {"get": {
            "summary": "A Mapbox vector tile of a layer; cacheable forever with ?v=<layer version>",
            "parameters": [_param("layer", "layer name", LAYER_NAME, "path"),
                           _param("z", "zoom 0-22", {"type": "integer", "minimum": 0, "maximum": 22, "example": 0},
                                  "path"),
                           _param("x", "column, 0 to 2^z-1 (400 beyond)", {"type": "integer", "minimum": 0,
                                                                           "example": 0}, "path"),
                           _param("y", "row, 0 to 2^z-1 (400 beyond)", {"type": "integer", "minimum": 0, "example": 0},
                                  "path"),
                           _param("v", "the layer's data version (see /api/layers/versions)",
                                  {"type": "integer", "minimum": 0}, required=False)],
            "responses": {"200": {"description": "MVT", "content": {"application/vnd.mapbox-vector-tile": {}}},
                          "204": {"description": "The layer is not drawn at this zoom"},
                          "304": {"description": "Not modified (ETag)"}, **_errors(400, 401, 403, 404)},
        }},
}

SCHEMAS = {
        "SearchResult": {"type": "object", "required": ["type", "lon", "lat"], "properties": {
            "type": {"enum": ["renewal_code", "source_id", "postal_code", "plate", "address", "street", "owner"]},
            "parcel_id": {"type": "integer"}, "renewal_code": {"type": ["string", "null"]},
            "source_id": {"type": ["string", "null"], "description": "the city's own key for the parcel"},
            "postal_code": {"type": ["string", "null"]}, "plate": {"type": "string"},
            "land_use": {"type": ["string", "null"]}, "street_id": {"type": "integer"}, "name": {"type": "string"},
            "lon": {"type": "number"}, "lat": {"type": "number"}}},
        "ParcelSheet": {"type": "object", "required": ["id", "measured_area", "geometry", "frontages"], "properties": {
            "id": {"type": "integer"}, "renewal_code": {"type": ["string", "null"]},
            "source_id": {"type": ["string", "null"], "description": "the city's own key for the parcel (its id in "
                          "the imported file)"},
            "registered_plate": {"type": "object"}, "postal_code": {"type": ["string", "null"]},
            "addresses": {"type": "array"}, "district": {"type": ["object", "null"]},
            "zone": {"type": ["object", "null"]}, "block": {"type": ["object", "null"]},
            "zoning": {"type": "array"}, "land_use": {"type": ["object", "null"]}, "deed_area": {"type": ["number", "null"]},
            "measured_area": {"type": "number"}, "area_mismatch": {"type": "boolean"},
            "frontage_length": {"type": ["number", "null"]}, "widest_street_width": {"type": ["number", "null"]},
            "is_corner": {"type": "boolean"}, "frontages": {"type": "array"},
            "road_widening": {"type": ["object", "null"]}, "buildings": {"type": "object"},
            "geometry": {"type": "object"}, "point": {"type": "object"}, "is_demo_data": {"type": "boolean"},
            "sections": {"type": "array", "description": "Sections other parts of the system add to the sheet, each "
                         "with its own JSON URL", "items": {"type": "object", "required": ["key", "url"], "properties": {
                             "key": {"type": "string"}, "title_fa": {"type": "string"}, "title_en": {"type": "string"},
                             "url": {"type": "string"}}}}}},
}
