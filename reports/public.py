"""What anyone may see of a report: one function builds it, from an explicit list of fields, so no personal data
(the reporter, their number, the followers, who on the staff did what, the exact place of a report about a home) can
reach a public answer by accident. The tracking page, the public map's pop-ups, Open311's GET and the public API all
use it."""

from django.contrib.gis.geos import Point
from django.utils.translation import gettext as _

from common import geo
from common.i18n import is_persian
from reports import workflow
from reports.models import Event, Photo, Report

PUBLIC_EVENT_KINDS = ("status", "reopen", "merge", "rating")


def _iso(value):
    return value.isoformat() if value else None


def lonlat(point: Point) -> tuple[float, float]:
    moved = Point(point.x, point.y, srid=point.srid)
    moved.transform(geo.coord_transform(point.srid, 4326))
    return round(moved.x, 6), round(moved.y, 6)


def photo_url(photo: Photo, thumb: bool = False) -> str:
    return f"/reports/photos/{photo.public_id}{'-thumb' if thumb else ''}.jpg"


def public_photos(report: Report, photos=None) -> list[dict]:
    """The report's approved photos (a photo is public only once a moderator approved it, and once processed: see
    reports/photos.py). A list of reports may prefetch_related("photos"): then no query per report, the same filter
    and order; so may the caller that holds them all (`photos`: a report just made)."""
    cached = photos if photos is not None else getattr(report, "_prefetched_objects_cache", {}).get("photos")
    if cached is not None:
        photos = sorted((p for p in cached if p.moderation == Photo.Moderation.APPROVED
                         and p.state == Photo.State.READY), key=lambda p: (p.created_at, p.id))
    else:
        photos = report.photos.filter(moderation=Photo.Moderation.APPROVED,
                                      state=Photo.State.READY).order_by("created_at", "id")
    return [{"url": photo_url(p), "thumbnail": photo_url(p, thumb=True), "kind": p.kind, "width": p.width,
             "height": p.height} for p in photos]


def timeline(report: Report, events=None) -> list[dict]:
    """The public steps: when it changed status (with the staff's public word), was reopened, merged or rated.
    `events`: the report's events when the caller has them all (a report just made), instead of reading them."""
    labels = dict(Report.Status.choices)
    out = []
    if events is None:
        events = Event.objects.filter(report=report, public=True, kind__in=PUBLIC_EVENT_KINDS).order_by("at", "id")
    else:
        events = sorted((e for e in events if e.public and e.kind in PUBLIC_EVENT_KINDS), key=lambda e: (e.at, e.pk or 0))
    for e in events:
        out.append({"at": _iso(e.at), "kind": e.kind, "status": e.to_status or None,
                    "status_label": str(labels.get(e.to_status, "")) if e.to_status else None,
                    "note": e.note if e.kind in ("status", "reopen", "merge") else None})
    return out


def public_doc(report: Report, *, with_timeline: bool = True, events=None, photos=None) -> dict:
    """The public view of one report (JSON-ready). The place is `public_geom` (a home's report: its block).
    `events`, `photos`: all of them, when the caller holds them (a report just made; see timeline)."""
    lon, lat = lonlat(report.public_geom)
    category = report.category
    doc = {
        "tracking_code": report.tracking_code,
        "category": {"code": category.code, "name": category.name, "name_en": category.name_en or category.name,
                     "colour": category.colour},
        "status": report.status,
        "status_label": str(Report.Status(report.status).label),
        "open": workflow.is_open(report.status),
        "description": report.description if not category.private_place else None,
        "lon": lon, "lat": lat,
        "place_is_approximate": category.private_place,
        "district": (report.district.name if is_persian() else (report.district.name_en or report.district.name))
        if report.district_id else None,
        "created_at": _iso(report.created_at), "updated_at": _iso(report.updated_at),
        "resolved_at": _iso(report.resolved_at), "closed_at": _iso(report.closed_at),
        "due_at": _iso(report.due_at),
        "voices": report.voices,
        "status_note": report.status_note or None,
        "merged_into": report.merged_into.tracking_code if report.merged_into_id else None,
        "rating": report.rating,
        "photos": public_photos(report, photos),
    }
    if with_timeline:
        doc["timeline"] = timeline(report, events)
    return doc


def not_public_note() -> str:
    return _("Reports about homes are shown at their block, without their description.")


def map_center() -> list[float]:
    """[lat, lon] the reports' maps open on: the middle of the loaded city (its parcels' extent), else the configured
    map centre (MAP_CENTER_LAT/LON) for a database without parcels."""
    from django.conf import settings

    from layers.geojson import city_extent

    bbox = (city_extent() or {}).get("bbox")
    if bbox and all(v is not None for v in bbox):
        return [(bbox[1] + bbox[3]) / 2, (bbox[0] + bbox[2]) / 2]
    center = settings.LEAFLET_CONFIG["DEFAULT_CENTER"]
    return [center[0], center[1]]


BASE_LAYERS = ("districts", "blocks", "streets", "parcels")


def base_layers() -> dict:
    """The city's own layers the reports' maps draw under the reports (vector tiles with their data versions)."""
    from layers.registry import portal_layers
    from layers.tiles import layer_versions

    base = [layer for layer in portal_layers() if layer.name in BASE_LAYERS]
    return {"layers": [{"name": layer.name, "min_zoom": layer.tile_min_zoom} for layer in base],
            "versions": layer_versions(base)}
