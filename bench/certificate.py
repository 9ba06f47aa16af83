"""Parcel certificate benchmark (issue 15): what one certificate costs to issue and to render, and how many one job
worker renders a minute.

    .venv/bin/python bench/certificate.py [--parcels 2000] [--samples 20] [--worker 40] [--concurrency 1]

On the demo city of that size (bench/common.py) with the demo rulebook, the tariff books and this year assessed:

1. issue: documents.certificate.issue_for on `--samples` different zoned parcels (every section built: the sheet's
   statement, the map's shapes, zoning's envelope and rules, hazards, the dues bill computed), p50/p95 in ms;
2. render: documents.rendering.render of each of them, in process, timed in its steps: the page (kind.html), the
   print (common.pdf's kept Chromium, as the job worker prints), the signature (pyHanko, PAdES B-B) and the rest (storing, hashing);
   p50/p95 of each and of the whole (print + sign = what the brief calls rendering);
3. one worker: `--worker` more certificates queued, then `manage.py procrastinate worker --queues documents
   --one-shot --concurrency N` (a real worker process, started cold) renders them; certificates per minute from its
   wall time (the process start included, so a lower bound for a warm worker), and from the documents' own
   rendered_at times (first to last: the steady rate).

Certificates and jobs it makes are deleted at the end. The machine is shared: repeat and compare medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import PY, ROOT, City, p50_p95  # noqa: E402


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parcels", type=int, default=2000)
    ap.add_argument("--samples", type=int, default=20)
    ap.add_argument("--worker", type=int, default=40, help="certificates a real worker renders (0: skip)")
    ap.add_argument("--concurrency", type=int, default=1)
    args = ap.parse_args()

    import jdatetime

    year = jdatetime.date.today().year
    tariffs = sorted(str(p) for p in (ROOT / "data" / "tariffs").glob("*.toml"))
    city = City(args.parcels, extra=[["load_rulebook", "data/rulebook/demo.toml", "--commit", "--if-absent"],
                                     ["load_tariff_book", *tariffs, "--commit"], ["assess_year", str(year)]])
    city.setup_django()
    from django.db import connection
    from django.utils import translation

    import common.pdf
    from documents import certificate, rendering, signing
    from documents.models import IssuedDocument
    from parcels.models import Parcel

    with connection.cursor() as cursor:
        cursor.execute("SELECT parcel_id FROM zoning_parceloverlay WHERE zone_code <> '' ORDER BY parcel_id")
        zoned = [row[0] for row in cursor.fetchall()]
    needed = args.samples + args.worker
    step = max(len(zoned) // needed, 1)
    chosen = zoned[::step][:needed]
    made: list[int] = []
    print(f"certificate bench on {len(zoned):,} zoned parcels; load average {load_average()}", flush=True)

    # the steps of a render, timed by wrapping them where rendering.py calls them
    timings: dict[str, list[float]] = {"html": [], "print": [], "sign": [], "render": []}

    def timed(name, fn):
        def wrapper(*a, **kw):
            start = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                timings[name].append(time.perf_counter() - start)
        return wrapper

    signing.key()   # the demo key made once, before timing
    try:
        issue_times = []
        docs = []
        for parcel_id in chosen[:args.samples]:
            parcel = Parcel.objects.select_related("import_run").get(pk=parcel_id)
            start = time.perf_counter()
            doc, created = certificate.issue_for(parcel)
            issue_times.append(time.perf_counter() - start)
            made.append(doc.pk)
            docs.append(doc)
        original = (rendering.html_of, common.pdf.Printer.print, signing.sign)
        rendering.html_of = timed("html", original[0])
        common.pdf.Printer.print = timed("print", original[1])
        signing.sign = timed("sign", original[2])
        try:
            for doc in docs:
                start = time.perf_counter()
                rendering.render(doc.pk)
                timings["render"].append(time.perf_counter() - start)
        finally:
            rendering.html_of, common.pdf.Printer.print, signing.sign = original
        p50, p95 = p50_p95(issue_times)
        print(f"1. issue (every section built), {len(issue_times)} parcels: p50 {ms(p50)} ms, p95 {ms(p95)} ms")
        both = [p + s for p, s in zip(timings["print"], timings["sign"])]
        print(f"2. render, {len(docs)} certificates (p50 / p95 ms):")
        for name, values in (("page (html)", timings["html"]), ("print (Chromium)", timings["print"]),
                             ("sign (pyHanko)", timings["sign"]), ("print + sign", both),
                             ("whole render", timings["render"])):
            p50, p95 = p50_p95(values)
            print(f"   {name:18} {ms(p50):>6} / {ms(p95):>6}")
        import io

        from pypdf import PdfReader

        rendered = list(IssuedDocument.objects.filter(pk__in=made))
        pages = sorted({len(PdfReader(io.BytesIO(d.file.read())).pages) for d in rendered})
        print(f"   PDF size p50 {statistics.median(d.size for d in rendered) / 1024:.0f} KiB; pages {pages}")

        if args.worker:
            queued = []
            for parcel_id in chosen[args.samples:]:
                doc, _created = certificate.issue_for(Parcel.objects.get(pk=parcel_id))
                made.append(doc.pk)
                queued.append(doc.pk)
            connection.close()
            start = time.perf_counter()
            subprocess.run([PY, "manage.py", "procrastinate", "worker", "--queues", "documents", "--one-shot",
                            "--concurrency", str(args.concurrency)], cwd=ROOT, env=city.env, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wall = time.perf_counter() - start
            done = IssuedDocument.objects.filter(pk__in=queued, rendered_at__isnull=False).order_by("rendered_at")
            times = list(done.values_list("rendered_at", flat=True))
            steady = (times[-1] - times[0]).total_seconds() / max(len(times) - 1, 1) if len(times) > 1 else wall
            print(f"3. one worker (concurrency {args.concurrency}): {len(times)}/{len(queued)} rendered in "
                  f"{wall:.1f} s wall (process start included): {len(times) / wall * 60:.0f} a minute; "
                  f"steady {60 / steady:.0f} a minute ({steady * 1000:.0f} ms each)")
    finally:
        with translation.override("en"):
            for doc in IssuedDocument.objects.filter(pk__in=made):
                if doc.file:
                    doc.file.delete(save=False)
            with connection.cursor() as cursor:
                cursor.execute("DELETE FROM procrastinate_jobs WHERE task_name = 'documents.render' "
                               "AND (args->>'document_id')::bigint = ANY(%s)", [made])
            IssuedDocument.objects.filter(pk__in=made).delete()
    print(f"load average {load_average()} at the end")


if __name__ == "__main__":
    main()
