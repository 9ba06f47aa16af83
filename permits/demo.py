"""Demo permit cases on the demo city, made through the real service (permits/service.py), so the inboxes, the case
pages, the status page and the layers have something to show: owners of demo parcels apply (citizen accounts with
numbers of the 09901 test prefix), demo staff at each desk (no usable password: nobody signs in as them) act on the
cases over the last weeks, some are returned, some refused, some wait for payment, certificates without fees are
issued (their PDFs are made by the worker).

Random choices come from `random.Random(seed)`: a seed gives the same cases. A rerun removes the earlier demo cases
(and their events, documents and issued rows) first; `--if-absent` leaves them alone."""

from __future__ import annotations

import datetime as dt
import hashlib
import random

from django.contrib.auth.models import Group, User
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from accounts.models import Citizen, PropertyLink
from common.errors import ApiError
from parcels.models import Owner, Ownership, Parcel
from permits import service
from documents.models import IssuedDocument
from permits.models import Case, CaseType, Desk, Document, Issued
from zoning import api as zoning_api

DEMO_PHONE_PREFIX = "09901"
DEMO_STAFF_PREFIX = "demo-desk-"
DEFAULT_COUNT = 60
DEFAULT_SEED = 13

# a one-page PDF standing for every demo upload (the same bytes, stored once per document as a real upload would be)
DEMO_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj"
            b"\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\nxref\n0 4\n0000000000 65535 f \n"
            b"0000000009 00000 n \n0000000052 00000 n \n0000000101 00000 n \ntrailer<</Size 4/Root 1 0 R>>\n"
            b"startxref\n160\n%%EOF\n")


def demo_cases_exist() -> bool:
    return Case.objects.filter(applicant_phone__startswith=DEMO_PHONE_PREFIX).exists()


def remove() -> int:
    cases = Case.objects.filter(applicant_phone__startswith=DEMO_PHONE_PREFIX)
    n = cases.count()
    Issued.objects.filter(case__in=cases).update(document=None)
    records = list(Issued.objects.filter(case__in=cases, record__isnull=False).values_list("record_id", flat=True))
    Issued.objects.filter(case__in=cases).delete()
    IssuedDocument.objects.filter(pk__in=records).delete()   # the demo's, in the register too (same files as below)
    for doc in Document.objects.filter(case__in=cases):
        doc.file.delete(save=False)
    Document.objects.filter(case__in=cases).delete()
    cases.delete()
    return n


def _staff() -> dict[str, User]:
    group = Group.objects.get(name="permits")
    staff = {}
    for desk in Desk.objects.all():
        user, created = User.objects.get_or_create(username=DEMO_STAFF_PREFIX + desk.code,
                                                   defaults={"is_staff": True, "first_name": desk.name_en or desk.code})
        if created:
            user.set_unusable_password()
            user.save()
        user.groups.add(group)
        desk.staff.add(user)
        staff[desk.code] = user
    return staff


def _owners(count: int) -> list[tuple[Parcel, Owner]]:
    """Parcels with one personal owner (a national ID), in zones with rules."""
    found = []
    parcels = (Parcel.objects.filter(renewal_code__isnull=False, deed_area__gt=120)
               .annotate(n=Count("ownerships")).filter(n=1).order_by("id"))
    for parcel in parcels.iterator():
        ownership = Ownership.objects.select_related("owner").get(parcel=parcel)
        owner = ownership.owner
        if owner.kind != Owner.Kind.PERSON or not owner.national_id:
            continue
        try:
            zoning_api.envelope(parcel.pk)
        except ApiError:
            continue
        found.append((parcel, owner))
        if len(found) >= count:
            break
    return found


def _citizen(owner: Owner, i: int) -> User:
    mobile = f"{DEMO_PHONE_PREFIX}{i:06d}"
    user, _created = User.objects.get_or_create(username=mobile)
    user.set_unusable_password()
    user.save()
    user.groups.add(Group.objects.get(name="citizen"))
    citizen, _created = Citizen.objects.get_or_create(user=user, defaults={"mobile": mobile})
    if citizen.national_id != owner.national_id and not Citizen.objects.filter(national_id=owner.national_id).exists():
        citizen.national_id = owner.national_id
        citizen.save(update_fields=["national_id"])
    PropertyLink.objects.get_or_create(citizen=citizen, national_id=owner.national_id,
                                       defaults={"status": "verified", "method": "staff"})
    return user


def _attach(case: Case, kind: str, user: User) -> None:
    doc = Document(parcel_id=case.parcel_id, case=case, kind=kind, name=f"{kind}.pdf", extension=".pdf",
                   content_type="application/pdf", size=len(DEMO_PDF), sha256=hashlib.sha256(DEMO_PDF).hexdigest(),
                   uploaded_by=user, step=case.step)
    doc.file.save(f"{kind}.pdf", ContentFile(DEMO_PDF), save=False)
    doc.save()


def _proposal(parcel: Parcel, rng: random.Random) -> dict:
    area = float(parcel.deed_area or parcel.measured_area)
    floors = rng.choice((1, 2, 2, 3, 4))
    coverage = rng.choice((0.4, 0.5, 0.6, 0.7))
    return {"land_use": "residential", "floors": floors, "footprint_area": round(area * coverage, 1),
            "gross_floor_area": round(area * coverage * floors, 1), "units": max(1, floors - 1),
            "parking_spaces": max(1, floors - 1)}


FIELD_VALUES = {"number": lambda rng: round(rng.uniform(6, 20), 1), "text": lambda rng: "مطابق طرح تفصیلی",
                "choice": lambda rng: None}


def _fields(step, rng) -> dict:
    out = {}
    for f in step.fields:
        out[f.code] = f.choices[0] if f.type == "choice" else FIELD_VALUES[f.type](rng)
    return out


@transaction.atomic
def generate(count: int = DEFAULT_COUNT, seed: int = DEFAULT_SEED, say=None) -> dict:
    """Make `count` demo cases (after removing earlier ones); returns counts by status."""
    rng = random.Random(seed)
    remove()
    staff = _staff()
    types = {t.code: t for t in CaseType.objects.filter(active=True)}
    weights = [("building_permit", 6), ("planning_inquiry", 2), ("no_violation", 2), ("completion_certificate", 1),
               ("land_use_change", 1)]
    pool = [code for code, w in weights if code in types for _ in range(w)]
    owners = _owners(count)
    now = timezone.now()
    for i, (parcel, owner) in enumerate(owners):
        user = _citizen(owner, i + 1)
        code = rng.choice(pool)
        definition = service.definition_of(types[code].current())
        work = definition.works[0]["code"] if definition.works else ""
        start = now - dt.timedelta(days=rng.uniform(1, 60))
        case = service.start(types[code], parcel, user, work=work)
        if definition.check == "eligibility":
            service.save_proposal(case, _proposal(parcel, rng), by=user)
        for doc in definition.documents_due(definition.first.code):
            _attach(case, doc.code, user)
        case = service.submit(case, by=user, now=start)
        moment = start
        for _step in range(rng.randint(0, len(definition.steps))):
            case.refresh_from_db()
            if case.status != Case.Status.OPEN:
                break
            moment += dt.timedelta(days=rng.uniform(0.5, 4))
            if moment >= now:
                break
            step = definition.step(case.step)
            for doc in definition.documents_due(step.code):
                if not service.current_documents(case).filter(kind=doc.code).exists():
                    _attach(case, doc.code, user)
            roll = rng.random()
            by = staff[case.desk.code]
            if roll < 0.06 and "return" in definition.actions_at(step.code):
                service.act(case, "return", by=by, revision=case.revision, now=moment,
                            note="تصویر سند خوانا نیست؛ لطفاً دوباره بارگذاری کنید.")
                break
            if roll < 0.09 and "reject" in definition.actions_at(step.code):
                service.act(case, "reject", by=by, revision=case.revision, now=moment,
                            note="با ضوابط طرح تفصیلی مغایرت دارد.")
                break
            service.act(case, "approve", by=by, revision=case.revision, now=moment, fields=_fields(step, rng))
        if say:
            say(f"{case.tracking_code} {code} {case.status} {case.step}")
    by_status = {}
    for status in Case.objects.filter(applicant_phone__startswith=DEMO_PHONE_PREFIX).values_list("status", flat=True):
        by_status[status] = by_status.get(status, 0) + 1
    return by_status
