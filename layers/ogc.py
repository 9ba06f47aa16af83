"""OGC API – Features (Part 1 Core with GeoJSON and HTML, Part 2 CRS by reference) over the layer registry, under
/ogc/: what QGIS (3.22+) and GDAL's OAPIF driver open as a live layer.

This module is the protocol, as pygeoapi's api/ is: request parsing, links, paging, rendering as JSON or HTML, and
the views. The SQL is in layers/ogc_provider.py. Pages are ordered by id so limit/offset paging is stable.
`numberMatched` is an exact count cached by the layer table's data version (bumped by a trigger on every write) and
the query, so it costs one count per query and data change, not one per page; layers without a version (views over
computed results) leave it out, as the standard allows. Protected layers answer 401 with a Basic challenge, which
QGIS and GDAL answer from their authentication settings. Errors are raised and rendered as JSON by common.edge.
"""

import hashlib
import json

from django.conf import settings
from django.core.cache import caches
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from common import geo, municipality, params
from common.errors import BadParameter, NotFound
from common.i18n import is_persian
from layers import ogc_provider as provider
from layers.access import layer_for, request_user
from layers.exports import check_srid, typed_value
from layers.registry import LAYERS, Layer, layers_for

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
    return [CRS84, f"{EPSG}4326", f"{EPSG}{municipality.current().srid}", f"{EPSG}3857"]


def parse_crs(request, param: str) -> tuple[int, bool]:
    """(SRID, whether coordinates are latitude first) of the CRS URI in `param`, if we serve it; 400 for the
    others."""
    uri = params.text(request.GET, param)
    if uri in ("", CRS84, "[OGC:CRS84]"):
        return 4326, False
    if uri not in supported_crs():
        raise BadParameter(_("%(param)s '%(uri)s' is not supported; use one of: %(crs)s")
                           % {"param": param, "uri": uri, "crs": ", ".join(supported_crs())})
    srid = check_srid(uri.rsplit("/", 1)[1])
    return srid, srid == 4326  # EPSG:4326 is latitude, longitude by definition


def wants_html(request) -> bool:
    f = params.choice(request.GET, "f", ("json", "html"))
    if f:
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
def landing(request):
    base = "/ogc/"
    data = {
        "title": f"{municipality.current().name_en}: layers (OGC API – Features)",
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
def conformance(request):
    return respond(request, {"conformsTo": CONFORMANCE}, "Conformance")


def collection_doc(request, layer: Layer) -> dict:
    base = f"/ogc/collections/{layer.name}"
    english = not is_persian()
    bbox = provider.extent(layer)
    return {
        "id": layer.name,
        "title": layer.title_en if english else layer.title,
        "description": layer.description_en or f"{layer.title_en} ({layer.title})",
        "itemType": "feature",
        "crs": supported_crs(),
        "storageCrs": f"{EPSG}{municipality.current().srid}",
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
def collections(request):
    visible = layers_for(request_user(request))
    data = {
        "links": [{"href": url(request, "/ogc/collections"), "rel": "self", "type": "application/json",
                   "title": "Collections"}],
        "collections": [collection_doc(request, layer) for layer in visible],
    }
    return respond(request, data, "Collections")


@require_GET
def collection(request, name):
    layer = layer_for(request, name)
    return respond(request, collection_doc(request, layer), layer.title_en)


def item_query(layer: Layer, request) -> provider.Query:
    """What an items request selects: bbox (+ bbox-crs) and property filters; 400 for unknown parameters or
    fields."""
    for name in request.GET:
        if name not in ITEM_PARAMS and layer.field(name) is None:
            raise BadParameter(_("Unknown parameter '%(name)s'; parameters: %(params)s and the layer's fields: "
                                 "%(fields)s") % {"name": name, "params": ", ".join(sorted(ITEM_PARAMS)),
                                                  "fields": ", ".join(f.name for f in layer.fields)})
    box, box_srid, nothing = None, 4326, False
    if request.GET.get("bbox"):
        box_srid, lat_first = parse_crs(request, "bbox-crs")
        if box_srid == 4326 and not lat_first:
            box = params.bbox(request.GET)
        else:
            box = params.bbox(request.GET, geographic=False)  # four numbers, min below max
            if lat_first:
                box = params.bbox({"bbox": (box[1], box[0], box[3], box[2])})  # and a real lon/lat box
            elif box_srid == 3857:
                box, box_srid = geo.mercator_to_lonlat(box), 4326  # the same box, in longitude/latitude
        if box_srid == 4326:
            box = geo.clip_box(box)  # before any transform: a box far from the city finds nothing
            nothing = box is None
    filters = []
    for name, value in request.GET.items():
        f = layer.field(name)
        if f is None:
            continue
        if not f.filterable:
            raise BadParameter(_("Field '%(field)s' cannot be used in a filter") % {"field": name})
        filters.append((name, typed_value(f, value)))
    return provider.Query(box, box_srid, tuple(filters), nothing)


@require_GET
def items(request, name):
    """A page of features. `next` links continue after the page's last id (`after=`), so deep pages cost no more
    than the first (an offset would make the database skip every earlier feature again)."""
    layer = layer_for(request, name)
    if wants_html(request):
        head, features, crs, _ = items_page(request, layer)
        head["features"] = json.loads(features)
        return respond(request, head, f"{layer.title_en}: features", headers={"Content-Crs": crs})
    text, crs = items_json(request, layer)
    response = HttpResponse(text, content_type="application/geo+json")
    response["Content-Crs"] = crs
    return response


def front_items(request, name):
    """The lean front path's answer (common/front.py) to an anonymous JSON items request of a public layer: what
    `items` answers, without Django's request cycle. Anything else (HTML, protected or unknown layers) is left to
    Django (None)."""
    from common.front import json_answer

    layer = LAYERS.get(name)
    if layer is None or not layer.is_public or wants_html(request):
        return None
    text, crs = items_json(request, layer)
    return json_answer(text, "application/geo+json", [("Content-Crs", crs)])


def items_json(request, layer: Layer) -> tuple[str, str]:
    """The items page as GeoJSON text and its Content-Crs header."""
    # Pages of public layers are kept under the data version of what the query sees (provider.data_version: for a
    # box, the edit regions under it; a write there bumps it, so a kept page is never stale, and an edit elsewhere in
    # the city leaves it kept): QGIS asks for the same pages again at every pan and zoom back.
    version = None
    if layer.is_public and layer.versioned:
        version = provider.data_version(layer, item_query(layer, request))
        hit = caches["ogc"].get(_page_key(layer, version, request))
        if hit is not None:
            return hit
    head, features, crs, read_at = items_page(request, layer, version)
    # The features array is spliced in as the text PostGIS made: no parse and re-serialise in Python.
    text = json.dumps(head, ensure_ascii=False)[:-1] + ', "features": ' + features + "}"
    if version is not None:  # under the version the page was read at (the same statement)
        caches["ogc"].set(_page_key(layer, read_at, request), (text, crs))
    return text, crs


def items_page(request, layer: Layer, version: int | None = None) -> tuple[dict, str, str, int]:
    """The page's head (FeatureCollection members but the features), its features as GeoJSON text, its Content-Crs
    header and the layer's data version it was read at, in one statement (the count too, when none is kept for the
    layer's data `version`)."""
    limit = params.integer(request.GET, "limit", default=min(DEFAULT_LIMIT, layer.max_features), min=1,
                           max=layer.max_features)
    offset = params.integer(request.GET, "offset", default=0, min=0, max=10**9)
    after = params.integer(request.GET, "after", min=0, max=2**63 - 1)
    srid, lat_first = parse_crs(request, "crs")
    query = item_query(layer, request)
    count = version is not None and provider.cached_count(layer, query, version) is None
    page = provider.page(layer, query, srid=srid, lat_first=lat_first, limit=limit, offset=offset, after=after,
                         count=count)
    matched = provider.number_matched(layer, query, page.version, page.matched)
    base = f"/ogc/collections/{layer.name}/items"
    kept = {k: v for k, v in request.GET.items() if k not in ("offset", "after", "f")}  # in every link
    here = {"offset": offset or None, "after": after}
    links = [{"href": url(request, base, **kept, **here), "rel": "self", "type": "application/geo+json",
              "title": "This page"},
             {"href": url(request, base, **kept, **here, f="html"), "rel": "alternate", "type": "text/html",
              "title": "This page as HTML"}]
    if page.more:
        links.append({"href": url(request, base, **kept, after=page.last_id), "rel": "next",
                      "type": "application/geo+json", "title": "Next page"})
    if offset > 0 and after is None:
        links.append({"href": url(request, base, **kept, offset=max(offset - limit, 0) or None), "rel": "prev",
                      "type": "application/geo+json", "title": "Previous page"})
    from django.utils import timezone

    head = {"type": "FeatureCollection", "timeStamp": timezone.now().isoformat(timespec="seconds"),
            "numberReturned": page.returned, "links": links}
    if matched is not None:
        head["numberMatched"] = matched
    crs_uri = CRS84 if srid == 4326 and not lat_first else f"{EPSG}{srid}"
    return head, page.features, f"<{crs_uri}>", page.version


def _page_key(layer: Layer, version: int, request) -> str:
    return "ogc-page:" + hashlib.sha1(
        f"{layer.name}:{version}:{request.get_host()}:{request.get_full_path()}".encode()).hexdigest()


@require_GET
def item(request, name, fid):
    layer = layer_for(request, name)
    srid, lat_first = parse_crs(request, "crs")
    feature = provider.item(layer, fid, srid=srid, lat_first=lat_first)
    if feature is None:
        raise NotFound(_("Layer '%(name)s' has no feature %(fid)s") % {"name": name, "fid": fid})
    base = f"/ogc/collections/{layer.name}"
    feature["links"] = [
        {"href": url(request, f"{base}/items/{fid}"), "rel": "self", "type": "application/geo+json"},
        {"href": url(request, base), "rel": "collection", "type": "application/json"},
    ]
    crs_uri = CRS84 if srid == 4326 and not lat_first else f"{EPSG}{srid}"
    return respond(request, feature, f"{layer.title_en} {fid}", "application/geo+json",
                   {"Content-Crs": f"<{crs_uri}>"})
