"""The open-data catalogue: every public dataset and service of the city, as an HTML list and as DCAT-style JSON-LD
(a dcat:Catalog of dcat:Dataset entries with their dcat:Distribution links).

Three sources, read at each request (they change with the data and the registries):

- every public layer of the layer registry (layers/registry.py): its OGC API – Features collection and items, its
  vector tiles' TileJSON and its direct exports (layers/exports.py's formats). Layers with a permission (staff,
  personal data) are never listed: `Layer.is_public` is the same test the layers' own endpoints make;
- every dashboard panel (transparency/registry.py): its CSV;
- whatever the apps registered with `register_dataset` (tariff books, rulebooks, decisions, projects, the reports'
  statistics, ...)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from common import municipality
from common.errors import BadParameter
from common.i18n import is_persian
from common.jalali import persian_digits
from common.templatetags.persian import municipality_name
from layers.registry import LAYERS, Layer
from transparency import registry
from transparency.registry import Dataset, Distribution

LICENSES = {  # SPDX identifiers of the licences datasets name, and where they are
    "CC-BY-4.0": "https://creativecommons.org/licenses/by/4.0/",
    "CC-BY-SA-4.0": "https://creativecommons.org/licenses/by-sa/4.0/",
    "CC0-1.0": "https://creativecommons.org/publicdomain/zero/1.0/",
    "ODbL-1.0": "https://opendatacommons.org/licenses/odbl/1-0/",
}
LICENSE = "CC-BY-4.0"  # the layers' and the dashboards' licence: the registry's default for datasets
# The layers' export formats as the catalogue names them (layers/exports.py FORMATS: the keys are the ?format=).
EXPORT_NAMES = {"gpkg": "GeoPackage", "shp": "Shapefile (ZIP)", "geojson": "GeoJSON", "csv": "CSV (WKT)",
                "fgb": "FlatGeobuf"}
CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}


@dataclass(frozen=True)
class Link:
    title: str
    url: str                 # absolute
    media_type: str
    format: str
    service: bool
    note: str = ""


@dataclass(frozen=True)
class Entry:
    key: str
    title: str
    description: str
    keywords: tuple[str, ...]
    license: str             # the licence's URL
    license_name: str
    modified: dt.datetime | dt.date | None
    theme: str
    links: tuple[Link, ...]
    page: str = ""           # a page people read about it (dcat:landingPage), absolute

    @property
    def notes(self) -> list[str]:
        """The links' notes, each once (the page says them under the list)."""
        return list(dict.fromkeys(link.note for link in self.links if link.note))


def license_url(name: str) -> str:
    return name if name.startswith(("http://", "https://")) else LICENSES.get(name, "")


def _absolute(request, dist: Distribution) -> str:
    url = reverse(dist.url_name, args=dist.args)
    return request.build_absolute_uri(url + (f"?{dist.query}" if dist.query else ""))


def _link(request, dist: Distribution, note: str = "") -> Link:
    return Link(str(dist.title), _absolute(request, dist), dist.media_type, dist.format, dist.service, note)


# --- the three sources ---------------------------------------------------------------------------------------------

def public_layers() -> list[Layer]:
    return [layer for layer in LAYERS.values() if layer.is_public]


def _changed(layers: list[Layer]) -> dict[str, dt.datetime | None]:
    """When each layer's data last changed (its tables' version rows, layers/versions.py), in one query."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_name, changed_at FROM layers_tableversion")
        by_table = dict(cursor.fetchall())
    return {layer.name: max((by_table[t] for t in layer.sources if by_table.get(t)), default=None)
            for layer in layers}


def export_formats(layer: Layer) -> list[str]:
    """The export formats the exporter accepts for the layer alone (a Shapefile holds one geometry type): its own
    check, asked, rather than its rules repeated."""
    from layers.exports import FORMATS, ExportRequest, check_request

    out = []
    for code in FORMATS:
        try:
            check_request(ExportRequest([layer], code, None, None, None, {}))
        except BadParameter:
            continue
        out.append(code)
    return out


def layer_distributions(layer: Layer) -> list[Distribution]:
    from layers.exports import FORMATS

    name = layer.name
    out = [Distribution(_("OGC API – Features collection"), "application/json", "layers:ogc_collection", (name,),
                        "OGC API Features", service=True),
           Distribution(_("Features as GeoJSON, page by page (OGC API – Features items)"), "application/geo+json",
                        "layers:ogc_items", (name,), "GeoJSON", query="f=json", service=True),
           Distribution(_("Vector tiles (TileJSON)"), "application/json", "layers:tilejson", (name,),
                        "TileJSON / MVT", service=True)]
    for code in export_formats(layer):
        spec = FORMATS[code]
        out.append(Distribution(_("Download: %(format)s") % {"format": EXPORT_NAMES.get(code, code)},
                                spec.content_type.split(";")[0], "layers:export", (),
                                EXPORT_NAMES.get(code, code), query=f"layers={name}&format={code}"))
    return out


def _count(number: int) -> str:
    text = f"{number:,}"
    return persian_digits(text.replace(",", "٬")) if is_persian() else text


def layer_entries(request) -> list[Entry]:
    layers = public_layers()
    changed = _changed(layers)
    english = not is_persian()
    note = _("Direct downloads of up to %(count)s features; a larger selection is made as a job "
             "(POST /api/layers/export/jobs).") % {"count": _count(settings.EXPORT_SYNC_MAX_FEATURES)}
    out = []
    for layer in layers:
        title = (layer.title_en if english else layer.title) or layer.title
        fields = pgettext("list separator", ", ").join((f.title_en if english else f.title) for f in layer.fields)
        description = (layer.description_en if english and layer.description_en else
                       _("The map layer “%(title)s”, its attributes: %(fields)s.") % {"title": title,
                                                                                     "fields": fields})
        links = tuple(_link(request, d, note if d.url_name == "layers:export" else "")
                      for d in layer_distributions(layer))
        out.append(Entry(f"layer-{layer.name}", title, description, (title, _("map")),
                         license_url(LICENSE), LICENSE, changed.get(layer.name), _("Map layers"), links,
                         request.build_absolute_uri(reverse("layers:ogc_collection", args=[layer.name]) + "?f=html")))
    return out


def panel_entries(request) -> list[Entry]:
    page = request.build_absolute_uri(reverse("transparency:dashboards"))
    out = []
    for panel in registry.panels():
        link = Link(_("Table as CSV"), request.build_absolute_uri(reverse("transparency:dashboard_csv",
                                                                          args=[panel.key])),
                    "text/csv", "CSV", False)
        out.append(Entry(f"dashboard-{panel.key}", str(panel.title), str(panel.description),
                         tuple(str(k) for k in panel.keywords), license_url(LICENSE), LICENSE,
                         panel.modified(), _("Performance dashboards"), (link,), f"{page}#{panel.key}"))
    return out


def registered_entries(request) -> list[Entry]:
    return [Entry(d.key, str(d.title), str(d.description), tuple(str(k) for k in d.keywords), license_url(d.license),
                  d.license, d.modified(), str(d.theme), tuple(_link(request, dist) for dist in d.distributions()),
                  _landing(request, d))
            for d in registry.datasets()]


def _landing(request, dataset: Dataset) -> str:
    return request.build_absolute_uri(reverse(dataset.page)) if dataset.page else ""


def entries(request) -> list[Entry]:
    return layer_entries(request) + registered_entries(request) + panel_entries(request)


# --- DCAT as JSON-LD -----------------------------------------------------------------------------------------------

def _text(value: str) -> dict:
    return {"@value": value, "@language": (get_language() or "fa")[:2]}


def _date(value) -> dict | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return {"@value": timezone.localtime(value).isoformat(timespec="seconds") if timezone.is_aware(value)
                else value.isoformat(timespec="seconds"), "@type": "xsd:dateTime"}
    return {"@value": value.isoformat(), "@type": "xsd:date"}


def _publisher() -> dict:
    city = municipality.current()
    names = [{"@value": city.name, "@language": "fa"}]
    if city.name_en:
        names.append({"@value": city.name_en, "@language": "en"})
    return {"@type": "foaf:Organization", "foaf:name": names}


def _distribution(link: Link) -> dict:
    out = {"@type": "dcat:Distribution", "dct:title": _text(link.title), "dcat:accessURL": {"@id": link.url},
           "dcat:mediaType": {"@id": f"https://www.iana.org/assignments/media-types/{link.media_type}"},
           "dct:format": link.format}
    if not link.service:
        out["dcat:downloadURL"] = {"@id": link.url}
    if link.note:
        out["dct:description"] = _text(link.note)
    return out


def as_jsonld(request) -> dict:
    home = request.build_absolute_uri(reverse("transparency:catalogue"))
    datasets = []
    for entry in entries(request):
        item = {"@id": f"{home}#{entry.key}", "@type": "dcat:Dataset", "dct:identifier": entry.key,
                "dct:title": _text(entry.title), "dct:description": _text(entry.description),
                "dcat:keyword": [_text(k) for k in (*entry.keywords, entry.theme) if k], "dct:publisher": _publisher(),
                "dcat:distribution": [_distribution(link) for link in entry.links]}
        if entry.license:
            item["dct:license"] = {"@id": entry.license}
        if entry.modified is not None:
            item["dct:modified"] = _date(entry.modified)
        if entry.page:
            item["dcat:landingPage"] = {"@id": entry.page}
        datasets.append(item)
    return {"@context": CONTEXT, "@id": home, "@type": "dcat:Catalog",
            "dct:title": _text(_("Open data of %(municipality)s") % {"municipality": municipality_name()}),
            "dct:description": _text(_("Every public dataset and service of the city: map layers with their OGC API "
                                       "and download links, statistics as CSV, tariff books, rulebooks, decisions "
                                       "and projects.")),
            "dct:publisher": _publisher(),
            "dct:language": {"@id": f"http://id.loc.gov/vocabulary/iso639-1/{(get_language() or 'fa')[:2]}"},
            "foaf:homepage": {"@id": request.build_absolute_uri("/")},
            "dcat:dataset": datasets}

