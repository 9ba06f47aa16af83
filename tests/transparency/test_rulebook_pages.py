"""The public rulebook pages (/transparency/rulebooks/…) and the parcels a change reaches: two versions built from the
demo rulebook with one rule changed; the diff names exactly that rule, the parcels counted and served are exactly
those of its zone, a change of an all-zones rule reaches the zones without their own, the files load back, no
personal data, and the bad addresses."""

import datetime as dt

import lxml.html
import pytest

from parcels.models import LandUse
from tests.conftest import ROOT
from zoning.models import ParcelOverlay, Rule, Rulebook
from zoning.rulebook import parse_rulebook, save_rulebook
from zoning.rulebook_diff import standing

pytestmark = pytest.mark.django_db

DEMO = ROOT / "data" / "rulebook" / "demo.toml"
START_B = dt.date(2026, 12, 22)


def land_uses():
    return set(LandUse.objects.values_list("code", flat=True))


def make_version(code, start, rules, title_en):
    book = Rulebook.objects.create(code=code, title=f"نسخه {code}", title_en=title_en, document="سند آزمون",
                                   effective_from=start, is_demo=True)
    Rule.objects.bulk_create(Rule(rulebook=book, **{**r, "effective_from": max(r["effective_from"], start)})
                             for r in rules)
    return book


@pytest.fixture
def versions(demo_city, db):
    """A: the demo rulebook as loaded (with its amendment of R121's FAR). B: A's rules as they stand, from START_B,
    with R121's maximum coverage 60 → 50. C: B with the all-zones maximum height 21 → 18."""
    parsed = parse_rulebook(DEMO, land_uses())
    parsed.code = "test-plan-a"
    a = save_rulebook(parsed)
    rules = [{k: r[k] for k in ("zone_code", "key", "value", "document", "article", "effective_from")}
             for r in standing(list(a.rules.values())).values()]
    coverage = next(r for r in rules if (r["zone_code"], r["key"]) == ("R121", "max_coverage"))
    assert coverage["value"] == 60
    b_rules = [{**r, "value": 50} if r is coverage else r for r in rules]
    b = make_version("test-plan-b", START_B, b_rules, "Plan B")
    height = next(r for r in b_rules if (r["zone_code"], r["key"]) == ("*", "max_height"))
    assert height["value"] == 21
    c = make_version("test-plan-c", START_B + dt.timedelta(days=1),
                     [{**r, "value": 18} if r is height else r for r in b_rules], "Plan C")
    return a, b, c


@pytest.fixture
def en(client):
    client.cookies["django_language"] = "en"
    return client


def _tree(response):
    return lxml.html.fromstring(response.content.decode())


def test_the_diff_shows_exactly_the_changed_rule(versions, en):
    a, b, _c = versions
    response = en.get(f"/transparency/rulebooks/diff/?from={a.pk}&to={b.pk}")
    assert response.status_code == 200
    tree = _tree(response)
    zones = tree.xpath('//*[@data-testid="zone-changes"]')
    assert [z.get("data-zone") for z in zones] == ["R121"]
    rows = zones[0].xpath('.//*[@data-testid="rule-change"]')
    assert [(r.get("data-key"), r.get("data-status")) for r in rows] == [("max_coverage", "changed")]
    assert [d.text_content() for d in rows[0].xpath(".//del")] == ["60%"]
    assert [i.text_content() for i in rows[0].xpath(".//ins")] == ["50%"]
    # the same pair the other way round is the same rule, back
    tree = _tree(en.get(f"/transparency/rulebooks/diff/?from={b.pk}&to={a.pk}"))
    assert [i.text_content() for i in tree.xpath('//*[@data-testid="rule-change"]//ins')] == ["60%"]


def test_the_parcels_reached_are_those_of_the_changed_zone(versions, en):
    a, b, _c = versions
    expected = set(ParcelOverlay.objects.filter(zone_code="R121").values_list("parcel_id", flat=True))
    assert expected
    tree = _tree(en.get(f"/transparency/rulebooks/diff/?from={a.pk}&to={b.pk}"))
    assert tree.xpath('//*[@data-testid="affected-count"]')[0].get("data-count") == str(len(expected))
    assert [r.get("data-zone") for r in tree.xpath('//*[@data-testid="affected-zones"]/tbody/tr')] == ["R121"]
    assert tree.xpath('//*[@data-testid="change-map"]') and tree.xpath('//script[@id="change-map-config"]')
    # the parcels served a page at a time: every one of them, once, and nothing else
    seen, after, pages = [], 0, 0
    while after is not None:
        response = en.get(f"/api/zoning/rulebooks/changes/parcels?from={a.pk}&to={b.pk}&limit=100&after={after}")
        assert response.status_code == 200 and response["Content-Type"] == "application/geo+json"
        data = response.json()
        assert data["numberReturned"] <= 100 and data["zones"] == ["R121"]
        assert all(f["properties"]["zone_code"] == "R121" and f["geometry"]["type"] in ("Polygon", "MultiPolygon")
                   for f in data["features"])
        seen += [f["id"] for f in data["features"]]
        after, pages = data["next_after"], pages + 1
    assert len(seen) == len(set(seen)) and set(seen) == expected
    assert pages == len(expected) // 100 + 1
    # in a box: the box around one reached parcel finds it
    from parcels.models import Parcel

    parcel = Parcel.objects.get(pk=min(expected))
    x, y = parcel.geom.transform(4326, clone=True).point_on_surface.coords
    box = f"{x - 1e-5},{y - 1e-5},{x + 1e-5},{y + 1e-5}"
    data = en.get(f"/api/zoning/rulebooks/changes/parcels?from={a.pk}&to={b.pk}&bbox={box}").json()
    assert parcel.pk in [f["id"] for f in data["features"]] and set(f["id"] for f in data["features"]) <= expected
    far = en.get(f"/api/zoning/rulebooks/changes/parcels?from={a.pk}&to={b.pk}&bbox=-170,-80,-169,-79").json()
    assert far["features"] == []


def test_an_all_zones_rule_reaches_the_zones_without_their_own(versions, en):
    _a, b, c = versions
    own = set(Rule.objects.filter(rulebook=b, key="max_height").exclude(zone_code="*")
              .values_list("zone_code", flat=True))
    assert {"R111", "R121"} <= own
    from zoning.models import Zone

    city = (set(ParcelOverlay.objects.exclude(zone_code="").values_list("zone_code", flat=True).distinct())
            | set(Zone.objects.values_list("code", flat=True)))
    named = set(Rule.objects.filter(rulebook__in=[b, c]).exclude(zone_code="*").values_list("zone_code", flat=True))
    expected_zones = sorted((city | named) - own)          # the city's zones and those the plan names (C1 has none drawn)
    assert expected_zones
    tree = _tree(en.get(f"/transparency/rulebooks/diff/?from={b.pk}&to={c.pk}"))
    assert [z.get("data-zone") for z in tree.xpath('//*[@data-testid="zone-changes"]')] == ["*"]
    reached = [r.get("data-zone") for r in tree.xpath('//*[@data-testid="affected-zones"]/tbody/tr')]
    assert reached == expected_zones
    count = ParcelOverlay.objects.filter(zone_code__in=reached).count()
    assert tree.xpath('//*[@data-testid="affected-count"]')[0].get("data-count") == str(count)


def test_a_version_page_lists_rules_by_zone_with_citations_and_amendments(versions, en):
    a, b, _c = versions
    tree = _tree(en.get(f"/transparency/rulebooks/{a.pk}/"))
    tables = {t.get("data-zone"): t for t in tree.xpath('//*[@data-testid="zone-rules"]')}
    assert set(tables) == set(a.rules.values_list("zone_code", flat=True))
    far = tables["R121"].xpath('.//tr[@data-key="max_far"]')[0].text_content()
    assert "200%" in far and "مصوبه کمیسیون ماده ۵ (اصلاحیه نمایشی)" in far and "amended once" in far
    amendments = tree.xpath('//*[@data-testid="amendments"]/tbody/tr')
    expected = a.rules.count() - len(standing(list(a.rules.values())))
    assert len(amendments) == expected == 1
    assert "180%" in amendments[0].text_content() and "200%" in amendments[0].text_content()
    tree = _tree(en.get(f"/transparency/rulebooks/{b.pk}/"))
    assert not tree.xpath('//*[@data-testid="amendments"]')
    listed = [r.get("data-id") for r in _tree(en.get("/transparency/rulebooks/")).xpath(
        '//*[@data-testid="versions"]/tbody/tr')]
    assert listed.index(str(a.pk)) < listed.index(str(b.pk))      # over time, oldest first


def test_the_files_load_back(versions, en, tmp_path):
    for book in versions:
        response = en.get(f"/transparency/rulebooks/{book.pk}.toml")
        assert response.status_code == 200 and response["Content-Type"].startswith("application/toml")
        path = tmp_path / f"{book.code}.toml"
        path.write_bytes(response.content)
        parsed = parse_rulebook(path, land_uses())          # what manage.py load_rulebook reads (checks included)
        assert (parsed.code, parsed.effective_from, parsed.document) == (book.code, book.effective_from, book.document)
        stored = sorted((r.zone_code, r.key, repr(r.value), r.document, r.article, r.effective_from)
                        for r in book.rules.all())
        assert sorted((r["zone_code"], r["key"], repr(r["value"]), r["document"], r["article"], r["effective_from"])
                      for r in parsed.rules) == stored


def test_no_personal_data_on_the_anonymous_pages(versions, client):
    from parcels.models import Owner

    a, b, _c = versions
    # what would identify a person: national ids, mobiles, full names (a last name alone can be a word, e.g. کشاورز)
    owners = [(o.national_id, o.phone, f"{o.first_name} {o.last_name}")
              for o in Owner.objects.exclude(national_id="").exclude(first_name="")[:300]]
    assert owners
    for url in ("/transparency/rulebooks/", f"/transparency/rulebooks/{a.pk}/",
                f"/transparency/rulebooks/diff/?from={a.pk}&to={b.pk}",
                f"/api/zoning/rulebooks/changes/parcels?from={a.pk}&to={b.pk}&limit=2000"):
        response = client.get(url)
        assert response.status_code == 200
        body = response.content.decode()
        found = [o for o in owners if o[0] in body or (o[1] and o[1] in body) or o[2] in body]
        assert not found, (url, found)
    props = client.get(f"/api/zoning/rulebooks/changes/parcels?from={a.pk}&to={b.pk}").json()["features"][0]
    assert set(props["properties"]) == {"id", "zone_code", "renewal_code"}


def test_bad_addresses(versions, en):
    a, b, _c = versions
    same = en.get(f"/transparency/rulebooks/diff/?from={a.pk}&to={a.pk}")
    assert same.status_code == 400 and "Choose two different versions" in same.content.decode()
    for query in (f"from={a.pk}", "from=abc&to=2", f"from={a.pk}&to=-3", "", f"from={a.pk}&to=1.5"):
        assert en.get(f"/transparency/rulebooks/diff/?{query}").status_code == 400, query
    missing = Rulebook.objects.order_by("-pk").first().pk + 100
    gone = en.get(f"/transparency/rulebooks/diff/?from={a.pk}&to={missing}")
    assert gone.status_code == 404 and f"No rulebook version {missing}." in gone.content.decode()
    assert en.get(f"/transparency/rulebooks/{missing}/").status_code == 404
    assert en.get(f"/transparency/rulebooks/{missing}.toml").status_code == 404
    api = en.get(f"/api/zoning/rulebooks/changes/parcels?from={a.pk}&to={a.pk}")
    assert api.status_code == 400 and api.json()["error"] == "bad_parameter"
    assert en.get(f"/api/zoning/rulebooks/changes/parcels?from={a.pk}&to={missing}").json()["error"] == "not_found"
    assert en.get(f"/api/zoning/rulebooks/changes/parcels?from={a.pk}&to={b.pk}&limit=5000").status_code == 400
    assert en.get(f"/api/zoning/rulebooks/changes/parcels?from={a.pk}&to={b.pk}&bbox=1,2,3").status_code == 400


def test_catalogue_entry_lists_every_version_file(versions):
    from django.urls import reverse

    from transparency.registry import DATASETS

    urls = {reverse(d.url_name, args=d.args) for d in DATASETS["rulebooks"].distributions()}
    assert {f"/transparency/rulebooks/{v.pk}.toml" for v in versions} <= urls
    assert DATASETS["rulebooks"].modified() is not None
