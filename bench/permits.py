"""Permits benchmark (issue 13): the staff inbox, the staff case page, a submission with its eligibility decision, the
upload of a 20 MB PDF and the SLA report, on a city with five years of permit cases.

    .venv/bin/python bench/permits.py --parcels 100000 [--cases 100000] [--documents 1000000] [--samples 60]
                                      [--json out.json] [--only inbox,case,submit,upload,sla]
    .venv/bin/python bench/permits.py --median-of run1.json run2.json run3.json   # the medians of several runs

On the demo city of that size (bench/common.py, migrated with this tree's code) with the rulebook, the notice texts
and the demo desks and case types (`load_permit_types --commit`), `--cases` permit cases over `--years` years are
generated (made once and kept in the bench database; made again only when the numbers of cases or documents differ,
or with --regenerate):

- the generator is Python feeding COPY (no service call per case: 100k cases and 1M documents in about 8 minutes on
  the shared machine). Each case walks its case type's real workflow (permits/definitions.py) as the service would:
  submitted, assigned, commented, approved step by step, sometimes returned (and resubmitted with a new version of a
  document), sent to a site visit, refused or withdrawn, waiting for payment (some never pay), and issued; 0.3% per
  step stall at a desk (overdue for months). Step times are log-normal around each step's SLA days (about a quarter
  late). Every move is a case event with the service's from/to steps and statuses; documents are the application's,
  the drawings due later, corrected versions (`supersedes`), site-visit photos (with SiteVisit rows) and the issued
  PDF of every issued case (with its Issued row: number, verification code, validity). The photos per visit are set
  so the documents number exactly `--documents`. The rows' files are four real stored files shared by every row (a
  one-page PDF, a 24-page drawing PDF, a JPEG photo, an issued-permit PDF; MEDIA_ROOT/permits/bench/), so the rows
  cost no disk.
- applicants are 25,000 citizen accounts (mobiles 09903…), staff 4 members per desk (users bench-desk-<desk>-<n>,
  role "permits"); eligibility cases carry a real frozen decision (zoning.api.decide on sample parcels, the parcel id
  set to the case's).

Then, through gunicorn (4 workers, as the other benches) with a session cookie, each page also in-process (Django's
test client: the server's time and its Python CPU time) and its statements captured from the app and run raw
(psycopg, prepared, the serving connections' settings):

1. inbox of a planning-desk member: the first page, two filtered pages, the JSON page and the second page (keyset
   cursor), p50/p95 by wrk (one request at a time) and by http.client; target p50 <= 50 ms;
2. staff case page: a different case at each request (never the same URL twice), any case and the open cases at the
   desk; target <= 80 ms;
3. submission with eligibility through the citizen API: start + the proposal (the engine's decision) + the two
   application documents uploaded + submit (the decision again, frozen; the tracking code, the first step, the
   notices); p50/p95 of the whole and of each call. The cases it makes are removed afterwards;
4. upload: a 20 MB drawing PDF through `POST /api/permits/cases/<id>/documents` (multipart), MB/s, and in-process the
   time of permits.files' steps (copy and hash, libmagic, the PDF check, the scan hook, storing) by wrapping them;
5. SLA report for the whole city: the page (and its CSV) against the report's statements run raw; target <= 2 x.

A page slower than its target is profiled (cProfile) and its slowest statement explained (EXPLAIN ANALYZE). The
machine's load average is printed with the figures (a shared 2-core machine: repeat, compare medians and ratios).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import json
import math
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, City, Server, p50_p95  # noqa: E402

APPLICANT_PREFIX = "09903"        # the generated cases' applicants (the permits demo's are 09901…)
SUBMITTER_MOBILE = "09904000001"  # the citizen who submits and uploads during the run
STAFF_PREFIX = "bench-desk-"
STAFF_PER_DESK = 4
APPLICANTS = 25_000
BENCH_DIR = "permits/bench"
TYPE_WEIGHTS = {"building_permit": 40, "planning_inquiry": 20, "no_violation": 15, "completion_certificate": 12,
                "land_use_change": 7, "subdivision": 6}
DAY = dt.timedelta(days=1)
STALL = 0.003       # a case left at a desk, never acted on (per step)
RETURN = 0.06       # returned for correction at a step that allows it
NEVER_BACK = 0.3    # a returned case never resubmitted
REJECT = 0.025
WITHDRAW = 0.005
VISIT_ASKED = 0.04  # a reviewer sends the case to a site visit
NEVER_PAID = 0.04
ASSIGN = 0.3
COMMENT = 0.3

REASONS = ["تصویر سند خوانا نیست؛ لطفاً دوباره بارگذاری کنید.", "نقشه با وضع موجود مطابقت ندارد.",
           "امضای مهندس ناظر در گزارش نیست.", "مساحت اعلام‌شده با سند مغایرت دارد."]
COMMENTS = ["پرونده بررسی شد؛ منتظر نظر واحد شهرسازی.", "با مالک تماس گرفته شد.", "بازدید برای هفته آینده.",
            "مدارک کامل است.", "عرض معبر دوباره کنترل شود.", "Checked against the detailed plan."]
FINDINGS = ["ملک خالی از بنا است؛ حدود با سند مطابقت دارد.", "بنای قدیمی یک‌طبقه موجود است.",
            "عملیات ساختمانی مطابق پروانه انجام شده است.", "عقب‌نشینی رعایت شده است."]


def load() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def timed(call, samples: int, warmup: int = 3) -> tuple[float, float]:
    for _ in range(warmup):
        call()
    times = []
    for _ in range(samples):
        t = time.perf_counter()
        call()
        times.append((time.perf_counter() - t) * 1000)
    return p50_p95(times)


# --- the generated city -------------------------------------------------------------------------------------------

def pdf_bytes(pages: int = 1, lines_per_page: int = 0, seed: int = 1) -> bytes:
    """A valid PDF of `pages` A3 pages, each with `lines_per_page` random line segments (a drawing's vectors,
    uncompressed as many CAD exports write them): 24 pages of 1,500 lines make ~1 MB, of 27,900 ~20 MB."""
    rng = random.Random(seed)
    objects = [b"<</Type/Catalog/Pages 2 0 R>>", None]
    kids = []
    for _page in range(pages):
        ops = [b"0.3 w"]
        for _ in range(lines_per_page):
            ops.append(b"%.1f %.1f m %.1f %.1f l S" % (rng.uniform(20, 1170), rng.uniform(20, 822),
                                                     rng.uniform(20, 1170), rng.uniform(20, 822)))
        stream = b"\n".join(ops)
        objects.append(b"<</Length %d>>stream\n%s\nendstream" % (len(stream), stream))
        content = len(objects)
        objects.append(b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 1190 842]/Contents %d 0 R>>" % content)
        kids.append(len(objects))
    objects[1] = b"<</Type/Pages/Kids[%s]/Count %d>>" % (b" ".join(b"%d 0 R" % k for k in kids), len(kids))
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (n, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def jpeg_bytes(width: int = 1600, height: int = 1200) -> bytes:
    from PIL import Image

    image = Image.effect_noise((width, height), 30).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=70)
    return buffer.getvalue()


def stored_files() -> dict:
    """The four real files every generated document row points at: {name: (path, size, sha256, content type,
    extension)}, written once into the default storage."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    makers = {"page": (lambda: pdf_bytes(1, 40), ".pdf", "application/pdf"),
              "drawing": (lambda: pdf_bytes(24, 1500, seed=2), ".pdf", "application/pdf"),
              "photo": (jpeg_bytes, ".jpg", "image/jpeg"),
              "issued": (lambda: pdf_bytes(2, 300, seed=3), ".pdf", "application/pdf")}
    out = {}
    for name, (make, extension, content_type) in makers.items():
        path = f"{BENCH_DIR}/{name}{extension}"
        if not default_storage.exists(path):
            default_storage.save(path, ContentFile(make()))
        with default_storage.open(path) as fh:
            data = fh.read()
        out[name] = (path, len(data), hashlib.sha256(data).hexdigest(), content_type, extension)
    return out


def ensure_people(conn) -> tuple[list[tuple[int, str]], dict[str, list[int]]]:
    """The generated cases' applicants [(user id, mobile)] and the staff {desk code: [user ids]}."""
    from django.contrib.auth.models import Group, User

    from permits.models import Desk

    conn.execute(
        "INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active,"
        " date_joined) SELECT '!bench', false, %s || lpad(g::text, 6, '0'), 'شهروند', 'آزمایشی ' || g, '', false,"
        " true, now() FROM generate_series(1, %s) g ON CONFLICT (username) DO NOTHING", [APPLICANT_PREFIX, APPLICANTS])
    conn.execute("INSERT INTO accounts_citizen (mobile, language, created_at, user_id) SELECT u.username, 'fa', now(),"
                 " u.id FROM auth_user u WHERE u.username LIKE %s ON CONFLICT DO NOTHING", [APPLICANT_PREFIX + "%"])
    conn.execute("INSERT INTO auth_user_groups (user_id, group_id) SELECT u.id, g.id FROM auth_user u, auth_group g"
                 " WHERE u.username LIKE %s AND g.name = 'citizen' ON CONFLICT DO NOTHING", [APPLICANT_PREFIX + "%"])
    conn.commit()
    applicants = conn.execute("SELECT id, username FROM auth_user WHERE username LIKE %s ORDER BY id",
                              [APPLICANT_PREFIX + "%"]).fetchall()
    group = Group.objects.get(name="permits")
    staff = {}
    for desk in Desk.objects.all():
        staff[desk.code] = []
        for n in range(1, STAFF_PER_DESK + 1):
            user, created = User.objects.get_or_create(username=f"{STAFF_PREFIX}{desk.code}-{n}", defaults={
                "is_staff": True, "first_name": f"{desk.name_en or desk.code} {n}", "last_name": "bench"})
            if created:
                user.set_unusable_password()
                user.save()
                user.groups.add(group)
                desk.staff.add(user)
            staff[desk.code].append(user.pk)
    return applicants, staff


def decision_pool(conn, size: int, seed: int) -> list[tuple[dict, dict, str]]:
    """(proposal, decision, the decision as JSON with parcel_id 0) triples: the real eligibility engine on sample
    parcels with a zone."""
    from common.errors import ApiError
    from zoning import api as zoning_api

    rng = random.Random(seed)
    rows = conn.execute("SELECT id, coalesce(deed_area, measured_area) FROM parcels_parcel WHERE renewal_code IS NOT"
                        " NULL AND coalesce(deed_area, measured_area) > 80 ORDER BY md5(id::text) LIMIT %s",
                        [size * 3]).fetchall()
    pool = []
    for parcel_id, area in rows:
        floors = rng.choice((1, 2, 2, 3, 4, 5))
        coverage = rng.choice((0.4, 0.5, 0.6, 0.7))
        proposal = {"land_use": rng.choice(("residential",) * 5 + ("commercial",)), "floors": floors,
                    "footprint_area": round(float(area) * coverage, 1),
                    "gross_floor_area": round(float(area) * coverage * floors, 1), "units": max(1, floors - 1),
                    "parking_spaces": max(1, floors - 1)}
        try:
            decision = zoning_api.decide(parcel_id, proposal)
            pool.append((proposal, decision, json.dumps({**decision, "parcel_id": 0}, ensure_ascii=False)))
        except ApiError:
            continue
        if len(pool) >= size:
            break
    return pool


class Generator:
    """Simulates the cases (deterministically for a seed: a pass that counts, then one pass per table) and writes
    them with COPY."""

    def __init__(self, conn, count: int, documents: int, years: float, seed: int):
        from permits import service
        from permits.models import CaseType, Desk

        self.conn, self.count, self.documents, self.years, self.seed = conn, count, documents, years, seed
        self.now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        self.types = []
        for code, weight in TYPE_WEIGHTS.items():
            case_type = CaseType.objects.get(code=code)
            workflow = case_type.current()
            self.types.append((case_type, workflow, service.definition_of(workflow), weight))
        self.desks = {d.code: d.pk for d in Desk.objects.all()}
        self.parcels = [r[0] for r in conn.execute("SELECT id FROM parcels_parcel ORDER BY id")]
        self.files = stored_files()
        self.applicants, self.staff = ensure_people(conn)
        self.pool = decision_pool(conn, 300, seed)
        self.fees_cache = {}
        self.taken = {r[0] for r in conn.execute("SELECT tracking_code FROM permits_case WHERE tracking_code IS NOT "
                                                 "NULL")}
        self.taken_verification = {r[0] for r in conn.execute("SELECT verification_code FROM permits_issued")}
        self.start_ids = {t: conn.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {t}").fetchone()[0] for t in (
            "permits_case", "permits_caseevent", "permits_document", "permits_sitevisit", "permits_sitevisit_photos",
            "permits_issued")}
        self.numbers = {r[0] for r in conn.execute("SELECT number FROM permits_issued")}
        self.photos_per_visit = (0, 0)

    # one pass over all cases: yields (table, row) ----------------------------------------------------------------
    def rows(self):
        from common import codes

        rng = random.Random(self.seed)
        ids = dict(self.start_ids)
        taken, verification, numbers = set(self.taken), set(self.taken_verification), set(self.numbers)
        sequences = {}
        visit_no = 0
        weights = [w for *_x, w in self.types]
        span = self.years * 365
        files = self.files

        def new_id(table):
            value = ids[table]
            ids[table] += 1
            return value

        def coded(length, seen):
            while True:
                code = codes.new_code(randbelow=rng.randrange, length=length)
                if code not in seen:
                    seen.add(code)
                    return code

        for _i in range(self.count):
            case_type, workflow, d, _w = rng.choices(self.types, weights)[0]
            case_id = new_id("permits_case")
            parcel = rng.choice(self.parcels)
            applicant, phone = rng.choice(self.applicants)
            age = span * (1 - rng.random() ** 1.25)     # more cases lately (a growing service)
            t = self.now - dt.timedelta(days=age, seconds=rng.randrange(86400))
            submitted = t
            created = t - dt.timedelta(minutes=rng.uniform(5, 600))
            work = rng.choice(d.works)["code"] if d.works else ""
            proposal, decision, decision_text = {}, None, None
            if d.check == "eligibility":
                proposal, decision, decision_text = rng.choice(self.pool)
                decision_text = decision_text.replace('"parcel_id": 0', f'"parcel_id": {parcel}', 1)
            fees, fee_total = [], 0
            if d.has_payment():
                fees = self._fees(d, work, proposal)
                fee_total = sum(line["amount"] for line in fees)
            steps = [s.code for s in d.steps]
            desk_of = {s.code: s.desk for s in d.steps}
            current_docs = {}   # kind -> (doc id, version)
            events = []
            docs = []

            def event(at, kind, actor=None, desk="", before=None, after=None, note="", internal=False,
                      documents=(), data=None):
                events.append((new_id("permits_caseevent"), at, kind, desk, before[0] if before else "",
                               after[0] if before else "", before[1] if before else "", after[1] if before else "",
                               note, internal, json.dumps(list(documents)),
                               json.dumps(data or {}, ensure_ascii=False), actor, case_id))

            def document(at, kind, by, step, file, name, issued=False):
                doc_id = new_id("permits_document")
                previous = current_docs.get(kind)
                version = previous[1] + 1 if previous else 1
                path, size, sha, content_type, extension = files[file]
                docs.append((doc_id, kind, name, path, extension, content_type, size, sha, version, at, step,
                             "not_scanned", issued, case_id, parcel, previous[0] if previous else None, by))
                if kind != "site_photo":
                    current_docs[kind] = (doc_id, version)
                return doc_id

            for doc in d.documents:
                if doc.required_at == d.first.code or (doc.required_at is None and rng.random() < 0.7):
                    document(created + dt.timedelta(minutes=rng.uniform(1, 4)), doc.code, applicant, d.first.code,
                             "page", f"{doc.code}.pdf")
            status, step, desk, assignee, due, entered, finished = "open", d.first.code, None, None, None, None, None
            outcome, note, revision = {}, "", 1
            visits, photos, issued = [], [], None
            idx = 1
            returns = 0
            visit_back = None
            visited = set()
            before = (d.first.code, "draft")
            first = d.steps[idx]
            after = (first.code, "awaiting_payment" if first.kind == "payment" else "open")
            event(t, "submit", applicant, before=before, after=after,
                  data={"rulebook": (decision or {}).get("rulebook"), "decision": (decision or {}).get("status")})
            while True:
                s = d.steps[idx]
                step, entered = s.code, t
                for doc in d.documents:   # documents due at this step, uploaded soon after it is entered
                    if doc.required_at == s.code and doc.code not in current_docs:
                        at = t + dt.timedelta(hours=rng.uniform(2, 48))
                        if at < self.now:
                            doc_id = document(at, doc.code, applicant, s.code, "drawing", f"{doc.code}.pdf")
                            event(at, "document", applicant, documents=[doc_id])
                if s.kind == "issue":
                    status, desk, due, finished = "issued", None, None, t
                    kind = d.issues if d.issues != "none" else "decision"
                    prefix = {"permit": "P", "completion_certificate": "C", "certificate": "N", "inquiry": "Q",
                              "decision": "D"}.get(kind, "X")
                    year = _jalali_year(t)
                    sequences[(prefix, year)] = sequences.get((prefix, year), 0) + 1
                    number = f"{prefix}-{year}-{sequences[(prefix, year)]:05d}"
                    while number in numbers:
                        sequences[(prefix, year)] += 1
                        number = f"{prefix}-{year}-{sequences[(prefix, year)]:05d}"
                    numbers.add(number)
                    doc_id = document(t + dt.timedelta(minutes=2), kind, None, s.code, "issued", f"{number}.pdf",
                                      issued=True)
                    approved = {"work": work, "proposal": proposal,
                                "recorded": {k: v for k, v in outcome.items() if not k.startswith("_")},
                                "decision_status": (decision or {}).get("status"),
                                "rulebook": (decision or {}).get("rulebook")}
                    valid = (t + dt.timedelta(days=d.validity_days)).date() if d.validity_days else None
                    issued = (new_id("permits_issued"), kind, number, coded(12, verification), t, valid,
                              json.dumps(approved, ensure_ascii=False),
                              json.dumps(list(d.raw.get("conditions", [])), ensure_ascii=False), files["issued"][2],
                              None, "", case_id, doc_id, parcel)
                    break
                if s.kind == "payment":
                    status, desk, due = "awaiting_payment", None, t + dt.timedelta(days=s.days)
                    wait = rng.expovariate(1 / 6)
                    if rng.random() < NEVER_PAID or t + wait * DAY > self.now:
                        break
                    t += wait * DAY
                    before, after = (s.code, "awaiting_payment"), (d.steps[idx + 1].code, "open")
                    event(t, "payment", None, before=before, after=after,
                          data={"bill": str(uuid.UUID(int=rng.getrandbits(128))), "amount": fee_total})
                    revision += 1
                    idx += 1
                    continue
                # a desk's step
                status, desk, due = "open", self.desks[desk_of[s.code]], t + dt.timedelta(days=s.days)
                staff = self.staff[desk_of[s.code]]
                assignee = None
                duration = s.days * rng.lognormvariate(math.log(0.6), 0.75) * DAY
                if rng.random() < ASSIGN:
                    at = t + duration * rng.uniform(0, 0.3)
                    if at < self.now:
                        assignee = rng.choice(staff)
                        event(at, "assign", rng.choice(staff), desk=desk_of[s.code], data={"assignee": assignee})
                        revision += 1
                if rng.random() < COMMENT:
                    at = t + duration * rng.uniform(0.2, 0.9)
                    if at < self.now:
                        event(at, "comment", assignee or rng.choice(staff), desk=desk_of[s.code],
                              note=rng.choice(COMMENTS), internal=rng.random() < 0.8)
                if rng.random() < STALL or t + duration > self.now:
                    break
                t += duration
                actor = assignee or rng.choice(staff)
                actions = d.actions_at(s.code)
                roll = rng.random()
                before = (s.code, "open")
                if "return" in actions and returns < 2 and roll < RETURN:
                    returns += 1
                    reason = rng.choice(REASONS)
                    outcome["_returned_from"] = s.code
                    event(t, "return", actor, desk=desk_of[s.code], before=before, after=(d.first.code, "returned"),
                          note=reason)
                    revision += 1
                    back = t + rng.expovariate(1 / 5) * DAY
                    if rng.random() < NEVER_BACK or back > self.now:
                        status, step, desk, due, assignee, note, entered = ("returned", d.first.code, None, None,
                                                                            None, reason, t)
                        break
                    kinds = [k for k in current_docs if k != "site_photo"] or [d.documents[0].code]
                    kind = rng.choice(kinds)
                    doc_id = document(back - dt.timedelta(minutes=20), kind, applicant, d.first.code,
                                      "drawing" if d.document(kind).required_at not in (None, d.first.code)
                                      else "page", f"{kind}-corrected.pdf")
                    event(back - dt.timedelta(minutes=20), "document", applicant, documents=[doc_id])
                    outcome.pop("_returned_from", None)
                    event(back, "resubmit", applicant, before=(d.first.code, "returned"), after=(s.code, "open"),
                          note="اصلاح شد.")
                    revision += 1
                    t = back
                    continue
                if "reject" in actions and roll < RETURN + REJECT:
                    status, desk, due, assignee, finished = "refused", None, None, None, t
                    note = "با ضوابط طرح تفصیلی مغایرت دارد."
                    event(t, "reject", actor, desk=desk_of[s.code], before=before, after=(s.code, "refused"),
                          note=note)
                    revision += 1
                    break
                if roll < RETURN + REJECT + WITHDRAW:
                    status, desk, due, assignee, finished = "withdrawn", None, None, None, t
                    event(t, "withdraw", applicant, before=before, after=(s.code, "withdrawn"))
                    revision += 1
                    break
                visit = d.visit_step()
                if ("site_visit" in actions and visit and visit.code not in visited and s.kind != "visit"
                        and roll < RETURN + REJECT + WITHDRAW + VISIT_ASKED):
                    visit_back = idx
                    event(t, "site_visit", actor, desk=desk_of[s.code], before=before, after=(visit.code, "open"))
                    revision += 1
                    idx = steps.index(visit.code)
                    continue
                recorded = _fields(s, rng)
                if recorded:
                    outcome[s.code] = recorded
                if s.kind == "visit":
                    visited.add(s.code)
                    visit_id = new_id("permits_sitevisit")
                    visits.append((visit_id, t - dt.timedelta(hours=rng.uniform(1, 30)), rng.choice(FINDINGS),
                                   rng.random() < 0.9 if d.issues == "completion_certificate" else None, case_id,
                                   actor))
                    visit_no += 1
                    base, extra = self.photos_per_visit
                    for n in range(base + (1 if visit_no <= extra else 0)):
                        doc_id = document(t - dt.timedelta(minutes=30 - n), "site_photo", actor, s.code, "photo",
                                          f"IMG_{visit_no:06d}_{n + 1}.jpg")
                        photos.append((new_id("permits_sitevisit_photos"), visit_id, doc_id))
                if s.kind == "visit" and visit_back is not None:
                    target, visit_back = visit_back, None
                else:
                    target = idx + 1
                    while d.steps[target].kind == "visit" and d.steps[target].code in visited:
                        target += 1
                nxt = d.steps[target]
                event(t, "approve", actor, desk=desk_of[s.code], before=before,
                      after=(nxt.code, "issued" if nxt.kind == "issue" else
                             "awaiting_payment" if nxt.kind == "payment" else "open"), data={"fields": recorded})
                revision += 1
                idx = target
            events.sort(key=lambda e: e[1])
            updated = max(events[-1][1], max((doc[9] for doc in docs), default=t))
            yield "permits_case", (
                case_id, uuid.UUID(int=rng.getrandbits(128), version=4), coded(10, taken), work, phone, "fa", status,
                step, entered, due, json.dumps(proposal), decision_text, json.dumps(fees, ensure_ascii=False),
                fee_total,
                uuid.UUID(int=rng.getrandbits(128), version=4) if fees and status != "refused" and
                (status == "awaiting_payment" or any(e[2] == "payment" for e in events)) else None,
                json.dumps(outcome, ensure_ascii=False), note, revision, created, submitted, updated, finished,
                applicant, assignee if status == "open" else None, parcel, case_type.pk, desk if status == "open"
                else None, None, workflow.pk)
            for row in events:
                yield "permits_caseevent", row
            for row in docs:
                yield "permits_document", row
            for row in visits:
                yield "permits_sitevisit", row
            for row in photos:
                yield "permits_sitevisit_photos", row
            if issued:
                yield "permits_issued", issued

    def _fees(self, d, work, proposal):
        from dues import api as dues_api
        from permits import definitions

        key = (d.code, work, json.dumps(proposal, sort_keys=True))
        if key not in self.fees_cache:
            facts = {name: float(proposal.get(name) or 0) for name in definitions.FEE_FACTS}
            facts["lot_area"] = float(proposal.get("footprint_area") or 200) * 2
            for w in d.works:
                facts[f"work_{w['code']}"] = 1 if work == w["code"] else 0
            self.fees_cache[key] = dues_api.evaluate_fees(list(d.fees), facts)
        return self.fees_cache[key]

    COLUMNS = {
        "permits_case": "id, public_id, tracking_code, work, applicant_phone, language, status, step, step_entered_at,"
                        " step_due_at, proposal, decision, fees, fee_total, bill, outcome, status_note, revision,"
                        " created_at, submitted_at, updated_at, finished_at, applicant_id, assignee_id, parcel_id,"
                        " case_type_id, desk_id, engineer_id, workflow_id",
        "permits_caseevent": "id, at, kind, desk, from_step, to_step, from_status, to_status, note, internal,"
                             " documents, data, actor_id, case_id",
        "permits_document": "id, kind, name, file, extension, content_type, size, sha256, version, uploaded_at, step,"
                            " scan, issued, case_id, parcel_id, supersedes_id, uploaded_by_id",
        "permits_sitevisit": "id, at, findings, matches_permit, case_id, inspector_id",
        "permits_sitevisit_photos": "id, sitevisit_id, document_id",
        "permits_issued": "id, kind, number, verification_code, issued_at, valid_until, approved, conditions, sha256,"
                          " revoked_at, revoked_reason, case_id, document_id, parcel_id",
    }

    def run(self, say=print) -> dict:
        import tempfile

        started = time.perf_counter()
        counts = {}
        for table, _row in self.rows():         # the pass that counts (no photos yet)
            counts[table] = counts.get(table, 0) + 1
        visits = counts.get("permits_sitevisit", 0)
        missing = self.documents - counts.get("permits_document", 0)
        if visits and missing > 0:
            self.photos_per_visit = divmod(missing, visits)
        say(f"simulated in {time.perf_counter() - started:.0f} s: {counts}; photos per visit "
            f"{self.photos_per_visit[0]} (+1 for {self.photos_per_visit[1]:,})")
        conn = self.conn
        written = {}
        with tempfile.TemporaryDirectory() as work:
            t = time.perf_counter()
            outs = {table: open(Path(work) / table, "w", encoding="utf-8") for table in self.COLUMNS}
            for table, row in self.rows():       # the same cases again, with the photos, into one file per table
                outs[table].write("\t".join(map(_copy_text, row)) + "\n")
                written[table] = written.get(table, 0) + 1
            for out in outs.values():
                out.close()
            say(f"rows made in {time.perf_counter() - t:.0f} s: {written}")
            conn.execute("SET session_replication_role = replica")  # consistent rows: no FK trigger per row
            for table, columns in self.COLUMNS.items():
                t = time.perf_counter()
                with conn.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy, \
                        open(Path(work) / table, "rb") as fh:
                    while chunk := fh.read(1 << 20):
                        copy.write(chunk)
                say(f"{table}: {written.get(table, 0):,} rows copied in {time.perf_counter() - t:.0f} s")
            conn.execute("SET session_replication_role = origin")
        for table in ("permits_case", "permits_issued"):   # the layers' version triggers did not fire: bump them
            conn.execute(f"UPDATE {table} SET id = id WHERE id = (SELECT max(id) FROM {table})")
        for table in self.COLUMNS:                # statistics of the new rows (in this transaction) for the plan below
            conn.execute(f"ANALYZE {table}")
        conn.execute("SET LOCAL enable_nestloop = off")   # one pass over each table (a hash join), whatever the stats
        conn.execute("UPDATE permits_sitevisit v SET point = ST_PointOnSurface(p.geom) FROM permits_case c JOIN "
                     "parcels_parcel p ON p.id = c.parcel_id WHERE v.case_id = c.id AND v.id >= %s",
                     [self.start_ids["permits_sitevisit"]])
        for table in self.COLUMNS:
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        conn.commit()
        conn.autocommit = True
        for table in self.COLUMNS:
            conn.execute(f"VACUUM ANALYZE {table}")
        conn.autocommit = False
        return {"seconds": round(time.perf_counter() - started), **written}


def _copy_text(value) -> str:
    """A value in COPY's text format."""
    if value is None:
        return "\\N"
    if value is True or value is False:
        return "t" if value else "f"
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, str):
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return str(value)


def _jalali_year(moment: dt.datetime) -> int:
    import jdatetime

    return jdatetime.date.fromgregorian(date=moment.date()).year


def _fields(step, rng) -> dict:
    out = {}
    for f in step.fields:
        out[f.code] = (f.choices[0] if f.type == "choice" else round(rng.uniform(6, 20), 1) if f.type == "number"
                       else "مطابق طرح تفصیلی")
    return out


def remove_cases(conn) -> int:
    """The generated cases and everything hanging from them (in one transaction)."""
    ids = "(SELECT id FROM permits_case WHERE applicant_phone LIKE '" + APPLICANT_PREFIX + "%')"
    n = conn.execute(f"SELECT count(*) FROM {ids} x").fetchone()[0]
    conn.execute(f"DELETE FROM permits_sitevisit_photos WHERE sitevisit_id IN (SELECT id FROM permits_sitevisit "
                 f"WHERE case_id IN {ids})")
    conn.execute(f"DELETE FROM permits_sitevisit WHERE case_id IN {ids}")
    conn.execute(f"DELETE FROM permits_issued WHERE case_id IN {ids}")
    conn.execute(f"DELETE FROM permits_document WHERE case_id IN {ids}")
    conn.execute(f"DELETE FROM permits_caseevent WHERE case_id IN {ids}")
    conn.execute(f"DELETE FROM permits_consent WHERE used_by_id IN {ids}")
    conn.execute(f"DELETE FROM permits_case WHERE id IN {ids}")
    conn.commit()
    return n


def ensure_cases(city, args) -> dict:
    import psycopg

    with psycopg.connect(city.dsn) as conn:
        have = conn.execute("SELECT count(*) FROM permits_case WHERE applicant_phone LIKE %s",
                            [APPLICANT_PREFIX + "%"]).fetchone()[0]
        docs = conn.execute("SELECT count(*) FROM permits_document d JOIN permits_case c ON c.id = d.case_id WHERE "
                            "c.applicant_phone LIKE %s", [APPLICANT_PREFIX + "%"]).fetchone()[0] if have else 0
        if have == args.cases and docs == args.documents and not args.regenerate:
            return {"generated": False, "cases": have, "documents": docs}
        if have:
            print(f"removing {have:,} generated cases …", flush=True)
            remove_cases(conn)
        print(f"generating {args.cases:,} cases and {args.documents:,} documents over {args.years:g} years …",
              flush=True)
        result = Generator(conn, args.cases, args.documents, args.years, args.seed).run(
            say=lambda m: print(m, flush=True))
        print(f"generated in {result['seconds']} s", flush=True)
        return {"generated": True, **result}


def describe(city) -> dict:
    """What the generated data looks like (printed with the figures)."""
    with city.raw_connection() as conn:
        q = lambda sql, *p: conn.execute(sql, p).fetchall()  # noqa: E731
        cases = q("SELECT status, count(*) FROM permits_case GROUP BY 1 ORDER BY 2 DESC")
        desks = q("SELECT d.code, count(*), count(*) FILTER (WHERE c.step_due_at < now()) FROM permits_case c JOIN "
                  "permits_desk d ON d.id = c.desk_id WHERE c.status = 'open' GROUP BY 1 ORDER BY 2 DESC")
        totals = q("SELECT (SELECT count(*) FROM permits_case), (SELECT count(*) FROM permits_caseevent), "
                   "(SELECT count(*) FROM permits_document), (SELECT count(*) FROM permits_issued), "
                   "(SELECT count(*) FROM permits_sitevisit), (SELECT count(DISTINCT parcel_id) FROM permits_case)")[0]
    return {"by_status": dict(cases), "open_by_desk": {d: {"open": n, "overdue": o} for d, n, o in desks},
            "cases": totals[0], "events": totals[1], "documents": totals[2], "issued": totals[3], "visits": totals[4],
            "parcels_with_cases": totals[5]}


# --- measuring through HTTP ---------------------------------------------------------------------------------------

class Http:
    """A keep-alive HTTP client with cookies (a session, the CSRF token): request() -> (status, body)."""

    def __init__(self, port: int, cookies: dict):
        import http.client

        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.cookies = cookies

    def request(self, method: str, path: str, body=None, headers=None, expect=(200,)) -> bytes:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()), **(headers or {})}
        if "csrftoken" in self.cookies and method != "GET":
            headers["X-CSRFToken"] = self.cookies["csrftoken"]
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        assert response.status in expect, (method, path, response.status, data[:300])
        return data

    def get(self, path: str) -> bytes:
        return self.request("GET", path)

    def post_json(self, path: str, data: dict, expect=(200, 201)) -> dict:
        return json.loads(self.request("POST", path, json.dumps(data).encode(),
                                       {"Content-Type": "application/json"}, expect))


def multipart(fields: dict, files: dict) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    out = io.BytesIO()
    for name, value in fields.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, (filename, data, content_type) in files.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                  f'Content-Type: {content_type}\r\n\r\n'.encode())
        out.write(data)
        out.write(b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def session_of(user) -> dict:
    """Cookies of a signed-in session of `user` (saved in the bench database, valid for the gunicorn server)."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return {settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value,
            "csrftoken": "b" * 32, "django_language": "en"}


def wrk_paths(port: int, warmup: list[str], paths: list[str], seconds: float, cookies: dict) -> tuple[float, float]:
    """(p50, p95) ms by wrk, one request at a time, cycling through `paths` (each asked once when the run makes
    fewer requests than there are paths) after a second of warm-up on other paths; any non-200 is an error."""
    import re
    import subprocess
    import tempfile

    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    out = ""
    for run, (urls, duration) in enumerate(((warmup, 1), (paths, seconds))):
        lua = ("paths = {" + ",".join(f'"{p}"' for p in urls) + "}\ni = 0\n"
               f'wrk.headers["Cookie"] = "{cookie}"\n'
               "request = function()\n  i = i + 1\n  return wrk.format(\"GET\", paths[((i - 1) % #paths) + 1])\nend\n"
               "response = function(status) if status ~= 200 then error('status ' .. status) end end\n"
               "done = function(summary, latency, requests)\n  io.write(string.format('P50 %d\\nP95 %d\\nN %d\\n', "
               "latency:percentile(50), latency:percentile(95), summary.requests))\nend\n")
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
            f.write(lua)
        out = subprocess.run(["wrk", "-t", "1", "-c", "1", "-d", f"{duration:.0f}s", "--timeout", "30s", "-s", f.name,
                              f"http://127.0.0.1:{port}"], capture_output=True, text=True, check=True).stdout
        os.unlink(f.name)
        if "Non-2xx" in out or "Socket errors" in out:
            raise SystemExit(f"wrk saw errors:\n{out}")
    n = int(re.search(r"N (\d+)", out).group(1))
    if n > len(paths) > 1:
        print(f"  note: wrk made {n} requests over {len(paths)} paths (some repeated)", flush=True)
    return tuple(int(re.search(rf"P{q} (\d+)", out).group(1)) / 1000 for q in (50, 95))


def warm(client: Http, paths: list[str], rounds: int = 40) -> None:
    """A few requests so that each of the 4 workers has answered once (imports, caches, the first connection)."""
    for i in range(rounds):
        client.get(paths[i % len(paths)])


def python_paths(client: Http, paths: list[str], warmup: int = 3) -> tuple[float, float]:
    """(p50, p95) ms by http.client over `paths` (each once; the first `warmup` not counted)."""
    times = []
    for i, path in enumerate(paths):
        t = time.perf_counter()
        client.get(path)
        if i >= warmup:
            times.append((time.perf_counter() - t) * 1000)
    return p50_p95(times)


def in_process(user, paths: list[str], warmup: int = 3) -> tuple[float, float, float]:
    """(p50, p95, CPU p50) ms of GETs of `paths` through Django's test client in this process (no gunicorn, no
    socket): the server's own time, and the Python CPU time of a request (what the shared machine's other work
    does not stretch; add the statements' time for the answer time on a quiet machine)."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    client.cookies["django_language"] = "en"
    times, cpu = [], []
    for i, path in enumerate(paths):
        t, c = time.perf_counter(), time.process_time()
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        if i >= warmup:
            times.append((time.perf_counter() - t) * 1000)
            cpu.append((time.process_time() - c) * 1000)
    return (*p50_p95(times), statistics.median(cpu))


def captured_sql(user, path: str) -> list[str]:
    """The statements one GET of `path` sends (in-process, Django's test client), as sent."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(user)
    client.cookies["django_language"] = "en"
    client.get(path)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return [q["sql"] for q in captured.captured_queries]


def raw_statements(city, statements: list[str], samples: int) -> dict:
    """p50/p95 ms of running `statements` one after the other with psycopg (prepared, the serving settings), and
    the slowest one's share."""
    raw = city.raw_connection()
    each = [[] for _ in statements]
    totals = []
    for n in range(samples + 2):
        total = 0.0
        for i, sql in enumerate(statements):
            t = time.perf_counter()
            raw.execute(sql, prepare=True).fetchall()  # as sent (no parameters: no placeholders)
            spent = (time.perf_counter() - t) * 1000
            total += spent
            if n >= 2:
                each[i].append(spent)
        if n >= 2:
            totals.append(total)
    raw.close()
    medians = [statistics.median(e) for e in each]
    slowest = max(range(len(statements)), key=lambda i: medians[i]) if statements else None
    return {"statements": len(statements), "p50_p95": p50_p95(totals),
            "slowest": {"ms": round(medians[slowest], 2), "sql": statements[slowest][:600],
                        "full": statements[slowest]} if statements else None}


def explain(city, sql: str) -> list[str]:
    with city.raw_connection() as raw:
        return [r[0] for r in raw.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql).fetchall()]


def profile(user, path: str, top: int = 18) -> str:
    """cProfile of one in-process GET (cumulative time, the top functions)."""
    import cProfile
    import pstats

    from django.test import Client

    client = Client()
    client.force_login(user)
    client.get(path)
    profiler = cProfile.Profile()
    profiler.enable()
    client.get(path)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(rf"{ROOT}/(?!\.venv)|template|render", top)  # the app's own
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


def staff_member(desk: str = "planning"):
    from django.contrib.auth.models import User

    return User.objects.get(username=f"{STAFF_PREFIX}{desk}-1")


# --- 1. inbox --------------------------------------------------------------------------------------------------------

INBOX_PAGES = {
    "first page": "/permits/staff/",
    "filtered (building permits, overdue)": "/permits/staff/?case_type=building_permit&overdue=1",
    "filtered (a step, unassigned)": "/permits/staff/?step=approved_drawings&assigned=none",
    "JSON first page": "/api/permits/staff/inbox",
    "second page (cursor)": None,
}


def bench_inbox(city, args) -> list[dict]:
    user = staff_member("planning")
    cookies = session_of(user)
    server = Server(city.env)
    rows = []
    try:
        client = Http(server.port, cookies)
        warm(client, [p for p in INBOX_PAGES.values() if p])
        first = json.loads(client.get("/api/permits/staff/inbox"))
        pages = dict(INBOX_PAGES)
        pages["second page (cursor)"] = f"/permits/staff/?after={first['next']}" if first.get("next") else None
        for label, path in pages.items():
            if path is None:
                continue
            row = {"page": label, "path": path, "bytes": len(client.get(path))}
            row["wrk"] = wrk_paths(server.port, [path], [path], args.seconds, cookies)
            row["python"] = python_paths(client, [path] * (args.samples + 3))
            row["in_process"] = in_process(user, [path] * (args.samples + 3))
            statements = captured_sql(user, path)
            row["sql"] = raw_statements(city, statements, args.samples)
            row["count"] = first["count"]
            rows.append(row)
            print(f"inbox {label}: wrk {row['wrk']} python {row['python']} sql {row['sql']['p50_p95']} "
                  f"({row['sql']['statements']} statements; slowest {row['sql']['slowest']['ms']} ms)", flush=True)
            if row["wrk"][0] > 50:
                row["profile"] = profile(user, path)
                row["explain"] = explain(city, row["sql"]["slowest"]["full"]) if row["sql"]["slowest"]["ms"] > 5 \
                    else None
                print(row["profile"], "\n".join(row["explain"] or []), flush=True)
    finally:
        server.stop()
    return rows


# --- 2. case page ----------------------------------------------------------------------------------------------------

def bench_case(city, args) -> dict:
    user = staff_member("planning")
    cookies = session_of(user)
    with city.raw_connection() as raw:
        ids = [str(r[0]) for r in raw.execute(
            "SELECT public_id FROM permits_case WHERE status <> 'draft' AND applicant_phone LIKE %s "
            "ORDER BY md5(id::text || %s) LIMIT %s", [APPLICANT_PREFIX + "%", str(time.time()), 4000])]
        open_ids = [str(r[0]) for r in raw.execute(
            "SELECT public_id FROM permits_case c JOIN permits_desk d ON d.id = c.desk_id WHERE d.code = 'planning' "
            "AND c.status = 'open' ORDER BY md5(c.id::text || %s) LIMIT 4000", [str(time.time())])]
    paths = [f"/permits/staff/cases/{i}/" for i in ids]
    open_paths = [f"/permits/staff/cases/{i}/" for i in open_ids]
    server = Server(city.env)
    out = {}
    try:
        client = Http(server.port, cookies)
        warm(client, paths[:40])                      # of the wrk warm-up's paths: never measured
        sizes = [len(client.get(p)) for p in paths[40:48]]
        out["bytes_mean"] = round(statistics.mean(sizes))
        n = args.samples + 3
        any_wrk, any_python, any_local = paths[:len(paths) - 2 * n], paths[-2 * n:-n], paths[-n:]
        out["any_case"] = wrk_paths(server.port, any_wrk[:200], any_wrk[200:], args.seconds, cookies)
        out["any_case_python"] = python_paths(client, any_python)
        out["any_case_in_process"] = in_process(user, any_local)
        # the open cases at the desk: the wrk run gets those the Python clients do not take (it may repeat some)
        open_wrk, open_python, open_local = open_paths[:-2 * n], open_paths[-2 * n:-n], open_paths[-n:]
        out["open_at_desk"] = wrk_paths(server.port, open_wrk[:30], open_wrk[30:], args.seconds, cookies)
        out["open_at_desk_python"] = python_paths(client, open_python)
        out["open_at_desk_in_process"] = in_process(user, open_local)
        out["open_cases_at_desk"] = len(open_paths)
        statements = captured_sql(user, open_paths[-1])
        out["sql"] = raw_statements(city, statements, max(10, args.samples // 3))
        print(f"case page: any {out['any_case']} (python {out['any_case_python']}, in-process "
              f"{out['any_case_in_process']}), open at the desk {out['open_at_desk']} (python "
              f"{out['open_at_desk_python']}, in-process {out['open_at_desk_in_process']}); "
              f"sql {out['sql']['p50_p95']} "
              f"({out['sql']['statements']} statements, slowest {out['sql']['slowest']['ms']} ms)", flush=True)
        if out["open_at_desk"][0] > 80 or out["any_case"][0] > 80:
            out["profile"] = profile(user, open_paths[-2])
            print(out["profile"], flush=True)
    finally:
        server.stop()
    return out


# --- 3. submission ---------------------------------------------------------------------------------------------------

def submitter():
    """(user, parcel): a citizen owning a demo parcel in a zone with rules (one personal owner), signed up with a test
    number."""
    from django.contrib.auth.models import Group, User
    from django.db.models import Count

    from accounts.models import Citizen, PropertyLink
    from common.errors import ApiError
    from parcels.models import Owner, Ownership, Parcel
    from zoning import api as zoning_api

    citizen = Citizen.objects.filter(mobile=SUBMITTER_MOBILE).select_related("user").first()
    if citizen is not None:
        link = PropertyLink.objects.filter(citizen=citizen).first()
        parcel = Parcel.objects.get(ownerships__owner__national_id=link.national_id, deed_area__gt=150,
                                    renewal_code__isnull=False) if link else None
        return citizen.user, parcel
    parcels = (Parcel.objects.filter(renewal_code__isnull=False, deed_area__gt=150)
               .annotate(n=Count("ownerships")).filter(n=1).order_by("id"))
    for parcel in parcels[:2000]:
        owner = Ownership.objects.select_related("owner").get(parcel=parcel).owner
        if owner.kind != Owner.Kind.PERSON or not owner.national_id or Citizen.objects.filter(
                national_id=owner.national_id).exists():
            continue
        if Parcel.objects.filter(ownerships__owner=owner, deed_area__gt=150, renewal_code__isnull=False).count() != 1:
            continue
        try:
            zoning_api.envelope(parcel.pk)
        except ApiError:
            continue
        user, _created = User.objects.get_or_create(username=SUBMITTER_MOBILE)
        user.set_unusable_password()
        user.save()
        user.groups.add(Group.objects.get(name="citizen"))
        citizen = Citizen.objects.create(user=user, mobile=SUBMITTER_MOBILE, national_id=owner.national_id)
        PropertyLink.objects.create(citizen=citizen, national_id=owner.national_id, status="verified",
                                    method="staff")
        return user, parcel
    raise SystemExit("no parcel with a single personal owner and a zone")


def remove_submitted(user) -> int:
    """The cases the run made (the submitter's), their events, documents and files."""
    from permits.models import Case, CaseEvent, Document

    cases = Case.objects.filter(applicant=user)
    n = cases.count()
    for doc in Document.objects.filter(case__in=cases):
        doc.file.delete(save=False)
    Document.objects.filter(case__in=cases).update(supersedes=None)
    Document.objects.filter(case__in=cases).delete()
    CaseEvent.objects.filter(case__in=cases).delete()
    cases.delete()
    return n


def a_proposal(parcel, i: int) -> dict:
    area = float(parcel.deed_area or parcel.measured_area)
    floors = 1 + i % 3
    return {"land_use": "residential", "floors": floors, "footprint_area": round(area * 0.4, 1),
            "gross_floor_area": round(area * 0.4 * floors, 1), "units": floors, "parking_spaces": floors}


def bench_submit(city, args) -> dict:
    user, parcel = submitter()
    remove_submitted(user)
    cookies = session_of(user)
    page = pdf_bytes(1, 40)
    server = Server(city.env)
    parts = {k: [] for k in ("start", "proposal", "documents", "submit", "total")}
    statuses = {}
    try:
        client = Http(server.port, cookies)
        for i in range(args.submit_samples + 3):
            t0 = time.perf_counter()
            case = client.post_json("/api/permits/cases", {"case_type": "building_permit", "parcel_id": parcel.pk,
                                                           "work": "new"})
            t1 = time.perf_counter()
            answer = client.post_json(f"/api/permits/cases/{case['id']}/proposal", {"proposal": a_proposal(parcel, i)})
            t2 = time.perf_counter()
            for kind in ("deed", "national_card"):
                body, content_type = multipart({"kind": kind}, {"file": (f"{kind}.pdf", page, "application/pdf")})
                client.request("POST", f"/api/permits/cases/{case['id']}/documents", body,
                               {"Content-Type": content_type}, expect=(201,))
            t3 = time.perf_counter()
            submitted = client.post_json(f"/api/permits/cases/{case['id']}/submit", {})
            t4 = time.perf_counter()
            if i >= 3:
                for name, a, b in (("start", t0, t1), ("proposal", t1, t2), ("documents", t2, t3),
                                   ("submit", t3, t4), ("total", t0, t4)):
                    parts[name].append((b - a) * 1000)
            status = (answer.get("answer") or {}).get("status")
            statuses[status] = statuses.get(status, 0) + 1
            assert submitted.get("tracking_code"), submitted
    finally:
        server.stop()
        removed = remove_submitted(user)
    out = {"via": "HTTP: the citizen API (start, proposal, 2 documents, submit)", "parcel": parcel.pk,
           "decisions": statuses, "removed": removed}
    for name, times in parts.items():
        out[name] = p50_p95(times)
    print(f"submission: {out}", flush=True)
    return out


# --- 4. upload -------------------------------------------------------------------------------------------------------

class Parts:
    """Times the checks of permits.files by wrapping them (in-process requests)."""

    NAMES = ("_spooled", "_sniffed", "_check_pdf", "_scan", "_store", "add_document")

    def __init__(self):
        from permits import files

        self.files, self.times, self.saved = files, {}, []
        for name in self.NAMES:
            original = getattr(files, name)
            self.saved.append((name, original))
            setattr(files, name, self._wrap(name, original))

    def _wrap(self, label, function):
        def timed_call(*args, **kwargs):
            t = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.times.setdefault(label, []).append((time.perf_counter() - t) * 1000)
        return timed_call

    def restore(self):
        for name, original in self.saved:
            setattr(self.files, name, original)


def bench_upload(city, args) -> dict:
    from django.test import Client

    user, parcel = submitter()
    remove_submitted(user)
    drawing = pdf_bytes(24, 27_900, seed=5)
    cookies = session_of(user)
    server = Server(city.env)
    out = {"bytes": len(drawing), "pdf": "24 pages of vector lines (uncompressed content streams), 50 objects"}
    try:
        client = Http(server.port, cookies)
        case = client.post_json("/api/permits/cases", {"case_type": "building_permit", "parcel_id": parcel.pk,
                                                       "work": "new"})
        path = f"/api/permits/cases/{case['id']}/documents?kind=drawings"
        body, content_type = multipart({"kind": "drawings"}, {"file": ("drawings.pdf", drawing, "application/pdf")})
        times = []
        for i in range(args.upload_samples + 4):    # the first 4: each worker's first upload (imports) not counted
            t = time.perf_counter()
            answer = json.loads(client.request("POST", path, body, {"Content-Type": content_type}, expect=(201,)))
            if i >= 4:
                times.append((time.perf_counter() - t) * 1000)
        assert answer["size"] == len(drawing), answer
        out["http"] = p50_p95(times)
        out["mb_per_s"] = round(len(drawing) / 1e6 / (out["http"][0] / 1000), 1)
        # the same in-process, the checks timed
        parts = Parts()
        try:
            local = Client()
            local.force_login(user)
            from django.core.files.uploadedfile import SimpleUploadedFile

            whole = []
            for i in range(max(3, args.upload_samples // 2) + 1):
                t = time.perf_counter()
                response = local.post(path, {"kind": "drawings", "file": SimpleUploadedFile(
                    "drawings.pdf", drawing, content_type="application/pdf")})
                assert response.status_code == 201, response.content[:300]
                if i:
                    whole.append((time.perf_counter() - t) * 1000)
                else:
                    parts.times.clear()
            out["in_process"] = p50_p95(whole)
            out["parts"] = {name: round(statistics.median(times), 1) for name, times in parts.times.items()}
        finally:
            parts.restore()
        checks = sum(out["parts"].get(k, 0) for k in ("_sniffed", "_check_pdf", "_scan"))
        out["checks_share_of_request"] = round(checks / out["in_process"][0], 3)
        print(f"upload: {out}", flush=True)
    finally:
        server.stop()
        remove_submitted(user)
    return out


# --- 5. SLA report ---------------------------------------------------------------------------------------------------

def bench_sla(city, args) -> dict:
    user = staff_member("planning")
    cookies = session_of(user)
    statements = captured_sql(user, "/permits/staff/sla/")
    heavy = [s for s in statements if "permits_caseevent" in s or "permits_issued" in s]
    server = Server(city.env)
    out = {}
    try:
        client = Http(server.port, cookies)
        warm(client, ["/permits/staff/", "/permits/staff/sla.csv"], 8)
        out["bytes"] = len(client.get("/permits/staff/sla/"))
        out["page"] = timed(lambda: client.get("/permits/staff/sla/"), args.sla_samples, warmup=1)
        out["csv"] = timed(lambda: client.get("/permits/staff/sla.csv"), args.sla_samples, warmup=1)
    finally:
        server.stop()
    out["sql_all"] = raw_statements(city, statements, args.sla_samples)
    out["sql_report"] = raw_statements(city, heavy, args.sla_samples)
    out["ratio_page"] = round(out["page"][0] / out["sql_report"]["p50_p95"][0], 2)
    out["ratio_csv"] = round(out["csv"][0] / out["sql_report"]["p50_p95"][0], 2)
    out["explain"] = explain(city, max(heavy, key=len)) if heavy else []
    print(f"SLA: page {out['page']} csv {out['csv']}; the report's SQL ({len(heavy)} statements) "
          f"{out['sql_report']['p50_p95']}, all {len(statements)} statements {out['sql_all']['p50_p95']}; "
          f"ratio page {out['ratio_page']} csv {out['ratio_csv']}", flush=True)
    print("\n".join(out["explain"]), flush=True)
    return out


MEASURES = {"inbox": bench_inbox, "case": bench_case, "submit": bench_submit, "upload": bench_upload,
            "sla": bench_sla}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parcels", type=int, default=100_000)
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--documents", type=int, default=1_000_000)
    ap.add_argument("--years", type=float, default=5)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--regenerate", action="store_true", help="make the cases again even if their number fits")
    ap.add_argument("--samples", type=int, default=60)
    ap.add_argument("--seconds", type=float, default=8.0, help="duration of each wrk latency run")
    ap.add_argument("--submit-samples", type=int, default=30)
    ap.add_argument("--upload-samples", type=int, default=8)
    ap.add_argument("--sla-samples", type=int, default=7)
    ap.add_argument("--only", default="inbox,case,submit,upload,sla")
    ap.add_argument("--json", help="write the figures as JSON to this file")
    ap.add_argument("--median-of", nargs="+", metavar="JSON",
                    help="print the medians of earlier runs' --json files (each figure separately) and stop")
    args = ap.parse_args()
    if args.median_of:
        runs = [json.loads(Path(name).read_text()) for name in args.median_of]
        report = median_report(runs)
        report.pop("errors", None)     # a part that failed in a run is the median of the others
        print_report(report)
        print(f"medians of {len(runs)} runs; load averages (start, end) "
              + "; ".join(f"{r['load_start'][0]}, {r['load_end'][0]}" for r in runs))
        return
    parts = args.only.split(",") if args.only else []

    started = time.perf_counter()
    city = City(args.parcels, extra=[["load_rulebook", "data/rulebook/demo.toml", "--commit", "--if-absent"],
                                     ["load_notice_templates", "--commit"], ["load_permit_types", "--commit"]])
    city.setup_django()
    report = {"parcels": args.parcels, "database": city.name, "load_start": load()}
    report["generation"] = ensure_cases(city, args)
    report["data"] = describe(city)
    print(f"setup {time.perf_counter() - started:.0f} s; load average {load()}; {report['data']}", flush=True)
    for name, part in MEASURES.items():
        if name in parts:
            try:
                report[name] = part(city, args)
            except Exception as exc:  # the other parts are still measured
                import traceback

                traceback.print_exc()
                report.setdefault("errors", {})[name] = repr(exc)
    report["load_end"] = load()
    print_report(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1, ensure_ascii=False, default=str))



def _cpu(figures) -> str:
    return f"{figures[2]:.1f}" if len(figures) > 2 else "-"


def median_report(runs: list):
    """The figures of several runs' reports, each the median of its values across the runs that have it (a part
    that failed in one run, a figure an older run did not measure: the median of the others)."""
    runs = [r for r in runs if r is not None]
    if not runs:
        return None
    first = runs[0]
    runs = [r for r in runs if isinstance(r, type(first)) or isinstance(first, (int, float))
            and isinstance(r, (int, float))]
    if isinstance(first, (bool, str)):
        return first
    if isinstance(first, (int, float)):
        middle = statistics.median(runs)
        return round(middle) if all(isinstance(v, int) for v in runs) else middle   # counts stay whole
    if isinstance(first, dict):
        keys = list(dict.fromkeys(k for r in runs for k in r))
        return {k: median_report([r[k] for r in runs if k in r]) for k in keys}
    if isinstance(first, list):
        return [median_report([r[i] for r in runs if len(r) > i]) for i in range(max(len(r) for r in runs))]
    return first


def print_report(r: dict) -> None:
    d = r["data"]
    print(f"\npermits benchmark: {r['parcels']:,} parcels, {d['cases']:,} cases ({d['parcels_with_cases']:,} parcels), "
          f"{d['events']:,} events, {d['documents']:,} documents, {d['issued']:,} issued; load average at the start "
          f"{r['load_start']}, at the end {r['load_end']} (2 shared cores); ms")
    print("open cases by desk (overdue): " + ", ".join(f"{k} {v['open']:,} ({v['overdue']:,})"
                                                       for k, v in d["open_by_desk"].items()))
    for name, error in r.get("errors", {}).items():
        print(f"{name}: FAILED {error}")
    if "inbox" in r:
        print("inbox of a planning-desk member (gunicorn, 4 workers): p50/p95 by wrk one request at a time, by "
              "http.client, and the page's statements run raw (psycopg, prepared); target p50 <= 50")
        print(f"{'page':<38} {'bytes':>7} | {'wrk p50':>7} {'p95':>6} | {'py p50':>6} {'p95':>6} | {'in-proc':>7} "
              f"{'p95':>6} {'CPU':>5} | {'SQL p50':>7} {'n':>3} {'slowest':>7} | {'ratio':>5}")
        for row in r["inbox"]:
            sql = row["sql"]
            print(f"{row['page']:<38} {row['bytes']:>7} | {row['wrk'][0]:>7.1f} {row['wrk'][1]:>6.1f} | "
                  f"{row['python'][0]:>6.1f} {row['python'][1]:>6.1f} | {row['in_process'][0]:>7.1f} "
                  f"{row['in_process'][1]:>6.1f} {_cpu(row['in_process']):>5} | {sql['p50_p95'][0]:>7.1f} "
                  f"{sql['statements']:>3} "
                  f"{sql['slowest']['ms']:>7.1f} | {row['wrk'][0] / sql['p50_p95'][0]:>5.1f}")
    if "case" in r:
        c = r["case"]
        print(f"staff case page, a different case each request (~{c['bytes_mean']:,} bytes; target <= 80): "
              f"p50/p95 by wrk | http.client | in-process (and its Python CPU p50); the page's "
              f"{c['sql']['statements']} statements raw {c['sql']['p50_p95'][0]:.1f}")
        for label, key in (("any case (5 years)", "any_case"),
                           (f"open at the desk ({c['open_cases_at_desk']})", "open_at_desk")):
            print(f"  {label:<36} {c[key][0]:>7.1f} {c[key][1]:>6.1f} | {c[key + '_python'][0]:>6.1f} "
                  f"{c[key + '_python'][1]:>6.1f} | {c[key + '_in_process'][0]:>6.1f} "
                  f"{c[key + '_in_process'][1]:>6.1f} {_cpu(c[key + '_in_process']):>5}")
    if "submit" in r:
        s = r["submit"]
        print(f"submission with eligibility ({s['via']}): total p50 {s['total'][0]:.1f} p95 {s['total'][1]:.1f}; "
              f"start {s['start'][0]:.1f}, proposal (the decision) {s['proposal'][0]:.1f}, two documents "
              f"{s['documents'][0]:.1f}, submit (decision again, frozen; first step; notices) {s['submit'][0]:.1f}")
    if "upload" in r:
        u = r["upload"]
        print(f"upload of a {u['bytes'] / 1e6:.1f} MB PDF (POST /api/permits/cases/<id>/documents): p50 "
              f"{u['http'][0]:.0f} p95 {u['http'][1]:.0f} = {u['mb_per_s']} MB/s; in-process {u['in_process'][0]:.0f};"
              f" checks {u['checks_share_of_request']:.0%} of the request; parts (p50) "
              + ", ".join(f"{k} {v}" for k, v in u["parts"].items()))
    if "sla" in r:
        s = r["sla"]
        print(f"SLA report, whole city: page p50 {s['page'][0]:.0f} (CSV {s['csv'][0]:.0f}) against its "
              f"{s['sql_report']['statements']} report statements raw {s['sql_report']['p50_p95'][0]:.0f} "
              f"(all {s['sql_all']['statements']} statements {s['sql_all']['p50_p95'][0]:.0f}): ratio "
              f"{s['ratio_page']} (CSV {s['ratio_csv']})  (target <= 2)")


if __name__ == "__main__":
    main()
