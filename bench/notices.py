"""Notices benchmark: the outbox's cost in a request, reminder campaigns (enqueue and delivery by real workers), the
HTTP SMS adapter against the fake gateway, and the citizens' sign-in round trip.

    .venv/bin/python bench/notices.py --parcels 100000 [--samples 500] [--throttled 600] [--http 500] [--signins 60]

On the demo city of that size (bench/common.py; the demo tariff books loaded, 1405 assessed, the notice templates
loaded), it measures:

(a) outbox overhead: a request-sized transaction that writes an event row (accounts.AuditEvent) with and without a
    notify() of a transactional SMS + inbox notice (preference lookup, template rendering, two outbox rows, the
    workers' wake-up under its queueing lock), `--samples` of each, alternating; p50/p95 and the difference
    (target: at most +2 ms p50). No worker runs meanwhile, so the wake-up job is the one already waiting (as under
    load).
(b) campaigns: the 1405 dues reminder of the whole city (dues.reminders.start: one INSERT … SELECT) and a synthetic
    campaign of exactly 100,000 numbers through notices.service.enqueue_campaign: seconds and rows/s, and the ratio
    to the floor (the same rows written by a plain INSERT … SELECT into notices_message from a copy). Then the dues
    campaign is delivered through the local SMS backend by TWO real worker processes (`manage.py procrastinate
    worker --queues notices`), the rate set so high the throttle is not the limit: messages/s from the commit to
    the `--deliver`-th delivery (default 20,000; 0: the whole campaign). Then `--throttled` messages at
    NOTICES_REMINDER_RATE: the rate achieved (first to last send) and how late after its slot each was sent.
(c) the HTTP adapter (notices.providers.http.RestSmsGateway) against the fake gateway (tests/notices/fake_gateway.py)
    on loopback, `--http` messages by the two workers at the configured throttle NOTICES_SMS_RATE (each process
    keeps its own throttle): messages/s.
(d) sign-in round trip over HTTP against gunicorn (4 workers): POST /api/accounts/signin/code, the code read from
    the outbox (the SMS the local backend would store), POST /api/accounts/signin/verify; p50/p95 of the whole and of
    each request, `--signins` new numbers (the per-address rate limit is raised for the bench: all requests come
    from 127.0.0.1).

Everything the bench writes (messages, campaigns, the local SMS store, bench accounts) is deleted first, so it can
run again. The machine is shared: read the ratios and compare within one run.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import PY, City, Server, p50_p95  # noqa: E402

SYNTHETIC_ROWS = """
SELECT '09' || lpad(g::text, 9, '0') AS phone, ''::text AS language,
       jsonb_build_object('year', 1405, 'discount_percent', '10', 'deadline', '1405/12/29', 'count', 1 + g %% 3,
                          'total', '1,000,000', 'total_rials', 1000000) AS context,
       %s::text || g AS key
FROM generate_series(1, %s) g
"""

CLEAN = [
    "DELETE FROM notices_message", "DELETE FROM notices_batch", "DELETE FROM notices_localsms",
    "DELETE FROM notices_preference WHERE phone LIKE '0990%%'",
    "DELETE FROM procrastinate_jobs WHERE queue_name = 'notices' AND status IN ('todo', 'doing')",
]


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parcels", type=int, default=100_000)
    ap.add_argument("--samples", type=int, default=500)
    ap.add_argument("--synthetic", type=int, default=100_000)
    ap.add_argument("--throttled", type=int, default=600, help="messages of the throttled run (at the reminder rate)")
    ap.add_argument("--http", type=int, default=500, help="messages through the HTTP adapter")
    ap.add_argument("--deliver", type=int, default=20_000,
                    help="time the delivery of the dues campaign's first N messages, then stop (0: all of them)")
    ap.add_argument("--signins", type=int, default=60)
    ap.add_argument("--skip", default="", help="comma-separated parts to skip: a,b,c,d")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))

    tariffs = sorted(str(p) for p in (ROOT / "data" / "tariffs").glob("*.toml"))
    city = City(args.parcels, extra=[["load_tariff_book", *tariffs, "--commit"], ["assess_year", "1405"],
                                     ["load_notice_templates", "--commit"]])
    city.setup_django()
    from django.db import connection

    def sql(statement, params=None):
        with connection.cursor() as cursor:
            cursor.execute(statement, params)
            return cursor.fetchall() if cursor.description else cursor.rowcount

    for statement in CLEAN:
        sql(statement)
    parcels = sql("SELECT count(*) FROM parcels_parcel")[0][0]
    print(f"notices bench on {parcels:,} parcels; load average {load_average()} at the start", flush=True)
    results = {}
    if "a" not in skip:
        results["a"] = outbox_overhead(args.samples, sql)
    if "b" not in skip:
        results["b"] = campaigns(city, args, sql)
    if "c" not in skip:
        results["c"] = http_adapter(city, args, sql)
    if "d" not in skip:
        results["d"] = signin_round_trip(city, args, sql)
    for statement in CLEAN:
        sql(statement)
    report(parcels, results)


# --- (a) the outbox's cost in a request ---------------------------------------------------------------------------

def outbox_overhead(samples: int, sql):
    from django.db import transaction

    from accounts.models import AuditEvent
    from notices.service import Recipient, notify

    counter = [0]

    def plain():
        with transaction.atomic():
            AuditEvent.objects.create(kind="code_requested", phone="0990***0000", detail={"bench": True})

    def with_notify():
        counter[0] += 1
        phone = f"0990{counter[0]:07d}"
        with transaction.atomic():
            AuditEvent.objects.create(kind="code_requested", phone="0990***0000", detail={"bench": True})
            notify("notices.test", Recipient(phone=phone, user_id=None), {"name": "bench"}, key=uuid.uuid4().hex)

    times = {"plain": [], "notify": []}
    for _ in range(20):                       # warm-up: connections, templates, the waiting wake-up job
        plain()
        with_notify()
    for i in range(samples):
        for name, fn in (("plain", plain), ("notify", with_notify)) if i % 2 == 0 else \
                (("notify", with_notify), ("plain", plain)):
            t = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - t) * 1000)
    # where notify()'s time goes: its parts alone, each in its own transaction
    from django.db import connection

    from notices import rendering
    from notices.service import preference_for, wake_workers

    def empty():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT 1")

    def wake():
        with transaction.atomic():
            wake_workers()

    def render():
        rendering.render("notices.test", "sms", "fa", {"name": "bench"})

    def lookup():
        preference_for(phone="09900000001")

    parts = {}
    for name, fn in (("empty transaction", empty), ("preference lookup", lookup), ("template find + render", render),
                     ("wake-up (deferred job)", wake)):
        ts = []
        for _ in range(max(samples // 2, 40)):
            t = time.perf_counter()
            fn()
            ts.append((time.perf_counter() - t) * 1000)
        parts[name] = p50_p95(ts)
    sql("DELETE FROM accounts_auditevent WHERE detail @> '{\"bench\": true}'")
    messages = sql("SELECT count(*) FROM notices_message WHERE event = 'notices.test'")[0][0]
    sql("DELETE FROM notices_message WHERE event = 'notices.test'")
    out = {k: p50_p95(v) for k, v in times.items()}
    out["messages"] = messages
    out["parts"] = parts
    print(f"(a) plain p50 {out['plain'][0]:.2f} ms, with notify p50 {out['notify'][0]:.2f} ms "
          f"({messages} outbox rows)", flush=True)
    return out


# --- (b) campaigns, and delivery by two real workers --------------------------------------------------------------

class Workers:
    """`manage.py procrastinate worker --queues notices` processes on the bench database."""

    def __init__(self, env: dict, count: int = 2, log: str = "workers"):
        self.logs = [open(f"/tmp/bench-notices-{log}-{i}.log", "w") for i in range(count)]
        self.processes = [subprocess.Popen([PY, "manage.py", "procrastinate", "worker", "--queues", "notices"],
                                           cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)
                          for log_file in self.logs]
        time.sleep(4)                                          # started and listening
        for p in self.processes:
            if p.poll() is not None:
                raise SystemExit(f"a worker stopped at once (see /tmp/bench-notices-{log}-*.log)")

    def stop(self):
        for p in self.processes:
            p.terminate()
        for p in self.processes:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for f in self.logs:
            f.close()


def wait_delivered(sql, batch_id: int, total: int, timeout: float) -> float:
    """Seconds until `total` messages of the batch are in a final status (polling twice a second)."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        done = sql("SELECT count(*) FROM notices_message WHERE batch_id = %s AND status IN ('delivered', 'sent', "
                   "'failed', 'dead')", [batch_id])[0][0]
        if done >= total:
            return time.perf_counter() - start
        time.sleep(0.5)
    raise SystemExit(f"batch {batch_id}: only {done} of {total} messages done after {timeout:.0f} s")


def timed_floor(sql, batch_id: int) -> float:
    """Seconds to write the batch's rows again with a plain INSERT … SELECT (from a copy), in one transaction."""
    from django.db import transaction

    sql("DROP TABLE IF EXISTS bench_notices_copy")
    sql("CREATE TABLE bench_notices_copy AS SELECT * FROM notices_message WHERE batch_id = %s", [batch_id])
    sql("ANALYZE bench_notices_copy")
    sql("DELETE FROM notices_message WHERE batch_id = %s", [batch_id])
    sql("VACUUM ANALYZE notices_message")
    t = time.perf_counter()
    with transaction.atomic():
        sql("INSERT INTO notices_message SELECT * FROM bench_notices_copy")
    seconds = time.perf_counter() - t
    sql("DROP TABLE bench_notices_copy")
    return seconds


def campaigns(city, args, sql):
    from django.conf import settings

    from dues import reminders
    from notices.service import enqueue_campaign

    out = {}
    # the whole city's dues reminder, then the same rows plainly (the floor)
    t = time.perf_counter()
    batch = reminders.start(1405, rate=1_000_000)
    out["dues_seconds"], out["dues_rows"] = time.perf_counter() - t, batch.enqueued
    out["dues_skipped"] = (batch.skipped_invalid, batch.skipped_opted_out, batch.skipped_existing)
    out["dues_floor"] = timed_floor(sql, batch.pk)
    sql("DELETE FROM notices_message")
    sql("DELETE FROM notices_batch")
    sql("VACUUM ANALYZE notices_message")
    # a synthetic campaign of exactly --synthetic numbers
    t = time.perf_counter()
    synthetic = enqueue_campaign("dues.reminder", SYNTHETIC_ROWS, ["bench.reminder:", args.synthetic],
                                 batch_name="bench synthetic", rate=1_000_000)
    out["synthetic_seconds"], out["synthetic_rows"] = time.perf_counter() - t, synthetic.enqueued
    out["synthetic_floor"] = timed_floor(sql, synthetic.pk)
    sql("DELETE FROM notices_message")
    sql("DELETE FROM notices_batch")
    sql("DELETE FROM procrastinate_jobs WHERE queue_name = 'notices' AND status = 'todo'")
    sql("VACUUM ANALYZE notices_message")
    print(f"(b) enqueue: dues {out['dues_rows']:,} rows in {out['dues_seconds']:.2f} s (floor "
          f"{out['dues_floor']:.2f} s); synthetic {out['synthetic_rows']:,} in {out['synthetic_seconds']:.2f} s "
          f"(floor {out['synthetic_floor']:.2f} s)", flush=True)

    # delivery by two workers, the throttle out of the way
    env = {**city.env, "NOTICES_SMS_BACKEND": "notices.providers.local.LocalSmsBackend"}
    workers = Workers(env, 2, "local")
    try:
        out["load_before_delivery"] = load_average()
        batch = reminders.start(1405, rate=1_000_000)          # commits: the wake-up reaches a worker at once
        target = min(args.deliver or batch.enqueued, batch.enqueued)
        seconds = wait_delivered(sql, batch.pk, target, timeout=3600)
        out["delivery_seconds"], out["delivery_rows"], out["delivery_of"] = seconds, target, batch.enqueued
        if target < batch.enqueued:      # the rest is not waited for: out of the workers' way before what follows
            sql("UPDATE notices_message SET status = 'failed', error = 'bench: not waited for' "
                "WHERE batch_id = %s AND status = 'queued'", [batch.pk])
            time.sleep(2)
        out["delivery_statuses"] = dict(sql("SELECT status, count(*) FROM notices_message WHERE batch_id = %s "
                                            "AND error <> 'bench: not waited for' GROUP BY status", [batch.pk]))
        out["delivery_workers"] = dict(sql(
            "SELECT split_part(claimed_by, ':', 2), count(*) FROM notices_message WHERE batch_id = %s "
            "AND claimed_by <> '' GROUP BY 1",
            [batch.pk]))
        out["localsms"] = sql("SELECT count(*), coalesce(sum(duplicates), 0) FROM notices_localsms")[0]
        out["load_after_delivery"] = load_average()
        print(f"(b) delivered {target:,} in {seconds:.1f} s by two workers "
              f"({out['delivery_workers']})", flush=True)
        # the throttle: --throttled messages at the reminder rate
        rate = float(settings.NOTICES_REMINDER_RATE)
        throttled = enqueue_campaign("dues.reminder", SYNTHETIC_ROWS, ["bench.throttled:", args.throttled],
                                     batch_name="bench throttled", rate=rate)
        wait_delivered(sql, throttled.pk, throttled.enqueued, timeout=args.throttled / rate * 3 + 60)
        first, last, n = sql("SELECT extract(epoch FROM min(sent_at)), extract(epoch FROM max(sent_at)), count(*) "
                             "FROM notices_message WHERE batch_id = %s", [throttled.pk])[0]
        lateness = sql("SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM sent_at - not_before)),"
                       " max(extract(epoch FROM sent_at - not_before)) FROM notices_message WHERE batch_id = %s",
                       [throttled.pk])[0]
        out["throttle"] = {"target": rate, "messages": n, "achieved": (n - 1) / float(last - first),
                           "late_p50": float(lateness[0]), "late_max": float(lateness[1])}
        print(f"(b) throttled: {n} at {out['throttle']['achieved']:.2f}/s (target {rate:g}/s)", flush=True)
    finally:
        workers.stop()
    sql("DELETE FROM notices_message")
    sql("DELETE FROM notices_batch")
    sql("DELETE FROM notices_localsms")
    return out


# --- (c) the HTTP adapter against the fake gateway ----------------------------------------------------------------

def http_adapter(city, args, sql):
    from django.conf import settings

    from notices.service import enqueue_campaign
    from tests.notices.fake_gateway import FakeGateway

    out = {}
    with FakeGateway(api_key="bench-key") as gateway:
        env = {**city.env, "NOTICES_SMS_BACKEND": "notices.providers.http.RestSmsGateway",
               "NOTICES_SMS_URL": gateway.url, "NOTICES_SMS_API_KEY": "bench-key"}
        rate = float(env.get("NOTICES_SMS_RATE", settings.NOTICES_SMS_RATE))
        workers = Workers(env, 2, "http")
        try:
            batch = enqueue_campaign("dues.reminder", SYNTHETIC_ROWS, ["bench.http:", args.http],
                                     batch_name="bench http", rate=1_000_000)
            t = time.perf_counter()
            wait_delivered(sql, batch.pk, batch.enqueued, timeout=args.http / rate * 4 + 120)
            first, last, n = sql("SELECT extract(epoch FROM min(sent_at)), extract(epoch FROM max(sent_at)), "
                                 "count(*) FROM notices_message WHERE batch_id = %s", [batch.pk])[0]
            statuses = dict(sql("SELECT status, count(*) FROM notices_message WHERE batch_id = %s GROUP BY status",
                                [batch.pk]))
            out = {"messages": n, "seconds": time.perf_counter() - t, "rate": rate,
                   "achieved": (n - 1) / float(last - first), "statuses": statuses,
                   "gateway_messages": len(gateway.messages), "rate_limited": gateway.rate_limited}
        finally:
            workers.stop()
    sql("DELETE FROM notices_message")
    sql("DELETE FROM notices_batch")
    print(f"(c) HTTP adapter: {out['messages']} at {out['achieved']:.1f}/s (throttle {out['rate']:g}/s per worker "
          f"process)", flush=True)
    return out


# --- (d) the sign-in round trip over HTTP -------------------------------------------------------------------------

def signin_round_trip(city, args, sql):
    import http.client

    env = {**city.env, "SIGNIN_RATE_PER_ADDRESS": "1000000/3600,1000000/86400"}
    server = Server(env)
    code_re = re.compile(r"\b(\d{4,8})\b")
    try:
        def session():
            conn = http.client.HTTPConnection("127.0.0.1", server.port)
            conn.request("GET", "/accounts/signin/")
            response = conn.getresponse()
            response.read()
            cookie = re.search(r"csrftoken=([^;]+)", response.getheader("Set-Cookie") or "").group(1)
            return conn, cookie

        def post(conn, cookie, path, body):
            conn.request("POST", path, body=json.dumps(body), headers={
                "Content-Type": "application/json", "X-CSRFToken": cookie, "Cookie": f"csrftoken={cookie}",
                "Referer": f"http://127.0.0.1:{server.port}/accounts/signin/"})
            response = conn.getresponse()
            data = response.read()
            assert response.status == 200, (path, response.status, data[:300])
            return data

        def round_trip(i):
            phone = f"0990{9000000 + i:07d}"
            conn, cookie = session()
            t0 = time.perf_counter()
            post(conn, cookie, "/api/accounts/signin/code", {"phone": phone})
            t1 = time.perf_counter()
            body = sql("SELECT body FROM notices_message WHERE phone = %s AND event = 'accounts.signin_code' "
                       "ORDER BY id DESC LIMIT 1", [phone])[0][0]
            code = code_re.search(body).group(1)
            t2 = time.perf_counter()
            post(conn, cookie, "/api/accounts/signin/verify", {"phone": phone, "code": code})
            t3 = time.perf_counter()
            conn.close()
            return (t3 - t0) * 1000, (t1 - t0) * 1000, (t2 - t1) * 1000, (t3 - t2) * 1000

        def clean():
            from django.contrib.auth.models import User

            sql("DELETE FROM notices_message WHERE phone LIKE '09909%%'")
            sql("DELETE FROM accounts_signincode WHERE phone LIKE '09909%%'")
            sql("DELETE FROM accounts_ratecounter")
            sql("DELETE FROM notices_preference WHERE phone LIKE '09909%%'")
            User.objects.filter(username__startswith="09909").delete()   # citizens, their audit and notices

        clean()
        for i in range(5):                           # warm-up (each gunicorn worker's first requests)
            round_trip(900_000 + i)
        clean()
        rounds = [round_trip(i) for i in range(args.signins)]           # first sign-in: a new account
        again = [round_trip(i) for i in range(args.signins)]            # the same numbers: returning citizens
        clean()
    finally:
        server.stop()
    names = ("round trip", "code request", "read the code", "verify")
    out = {f"{name} (new)": p50_p95([r[k] for r in rounds]) for k, name in enumerate(names)}
    out.update({f"{name} (returning)": p50_p95([r[k] for r in again]) for k, name in enumerate(names)})
    print(f"(d) sign-in round trip p50 {out['round trip (new)'][0]:.1f} ms", flush=True)
    return out


# --- the table ------------------------------------------------------------------------------------------------------

def report(parcels, r):
    print(f"\nnotices, {parcels:,} parcels; load average now {load_average()} (2-core shared machine)")
    if "a" in r:
        a = r["a"]
        print("\n(a) outbox overhead: event row alone vs event row + notify() (a transactional SMS), ms, alternating")
        print(f"{'':<24} {'p50':>7} {'p95':>7}")
        print(f"{'event row':<24} {a['plain'][0]:>7.2f} {a['plain'][1]:>7.2f}")
        print(f"{'event row + notify()':<24} {a['notify'][0]:>7.2f} {a['notify'][1]:>7.2f}")
        print(f"notify() adds {a['notify'][0] - a['plain'][0]:+.2f} ms p50 (target <= +2 ms), "
              f"{a['notify'][1] - a['plain'][1]:+.2f} ms p95; ratio p50 {a['notify'][0] / a['plain'][0]:.2f}")
        print("notify()'s parts alone (p50 / p95 ms): " + "; ".join(
            f"{name} {p50:.2f} / {p95:.2f}" for name, (p50, p95) in a["parts"].items()))
    if "b" in r:
        b = r["b"]
        print("\n(b) campaigns, set-based enqueue (one INSERT … SELECT), seconds; floor = the same rows by a plain "
              "INSERT … SELECT")
        print(f"{'campaign':<34} {'rows':>9} {'seconds':>8} {'rows/s':>9} {'floor s':>8} {'÷ floor':>8}")
        for label, key in (("dues reminder 1405 (whole city)", "dues"), ("synthetic", "synthetic")):
            rows, seconds, floor = b[f"{key}_rows"], b[f"{key}_seconds"], b[f"{key}_floor"]
            print(f"{label:<34} {rows:>9,} {seconds:>8.2f} {rows / seconds:>9,.0f} {floor:>8.2f} "
                  f"{seconds / floor:>8.2f}")
        print(f"dues campaign skipped: {b['dues_skipped'][0]:,} owners without a mobile number, "
              f"{b['dues_skipped'][1]:,} opted out, {b['dues_skipped'][2]:,} already sent")
        print(f"delivery, local backend, two worker processes: {b['delivery_rows']:,} messages (of the campaign's "
              f"{b['delivery_of']:,}) in "
              f"{b['delivery_seconds']:.1f} s = {b['delivery_rows'] / b['delivery_seconds']:,.0f} messages/s "
              f"(statuses {b['delivery_statuses']}; per worker process {b['delivery_workers']}; local store "
              f"{b['localsms'][0]:,} rows, {b['localsms'][1]} duplicates; load {b['load_before_delivery']} → "
              f"{b['load_after_delivery']})")
        t = b["throttle"]
        print(f"throttled at NOTICES_REMINDER_RATE = {t['target']:g}/s: {t['messages']} messages sent at "
              f"{t['achieved']:.2f}/s (ratio {t['achieved'] / t['target']:.3f}); sent after their slot: p50 "
              f"{t['late_p50'] * 1000:.0f} ms, max {t['late_max'] * 1000:.0f} ms")
    if "c" in r:
        c = r["c"]
        print(f"\n(c) HTTP adapter (RestSmsGateway → fake gateway on loopback), two worker processes, throttle "
              f"NOTICES_SMS_RATE = {c['rate']:g}/s per process: {c['messages']} messages at {c['achieved']:.1f}/s "
              f"(ratio to 2 × throttle {c['achieved'] / (2 * c['rate']):.2f}); statuses {c['statuses']}; the gateway "
              f"got {c['gateway_messages']} messages, answered 429 {c['rate_limited']} times")
    if "d" in r:
        d = r["d"]
        print("\n(d) sign-in round trip over HTTP (gunicorn, 4 workers), ms")
        print(f"{'':<26} {'p50':>7} {'p95':>7}")
        for name, (p50, p95) in d.items():
            print(f"{name:<26} {p50:>7.2f} {p95:>7.2f}")


if __name__ == "__main__":
    main()
