"""The open-data catalogue: every public layer with links that work (each followed with the test client), never a
layer with a permission, the dashboards' CSVs and the datasets apps register; the JSON is JSON-LD that an RDF
parser reads as a DCAT catalogue."""

import datetime as dt
import json
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from rdflib import Graph, Literal, URIRef
from rdflib import namespace as ns

from layers.registry import LAYERS
from transparency import registry
from transparency.registry import Dataset, Distribution

pytestmark = pytest.mark.django_db

EN = {"HTTP_COOKIE": "django_language=en"}


def catalogue(client, **headers) -> dict:
    answer = client.get("/transparency/catalogue.json", **headers)
    assert answer.status_code == 200 and answer["Content-Type"].startswith("application/ld+json")
    return json.loads(answer.content)


def graph_of(doc: dict) -> Graph:
    return Graph().parse(data=json.dumps(doc), format="json-ld")


def by_id(doc: dict) -> dict:
    return {d["dct:identifier"]: d for d in doc["dcat:dataset"]}


def urls(dataset: dict) -> list[str]:
    return [d["dcat:accessURL"]["@id"] for d in dataset["dcat:distribution"]]


def path_of(url: str) -> str:
    parts = urlsplit(url)
    assert parts.netloc == "testserver", url
    return parts.path + (f"?{parts.query}" if parts.query else "")


def test_there_are_public_and_protected_layers_to_tell_apart():
    assert {"parcels", "streets", "issued_permits"} <= {n for n, l in LAYERS.items() if l.is_public}
    assert {"parcel_owners", "permit_cases"} <= {n for n, l in LAYERS.items() if not l.is_public}


def test_every_public_layer_is_listed_and_every_link_answers(demo_city, client):
    doc = catalogue(client)
    found = by_id(doc)
    public = [name for name, layer in LAYERS.items() if layer.is_public]
    assert {f"layer-{name}" for name in public} <= set(found)
    for name in public:
        dataset = found[f"layer-{name}"]
        formats = {d["dct:format"] for d in dataset["dcat:distribution"]}
        assert {"OGC API Features", "GeoJSON", "TileJSON / MVT", "GeoPackage", "FlatGeobuf"} <= formats, name
        for dist in dataset["dcat:distribution"]:
            url = dist["dcat:accessURL"]["@id"]
            answer = client.get(path_of(url))
            assert answer.status_code == 200, (url, answer.status_code, answer.content[:300])
            media = dist["dcat:mediaType"]["@id"].rsplit("/media-types/", 1)[1]
            assert answer["Content-Type"].split(";")[0] == media, (url, answer["Content-Type"])
            if "dcat:downloadURL" in dist:   # a file: its answer is an attachment with content
                assert dist["dcat:downloadURL"]["@id"] == url
                body = b"".join(answer.streaming_content) if answer.streaming else answer.content
                assert len(body) > 0


def test_staff_only_layers_never_appear_not_even_for_staff(demo_city, client, role_users):
    protected = [layer for layer in LAYERS.values() if not layer.is_public]
    assert protected
    for headers in ({}, EN):
        client.logout()
        texts = [client.get("/transparency/catalogue.json", **headers).content.decode(),
                 client.get("/transparency/catalogue/", **headers).content.decode()]
        client.force_login(role_users["admin"])   # sees them on the map: never in the open-data catalogue
        texts += [client.get("/transparency/catalogue.json", **headers).content.decode(),
                  client.get("/transparency/catalogue/", **headers).content.decode()]
        for text in texts:
            for layer in protected:
                assert f"layer-{layer.name}" not in text
                assert f"/{layer.name}" not in text and f"layers={layer.name}" not in text
                assert layer.title not in text and layer.title_en not in text


def test_json_is_dcat_json_ld(demo_city, client):
    doc = catalogue(client, **EN)
    assert doc["@context"]["dcat"] == str(ns.DCAT) and doc["@context"]["dct"] == str(ns.DCTERMS)
    g = graph_of(doc)
    catalogs = list(g.subjects(ns.RDF.type, ns.DCAT.Catalog))
    assert catalogs == [URIRef("http://testserver/transparency/catalogue/")]
    datasets = set(g.subjects(ns.RDF.type, ns.DCAT.Dataset))
    assert len(datasets) == len(doc["dcat:dataset"]) and set(g.objects(catalogs[0], ns.DCAT.dataset)) == datasets
    publisher = g.value(catalogs[0], ns.DCTERMS.publisher)
    assert Literal(settings.MUNICIPALITY_NAME, lang="fa") in set(g.objects(publisher, ns.FOAF.name))
    for dataset in datasets:
        assert g.value(dataset, ns.DCTERMS.title) is not None and g.value(dataset, ns.DCTERMS.description) is not None
        assert str(g.value(dataset, ns.DCTERMS.license)).startswith("https://creativecommons.org/licenses/")
        assert g.value(g.value(dataset, ns.DCTERMS.publisher), ns.FOAF.name) is not None
        distributions = list(g.objects(dataset, ns.DCAT.distribution))
        assert distributions, dataset
        for dist in distributions:
            assert (dist, ns.RDF.type, ns.DCAT.Distribution) in g
            assert str(g.value(dist, ns.DCAT.accessURL)).startswith("http://testserver/")
            assert str(g.value(dist, ns.DCAT.mediaType)).startswith("https://www.iana.org/assignments/media-types/")
    # a layer's data has a modification time (its tables' version rows)
    parcels = URIRef("http://testserver/transparency/catalogue/#layer-parcels")
    modified = g.value(parcels, ns.DCTERMS.modified)
    assert modified is not None and isinstance(modified.toPython(), dt.datetime)
    assert list(g.objects(parcels, ns.DCAT.keyword))


def test_the_dashboards_csvs_and_registered_datasets_appear(demo_city, client, monkeypatch):
    def files():
        return [Distribution("Tariff book 1404", "application/toml", "transparency:catalogue_json", format="TOML"),
                Distribution("As CSV", "text/csv", "transparency:dashboard_csv", ("dues_collections",),
                             format="CSV")]

    monkeypatch.setitem(registry.DATASETS, "test-tariffs", Dataset(
        key="test-tariffs", title="Tariff books (test)", description="Every line with its formula.",
        distributions=files, modified=lambda: dt.date(2025, 3, 21), keywords=("dues", "tariffs"),
        license="CC0-1.0"))
    doc = catalogue(client, **EN)
    found = by_id(doc)
    tariffs = found["test-tariffs"]
    assert tariffs["dct:title"]["@value"] == "Tariff books (test)"
    assert tariffs["dct:license"]["@id"] == "https://creativecommons.org/publicdomain/zero/1.0/"
    assert tariffs["dct:modified"] == {"@value": "2025-03-21", "@type": "xsd:date"}
    assert urls(tariffs) == ["http://testserver/transparency/catalogue.json",
                             "http://testserver/transparency/dashboards/dues_collections.csv"]
    assert tariffs["dcat:distribution"][1]["dcat:downloadURL"]["@id"].endswith("/dues_collections.csv")
    # one dataset per dashboard panel, its CSV; the reports' statistics CSVs (registered by reports)
    for panel in registry.panels():
        entry = found[f"dashboard-{panel.key}"]
        assert urls(entry) == [f"http://testserver/transparency/dashboards/{panel.key}.csv"]
        assert entry["dcat:landingPage"]["@id"] == f"http://testserver/transparency/dashboards/#{panel.key}"
    stats = found["reports-statistics"]
    assert set(urls(stats)) >= {f"http://testserver/reports/stats.csv?table={t}" for t in ("category", "month")}
    for url in urls(stats) + [u for p in registry.panels() for u in urls(found[f"dashboard-{p.key}"])]:
        assert client.get(path_of(url)).status_code == 200, url
    # and the HTML list has them all, anonymous
    page = client.get("/transparency/catalogue/", **EN)
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('data-testid="dataset"') == len(doc["dcat:dataset"])
    assert "Tariff books (test)" in html
    assert 'href="http://testserver/transparency/dashboards/permits_issued.csv"' in html
    assert 'href="/transparency/catalogue.json"' in html


def test_catalogue_speaks_the_readers_language(demo_city, client):
    fa = by_id(catalogue(client))["layer-parcels"]
    en = by_id(catalogue(client, **EN))["layer-parcels"]
    assert fa["dct:title"] == {"@value": LAYERS["parcels"].title, "@language": "fa"}
    assert en["dct:title"] == {"@value": LAYERS["parcels"].title_en, "@language": "en"}
