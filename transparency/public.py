"""What anyone may see of a decision, a project and a comment: built here from explicit lists of fields (never a
model dumped whole), for the pages, the GeoJSON and the CSV alike. A comment shows its pseudonym, its text and its
date; nothing of its author. Places leave the server in WGS84."""

from __future__ import annotations

import csv
import io
import json

from django.conf import settings
from django.contrib.gis.db.models.functions import AsGeoJSON, Transform
from django.urls import reverse

from common.i18n import is_persian
from transparency import service
from transparency.models import Comment, Decision, Project

GEOJSON_MAX = 5000  # features in one GeoJSON answer (a city has hundreds of projects, not thousands)
CSV_MAX = 50_000
BASE_LAYERS = ("blocks", "streets", "parcels")
STATUS_COLOURS = {"planned": "#1565c0", "in_progress": "#ef6c00", "done": "#2e7d32", "suspended": "#757575",
                  "under_review": "#6a1b9a", "approved": "#2e7d32", "rejected": "#c62828", "amended": "#ef6c00",
                  "revoked": "#757575"}


def decision_doc(d: Decision) -> dict:
    return {"id": d.pk, "number": d.number, "year": d.year, "date": d.decided_on.isoformat(), "session": d.session,
            "title": d.title, "title_en": d.title_en, "status": d.status,
            "status_label": str(Decision.Status(d.status).label), "budget": d.budget, "demo": d.demo,
            "url": reverse("transparency:decision", args=[d.pk])}


def project_doc(p: Project) -> dict:
    return {"id": p.pk, "code": p.code, "title": p.title, "title_en": p.title_en, "status": p.status,
            "status_label": str(Project.Status(p.status).label), "budget": p.budget, "spent": p.spent,
            "starts": p.starts_on.isoformat() if p.starts_on else None,
            "ends": p.ends_on.isoformat() if p.ends_on else None, "department": p.department,
            "progress": p.progress, "demo": p.demo, "colour": STATUS_COLOURS.get(p.status, "#37474f"),
            "url": reverse("transparency:project", args=[p.pk])}


def comment_doc(c: Comment) -> dict:
    return {"id": c.pk, "shown_as": service.shown_as(c), "body": c.body, "created_at": c.created_at,
            "state": c.state}


def wgs84_geometry(obj) -> dict | None:
    """The object's place as a GeoJSON geometry in WGS84 (7 decimals: about a centimetre), or None."""
    if obj.geom is None:
        return None
    geom = obj.geom.transform(4326, clone=True)
    return json.loads(geom.json)


def _features(queryset, doc) -> tuple[list[dict], bool]:
    rows = list(queryset.annotate(wgs=AsGeoJSON(Transform("geom", 4326), precision=7))[:GEOJSON_MAX + 1])
    truncated = len(rows) > GEOJSON_MAX
    return [{"type": "Feature", "id": row.pk, "geometry": json.loads(row.wgs) if row.wgs else None,
             "properties": doc(row)} for row in rows[:GEOJSON_MAX]], truncated


def feature_collection(kind: str) -> tuple[dict, bool]:
    """Every decision or project as GeoJSON features (at most GEOJSON_MAX: `truncated` says when there were more)."""
    if kind == "decision":
        features, truncated = _features(Decision.objects.order_by("-decided_on", "-id"), decision_doc)
    else:
        features, truncated = _features(Project.objects.order_by("-starts_on", "-id"), project_doc)
    return {"type": "FeatureCollection", "features": features}, truncated


def _cell(value) -> str:
    """A CSV cell that a spreadsheet will not run: text starting with = + - @ gets a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_text(kind: str) -> str:
    out = io.StringIO()
    out.write("\ufeff")  # spreadsheets take the file as UTF-8 (Persian text) only with the BOM
    writer = csv.writer(out)
    if kind == "decision":
        writer.writerow(["id", "number", "year", "date", "session", "title", "title_en", "status", "budget_rials",
                         "projects", "url", "wkt_wgs84"])
        rows = (Decision.objects.prefetch_related("projects").order_by("-decided_on", "-id")[:CSV_MAX])
        for d in rows:
            writer.writerow([d.pk, _cell(d.number), d.year, d.decided_on.isoformat(), _cell(d.session),
                             _cell(d.title), _cell(d.title_en), d.status, d.budget if d.budget is not None else "",
                             ";".join(p.code for p in d.projects.all()),
                             reverse("transparency:decision", args=[d.pk]), _wkt(d)])
    else:
        writer.writerow(["id", "code", "title", "title_en", "status", "budget_rials", "spent_rials", "starts",
                         "ends", "department", "progress_percent", "url", "wkt_wgs84"])
        for p in Project.objects.order_by("-starts_on", "-id")[:CSV_MAX]:
            writer.writerow([p.pk, p.code, _cell(p.title), _cell(p.title_en), p.status,
                             p.budget if p.budget is not None else "", p.spent if p.spent is not None else "",
                             p.starts_on.isoformat() if p.starts_on else "",
                             p.ends_on.isoformat() if p.ends_on else "", _cell(p.department), p.progress,
                             reverse("transparency:project", args=[p.pk]), _wkt(p)])
    return out.getvalue()


def _wkt(obj) -> str:
    if obj.geom is None:
        return ""
    return obj.geom.transform(4326, clone=True).wkt


def map_config() -> dict:
    """What the maps need: the centre of the loaded city, the base map and the city's own layers as vector tiles
    at their data versions."""
    from layers.geojson import city_extent
    from layers.registry import portal_layers
    from layers.tiles import layer_versions

    bbox = (city_extent() or {}).get("bbox")
    if bbox and all(v is not None for v in bbox):
        center = [(bbox[1] + bbox[3]) / 2, (bbox[0] + bbox[2]) / 2]
    else:
        center = list(settings.LEAFLET_CONFIG["DEFAULT_CENTER"])
    base = [layer for layer in portal_layers() if layer.name in BASE_LAYERS]
    return {"lang": "fa" if is_persian() else "en", "center": center, "basemapUrl": settings.BASEMAP_URL,
            "basemapAttribution": settings.BASEMAP_ATTRIBUTION,
            "layers": [{"name": layer.name, "min_zoom": layer.tile_min_zoom} for layer in base],
            "versions": layer_versions(base)}
