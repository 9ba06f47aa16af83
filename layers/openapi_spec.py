"""OpenAPI of the layers app: PATHS (the `api/` and `tiles/` routes, merged into /api/openapi.json) and OGC_PATHS
(the OGC API – Features under /ogc/, served as that API's own service description at /ogc/api, which the landing
page links as `service-desc` and QGIS reads for the page-size limits)."""

from django.conf import settings

from common.openapi import BBOX, ERROR, SECURITY, SECURITY_SCHEMES, _param, error, framed


def _errors(*codes):
    text = {500: "The export failed on the server (`export_failed`)",
            507: "No room left on the server to write the file (`insufficient_storage`)"}
    out = {}
    for code in codes:
        out.update(error(code, text.get(code)))
    return out


# A layer name as the registry has them (layers/registry.py); the example is the cadastre's, always registered.
LAYER_NAME = {"type": "string", "pattern": "^[a-z][a-z0-9_]*$", "maxLength": 63, "example": "parcels"}
LAYER = _param("layer", "layer name from the registry (GET /api/layers)", LAYER_NAME, "path")
EXPORT_FORMATS = ["gpkg", "shp", "geojson", "csv", "fgb"]
# What an export answers, by format (layers/exports.py FORMATS); several layers in one file-per-layer format, and
# shapefiles, come as a zip.
EXPORT_CONTENT = {"application/geopackage+sqlite3": {}, "application/zip": {}, "application/geo+json": {},
                  "text/csv": {}, "application/flatgeobuf": {}}
# A tile address: zoom 0-22 (layers/tiles.py MAX_ZOOM), x and y 0 to 2^zoom-1 (beyond: 400).
TILE_XYZ = [_param("z", "zoom 0-22", {"type": "integer", "minimum": 0, "maximum": 22, "example": 0}, "path"),
            _param("x", "column, 0 to 2^z-1", {"type": "integer", "minimum": 0, "example": 0}, "path"),
            _param("y", "row, 0 to 2^z-1", {"type": "integer", "minimum": 0, "example": 0}, "path")]

PATHS = {
    "/api/layers": {"get": {
        "summary": "The layer registry: the layers this user may see, with titles, fields and legend",
        "responses": {"200": {"description": "layers", "content": {"application/json": {"schema": {
            "type": "object", "properties": {"layers": {"type": "array",
                                                        "items": {"$ref": "#/components/schemas/LayerInfo"}}}}}}}},
    }},
    "/api/layers/export": {"get": {
        "summary": "Download layers as GeoPackage (QGIS styles inside), zipped Shapefile, GeoJSON, CSV or FlatGeobuf",
        "description": "Any other query parameter is a filter FIELD=VALUE on a filterable field of every layer asked "
                       "for. Checked before anything is written. Several layers in GeoJSON, CSV or FlatGeobuf come "
                       "as a zip of one file per layer. Staff-only layers need a session or HTTP basic sign-in.",
        "parameters": [
            _param("layers", "comma-separated layer names", {"type": "string", "minLength": 1, "maxLength": 1000,
                                                              "example": "parcels"}),
            _param("format", "file format (default gpkg)", {"enum": EXPORT_FORMATS}, required=False),
            _param("srid", "EPSG code of the output CRS (default: the municipality's)",
                   {"type": "string", "maxLength": 200}, required=False),
            _param("district", "only features in this district (code)", {"type": "string", "maxLength": 200},
                   required=False),
            _param("bbox", "minlon,minlat,maxlon,maxlat (WGS84)", {**BBOX, "maxLength": 200}, required=False),
        ],
        "responses": {"200": {"description": "The file, as an attachment with Content-Length (a zip for shapefiles "
                                             "and for several layers in GeoJSON, CSV or FlatGeobuf)",
                              "content": EXPORT_CONTENT},
                      "400": {"description": "Bad parameter, or `export_too_large`: more than EXPORT_SYNC_MAX_FEATURES "
                                             "features (start it as a job)",
                              "content": {"application/json": {"schema": ERROR}}},
                      **_errors(401, 403, 404, 500, 507)},
    }},
    "/tiles/{layer}.json": {"get": {
        "summary": "TileJSON 3.0 of a public layer's vector tiles (add it in QGIS as a vector-tile layer)",
        "parameters": [LAYER],
        "responses": {"200": {"description": "TileJSON", "content": {"application/json": {"schema": {
            "type": "object"}}}}, **_errors(401, 404),
            **error(403, "Not allowed for this user, or a protected layer (only public layers are published as tiles)")},
    }},
    "/api/rasters": {
        "get": {"summary": "Raster layers (DEM, hillshade, orthophoto) and their XYZ tile URLs",
                "responses": {"200": {"description": "rasters", "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"rasters": {"type": "array", "items": {
                        "$ref": "#/components/schemas/RasterInfo"}}}}}}}}},
        "post": {
            "summary": "Upload a GeoTIFF in any CRS (staff with layers.add_raster); kept as a Cloud-Optimized GeoTIFF",
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": ["file", "slug"], "properties": {
                    "file": {"type": "string", "format": "binary"},
                    "slug": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$", "maxLength": 50},
                    "title": {"type": "string", "maxLength": 200}, "title_en": {"type": "string", "maxLength": 200},
                    "kind": {"enum": ["dem", "hillshade", "orthophoto"]},
                    "nodata": {"type": "number", "minimum": -1e38, "maximum": 1e38,
                               "description": "The value of missing pixels, for a file that declares none"}}}}}},
            "responses": {"201": {"description": "The raster; `warnings` name a DEM that seems to hide missing data "
                                                 "as heights (load it again with nodata)",
                                  "content": {"application/json": {"schema": {"allOf": [
                                      {"$ref": "#/components/schemas/RasterInfo"},
                                      {"type": "object", "required": ["warnings"], "properties": {
                                          "warnings": {"type": "array", "items": {"type": "string"}}}}]}}}},
                          **_errors(400, 401, 403)},
        },
    },
    "/tiles/raster/{slug}/{z}/{x}/{y}.png": {"get": {
        "summary": "A 256 px PNG tile of a raster layer (Web Mercator XYZ)",
        "parameters": [_param("slug", "raster slug", {"type": "string", "pattern": "^[A-Za-z0-9_-]+$",
                                                      "maxLength": 50}, "path"),
                       *TILE_XYZ],
        "responses": {"200": {"description": "PNG", "content": {"image/png": {}}},
                      "204": {"description": "The tile lies outside the raster"}, **_errors(400, 404)},
    }},
        "/api/layers/versions": {"get": {"summary": "The data version of every layer",
                                         "responses": {"200": {"description": "layer name -> version", "content": {
                                             "application/json": {"schema": {"type": "object"}}}}}}},
        "/api/layers/tile-versions": {"get": {
            "summary": "How to build the versioned URL of every tile of the public layers (cacheable forever)",
            "description": "A tile's ?v= is the layer's `base` plus, for each of its `tables` (of its `overview`'s `tables` "
                           "at the overview's `zooms`, first to last), the greatest of the table's "
                           "`base` and of the versions of the regions (tiles at `zoom`) under the tile: from `zoom` on "
                           "the region the tile lies in; below, the regions inside it or within `margin` (a share of "
                           "its width, rounded up to whole regions) of it.",
            "responses": {"200": {"description": "the state of the per-tile versions", "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/TileVersions"}}}}}}},
        "/api/city": {"get": {"summary": "The city's extent and size",
                              "responses": {"200": {"description": "bbox (WGS84) and parcel estimate", "content": {
                                  "application/json": {"schema": {"type": "object", "required": ["bbox"]}}}}}}},
}

SCHEMAS = {
    "TileVersions": {"type": "object", "required": ["zoom", "margin", "layers", "tables"], "properties": {
        "zoom": {"type": "integer"}, "margin": {"type": "number"},
        "layers": {"type": "object", "additionalProperties": {
            "type": "object", "required": ["tables", "base"],
            "properties": {"tables": {"type": "array", "items": {"type": "string"}}, "base": {"type": "integer"},
                           "overview": {"type": "object", "required": ["tables", "zooms"], "properties": {
                               "tables": {"type": "array", "items": {"type": "string"}},
                               "zooms": {"type": "array", "items": {"type": "integer"}, "minItems": 2,
                                         "maxItems": 2}}}}}},
        "tables": {"type": "object", "additionalProperties": {
            "type": "object", "required": ["base", "regions"],
            "properties": {"base": {"type": "integer"}, "regions": {"type": "array", "items": {
                "type": "array", "items": {"type": "integer"}, "minItems": 3, "maxItems": 3}}}}}}},
    "LayerInfo": {"type": "object", "required": ["name", "title", "title_en", "fields"], "properties": {
        "name": {"type": "string"}, "title": {"type": "string"}, "title_en": {"type": "string"},
        "public": {"type": "boolean"}, "in_portal": {"type": "boolean"}, "geometry": {"type": "string"},
        "fields": {"type": "array", "items": {"type": "object"}}, "legend": {"type": "array"},
        "ogc_items": {"type": "string"}, "tilejson": {"type": ["string", "null"]}}},
    "RasterInfo": {"type": "object", "required": ["slug", "kind", "tiles"], "properties": {
        "slug": {"type": "string"}, "title": {"type": "string"}, "title_en": {"type": "string"},
        "kind": {"type": "string"}, "srid": {"type": ["integer", "null"]}, "is_demo": {"type": "boolean"},
        "tiles": {"type": "string"}}},
}

# --- OGC API - Features (served at /ogc/api) -------------------------------------------------------------------
F = _param("f", "json (default) or html", {"type": "string", "enum": ["json", "html"]}, required=False)
COLLECTION = _param("collectionId", "layer name", LAYER_NAME, "path")
CRS = _param("crs", "output CRS URI, e.g. http://www.opengis.net/def/crs/EPSG/0/4326 (default CRS84)",
             {"type": "string", "format": "uri"}, required=False)
JSON_OR_HTML = {"application/json": {}, "text/html": {}}
OGC_PATHS = {
    "/ogc/": {"get": {"summary": "Landing page", "parameters": [F],
                      "responses": {"200": {"description": "links", "content": JSON_OR_HTML}, **_errors(400)}}},
    "/ogc/conformance": {"get": {"summary": "Conformance classes (Features Part 1 core, GeoJSON, HTML; Part 2 CRS)",
                                 "parameters": [F],
                                 "responses": {"200": {"description": "conformsTo", "content": JSON_OR_HTML},
                                               **_errors(400)}}},
    "/ogc/collections": {"get": {"summary": "The layers this user may see", "parameters": [F],
                                 "responses": {"200": {"description": "collections", "content": JSON_OR_HTML},
                                               **_errors(400)}}},
    "/ogc/collections/{collectionId}": {"get": {
        "summary": "One layer: title, extent, CRSs, fields", "parameters": [COLLECTION, F],
        "responses": {"200": {"description": "collection", "content": JSON_OR_HTML}, **_errors(400, 401, 403, 404)}}},
    "/ogc/collections/{collectionId}/items": {"get": {
        "summary": "Features, a page at a time (next links); any layer field may be given as FIELD=VALUE filter",
        "parameters": [
            COLLECTION, F, CRS,
            _param("limit", "features per page (default 100, at most the layer's cap)",
                   {"type": "integer", "minimum": 1, "maximum": 5000, "default": 100}, required=False),
            _param("offset", "features to skip", {"type": "integer", "minimum": 0, "default": 0}, required=False),
            _param("after", "continue after this feature id (what next links use: deep pages cost as the first)",
                   {"type": "integer", "minimum": 0}, required=False),
            _param("bbox", "minx,miny,maxx,maxy (in bbox-crs; default CRS84 lon/lat)", {"type": "string"},
                   required=False),
            _param("bbox-crs", "CRS URI of bbox", {"type": "string", "format": "uri"}, required=False),
        ],
        "responses": {"200": {"description": "GeoJSON FeatureCollection with numberReturned, numberMatched and links",
                              "content": {"application/geo+json": {}, "text/html": {}}},
                      **_errors(400, 401, 403, 404)}}},
    "/ogc/collections/{collectionId}/items/{featureId}": {"get": {
        "summary": "One feature", "parameters": [COLLECTION, F, CRS,
                                                 _param("featureId", "feature id", {"type": "integer"}, "path")],
        "responses": {"200": {"description": "GeoJSON Feature", "content": {"application/geo+json": {},
                                                                          "text/html": {}}},
                      **_errors(400, 401, 403, 404)}}},
}


def ogc_spec() -> dict:
    return {
        "openapi": "3.0.3",
        "info": {"title": "Layers: OGC API - Features", "version": "1",
                 "description": "The municipality's registered layers. Staff-only layers answer 401 with an HTTP "
                                "basic challenge."},
        # 405, the HTTP server's 414 and 431, and wrong credentials' 401 and 429, on every operation
        "paths": framed(OGC_PATHS, settings.API_PATH_PREFIXES),
        "security": SECURITY,
        "components": {"schemas": {"Error": {"type": "object", "required": ["error", "message"], "properties": {
            "error": {"type": "string"}, "message": {"type": "string"}}}},
                       "securitySchemes": SECURITY_SCHEMES},
    }
