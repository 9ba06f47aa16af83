"""The sections of the parcel certificate (شناسنامه ملک), registered by the apps that know their facts.

The documents app draws the parcel itself (identifiers, areas, the map); zoning adds the zone and its rules, what
may be built and the hazards; dues adds what is owed. Each registers a CertificateSection from its AppConfig.ready()
(like parcels.sheet.SheetSection): documents never imports them.

`build(parcel, on_date)` returns JSON-ready data, frozen into the certificate's content when it is issued (a
certificate prints what was true that day, however the data changes later); `template` is a fragment of the printed
page, rendered with that data as `data` (and the document as `doc`). Words that depend on the language belong in the
template: data keeps codes, numbers and dates, so two certificates of the same facts have the same content."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable

from parcels.models import Parcel


@dataclass(frozen=True)
class CertificateSection:
    key: str                                        # "parcel", "zoning", "hazards", "dues", ...
    order: int                                      # printed in this order
    build: Callable[[Parcel, dt.date], dict]        # (parcel, on_date) -> JSON-ready data
    template: str                                   # a fragment of the printed page, given `data` and `doc`


SECTIONS: dict[str, CertificateSection] = {}


def register(section: CertificateSection) -> None:
    """Called from an app's AppConfig.ready()."""
    if section.key in SECTIONS and SECTIONS[section.key] != section:
        raise ValueError(f"certificate section {section.key!r} is registered twice")
    SECTIONS[section.key] = section


def sections() -> list[CertificateSection]:
    return sorted(SECTIONS.values(), key=lambda s: (s.order, s.key))


def build_all(parcel: Parcel, on_date: dt.date) -> list[dict]:
    """Every registered section's data for the parcel on the date, in print order: [{"key", "data"}]. A section that
    fails fails the certificate: a certificate is never issued with a part missing."""
    return [{"key": s.key, "data": s.build(parcel, on_date)} for s in sections()]
