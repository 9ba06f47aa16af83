"""Site visits: what an inspector found on the parcel, where they stood (the phone's position, or a click on the map),
whether the building matches its permit (inspections for a completion certificate) and the photos they took (stored
as documents of kind "site_photo" through the documents part, permits.files.add_document). A visit is a case event
("visited") naming its photos, so the case's history shows it; approving the visit step is the step's own action."""

from __future__ import annotations

import math

from django.contrib.gis.gdal import GDALException
from django.contrib.gis.geos import GEOSException
from django.contrib.gis.geos import Point
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from common import municipality
from common.errors import BadParameter
from permits import service
from permits.models import Case, CaseEvent, Document, SiteVisit

PHOTO_KIND = "site_photo"
MAX_PHOTOS = 10
FAR_M = 500   # a position further than this from the parcel is refused (a wrong fix, another street)


def point_from(lon: float | None, lat: float | None) -> Point | None:
    """The visit's place in the municipality's CRS from WGS84 longitude and latitude (both or neither)."""
    if lon is None and lat is None:
        return None
    if lon is None or lat is None:
        raise BadParameter(_("Give both the longitude and the latitude of the visit, or neither."))
    if not (-180 <= lon <= 180 and -85 <= lat <= 85):
        raise BadParameter(_("The visit's position is not a longitude and latitude."))
    try:
        point = Point(lon, lat, srid=4326)
        point.transform(municipality.current().srid)
    except (GEOSException, GDALException):
        raise BadParameter(_("The visit's position is not a longitude and latitude.")) from None
    if not (math.isfinite(point.x) and math.isfinite(point.y)):
        raise BadParameter(_("The visit's position is not a longitude and latitude."))
    return point


def check(case: Case, *, by, findings: str, point: Point | None = None) -> str:
    """Refuse a visit that cannot be stored (before its photos are uploaded): staff who may act on the case,
    findings written, the point near the parcel. Returns the findings, stripped."""
    if not service.may_act(by, case):
        raise service.NotAllowed(_("Only staff at the desk that holds this case may record a visit."))
    findings = (findings or "").strip()
    if not findings:
        raise BadParameter(_("Write what you found on the site."))
    if point is not None and case.parcel.geom.distance(point) > FAR_M:
        raise BadParameter(_("The position is %(m)s m from the parcel: check the location and try again.")
                           % {"m": round(case.parcel.geom.distance(point))})
    return findings


def record(case: Case, *, by, findings: str, point: Point | None = None, matches_permit: bool | None = None,
           photos: list[Document] = (), now=None) -> SiteVisit:
    """Store a visit by `by` (staff who may act on the case): findings required, the point near the parcel."""
    findings = check(case, by=by, findings=findings, point=point)
    now = now or timezone.now()
    with transaction.atomic():
        visit = SiteVisit.objects.create(case=case, inspector=by, at=now, point=point, findings=findings[:4000],
                                         matches_permit=matches_permit)
        if photos:
            visit.photos.set(photos)
        data = {"visit": visit.pk, "matches_permit": matches_permit}
        if point is not None:
            wgs = point.transform(4326, clone=True)
            data.update(lon=round(wgs.x, 7), lat=round(wgs.y, 7))
        CaseEvent.objects.create(case=case, at=now, kind=CaseEvent.Kind.VISITED, actor=by,
                                 desk=case.desk.code if case.desk else "", note=findings[:4000],
                                 documents=[p.pk for p in photos], data=data, internal=True)
        Case.objects.filter(pk=case.pk).update(updated_at=now)
    return visit


def add_photos(case: Case, uploads, *, by) -> list[Document]:
    """Each uploaded photo as a document of kind site_photo (checked by content by the documents part)."""
    from permits import files  # the documents part (permits/files.py)

    if len(uploads) > MAX_PHOTOS:
        raise BadParameter(_("At most %(n)s photos per visit.") % {"n": MAX_PHOTOS})
    return [files.add_document(case=case, kind=PHOTO_KIND, upload=upload, by=by, step=case.step)
            for upload in uploads]
