"""Documents benchmark (issue 15): printing an issued document in the job `documents.render` with a browser started
per page (before) and with the job worker's kept browser (common/pdf.py Printer, after); serving a stored document
(GET /documents/<code>.pdf) beside the same bytes served as a static file by the app (whitenoise), the floor.

    .venv/bin/python bench/documents.py --parcels 30000 [--kind bench_permit|parcel_certificate] [--samples 20]
                                        [--jobs 30] [--seconds 8] [--only render,worker,serve] [--json out.json]

On the demo city of that size (bench/common.py) with the rulebook, the permit desks and case types, the tariff books
(each approved year assessed) and 60 demo permit cases (`load_demo_permits`, which issues some):

1. render: `--samples` documents of `--kind` issued (documents.api, committed) and printed one after another by the
   job's own code (documents.rendering.render: the kind's page, print, PAdES signature, store), in this process as
   one job worker would: p50/p95 of the whole, of the print and of the signature, and the CPU per document of this
   process and every process under it (the browsers), for each renderer. The bench's kind `bench_permit` prints the
   issued permit page (permits/issuing.py html_of, made anew for each document: Persian, tables, the SVG map, the QR
   code); `parcel_certificate` (documents/certificate.py) when the tree has it.
2. worker: `--jobs` documents issued, then a real `manage.py procrastinate worker` on the queue "documents"
   (concurrency 2, as ./run starts it) prints them all: documents per minute from its start (a fresh worker, the
   browser's start included) and between the first and the last document printed (steady state), per renderer.
3. serve: gunicorn (4 workers, as the other benches) serving stored documents by wrk (one request at a time: p50/p95;
   4 connections: requests/s) with the rate limit as configured (its counters' upsert on every request, the limits
   raised so that the bench is never refused), without it (DOCUMENTS_VERIFY_RATE empty), and the same bytes as static
   files (whitenoise, the floor: written under STATIC_ROOT/bench-documents/ for the run); in-process, the request's
   two statements: the limiter's upsert (accounts.ratelimit.hit) with its table UNLOGGED (accounts migration 0003)
   and LOGGED (before it), and the document's row by the view's prepared statement and by the ORM's find() (before).
   Target: p50 <= 10 ms.

The machine's load average is printed with the figures (a shared 2-core machine: compare within a run).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import PY, ROOT, City, Server, p50_p95, wrk_latency, wrk_rps  # noqa: E402

BENCH_KIND = "bench_permit"
RENDERERS = ("per page", "kept")   # print_to_pdf (a browser per page, as before) and the job worker's Printer
TICK = os.sysconf("SC_CLK_TCK")
STATIC_DIR = "bench-documents"
RATE_NEVER_REFUSED = "1000000000/600,1000000000/86400"   # the default rules' two counters, never reached


def load() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


# --- the kind the bench prints --------------------------------------------------------------------------------------

def register_bench_kind() -> None:
    """`bench_permit`: the issued permit's page of an Issued row of the city (content {"issued": id}), made by
    permits/issuing.py as its own job makes it."""
    from documents import kinds

    def html(doc):
        from permits import issuing
        from permits.models import Issued

        return issuing.html_of(Issued.objects.select_related("case__workflow", "parcel").get(pk=doc.content["issued"]))

    kinds.register_kind(kinds.DocumentKind(code=BENCH_KIND, name="Bench permit", prefix="BNCH", html=html,
                                           public_pdf=True))


def wsgi_app():
    """The app as gunicorn serves it, with the bench's kind registered (gunicorn "bench.documents:wsgi_app()")."""
    from gis_portal.wsgi import application

    register_bench_kind()
    return application


def issue(kind: str, count: int) -> list[int]:
    """Ids of `count` new documents of the kind, committed (their render jobs deferred, as issuing does)."""
    from django.db import transaction

    from parcels.models import Parcel

    ids = []
    if kind == BENCH_KIND:
        from documents import api
        from permits.models import Issued

        issued = list(Issued.objects.order_by("pk").values_list("pk", "parcel_id"))
        if not issued:
            raise SystemExit("no issued permit in the city (load_demo_permits issues some)")
        parcels = Parcel.objects.in_bulk([p for _, p in issued])
        for n in range(count):
            issued_id, parcel_id = issued[n % len(issued)]
            with transaction.atomic():
                ids.append(api.issue(kind, parcel=parcels[parcel_id], content={"issued": issued_id},
                                     subject={"title": "Bench permit", "facts": []}, source="bench").pk)
    elif kind == "parcel_certificate":
        from documents import certificate

        for parcel in Parcel.objects.order_by("?")[:count]:
            ids.append(certificate.issue_for(parcel)[0].pk)
    else:
        raise SystemExit(f"the bench issues {BENCH_KIND} or parcel_certificate, not {kind!r}")
    return ids


def use_renderer(name: str) -> None:
    """Make documents.rendering print with a browser per page ("per page": print_to_pdf, as before the kept
    browser) or the process's Printer ("kept")."""
    from common import pdf

    if not hasattr(pdf, "_kept_printer"):
        pdf._kept_printer = pdf.printer
    if name == "per page":
        class PerPage:
            launches = None

            def print(self, html: bytes) -> bytes:
                return pdf.print_to_pdf(html)
        pdf.printer = lambda: PerPage()
    else:
        pdf.printer = pdf._kept_printer


# --- CPU of this process and every process under it ---------------------------------------------------------------

def _children() -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                out.setdefault(int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1]), []).append(
                    int(entry))
            except (OSError, IndexError):
                continue
    return out


def tree_cpu() -> tuple[float, dict[int, float]]:
    """(CPU seconds of this process and the children it reaped, {live descendant: its CPU and its reaped
    children's}): the browser's processes, live (a kept browser) or gone (one per page; this process is their
    subreaper, so Chromium's orphans come back to it and are reaped by `reap`)."""
    own = time.process_time()
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    children, live, todo = _children(), {}, [os.getpid()]
    while todo:
        for pid in children.get(todo.pop(), []):
            todo.append(pid)
            try:
                f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            live[pid] = sum(int(x) for x in f[11:15]) / TICK   # utime stime cutime cstime
    return own + reaped.ru_utime + reaped.ru_stime, live


def cpu_since(before) -> float:
    base, live = tree_cpu()
    return base - before[0] + sum(v - before[1].get(pid, 0.0) for pid, v in live.items())


def reap() -> None:
    """Wait for Chromium's orphaned processes (adopted by this process as their subreaper) once they have ended."""
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                return
        except ChildProcessError:
            return


def become_subreaper() -> None:
    import ctypes

    ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)   # PR_SET_CHILD_SUBREAPER


# --- 1. printing in the job, one document after another ---------------------------------------------------------

def measure_render(city: City, args) -> dict:
    from common import pdf
    from documents import rendering, signing
    from documents.models import IssuedDocument

    become_subreaper()
    timings = {"print": [], "sign": []}
    real_sign = signing.sign

    def timed_sign(*a, **k):
        t = time.perf_counter()
        try:
            return real_sign(*a, **k)
        finally:
            timings["sign"].append((time.perf_counter() - t) * 1000)
    signing.sign = timed_sign
    out = {}
    try:
        for renderer in RENDERERS:
            use_renderer(renderer)
            printer = pdf.printer()
            real_print = type(printer).print

            def timed_print(self, html, *a, _real=real_print, **k):
                t = time.perf_counter()
                try:
                    return _real(self, html, *a, **k)
                finally:
                    timings["print"].append((time.perf_counter() - t) * 1000)
            type(printer).print = timed_print
            try:
                ids = issue(args.kind, args.samples + 2)
                for warm in ids[:2]:       # the kept browser's start, the signing key, the templates
                    rendering.render(warm)
                timings["print"].clear()
                timings["sign"].clear()
                whole = []
                before = tree_cpu()   # over the whole run: a process living across documents is counted once
                for document_id in ids[2:]:
                    t = time.perf_counter()
                    rendering.render(document_id)
                    whole.append((time.perf_counter() - t) * 1000)
                    reap()
                time.sleep(0.5)             # the last browser's (or closed tab's) processes end
                reap()
                cpu = cpu_since(before) * 1000 / len(whole)
            finally:
                type(printer).print = real_print
            doc = IssuedDocument.objects.get(pk=ids[-1])
            out[renderer] = {"whole": p50_p95(whole), "print": p50_p95(timings["print"]),
                             "sign": p50_p95(timings["sign"]), "cpu_ms": cpu,
                             "per_minute": 60_000 / statistics.mean(whole), "pdf_bytes": doc.size,
                             "launches": getattr(printer, "launches", None)}
            print(f"  render, {renderer}: p50 {out[renderer]['whole'][0]:.0f} ms", flush=True)
    finally:
        signing.sign = real_sign
        use_renderer("kept")
        pdf.printer().close()
    return out


# --- 2. a real job worker ----------------------------------------------------------------------------------------

def as_worker(renderer: str, concurrency: int) -> None:
    """The process `measure_worker` starts: `manage.py procrastinate worker` on the queue "documents", with the
    bench's kind registered and the renderer chosen."""
    import django

    django.setup()
    register_bench_kind()
    use_renderer(renderer)
    from django.core.management import execute_from_command_line

    execute_from_command_line(["manage.py", "procrastinate", "worker", "--queues", "documents", "--concurrency",
                               str(concurrency), "--shutdown-graceful-timeout", "5"])


def measure_worker(city: City, args) -> dict:
    from django.db import connection

    from documents.models import IssuedDocument

    out = {}
    for renderer in RENDERERS:
        with connection.cursor() as cursor:   # only this run's jobs wait on the queue
            cursor.execute("DELETE FROM procrastinate_jobs WHERE queue_name = 'documents' AND status = 'todo'")
        ids = issue(args.kind, args.jobs)
        started = time.perf_counter()
        worker = subprocess.Popen([PY, __file__, "--as-worker", renderer, "--concurrency", "2"], cwd=ROOT,
                                  env=city.env)
        try:
            while True:
                done = IssuedDocument.objects.filter(pk__in=ids, rendered_at__isnull=False).count()
                if done == len(ids):
                    break
                if worker.poll() is not None or time.perf_counter() - started > 60 * 30:
                    raise RuntimeError(f"the worker stopped with {done} of {len(ids)} documents printed")
                time.sleep(0.2)
            elapsed = time.perf_counter() - started
        finally:
            worker.terminate()
            worker.wait(30)
        times = sorted(IssuedDocument.objects.filter(pk__in=ids).values_list("rendered_at", flat=True))
        steady = (times[-1] - times[0]).total_seconds()
        out[renderer] = {"documents": len(ids), "seconds": elapsed, "per_minute": len(ids) * 60 / elapsed,
                         "steady_per_minute": (len(ids) - 1) * 60 / steady if steady else None}
        print(f"  worker, {renderer}: {out[renderer]['per_minute']:.1f} documents/min", flush=True)
    return out


# --- 3. serving a stored document ----------------------------------------------------------------------------------

def measure_serve(city: City, args) -> dict:
    from django.conf import settings
    from django.core.files.storage import default_storage

    from accounts import ratelimit
    from accounts.signin import address_key, parse_limits
    from documents import rendering
    from documents.models import IssuedDocument

    docs = list(IssuedDocument.objects.filter(kind=args.kind, rendered_at__isnull=False).order_by("-pk")[:50])
    if len(docs) < 50:
        for document_id in issue(args.kind, 50 - len(docs)):
            rendering.render(document_id)
        docs = list(IssuedDocument.objects.filter(kind=args.kind, rendered_at__isnull=False).order_by("-pk")[:50])
    from common import pdf

    pdf.printer().close()
    paths = [f"/documents/{d.verification_code}.pdf" for d in docs]
    static_root = Path(settings.STATIC_ROOT) / STATIC_DIR
    static_root.mkdir(parents=True, exist_ok=True)
    for d in docs:
        with default_storage.open(d.file.name) as fh:
            (static_root / f"{d.number}.pdf").write_bytes(fh.read())
    static_paths = [f"/{settings.STATIC_URL.strip('/')}/{STATIC_DIR}/{d.number}.pdf" for d in docs]
    out = {"pdf_bytes": statistics.median(d.size for d in docs)}
    try:
        for name, env, urls in (("app, rate limited", {"DOCUMENTS_VERIFY_RATE": RATE_NEVER_REFUSED}, paths),
                                ("app, no rate limit", {"DOCUMENTS_VERIFY_RATE": ""}, paths),
                                ("static file (whitenoise)", {}, static_paths)):
            server = Server({**city.env, **env}, app="bench.documents:wsgi_app()")
            try:
                check = http.client.HTTPConnection("127.0.0.1", server.port)
                check.request("GET", urls[0])
                answer = check.getresponse()
                body = answer.read()
                if answer.status != 200 or not body.startswith(b"%PDF"):
                    raise RuntimeError(f"{urls[0]}: {answer.status} {body[:100]!r}")
                p50, p95 = wrk_latency(server.port, urls, args.seconds)
                rps = wrk_rps(server.port, urls, args.seconds)
            finally:
                server.stop()
            out[name] = {"p50": p50, "p95": p95, "rps": rps}
            print(f"  serve, {name}: p50 {p50:.2f} ms", flush=True)
    finally:
        shutil.rmtree(static_root, ignore_errors=True)
    # in-process, the request's two statements: the limiter's upsert (the table UNLOGGED as migrated, and LOGGED as
    # it was before accounts 0003) and the document's row (the view's prepared statement, and the ORM's find())
    from django.db import connection

    from common.db import prepared_fetchone
    from documents import views

    limits = parse_limits(RATE_NEVER_REFUSED.split(","))
    codes = [d.verification_code for d in docs]

    def timed_calls(call) -> tuple[float, float]:
        times = []
        for n in range(args.samples * 10 + 20):
            t = time.perf_counter()
            call(n)
            times.append((time.perf_counter() - t) * 1000)
        return p50_p95(times[20:])

    def persistence() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SELECT relpersistence FROM pg_class WHERE relname = 'accounts_ratecounter'")
            return cursor.fetchone()[0]

    def limiter(n):
        ratelimit.hit({"documents-verify": (address_key(f"10.9.{n % 200}.1"), limits)})
    was = persistence()
    try:
        for label, state in (("unlogged", "UNLOGGED"), ("logged", "LOGGED")):
            with connection.cursor() as cursor:
                cursor.execute(f"ALTER TABLE accounts_ratecounter SET {state}")
            out[f"limiter statement, table {label}"] = timed_calls(limiter)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE accounts_ratecounter SET {'UNLOGGED' if was == 'u' else 'LOGGED'}")
    out["document row, prepared (the view)"] = timed_calls(
        lambda n: prepared_fetchone(views._PDF_ROW, [codes[n % len(codes)]]))
    out["document row, ORM find()"] = timed_calls(lambda n: views.find(codes[n % len(codes)]))
    return out


MEASURES = {"render": measure_render, "worker": measure_worker, "serve": measure_serve}


def print_report(report: dict) -> None:
    print(f"\n# Documents, {report['parcels']:,} parcels, kind {report['kind']} (load {report['load_start']} -> "
          f"{report['load_end']})")
    if "render" in report:
        print("\nPrinting in the job (print + sign + store), one document after another (ms)")
        print("| renderer | p50 | p95 | print p50 | sign p50 | CPU/document | documents/min | PDF bytes |")
        print("|---|---|---|---|---|---|---|---|")
        for name, r in report["render"].items():
            print(f"| {name} | {r['whole'][0]:.0f} | {r['whole'][1]:.0f} | {r['print'][0]:.0f} | {r['sign'][0]:.0f} |"
                  f" {r['cpu_ms']:.0f} | {r['per_minute']:.0f} | {r['pdf_bytes']:,} |")
    if "worker" in report:
        print("\nA job worker (concurrency 2) printing a queue of documents")
        print("| renderer | documents | seconds | documents/min from its start | steady documents/min |")
        print("|---|---|---|---|---|")
        for name, r in report["worker"].items():
            steady = f"{r['steady_per_minute']:.0f}" if r["steady_per_minute"] else "-"
            print(f"| {name} | {r['documents']} | {r['seconds']:.1f} | {r['per_minute']:.0f} | {steady} |")
    if "serve" in report:
        s = report["serve"]
        floor = s["static file (whitenoise)"]["p50"]
        print(f"\nServing a stored document ({s['pdf_bytes']:,.0f} bytes), wrk: one request at a time, 4 connections")
        print("| what | p50 ms | p95 ms | x floor | requests/s |")
        print("|---|---|---|---|---|")
        for name in ("app, rate limited", "app, no rate limit", "static file (whitenoise)"):
            r = s[name]
            print(f"| {name} | {r['p50']:.2f} | {r['p95']:.2f} | {r['p50'] / floor:.1f} | {r['rps']:.0f} |")
        print("\nIn-process, the request's statements (ms)\n| statement | p50 | p95 |\n|---|---|---|")
        for name, figures in s.items():
            if name.startswith(("limiter", "document row")):
                print(f"| {name} | {figures[0]:.2f} | {figures[1]:.2f} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parcels", type=int, default=30_000)
    ap.add_argument("--kind", default=BENCH_KIND, help="the kind printed: bench_permit or parcel_certificate")
    ap.add_argument("--samples", type=int, default=20)
    ap.add_argument("--jobs", type=int, default=30, help="documents the real worker prints per renderer")
    ap.add_argument("--seconds", type=float, default=8.0, help="duration of each wrk run")
    ap.add_argument("--only", default="render,worker,serve")
    ap.add_argument("--json", help="write the figures as JSON to this file")
    ap.add_argument("--as-worker", help=argparse.SUPPRESS)
    ap.add_argument("--concurrency", type=int, default=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.as_worker:
        return as_worker(args.as_worker, args.concurrency)

    tariffs = sorted(str(p) for p in (ROOT / "data" / "tariffs").glob("*.toml"))
    years = [Path(t).stem for t in tariffs if Path(t).stem.isdigit()]
    city = City(args.parcels, extra=[["load_rulebook", "data/rulebook/demo.toml", "--commit", "--if-absent"],
                                     ["load_notice_templates", "--commit"], ["load_permit_types", "--commit"],
                                     ["load_tariff_book", *tariffs, "--commit"], *(["assess_year", y] for y in years),
                                     ["load_demo_permits", "--if-absent", "--count", "60"]])
    city.setup_django()
    register_bench_kind()
    report = {"parcels": args.parcels, "kind": args.kind, "load_start": load()}
    for name in args.only.split(","):
        report[name] = MEASURES[name](city, args)
    report["load_end"] = load()
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1, default=str))
    print_report(report)


if __name__ == "__main__":
    main()
