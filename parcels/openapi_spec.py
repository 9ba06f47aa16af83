"""OpenAPI description of the cadastre's endpoints (merged into /api/openapi.json by portal.openapi.full_spec)."""

from common.openapi import _errors, _param

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
            "parameters": [_param("q", "what was typed (at most 200 characters)", {"type": "string", "maxLength": 200})],
            "responses": {"200": {"description": "At most 10 results", "content": {"application/json": {"schema": {
                "type": "object", "properties": {"query": {"type": "string"}, "results": {
                    "type": "array", "maxItems": 10, "items": {"$ref": "#/components/schemas/SearchResult"}}}}}}},
                **_errors(400)},
        }},
        "/api/layers/{layer}.geojson": {"get": {
            "summary": "Features of a layer in a bounding box (capped; X-Features-Truncated says when cut)",
            "parameters": [_param("layer", "districts, blocks, streets, zoning, parcels, buildings", {"type": "string"},
                                  "path"),
                           _param("bbox", "minlon,minlat,maxlon,maxlat", {"type": "string"}),
                           _param("limit", "at most the layer's cap", {"type": "integer", "minimum": 1}, required=False)],
            "responses": {"200": {"description": "GeoJSON FeatureCollection",
                                  "content": {"application/geo+json": {"schema": {"type": "object"}}}},
                          **_errors(400, 404)},
        }},
        "/tiles/{layer}/{z}/{x}/{y}.pbf": {"get": {
            "summary": "A Mapbox vector tile of a layer; cacheable forever with ?v=<layer version>",
            "parameters": [_param("layer", "layer name", {"type": "string"}, "path"),
                           _param("z", "zoom 0-22", {"type": "integer"}, "path"),
                           _param("x", "column", {"type": "integer"}, "path"),
                           _param("y", "row", {"type": "integer"}, "path"),
                           _param("v", "the layer's data version (see /api/layers/versions)", {"type": "integer"},
                                  required=False)],
            "responses": {"200": {"description": "MVT", "content": {"application/vnd.mapbox-vector-tile": {}}},
                          "204": {"description": "The layer is not drawn at this zoom"},
                          "304": {"description": "Not modified (ETag)"}, **_errors(400, 404)},
        }},
}

SCHEMAS = {
        "SearchResult": {"type": "object", "required": ["type", "lon", "lat"], "properties": {
            "type": {"enum": ["renewal_code", "postal_code", "plate", "address", "street", "owner"]},
            "parcel_id": {"type": "integer"}, "renewal_code": {"type": ["string", "null"]},
            "postal_code": {"type": ["string", "null"]}, "plate": {"type": "string"},
            "land_use": {"type": ["string", "null"]}, "street_id": {"type": "integer"}, "name": {"type": "string"},
            "lon": {"type": "number"}, "lat": {"type": "number"}}},
        "ParcelSheet": {"type": "object", "required": ["id", "measured_area", "geometry", "frontages"], "properties": {
            "id": {"type": "integer"}, "renewal_code": {"type": ["string", "null"]},
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
