"""OGC API – Features (Part 1 Core with GeoJSON and HTML, Part 2 CRS by reference) over the layer registry, under
/ogc/: what QGIS (3.22+) and GDAL's OAPIF driver open as a live layer.

Pages are built in PostGIS (json_agg + ST_AsGeoJSON, PERFORMANCE.md) and ordered by id so limit/offset paging is
stable. `numberMatched` is an exact count cached by the layer table's data version (bumped by a trigger on every
write) and the query, so it costs one count per query and data change, not one per page; layers without a version
(views over computed results) leave it out, as the standard allows. Protected layers answer 401 with a Basic
challenge, which QGIS and GDAL answer from their authentication settings.
"""

import hashlib
import json

from django.conf import settings
from django.core.cache import cache, caches
from django.db import connection
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from common.errors import BadParameter, NotFound, json_errors
from layers import tiles
from layers.access import layer_for, request_user
from layers.exports import check_bbox, check_srid, typed_value
from layers.registry import Layer, layers_for

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
]
DEFAULT_LIMIT = 100
ITEM_PARAMS = {"f", "limit", "offset", "after", "bbox", "bbox-crs", "crs"}


def supported_crs() -> list[str]:
    return [CRS84, f"{EPSG}4326", f"{EPSG}{settings.MUNICIPALITY_SRID}", f"{EPSG}3857"]


def parse_crs(uri: str | None, param: str) -> tuple[int, bool]:
    """(SRID, whether coordinates are latitude first) of a CRS URI we serve; 400 for the others."""
    if uri in (None, "", CRS84, "[OGC:CRS84]"):
        return 4326, False
    if uri not in supported_crs():
        raise BadParameter(f"{param} {uri!r} is not supported; use one of: {', '.join(supported_crs())}")
    srid = check_srid(uri.rsplit("/", 1)[1])
    return srid, srid == 4326  # EPSG:4326 is latitude, longitude by definition


def wants_html(request) -> bool:
    f = request.GET.get("f")
    if f:
        if f not in ("json", "html"):
            raise BadParameter("f must be json or html")
        return f == "html"
    accept = request.headers.get("Accept", "")
    return "text/html" in accept and "json" not in accept.split("text/html")[0]


def url(request, path: str, **params) -> str:
    from urllib.parse import urlencode

    query = urlencode({k: v for k, v in params.items() if v is not None})
    return request.build_absolute_uri(path) + (f"?{query}" if query else "")


def respond(request, data: dict, template_title: str, content_type: str = "application/json", headers=None):
    if wants_html(request):
        response = render(request, "layers/ogc.html", {"title": template_title, "data": data,
                                                      "pretty": json.dumps(data, ensure_ascii=False, indent=2)})
    else:
        response = HttpResponse(json.dumps(data, ensure_ascii=False), content_type=content_type)
    for key, value in (headers or {}).items():
        response[key] = value
    return response


@require_GET
@json_errors
def landing(request):
    base = "/ogc/"
    data = {
        "title": f"{settings.MUNICIPALITY_NAME_EN}: layers (OGC API – Features)",
        "description": "The municipality's published layers, from the layer registry.",
        "links": [
            {"href": url(request, base), "rel": "self", "type": "application/json", "title": "This document"},
            {"href": url(request, base, f="html"), "rel": "alternate", "type": "text/html", "title": "as HTML"},
            {"href": url(request, base + "api"), "rel": "service-desc",
             "type": "application/vnd.oai.openapi+json;version=3.0", "title": "OpenAPI description"},
            {"href": url(request, base + "conformance"), "rel": "conformance", "type": "application/json",
             "title": "Conformance classes"},
            {"href": url(request, base + "collections"), "rel": "data", "type": "application/json",
             "title": "Collections"},
        ],
    }
    return respond(request, data, data["title"])


@require_GET
def api(request):
    """This API's own OpenAPI description (layers/openapi_spec.py)."""
    from layers.openapi_spec import ogc_spec

    return HttpResponse(json.dumps(ogc_spec(), ensure_ascii=False),
                        content_type="application/vnd.oai.openapi+json;version=3.0")


@require_GET
@json_errors
def conformance(request):
    return respond(request, {"conformsTo": CONFORMANCE}, "Conformance")


def extent(layer: Layer) -> list[float] | None:
    """The layer's extent in longitude/latitude, cached by its data version."""
    key = f"ogc-extent:{layer.name}:{tiles.layer_version(layer)}"
    value = cache.get(key)
    if value is None:
        with connection.cursor() as cursor:
            cursor.execute(
                f'SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Transform(ST_SetSRID('
                f'ST_Extent(geom)::geometry, %s), 4326) AS e FROM "{layer.table}") x', [settings.MUNICIPALITY_SRID])
            row = cursor.fetchone()
        value = [round(v, 6) for v in row] if row and row[0] is not None else []
        cache.set(key, value, 3600)
    return value or None


def collection_doc(request, layer: Layer) -> dict:
    base = f"/ogc/collections/{layer.name}"
    english = request.LANGUAGE_CODE != "fa" if hasattr(request, "LANGUAGE_CODE") else False
    bbox = extent(layer)
    return {
        "id": layer.name,
        "title": layer.title_en if english else layer.title,
        "description": layer.description_en or f"{layer.title_en} ({layer.title})",
        "itemType": "feature",
        "crs": supported_crs(),
        "storageCrs": f"{EPSG}{settings.MUNICIPALITY_SRID}",
        "extent": {"spatial": {"bbox": [bbox] if bbox else [], "crs": CRS84}},
        "properties": [{"name": f.name, "type": f.type, "title": f.title, "title_en": f.title_en,
                        "filterable": f.filterable} for f in layer.fields],
        "links": [
            {"href": url(request, base), "rel": "self", "type": "application/json", "title": layer.title_en},
            {"href": url(request, base + "/items"), "rel": "items", "type": "application/geo+json",
             "title": "Features"},
            {"href": url(request, base + "/items", f="html"), "rel": "items", "type": "text/html",
             "title": "Features as HTML"},
        ],
    }


@require_GET
@json_errors
def collections(request):
    visible = layers_for(request_user(request))
    data = {
        "links": [{"href": url(request, "/ogc/collections"), "rel": "self", "type": "application/json",
                   "title": "Collections"}],
        "collections": [collection_doc(request, layer) for layer in visible],
    }
    return respond(request, data, "Collections")


@require_GET
@json_errors
def collection(request, name):
    layer = layer_for(request, name)
    return respond(request, collection_doc(request, layer), layer.title_en)


def where_clause(layer: Layer, request) -> tuple[str, list]:
    """SQL conditions from bbox (+ bbox-crs) and property filters; 400 for unknown parameters or fields."""
    where, params = [], []
    for name in request.GET:
        if name not in ITEM_PARAMS and layer.field(name) is None:
            raise BadParameter(f"Unknown parameter {name!r}; parameters: {', '.join(sorted(ITEM_PARAMS))} and the "
                               f"layer's fields: {', '.join(f.name for f in layer.fields)}")
    if request.GET.get("bbox"):
        srid, lat_first = parse_crs(request.GET.get("bbox-crs"), "bbox-crs")
        raw = request.GET["bbox"]
        try:
            box = [float(v) for v in raw.split(",")]
        except ValueError:
            raise BadParameter(f"bbox {raw!r} must be four numbers") from None
        if len(box) != 4:
            raise BadParameter(f"bbox {raw!r} must be four numbers (minx,miny,maxx,maxy)")
        if lat_first:
            box = [box[1], box[0], box[3], box[2]]
        if srid == 4326:
            box = list(check_bbox(box))
        elif not (box[0] < box[2] and box[1] < box[3]):
            raise BadParameter(f"bbox {raw!r}: min must be below max")
        where.append("t.geom && ST_Transform(ST_MakeEnvelope(%s, %s, %s, %s, %s), %s)")
        params += [*box, srid, settings.MUNICIPALITY_SRID]
    for name, value in request.GET.items():
        f = layer.field(name)
        if f is None:
            continue
        if not f.filterable:
            raise BadParameter(f"Field {name!r} cannot be used in a filter")
        where.append(f"{f.sql} = %s")
        params.append(typed_value(f, value))
    return (" WHERE " + " AND ".join(where)) if where else "", params


def number_matched(layer: Layer, where: str, params: list, version: int) -> int | None:
    """The exact count of a query, cached until the layer's data version changes."""
    if not layer.versioned:
        return None  # a view without a data version: a cached count could go stale
    key = "ogc-count:" + hashlib.sha1(f"{layer.name}:{version}:{where}:{params}".encode()).hexdigest()
    count = cache.get(key)
    if count is None:
        with connection.cursor() as cursor:
            cursor.execute(f'SELECT count(*) FROM "{layer.table}" t{where}', params)
            count = cursor.fetchone()[0]
        cache.set(key, count, 24 * 3600)
    return count


def features_sql(layer: Layer, where: str, srid: int, lat_first: bool) -> str:
    """A page of features as GeoJSON text made in PostGIS, ordered by id, and (returned, last id, more after it,
    the table's data version: read in the same round trip, for the cached count).
    Parameters: the where clause's, then limit + 1, offset, limit (one row more than the page tells whether a
    next page exists without a count)."""
    digits = 7 if srid == 4326 else 2
    geom = f"ST_Transform(hits.geom, {int(srid)})"
    # Named fields, not to_jsonb(row) minus the geometry: that would encode every geometry as hex only to drop it.
    properties = ", ".join(f"'{f.name}', hits.{f.name}" for f in layer.fields)
    if lat_first:
        geom = f"ST_FlipCoordinates({geom})"
    return f"""
        WITH page AS (
            SELECT {", ".join(layer.columns)}, t.id AS "__fid", t.geom FROM "{layer.table}" t{where}
            ORDER BY t.id LIMIT %s OFFSET %s
        ),
        hits AS (SELECT * FROM page ORDER BY "__fid" LIMIT %s)
        SELECT COALESCE(json_agg(json_build_object(
            'type', 'Feature', 'id', hits."__fid",
            'geometry', ST_AsGeoJSON({geom}, {digits})::json,
            'properties', json_build_object({properties})
        ) ORDER BY hits."__fid"), '[]'::json)::text, count(*), max(hits."__fid"),
        (SELECT count(*) FROM page) > count(*),
        (SELECT version FROM layers_tableversion WHERE table_name = '{layer.table}')
        FROM hits
    """


def parse_int(request, name: str, default: int | None, low: int, high: int) -> int | None:
    raw = request.GET.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadParameter(f"{name} {raw!r} must be a whole number") from None
    if not low <= value <= high:
        raise BadParameter(f"{name} must be between {low} and {high}")
    return value


@require_GET
@json_errors
def items(request, name):
    """A page of features. `next` links continue after the page's last id (`after=`), so deep pages cost no more
    than the first (an offset would make the database skip every earlier feature again)."""
    layer = layer_for(request, name)
    # Pages of public layers are kept under the layer's data version (a write bumps it, so a kept page is never
    # stale): QGIS asks for the same pages again at every pan and zoom back.
    cache_key = None
    if layer.is_public and layer.versioned and not wants_html(request):
        cache_key = _page_key(layer, tiles.layer_version(layer), request)
        hit = caches["ogc"].get(cache_key)
        if hit is not None:
            response = HttpResponse(hit[0], content_type="application/geo+json")
            response["Content-Crs"] = hit[1]
            return response
    limit = parse_int(request, "limit", min(DEFAULT_LIMIT, layer.max_features), 1, layer.max_features)
    offset = parse_int(request, "offset", 0, 0, 10**9)
    after = parse_int(request, "after", None, 0, 2**63 - 1)
    srid, lat_first = parse_crs(request.GET.get("crs"), "crs")
    where, params = where_clause(layer, request)
    page_where, page_params = where, params
    if after is not None:
        page_where = (where + " AND" if where else " WHERE") + " t.id > %s"
        page_params = [*params, after]
    with connection.cursor() as cursor:
        cursor.execute(features_sql(layer, page_where, srid, lat_first), [*page_params, limit + 1, offset, limit])
        features, returned, last_id, more, version = cursor.fetchone()
    matched = number_matched(layer, where, params, version or 0)
    base = f"/ogc/collections/{layer.name}/items"
    query = {k: v for k, v in request.GET.items() if k not in ("offset", "after", "f")}
    here = {"offset": offset or None, "after": after}
    links = [{"href": url(request, base, **query, **here), "rel": "self", "type": "application/geo+json",
              "title": "This page"},
             {"href": url(request, base, **query, **here, f="html"), "rel": "alternate", "type": "text/html",
              "title": "This page as HTML"}]
    if more:
        links.append({"href": url(request, base, **query, after=last_id), "rel": "next",
                      "type": "application/geo+json", "title": "Next page"})
    if offset > 0 and after is None:
        links.append({"href": url(request, base, **query, offset=max(offset - limit, 0) or None), "rel": "prev",
                      "type": "application/geo+json", "title": "Previous page"})
    from django.utils import timezone

    head = {"type": "FeatureCollection", "timeStamp": timezone.now().isoformat(timespec="seconds"),
            "numberReturned": returned, "links": links}
    if matched is not None:
        head["numberMatched"] = matched
    crs_uri = CRS84 if srid == 4326 and not lat_first else f"{EPSG}{srid}"
    headers = {"Content-Crs": f"<{crs_uri}>"}
    if wants_html(request):
        head["features"] = json.loads(features)
        return respond(request, head, f"{layer.title_en}: features", headers=headers)
    # The features array is spliced in as the text PostGIS made: no parse and re-serialise in Python.
    text = json.dumps(head, ensure_ascii=False)[:-1] + ', "features": ' + features + "}"
    if cache_key is not None:  # under the version the page was read at (the same statement)
        caches["ogc"].set(_page_key(layer, version or 0, request), (text, headers["Content-Crs"]))
    response = HttpResponse(text, content_type="application/geo+json")
    response["Content-Crs"] = headers["Content-Crs"]
    return response


def _page_key(layer: Layer, version: int, request) -> str:
    return "ogc-page:" + hashlib.sha1(
        f"{layer.name}:{version}:{request.get_host()}:{request.get_full_path()}".encode()).hexdigest()


@require_GET
@json_errors
def item(request, name, fid):
    layer = layer_for(request, name)
    srid, lat_first = parse_crs(request.GET.get("crs"), "crs")
    with connection.cursor() as cursor:
        cursor.execute(features_sql(layer, " WHERE t.id = %s", srid, lat_first), [fid, 1, 0, 1])
        features, returned, *_ = cursor.fetchone()
    if not returned:
        raise NotFound(f"Layer {name!r} has no feature {fid}")
    feature = json.loads(features)[0]
    base = f"/ogc/collections/{layer.name}"
    feature["links"] = [
        {"href": url(request, f"{base}/items/{fid}"), "rel": "self", "type": "application/geo+json"},
        {"href": url(request, base), "rel": "collection", "type": "application/json"},
    ]
    crs_uri = CRS84 if srid == 4326 and not lat_first else f"{EPSG}{srid}"
    return respond(request, feature, f"{layer.title_en} {fid}", "application/geo+json",
                   {"Content-Crs": f"<{crs_uri}>"})
