"""A citizen's properties: the parcels owned by owner records whose national ID the citizen has a verified claim on,
with their own share and the co-owners' shares (never the co-owners' names), and the sections other apps add.

Other apps register a section from their AppConfig.ready():

    from accounts.properties import PropertySection, register
    register(PropertySection(key="dues", title_fa="عوارض نوسازی", title_en="Renewal dues",
                             template="dues/property_section.html", build=build, order=50))

`build(citizen, parcel_ids) -> {parcel_id: context}` is called once per page with every parcel shown (the
citizen's own only); the template is rendered per parcel with `data` (that parcel's context; a parcel missing from
the dict shows nothing), `parcel` (the row below), `citizen` and `section`.
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.gis.db.models.functions import PointOnSurface, Transform
from django.db.models import Prefetch
from django.utils.translation import gettext as _

from accounts.models import Citizen, PropertyLink
from common.errors import NotFound
from parcels.models import Address, Ownership, Parcel


@dataclass(frozen=True)
class PropertySection:
    key: str
    title_fa: str
    title_en: str
    template: str
    build: Callable[[Citizen, list[int]], dict[int, dict]]
    order: int = 100


_sections: dict[str, PropertySection] = {}


def register(section: PropertySection) -> PropertySection:
    """Add a section (registering the same key again replaces it: ready() may run twice in tests)."""
    _sections[section.key] = section
    return section


def unregister(key: str) -> None:
    _sections.pop(key, None)


def sections() -> list[PropertySection]:
    return sorted(_sections.values(), key=lambda s: (s.order, s.key))


def dang(value) -> str:
    """A share in dang as people write it: 2, 1.5, 0.25."""
    return format(Decimal(value).normalize(), "f")


def _national_ids(citizen: Citizen) -> list[str]:
    return list(citizen.links.filter(status=PropertyLink.Status.VERIFIED).values_list("national_id", flat=True))


def parcel_ids(citizen: Citizen) -> list[int]:
    """The ids of the citizen's parcels (verified claims only)."""
    ids = _national_ids(citizen)
    if not ids:
        return []
    return sorted(set(Ownership.objects.filter(owner__national_id__in=ids).values_list("parcel_id", flat=True)))


def _rows(citizen: Citizen, only: list[int] | None = None) -> list[dict]:
    ids = _national_ids(citizen)
    if not ids:
        return []
    owned = Ownership.objects.filter(owner__national_id__in=ids)
    if only is not None:
        owned = owned.filter(parcel_id__in=only)
    own = defaultdict(Decimal)
    for parcel_id, share in owned.values_list("parcel_id", "share_dang"):
        own[parcel_id] += share
    if not own:
        return []
    others = defaultdict(list)
    for parcel_id, share in (Ownership.objects.filter(parcel_id__in=own).exclude(owner__national_id__in=ids)
                             .order_by("parcel_id", "-share_dang", "id").values_list("parcel_id", "share_dang")):
        others[parcel_id].append(dang(share))  # shares only: the query never reads a co-owner's name
    parcels = (Parcel.objects.filter(pk__in=own).select_related("land_use")
               .annotate(point=Transform(PointOnSurface("geom"), 4326))
               .prefetch_related(Prefetch("addresses", queryset=Address.objects.select_related("street")
                                          .order_by("id")))
               .order_by("renewal_code", "id"))
    rows = []
    for parcel in parcels:
        address = next(iter(parcel.addresses.all()), None)
        point = parcel.point
        rows.append({
            "id": parcel.pk,
            "renewal_code": parcel.renewal_code or "",
            "plate": parcel.plate,
            "postal_code": parcel.postal_code or "",
            "street": address.street if address and address.street_id else None,
            "plaque": address.plaque if address else "",
            "area": round(float(parcel.deed_area if parcel.deed_area else parcel.measured_area or 0), 1),
            "land_use": parcel.land_use,
            "own_share": dang(own[parcel.pk]),
            "co_owner_shares": others.get(parcel.pk, []),
            "map_url": f"/#18/{point.y:.6f}/{point.x:.6f}/{parcel.pk}" if point else f"/#18///{parcel.pk}",
        })
    return rows


def _with_sections(citizen: Citizen, rows: list[dict]) -> list[dict]:
    ids = [r["id"] for r in rows]
    built = [(section, section.build(citizen, ids) if ids else {}) for section in sections()]
    for row in rows:
        row["sections"] = [{"section": section, "data": data.get(row["id"])} for section, data in built
                           if data.get(row["id"]) is not None]
    return rows


def my_properties(citizen: Citizen) -> list[dict]:
    """The citizen's parcels with shares and the registered sections."""
    return _with_sections(citizen, _rows(citizen))


def my_property(citizen: Citizen, parcel_id: int) -> dict:
    """One of the citizen's parcels; NotFound (404) for any other parcel, whoever owns it."""
    rows = _rows(citizen, only=[parcel_id])
    if not rows:
        raise NotFound(_("There is no property of yours with this number."))
    return _with_sections(citizen, rows)[0]
