"""One search box: renewal code (whole or a prefix), registered plate, postal code, street and plaque; owner names
only for staff allowed to see personal data (and then the search is recorded).

What people type is normalised first (parcels.identifiers.normalize_text): Persian and Arabic digits, ي/ی and ك/ک,
half-spaces, hyphens, spaces or slashes between code segments.
"""

import re

from django.conf import settings
from django.contrib.gis.db.models.functions import PointOnSurface, Transform
from django.db.models import F, Q, Value
from django.db.models.functions import Replace

from parcels import identifiers, privacy
from parcels.models import Owner, Parcel, Street

LIMIT = 10


def search(query: str, request=None, limit: int = LIMIT) -> list[dict]:
    text = identifiers.normalize_text(query or "")
    if not text:
        return []
    found: list[dict] = []
    seen: set[int] = set()

    def add(parcels, kind):
        for p in parcels.annotate(pt=Transform(PointOnSurface("geom"), 4326)).select_related("land_use")[:limit]:
            if p.pk in seen or len(found) >= limit:
                continue
            seen.add(p.pk)
            found.append({"type": kind, "parcel_id": p.pk, "renewal_code": p.renewal_code,
                          "postal_code": p.postal_code, "plate": p.plate,
                          "land_use": p.land_use.name_fa if p.land_use else None,
                          "lon": round(p.pt.x, 7), "lat": round(p.pt.y, 7)})

    plate = re.fullmatch(r"(\d+)\s*/\s*(\d+)(?:\s*/\s*(\d+))?", text)
    if plate:
        section, main, sub = (int(v) if v else None for v in plate.groups())
        filters = Q(plate_section=section, plate_main=main) | Q(plate_main=section, plate_sub=main)
        if sub is not None:
            filters = Q(plate_section=section, plate_main=main, plate_sub=sub)
        add(Parcel.objects.filter(filters).order_by("plate_section", "plate_main", "plate_sub"), "plate")

    if re.fullmatch(r"\d+(?:[\s\-_.]+\d+)*", text):
        parts = re.split(r"[\s\-_.]+", text)
        compact = "".join(parts)
        widths = settings.RENEWAL_CODE_WIDTHS
        if len(parts) == len(widths) or (len(parts) == 1 and len(compact) == sum(widths)):
            try:
                add(Parcel.objects.filter(renewal_code=identifiers.normalize_renewal_code(text)), "renewal_code")
            except identifiers.ValidationError:
                pass
        if 1 < len(parts) < len(widths) and all(len(p) <= w for p, w in zip(parts, widths)):
            # A prefix typed segment by segment: the last segment may still be partial.
            full = [p.zfill(w) for p, w in zip(parts[:-1], widths)]
            prefix = "-".join(full + [parts[-1]])
            add(Parcel.objects.filter(renewal_code__startswith=prefix).order_by("renewal_code"), "renewal_code")
        if len(parts) == 1 and 5 <= len(compact) <= 10:
            add(Parcel.objects.filter(postal_code__startswith=compact).order_by("postal_code"), "postal_code")

    staff = request is not None and privacy.may_see_personal_data(request.user)
    if staff and re.fullmatch(r"\d{10,11}", text):
        _owner_parcels(Owner.objects.filter(national_id=text), add, found, request)

    address = re.fullmatch(r"(.*?\D)\s*(?:پلاک\s*)?(\d+)", text)
    if address and len(address.group(1).strip()) >= 2:
        street, plaque = address.group(1).strip(), address.group(2)
        add(Parcel.objects.filter(addresses__street__in=_streets_named(street), addresses__plaque=plaque)
            .order_by("renewal_code"), "address")
    elif not re.search(r"\d", text) and len(text) >= 2:
        if staff:
            words = text.split()
            owners = Owner.objects.all()
            for word in words:  # every word of the name must match
                owners = owners.filter(Q(last_name__icontains=word) | Q(first_name__icontains=word)
                                       | Q(legal_name__icontains=word))
            _owner_parcels(owners, add, found, request)
        for s in (_streets_named(text).order_by("name")
                  .annotate(pt=Transform(PointOnSurface("geom"), 4326))[: limit]):
            if len(found) < limit:
                found.append({"type": "street", "street_id": s.pk, "name": s.name, "lon": round(s.pt.x, 7),
                              "lat": round(s.pt.y, 7)})
    return found[:limit]


def _streets_named(text: str):
    """Streets whose name contains the text, half-spaces (ZWNJ) in stored names counting as spaces."""
    return Street.objects.annotate(plain=Replace(F("name"), Value("\u200c"), Value(" "))).filter(plain__icontains=text)


def _owner_parcels(owners, add, found, request) -> None:
    parcels = Parcel.objects.filter(ownerships__owner__in=owners).distinct().order_by("renewal_code")
    before = len(found)
    add(parcels, "owner")
    if len(found) > before:
        privacy.record_access(request, "owner_search")
