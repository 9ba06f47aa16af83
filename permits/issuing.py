"""Issuing: the last step of a case makes its document (a permit, a certificate, an inquiry's answer, a recorded
decision): a numbered Issued row with a verification code, in the case's transaction; its PDF is made once, after
commit, in the job queue (permits/tasks.py) and kept in the parcel's archive (a Document)."""

from __future__ import annotations

import datetime as dt
import hashlib
import math

import jdatetime
import segno
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Max
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy

from common import codes
from common.errors import ApiError
from parcels.models import LandUse
from permits import definitions
from permits.models import Case, Desk, Document, Issued
from zoning import api as zoning_api

VERIFICATION_LENGTH = 12


def _number(kind: str, year: int) -> str:
    prefix = {"permit": "P", "completion_certificate": "C", "certificate": "N", "inquiry": "Q",
              "decision": "D"}.get(kind, "X")
    last = (Issued.objects.select_for_update().filter(number__startswith=f"{prefix}-{year}-")
            .aggregate(m=Max("number"))["m"])
    seq = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}-{year}-{seq:05d}"


def _verification_code() -> str:
    for _attempt in range(20):
        code = codes.new_code(length=VERIFICATION_LENGTH)
        if not Issued.objects.filter(verification_code=code).exists():
            return code
    raise RuntimeError("no free verification code")  # pragma: no cover


def approved_of(case: Case) -> dict:
    """What was approved: the proposal's figures and what the steps recorded (public fields only)."""
    proposal = {k: v for k, v in case.proposal.items() if k != "footprint" and k != "lines"}
    recorded = {step: values for step, values in case.outcome.items() if not step.startswith("_")}
    return {"work": case.work, "proposal": proposal, "recorded": recorded,
            "decision_status": (case.decision or {}).get("status"), "rulebook": (case.decision or {}).get("rulebook")}


def issue(case: Case, definition, now: dt.datetime) -> Issued:
    """The Issued row of a case that reached its issue step (once: a second call returns it)."""
    existing = Issued.objects.filter(case=case).first()
    if existing:
        return existing
    kind = definition.issues if definition.issues != "none" else "decision"
    valid_until = (now + dt.timedelta(days=definition.validity_days)).date() if definition.validity_days else None
    issued = Issued.objects.create(case=case, parcel_id=case.parcel_id, kind=kind,
                                   number=_number(kind, jdatetime.date.fromgregorian(date=timezone.localdate(now)).year),
                                   verification_code=_verification_code(), issued_at=now, valid_until=valid_until,
                                   approved=approved_of(case), conditions=list(definition.raw.get("conditions", [])))
    transaction.on_commit(lambda: _render_later(issued.pk))
    return issued


def _render_later(issued_id: int) -> None:
    # deferred by name (permits/tasks.py defines it and calls render below): no import circle between the two
    from procrastinate.contrib.django import app

    app.configure_task("permits.render_issued").defer(issued_id=issued_id)


# -- the PDF (made once, in the job permits.render_issued) ------------------------------------------------------------

KIND_NAMES = {"permit": gettext_lazy("Permit"), "completion_certificate": gettext_lazy("Completion certificate"),
              "certificate": gettext_lazy("Certificate"), "inquiry": gettext_lazy("Answer to an inquiry"),
              "decision": gettext_lazy("Decision")}
MAP_WIDTH, MAP_HEIGHT, MAP_MARGIN = 300, 200, 12
METRES_PER_DEGREE = 111_320.0


def verification_url(issued: Issued) -> str:
    """The public verification page's address printed on the document and in its QR code (PERMITS_PUBLIC_URL: the
    site's public address)."""
    base = settings.PERMITS_PUBLIC_URL.rstrip("/")
    return base + reverse("permits:verify", args=[issued.verification_code])


def qr_png_data_uri(url: str) -> str:
    """The QR code of `url` (segno, error correction M) as a PNG data URI, four pixels a module."""
    return segno.make(url, error="m", micro=False).png_data_uri(scale=4, border=4)


def _rings(geometry: dict) -> list:
    if not geometry:
        return []
    if geometry["type"] == "Polygon":
        return list(geometry["coordinates"])
    if geometry["type"] == "MultiPolygon":
        return [ring for polygon in geometry["coordinates"] for ring in polygon]
    return []


def map_svg(features: dict) -> dict | None:
    """The parcel, its envelope and its road-widening strip (zoning.api.envelope_features, WGS84) as SVG paths in a
    MAP_WIDTH × MAP_HEIGHT box, north up, with a scale bar: {"paths": [(kind, d)], "scale": (pixels, metres)}."""
    shapes = [(f["properties"].get("kind", ""), _rings(f.get("geometry"))) for f in features.get("features", [])]
    points = [p for _kind, rings in shapes for ring in rings for p in ring]
    if not points:
        return None
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    lat0 = (min(lats) + max(lats)) / 2
    shrink = math.cos(math.radians(lat0))   # a degree of longitude is shorter than one of latitude
    width_m = max((max(lons) - min(lons)) * shrink * METRES_PER_DEGREE, 1.0)
    height_m = max((max(lats) - min(lats)) * METRES_PER_DEGREE, 1.0)
    scale = min((MAP_WIDTH - 2 * MAP_MARGIN) / width_m, (MAP_HEIGHT - 2 * MAP_MARGIN) / height_m)   # px per metre
    left = MAP_MARGIN + ((MAP_WIDTH - 2 * MAP_MARGIN) - width_m * scale) / 2
    top = MAP_MARGIN + ((MAP_HEIGHT - 2 * MAP_MARGIN) - height_m * scale) / 2

    def xy(p):
        return (left + (p[0] - min(lons)) * shrink * METRES_PER_DEGREE * scale,
                top + (max(lats) - p[1]) * METRES_PER_DEGREE * scale)

    order = {"parcel": 0, "road_widening": 1, "envelope": 2}
    paths = []
    for kind, rings in sorted(shapes, key=lambda s: order.get(s[0], 3)):
        d = " ".join("M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in map(xy, ring)) + " Z" for ring in rings)
        if d:
            paths.append((kind, d))
    metres = next(m for m in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000) if m * scale >= 40 or m == 1000)
    return {"paths": paths, "scale": (round(metres * scale, 1), metres), "width": MAP_WIDTH, "height": MAP_HEIGHT}


def _pairs(items: list) -> list[list]:
    """Two label-value pairs a row (the page is A4: one page)."""
    return [items[i:i + 2] for i in range(0, len(items), 2)]


def _recorded(case: Case, definition) -> list[tuple[str, list[tuple[str, object]]]]:
    """What the steps recorded, named as the definition names the step and its fields."""
    out = []
    for step_code, values in (case.outcome or {}).items():
        if step_code.startswith("_") or not isinstance(values, dict):
            continue
        try:
            step = definition.step(step_code)
        except KeyError:
            out.append((step_code, _pairs(list(values.items()))))
            continue
        names = {f.code: f.name for f in step.fields}
        out.append((step.name, _pairs([(names.get(k, k), v) for k, v in values.items()])))
    return out


def context_of(issued: Issued) -> dict:
    """What the issued document's page shows."""
    case = issued.case
    # parsed here rather than through service.definition_of: the service imports this module
    definition = definitions.parse(case.workflow.definition, set(Desk.objects.values_list("code", flat=True)))
    try:
        features = zoning_api.envelope_features(issued.parcel_id, timezone.localdate(issued.issued_at))
    except ApiError:   # no zone or rulebook on that day: the document is made without its map
        features = {"features": []}
    proposal = issued.approved.get("proposal", {})
    uses = dict(LandUse.objects.values_list("code", "name_fa"))   # the use's name, not its code
    approved = [(str(zoning_api.FIELD_LABELS.get(k, k)), uses.get(proposal[k], proposal[k]) if k == "land_use"
                 else proposal[k]) for k in zoning_api.PROPOSAL_FIELDS if proposal.get(k) not in (None, "")]
    work = next((w["name"] for w in definition.works if w["code"] == issued.approved.get("work")), "")
    url = verification_url(issued)
    return {"issued": issued, "case": case, "parcel": issued.parcel, "definition": definition,
            "kind_name": KIND_NAMES.get(issued.kind, issued.kind), "work": work, "approved": approved,
            "approved_rows": _pairs(approved),
            "recorded": _recorded(case, definition), "conditions": issued.conditions,
            "rulebook": issued.approved.get("rulebook") or (case.decision or {}).get("rulebook"),
            "demo": case.workflow.is_demo or definition.demo, "map": map_svg(features),
            "verification_url": url, "qr": qr_png_data_uri(url)}


def html_of(issued: Issued) -> bytes:
    """The issued document's page, in Persian (right to left, A4), as printed."""
    with translation.override("fa"):
        return render_to_string("permits/issued/document.html", context_of(issued)).encode("utf-8")


def render(issued_id: int) -> Document | None:
    """Print the issued document to PDF and keep it in the parcel's archive (a Document, issued=True; its SHA-256
    in Issued.sha256). Once: the row is locked while printing, and a document already made is returned as it is.
    None for an id that is not there (the case's transaction was rolled back)."""
    from common.pdf import printer   # the job worker's kept browser

    with transaction.atomic():
        issued = (Issued.objects.select_for_update(of=("self",)).select_related("case__workflow", "parcel")
                  .filter(pk=issued_id).first())
        if issued is None:
            return None
        if issued.document_id is not None:
            return issued.document
        pdf = printer().print(html_of(issued))
        sha256 = hashlib.sha256(pdf).hexdigest()
        name = f"{issued.number}.pdf"
        document = Document(parcel_id=issued.parcel_id, case=issued.case, kind=issued.kind, name=name,
                            extension=".pdf", content_type="application/pdf", size=len(pdf), sha256=sha256,
                            step=issued.case.step, issued=True)
        document.file.save(name, ContentFile(pdf), save=False)
        try:
            document.save()
            issued.document = document
            issued.sha256 = sha256
            issued.save(update_fields=["document", "sha256"])
        except BaseException:
            default_storage.delete(document.file.name)
            raise
    return document
