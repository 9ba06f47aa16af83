"""The parcel certificate (شناسنامه ملک / گزارش ملک): a public, signed one- or two-page report of a parcel on a day.

Its content is the registered sections' data (documents/sections.py) frozen at issue: the parcel itself (identifiers,
areas, the map with the neighbours and the road-widening strip — built here, from the cadastre), then what the apps
above add (zoning: zone, rules, what may be built, hazards; dues: settled or owed). No owner, applicant or other
personal data is part of it: anyone may ask for a parcel's certificate, and anyone holding its code may download it.

Asking again on the same day for a parcel whose facts have not changed gives the same certificate (no new number per
click); a certificate with other content supersedes the parcel's earlier ones."""

from __future__ import annotations

import datetime as dt
import json

from django.db import connection, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy, gettext_noop

from documents import api, kinds, maps, queries, sections
from documents.models import IssuedDocument
from parcels.models import Parcel
from parcels.sheet import parcel_sheet

KIND = "parcel_certificate"
CERTIFICATE_NAME = gettext_lazy("Parcel certificate")
FORMAT = 1                     # the content's layout; a change of it is a change of content
MAP_WIDTH, MAP_HEIGHT = 330, 250


def build_parcel(parcel: Parcel, on_date: dt.date) -> dict:
    """The documents app's own section: identifiers, areas, frontages and the map (public facts of the sheet)."""
    sheet = parcel_sheet(parcel)
    features = queries.map_features(parcel.pk)
    drawing = maps.map_svg(features, MAP_WIDTH, MAP_HEIGHT, lonlat=False, focus=("parcel", "road_widening"), pad=0.45)
    if drawing is not None:       # JSON-ready: lists, not tuples (the content is compared after a round trip)
        drawing = {**drawing, "paths": [list(p) for p in drawing["paths"]], "scale": list(drawing["scale"])}
    buildings = sheet["buildings"] or {}
    return {
        "renewal_code": sheet["renewal_code"], "source_id": sheet["source_id"],
        "plate": sheet["registered_plate"], "postal_code": sheet["postal_code"], "addresses": sheet["addresses"],
        "district": sheet["district"], "land_use": sheet["land_use"],
        "deed_area": sheet["deed_area"], "measured_area": sheet["measured_area"],
        "area_mismatch": sheet["area_mismatch"], "is_corner": sheet["is_corner"],
        "frontages": [{k: f[k] for k in ("name", "name_en", "existing_width", "planned_width", "frontage_length",
                                         "widening_area")} for f in sheet["frontages"]],
        "road_widening_area": (sheet["road_widening"] or {}).get("area") or 0,
        "buildings": {k: buildings.get(k) for k in ("count", "floors_above_max", "floors_below_max",
                                                    "gross_floor_area")},
        "map": drawing,
    }


def content_of(parcel: Parcel, on_date: dt.date) -> dict:
    """What a certificate of the parcel on the date prints, JSON-ready (the sections' data in print order)."""
    with translation.override("fa"):       # the printed language; sections keep words of both where they need them
        built = sections.build_all(parcel, on_date)
    is_demo = bool(parcel.import_run_id and parcel.import_run.is_demo)
    return {"format": FORMAT, "on_date": on_date.isoformat(), "is_demo": is_demo, "sections": built}


def _subject(parcel: Parcel, content: dict) -> dict:
    """The public facts the verification page shows beside the number and the parcel's renewal code."""
    own = next((s["data"] for s in content["sections"] if s["key"] == "parcel"), {})
    plate = own.get("plate") or {}
    facts = [[gettext_noop("Date of the facts"), content["on_date"]]]
    if any(plate.get(k) is not None for k in ("section", "main", "sub")):
        facts.append([gettext_noop("Registered plate (section / main / sub)"),
                      " / ".join("—" if plate.get(k) is None else str(plate[k]) for k in ("section", "main", "sub"))])
    if own.get("measured_area") is not None:
        facts.append([gettext_noop("Measured area (m²)"), str(own["measured_area"])])
    return {"title": gettext_noop("Parcel certificate"), "facts": facts}


def _normalised(content: dict) -> dict:
    """The content as it reads back from the database (jsonb): what an earlier certificate is compared with."""
    return json.loads(json.dumps(content))


def issue_for(parcel: Parcel, now: dt.datetime | None = None) -> tuple[IssuedDocument, bool]:
    """Today's certificate of the parcel: (the one issued earlier today with the same content, False), or
    (a new one, True) that supersedes the parcel's earlier certificates. One at a time per parcel."""
    now = now or timezone.now()
    on_date = timezone.localdate(now)
    with transaction.atomic():
        with connection.cursor() as cursor:   # two clicks at once: the second waits and finds the first's
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"documents:certificate:{parcel.pk}"])
        content = _normalised(content_of(parcel, on_date))
        latest = (IssuedDocument.objects.filter(kind=KIND, parcel=parcel, revoked_at__isnull=True,
                                                superseded_by__isnull=True).order_by("-issued_at", "-id").first())
        if latest is not None and timezone.localdate(latest.issued_at) == on_date and latest.content == content:
            return latest, False
        doc = api.issue(KIND, parcel=parcel, subject=_subject(parcel, content), content=content,
                        source=f"documents.certificate:{parcel.pk}", now=now)
    return doc, True


def html(doc: IssuedDocument) -> bytes:
    """The printed page (A4, right to left in Persian: rendering.render prints it under Persian)."""
    url = api.verification_url(doc)
    registered = sections.SECTIONS
    parts = [{"key": s["key"], "template": registered[s["key"]].template, "data": s["data"]}
             for s in doc.content.get("sections", []) if s["key"] in registered]
    context = {"doc": doc, "kind_name": CERTIFICATE_NAME, "content": doc.content, "sections": parts,
               "is_demo": doc.content.get("is_demo", False), "verification_url": url,
               "qr": api.qr_png_data_uri(url)}
    return render_to_string("documents/certificate.html", context).encode("utf-8")


def register() -> None:
    """From DocumentsConfig.ready(): the kind, and the certificate's own section."""
    kinds.register_kind(kinds.DocumentKind(code=KIND, name=CERTIFICATE_NAME, prefix="PC", html=html, supersedes=True,
                                           public_pdf=True))
    sections.register(sections.CertificateSection(key="parcel", order=10, build=build_parcel,
                                                  template="documents/certificate_parcel.html"))
