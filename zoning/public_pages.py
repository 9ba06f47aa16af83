"""The detailed plan's rules in the open (شفافیت: ضوابط طرح تفصیلی): the rulebook versions over time, each version's
rules by zone with their citations and amendments, the difference between any two versions with the parcels it
reaches (counted, and on a map), the versions as files, and their entry in the open-data catalogue (registered from
ZoningConfig.ready()).

The rule comparison is zoning/rulebook_diff.py's (pure); the parcel counts and pages are zoning/queries.py's SQL over
the maintained overlay rows (zoning_parceloverlay.zone_code, indexed), so a page is a handful of statements whatever
the size of the city, and the map gets the parcels a bounded page at a time.
"""

from __future__ import annotations

import datetime as dt

import tomli_w
from django.db.models import Count, Max
from django.utils.functional import lazy
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from common.errors import BadParameter, NotFound
from zoning import queries, rulebook_diff
from zoning.models import Rule, Rulebook
from zoning.rules import ALL_ZONES, RULE_KINDS, RuleValueError, check_value

RULE_FIELDS = ("zone_code", "key", "value", "document", "article", "effective_from")


def versions():
    """Every rulebook version, oldest first, with its rules counted and its last amendment's date (one query)."""
    return (Rulebook.objects.annotate(rule_count=Count("rules"), last_change=Max("rules__effective_from"))
            .order_by("effective_from", "id"))


def get_version(pk: int) -> Rulebook:
    found = Rulebook.objects.filter(pk=pk).first()
    if found is None:
        raise NotFound(_("No rulebook version %(id)s.") % {"id": pk})
    return found


def _rules(*books: Rulebook) -> dict[int, list[dict]]:
    """The rules of these versions as plain rows, by version (one query)."""
    out: dict[int, list[dict]] = {b.pk: [] for b in books}
    for row in Rule.objects.filter(rulebook__in=books).values("rulebook_id", *RULE_FIELDS):
        out[row.pop("rulebook_id")].append(row)
    return out


class Words:
    """Rule names and values as people read them, in the request's language (zoning.service.RuleWords)."""

    def __init__(self):
        from zoning.service import RuleWords

        self._words = RuleWords()

    def value(self, key: str, value) -> str:
        try:
            return self._words.value(key, check_value(key, value))
        except (RuleValueError, KeyError):      # a row edited into something the kinds refuse: shown as stored
            return str(value)

    @staticmethod
    def title(key: str) -> str:
        kind = RULE_KINDS.get(key)
        if kind is None:
            return key
        from common.i18n import is_persian

        return kind.title_fa if is_persian() else kind.title_en


def _shown(rule: dict | None, words: Words) -> dict | None:
    if rule is None:
        return None
    return {**rule, "value_text": words.value(rule["key"], rule["value"])}


def _zone_title(code: str) -> str:
    return str(_("Every zone (unless a zone sets its own)")) if code == ALL_ZONES else code


def version_page(book: Rulebook) -> dict:
    """The rules of one version by zone, each rule with its citation and its amendments in time order."""
    words = Words()
    rows = _rules(book)[book.pk]
    by_zone: dict[str, dict[str, list[dict]]] = {}
    order = {k: i for i, k in enumerate(RULE_KINDS)}
    for row in sorted(rows, key=lambda r: (rulebook_diff.zone_order(r["zone_code"]), order.get(r["key"], 99),
                                           r["key"], r["effective_from"])):
        by_zone.setdefault(row["zone_code"], {}).setdefault(row["key"], []).append(_shown(row, words))
    zones = [{"code": code, "title": _zone_title(code),
              "rules": [{"key": key, "title": words.title(key), "entries": entries, "current": entries[-1]}
                        for key, entries in rules.items()]}
             for code, rules in by_zone.items()]
    changes = [{**a, "title": words.title(a["key"]), "zone_title": _zone_title(a["zone_code"]),
                "old": _shown(a["old"], words), "new": _shown(a["new"], words)}
               for a in rulebook_diff.amendments(rows)]
    return {"zones": zones, "amendments": changes}


def check_pair(old_pk: int, new_pk: int) -> tuple[Rulebook, Rulebook]:
    """The two versions a comparison names: 400 for a version compared with itself, 404 for one that does not exist."""
    if old_pk == new_pk:
        raise BadParameter(_("Choose two different versions to compare (both are %(id)s).") % {"id": old_pk})
    found = {b.pk: b for b in Rulebook.objects.filter(pk__in=[old_pk, new_pk])}
    for pk in (old_pk, new_pk):
        if pk not in found:
            raise NotFound(_("No rulebook version %(id)s.") % {"id": pk})
    return found[old_pk], found[new_pk]


def affected_zones(old: Rulebook, new: Rulebook, rules: dict[int, list[dict]] | None = None) -> list[str]:
    rules = rules or _rules(old, new)
    return rulebook_diff.affected_zones(rules[old.pk], rules[new.pk], queries.city_zone_codes())


def diff_page(old: Rulebook, new: Rulebook) -> dict:
    """What changed from one version to the other, zone by zone, with the parcels it reaches."""
    words = Words()
    rules = _rules(old, new)
    zones = []
    for zone in rulebook_diff.diff_rulebooks(rules[old.pk], rules[new.pk], list(RULE_KINDS)):
        zones.append({"code": zone.zone_code, "title": _zone_title(zone.zone_code), "changes": [
            {"key": c.key, "title": words.title(c.key), "status": c.status, "old": _shown(c.old, words),
             "new": _shown(c.new, words), "value_changed": c.value_changed, "citation_changed": c.citation_changed}
            for c in zone.changes]})
    codes = affected_zones(old, new, rules)
    counts = queries.parcels_by_zone(codes)
    return {"zones": zones, "affected": [{"code": c, "parcels": counts.get(c, 0)} for c in codes],
            "parcels": sum(counts.values()), "extent": queries.zones_extent(codes)}


def map_config(old: Rulebook, new: Rulebook, affected: list[str], extent) -> dict:
    """What the change map draws: the zones' vector tiles (at their data version) with the reached codes
    highlighted, and where to fetch the reached parcels a view at a time."""
    from django.conf import settings
    from django.urls import reverse

    from layers.registry import LAYERS
    from layers.tiles import layer_versions

    zoning = LAYERS["zoning"]
    return {"codes": affected, "extent": extent, "min_zoom": zoning.tile_min_zoom,
            "tiles": f"/tiles/zoning/{{z}}/{{x}}/{{y}}.pbf?v={layer_versions([zoning])['zoning']}",
            "parcels": reverse("zoning:rulebook_change_parcels") + f"?from={old.pk}&to={new.pk}",
            "parcel_zoom": PARCEL_ZOOM, "basemap": settings.BASEMAP_URL, "attribution": settings.BASEMAP_ATTRIBUTION}


PARCEL_ZOOM = 15       # the map asks for the reached parcels from this zoom on (below, the zones show where)


def parcels_geojson(old: Rulebook, new: Rulebook, box, after: int, limit: int) -> dict:
    """A page of the parcels the change reaches (in `box` if given), as GeoJSON with the next page's `after`."""
    codes = affected_zones(old, new)
    found = queries.parcels_in_zones(codes, box, after, limit + 1)
    more = len(found) > limit
    found = found[:limit]
    return {"type": "FeatureCollection", "zones": codes,
            "features": [{"type": "Feature", "id": r["id"], "geometry": r["geometry"],
                          "properties": {"id": r["id"], "zone_code": r["zone_code"], "renewal_code": r["renewal_code"]}}
                         for r in found],
            "numberReturned": len(found), "next_after": found[-1]["id"] if more else None}


# -- a version as a file ---------------------------------------------------------------------------------------------

def rulebook_toml(book: Rulebook) -> str:
    """The version as a file `manage.py load_rulebook` reads back (zoning.rulebook.parse_rulebook): each rule as
    `[zones."<code>".<key>]` tables, a rule with amendments as an array of them."""
    head = {"code": book.code, "title": book.title, "title_en": book.title_en, "document": book.document,
            "effective_from": book.effective_from, "is_demo": book.is_demo}
    if book.effective_to:
        head["effective_to"] = book.effective_to
    zones: dict[str, dict[str, list[dict]]] = {}
    for row in sorted(_rules(book)[book.pk], key=lambda r: (rulebook_diff.zone_order(r["zone_code"]), r["key"],
                                                            r["effective_from"])):
        entry = {"value": row["value"], "article": row["article"]}
        if row["document"] != book.document:
            entry["document"] = row["document"]
        if row["effective_from"] != book.effective_from:
            entry["effective_from"] = row["effective_from"]
        zones.setdefault(row["zone_code"], {}).setdefault(row["key"], []).append(entry)
    data = {"rulebook": head, "zones": {z: {k: e[0] if len(e) == 1 else e for k, e in rules.items()}
                                        for z, rules in zones.items()}}
    return (f"# {book.title_en or book.title}\n# Rulebook version {book.code} as the portal publishes it; "
            f"manage.py load_rulebook reads this file.\n" + tomli_w.dumps(data))


# -- the open-data catalogue ------------------------------------------------------------------------------------------

def _text(msgid: str, **params):
    return lazy(lambda: gettext(msgid) % params, str)()


def _distributions():
    from transparency.registry import Distribution

    return [Distribution(_text(gettext_noop("Rulebook %(code)s (TOML, as the loader reads it)"), code=code),
                         "application/toml", "zoning:rulebook_toml", (pk,), "TOML")
            for pk, code in Rulebook.objects.order_by("effective_from", "id").values_list("pk", "code")]


def _modified() -> dt.datetime | None:
    return Rulebook.objects.aggregate(at=Max("loaded_at"))["at"]


def register() -> None:
    from transparency.registry import Dataset, register_dataset

    register_dataset(Dataset(
        key="rulebooks", title=_("Detailed-plan rulebooks"),
        description=_("The rules of the detailed plan by zone (land uses, floor-area ratio, coverage, height, "
                      "subdivision minimums, hazards) with the clause each one cites, every version and amendment."),
        distributions=_distributions, modified=_modified, keywords=("zoning", "detailed plan", "طرح تفصیلی"),
        theme="planning", order=41, extra={"landing_page": "zoning:rulebooks"},
    ))
