"""Load bench: many concurrent clients for a while on a realistic mix of the portal's public requests, with a URL set
large enough that the caches are mostly cold.

    .venv/bin/python bench/load.py --parcels 100000 [--clients 50] [--seconds 60] [--urls 20000] [--mix realistic]
                                   [--json out.json] [--nice 0]
    .venv/bin/python bench/load.py --mix search     # the search endpoint alone (its queries as in the mix)

On the demo city of that size (bench/common.py; the demo rulebook and tariff books loaded, every approved year
assessed, a few hundred bills issued, as `./run demo` does), gunicorn serves the app as `./run demo` runs it (the same
worker count, WEB_WORKERS or 3, sync workers, a 120 s timeout, the access log written). The URLs are drawn from the
generated data, each endpoint's share set by --mix:

  tiles   vector tiles of every public portal layer at zooms 13-18 around random parcels (versioned URLs, as the map)
  click   parcel at a point (/api/parcels/at): points on parcels, and some on streets (404 expected there)
  sheet   the parcel sheet (/api/parcels/<id>) and the parcel page (/parcels/<id>/)
  search  /api/search with real queries of every kind: renewal codes (typed with dashes, spaces, Persian digits),
          code prefixes, postal codes and their prefixes, plates, street names (whole or a word) with or without a
          plaque, and a few that find nothing
  ogc     OGC API - Features items pages with a bbox (parcels, buildings, streets; boxes of 100-800 m; 10-100 items)
  zoning  the zoning query API (/api/zoning/parcels by zone, land use, district, area, flags; a page of results)
  bills   the parcel's dues (/api/dues/parcels/<id>), its bill preview (/dues/parcels/<id>/bill/) and issued bills'
          pages (/dues/bills/<id>/)

Each client is a keep-alive HTTP/1.1 connection asking its next URL as soon as it has the answer (a closed loop, no
think time); the clients are coroutines of one asyncio loop in this process, whose own CPU is measured and printed
(with gunicorn's, PostgreSQL's and the rest of the machine's), so that a client that would be the bottleneck shows
(it takes about 0.1 core at 250 req/s; --nice lowers its priority). On a shared machine the req/s follow the share of
CPU the server gets; the server's CPU per request (gunicorn + PostgreSQL) does not, and is printed too. To compare
two versions in the same conditions, serve one from a copy of the tree (--tree) and alternate the runs. A warm-up (--warmup seconds)
with URLs of its own starts the workers and their connections without warming the measured URLs. Any answer other
than 2xx/3xx is an error, except a 404 where one is expected (a click off every parcel); so is a broken connection or
an answer slower than --timeout. Printed per endpoint (and per kind of search) and overall: requests, req/s, p50,
p95, p99 and max latency in ms, errors, and the status codes seen; --json writes the same as JSON.
"""

import argparse
import asyncio
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import quote, urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, City, free_port  # noqa: E402

DEFAULT_MIX = {"tiles": 40, "click": 10, "sheet": 10, "search": 15, "ogc": 10, "zoning": 5, "bills": 10}
PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
TICK = os.sysconf("SC_CLK_TCK")


# --- the URL set, drawn from the generated data -------------------------------------------------------------------

class Urls:
    """Draws URLs of each endpoint from samples of the city's data. Each draw is (endpoint, kind, path, allow_404)."""

    def __init__(self, conn, srid: int, layers: list[dict], versions: dict, bills: list[str], rng: random.Random,
                 sample: int):
        self.rng, self.layers, self.versions, self.bill_ids = rng, layers, versions, bills
        pick = "FROM parcels_parcel TABLESAMPLE SYSTEM_ROWS(%s)" if _has_tsm(conn) else \
            "FROM (SELECT * FROM parcels_parcel ORDER BY random() LIMIT %s) s"
        self.parcels = conn.execute(
            f"SELECT id, renewal_code, postal_code, plate_section, plate_main, plate_sub, source_id, "
            f"ST_X(pt), ST_Y(pt) FROM (SELECT *, ST_Transform(ST_PointOnSurface(geom), 4326) pt {pick}) s",
            [sample]).fetchall()
        self.addresses = conn.execute(
            "SELECT s.name, a.plaque FROM parcels_address a JOIN parcels_street s ON s.id = a.street_id "
            "WHERE a.plaque <> '' AND s.name <> '' ORDER BY random() LIMIT %s", [sample]).fetchall()
        self.streets = conn.execute(
            "SELECT name, ST_X(pt), ST_Y(pt) FROM (SELECT name, ST_Transform(ST_LineInterpolatePoint(geom, 0.5), 4326)"
            " pt FROM parcels_street WHERE name <> '' ORDER BY random() LIMIT %s) s", [sample]).fetchall()
        self.zones = [r[0] for r in conn.execute("SELECT DISTINCT code FROM zoning_zone")]
        self.uses = [r[0] for r in conn.execute("SELECT code FROM parcels_landuse")]
        self.districts = [r[0] for r in conn.execute("SELECT code FROM parcels_district")]
        self.srid = srid

    def parcel(self):
        return self.rng.choice(self.parcels)

    def draw(self, endpoint: str):
        return getattr(self, endpoint)()

    def tiles(self):
        layer = self.rng.choice(self.layers)
        z = self.rng.choices((13, 14, 15, 16, 17, 18), (1, 2, 4, 6, 5, 3))[0]
        p = self.parcel()
        x, y = _tile(p[7], p[8], z)
        return "tiles", layer, f"/tiles/{layer}/{z}/{x}/{y}.pbf?v={self.versions.get(layer, 0)}", False

    def click(self):
        if self.rng.random() < 0.15:  # on a street, between the parcels: "no parcel here" (404) is the answer
            _, lon, lat = self.rng.choice(self.streets)
            return "click", "street", f"/api/parcels/at?lon={lon:.7f}&lat={lat:.7f}", True
        p = self.parcel()
        return "click", "parcel", f"/api/parcels/at?lon={p[7]:.7f}&lat={p[8]:.7f}", False

    def sheet(self):
        p = self.parcel()
        if self.rng.random() < 0.75:
            return "sheet", "json", f"/api/parcels/{p[0]}", False
        return "sheet", "page", f"/parcels/{p[0]}/", False

    def search(self):
        kind, q = self.search_query()
        return "search", kind, "/api/search?q=" + quote(q), False

    def search_query(self) -> tuple[str, str]:
        rng = self.rng
        p = self.parcel()
        kind = rng.choices(("code", "prefix", "postal", "postal_prefix", "plate", "street", "street_word", "address",
                            "nothing"), (15, 15, 10, 10, 10, 12, 8, 15, 5))[0]
        code, postal = p[1], p[2]
        if kind == "code" and code:
            return kind, rng.choice((code, code.replace("-", " "), code.translate(PERSIAN)))
        if kind == "prefix" and code:
            parts = code.split("-")
            n = rng.choice((2, 3, 4))
            head = parts[:n]
            if n > 2 and rng.random() < 0.5:
                head[-1] = head[-1].lstrip("0")[:2] or "0"  # the last segment still being typed
            return kind, rng.choice((" ", "-")).join(head)
        if kind == "postal" and postal:
            return kind, rng.choice((postal, postal.translate(PERSIAN)))
        if kind == "postal_prefix" and postal:
            return kind, postal[:rng.randint(5, 9)]
        if kind == "plate" and p[4] is not None:
            return kind, rng.choice((f"{p[3]}/{p[4]}/{p[5]}", f"{p[3]}/{p[4]}"))
        if kind == "street":
            return kind, rng.choice(self.streets)[0].replace("\u200c", " ")
        if kind == "street_word":
            words = [w for w in rng.choice(self.streets)[0].replace("\u200c", " ").split() if len(w) >= 2]
            return kind, rng.choice(words) if words else "کوچه"
        if kind == "address":
            name, plaque = rng.choice(self.addresses)
            return kind, rng.choice((f"{name} پلاک {plaque}", f"{name} {plaque}", f"{name} {plaque.translate(PERSIAN)}"))
        if kind == "nothing":
            return kind, rng.choice((f"{rng.randint(10 ** 9, 10 ** 10 - 1)}", f"9-9-{rng.randint(100, 999)}",
                                     "خیابان ناموجود"))
        return "code", code or p[6] or str(p[0])

    def ogc(self):
        layer = self.rng.choices(("parcels", "buildings", "streets"), (5, 3, 2))[0]
        p = self.parcel()
        half = self.rng.choice((50, 100, 200, 400)) / 111_320  # metres to degrees (about; lon is narrower)
        box = ",".join(f"{v:.6f}" for v in (p[7] - half, p[8] - half, p[7] + half, p[8] + half))
        limit = self.rng.choice((10, 50, 100))
        return "ogc", layer, f"/ogc/collections/{layer}/items?" + urlencode({"bbox": box, "limit": limit}), False

    def zoning(self):
        rng = self.rng
        q = {}
        for name, values, share in (("zone", self.zones, 0.5), ("land_use", self.uses, 0.4),
                                    ("district", self.districts, 0.4)):
            if values and rng.random() < share:
                q[name] = rng.choice(values)
        if rng.random() < 0.3:
            low = rng.choice((0, 100, 200, 300, 500))
            q.update(area_min=low, area_max=low + rng.choice((100, 250, 1000)))
        for flag in ("widening", "non_conforming"):
            if rng.random() < 0.15:
                q[flag] = "true"
        q["page"] = rng.choices((1, 2, 3, 5, 10), (10, 4, 2, 1, 1))[0]
        q["page_size"] = rng.choice((20, 50))
        return "zoning", "query", "/api/zoning/parcels?" + urlencode(q), False

    def bills(self):
        r = self.rng.random()
        if r < 0.2 and self.bill_ids:
            return "bills", "bill_page", f"/dues/bills/{self.rng.choice(self.bill_ids)}/", False
        p = self.parcel()
        if r < 0.6:
            return "bills", "dues_json", f"/api/dues/parcels/{p[0]}", False
        return "bills", "bill_preview", f"/dues/parcels/{p[0]}/bill/", False


def _has_tsm(conn) -> bool:
    try:
        conn.execute("CREATE EXTENSION IF NOT EXISTS tsm_system_rows")
        return True
    except Exception:
        conn.rollback()
        return False


def _tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    import math

    n = 2 ** z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


def url_set(draw, mix: dict, count: int, rng: random.Random) -> list[tuple]:
    """`count` URLs in random order, each endpoint's share as the mix says, as few repeated as the data allows (an
    endpoint with fewer distinct URLs than its share, such as low-zoom tiles of a small city, repeats its own)."""
    total = sum(mix.values())
    urls = []
    for endpoint, weight in mix.items():
        quota = round(count * weight / total)
        mine, seen = [], set()
        for _ in range(quota * 20):
            if len(mine) >= quota:
                break
            item = draw(endpoint)
            if item[2] not in seen:
                seen.add(item[2])
                mine.append(item)
        urls += [mine[i % len(mine)] for i in range(quota)] if mine else []
    rng.shuffle(urls)
    return urls


# --- the client ---------------------------------------------------------------------------------------------------

class BadAnswer(Exception):
    pass


async def read_answer(reader) -> tuple[int, bool, int]:
    """One HTTP/1.1 response: (status, whether the server closes the connection, body bytes)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    close = headers.get("connection", "").lower() == "close"
    if "content-length" in headers:
        size = int(headers["content-length"])
        if size:
            await reader.readexactly(size)
        return status, close, size
    if headers.get("transfer-encoding", "").lower() == "chunked":
        size = 0
        while True:
            length = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if length:
                await reader.readexactly(length)
            await reader.readexactly(2)  # the chunk's CRLF (after the last, empty chunk: the end of the trailers)
            size += length
            if not length:
                return status, close, size
    if status in (204, 304) or 100 <= status < 200:
        return status, close, 0
    body = await reader.read()  # no length: until the server closes
    return status, True, len(body)


class Run:
    def __init__(self, port: int, urls: list[tuple], clients: int, timeout: float):
        self.port, self.urls, self.clients, self.timeout = port, urls, clients, timeout
        self.next = 0
        self.records = []  # (endpoint, kind, path, ms, status or error text, ok)
        self.asked = Counter()

    def take(self):
        item = self.urls[self.next % len(self.urls)]
        self.next += 1
        return item

    async def client(self, until: float):
        reader = writer = None
        while time.perf_counter() < until:
            endpoint, kind, path, allow_404 = self.take()
            self.asked[path] += 1
            start = time.perf_counter()
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection("127.0.0.1", self.port, limit=1 << 20)
                async with asyncio.timeout(self.timeout):
                    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*\r\n\r\n".encode())
                    status, close, _ = await read_answer(reader)
                ms = (time.perf_counter() - start) * 1000
                ok = 200 <= status < 400 or (status == 404 and allow_404)
                self.records.append((endpoint, kind, path, ms, status, ok))
                if close:
                    writer.close()
                    reader = writer = None
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError,
                    IndexError) as exc:
                ms = (time.perf_counter() - start) * 1000
                self.records.append((endpoint, kind, path, ms, type(exc).__name__, False))
                if writer is not None:
                    writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    async def go(self, seconds: float):
        until = time.perf_counter() + seconds
        await asyncio.gather(*(self.client(until) for _ in range(self.clients)))


# --- CPU of the client, the web server, the database and the rest of the machine ----------------------------------

def _proc_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    except (OSError, IndexError, ValueError):
        return 0


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def _db_backends(dbname: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if cmd.startswith(b"postgres: ") and f" {dbname} ".encode() in cmd:
                pids.append(int(entry.name))
    return pids


def _machine_busy() -> tuple[int, int]:
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values[:8]) - idle, sum(values[:8])


class Cpu:
    """CPU seconds used between start() and stop() by this process, gunicorn (master and workers), the PostgreSQL
    backends of the bench database, and the whole machine."""

    def __init__(self, server_pid: int, dbname: str):
        self.server_pid, self.dbname = server_pid, dbname

    def snapshot(self):
        web = [self.server_pid, *_children(self.server_pid)]
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {"client": usage.ru_utime + usage.ru_stime, "web": {p: _proc_ticks(p) for p in web},
                "db": {p: _proc_ticks(p) for p in _db_backends(self.dbname)}, "machine": _machine_busy(),
                "at": time.perf_counter()}

    def start(self):
        """Snapshots now and every quarter second until stop(): a process that ends meanwhile (a database connection
        closed at CONN_MAX_AGE, a worker restarted) keeps the CPU it was last seen with."""
        import threading

        self.before = self.snapshot()
        self.last = {"web": dict(self.before["web"]), "db": dict(self.before["db"])}
        self.done = threading.Event()

        def sample():
            while not self.done.wait(0.25):
                now = self.snapshot()
                for name in ("web", "db"):
                    self.last[name].update(now[name])
        self.sampler = threading.Thread(target=sample, daemon=True)
        self.sampler.start()

    def stop(self) -> dict:
        self.done.set()
        self.sampler.join()
        after, before = self.snapshot(), self.before
        for name in ("web", "db"):
            after[name] = {**self.last[name], **after[name]}
        wall = after["at"] - before["at"]

        def procs(name):
            return sum(t - before[name].get(p, 0) for p, t in after[name].items()) / TICK

        busy = (after["machine"][0] - before["machine"][0]) / TICK
        cores = {"client": (after["client"] - before["client"]), "web": procs("web"), "db": procs("db")}
        cores["other"] = max(busy - sum(cores.values()), 0.0)
        return {name: round(seconds / wall, 2) for name, seconds in cores.items()} | {
            "machine_cores": os.cpu_count(), "load_average": os.getloadavg()[0]}


# --- the report ---------------------------------------------------------------------------------------------------

def percentile(sorted_ms: list[float], q: float) -> float:
    if not sorted_ms:
        return float("nan")
    return sorted_ms[min(int(len(sorted_ms) * q / 100), len(sorted_ms) - 1)]


def summarise(records: list[tuple], seconds: float) -> dict:
    groups = defaultdict(list)
    for rec in records:
        groups[rec[0]].append(rec)
        groups[f"{rec[0]}:{rec[1]}"].append(rec)
        groups["all"].append(rec)
    out = {}
    for name, recs in groups.items():
        ms = sorted(r[3] for r in recs)
        errors = [r for r in recs if not r[5]]
        out[name] = {"requests": len(recs), "rps": round(len(recs) / seconds, 1),
                     "p50": round(percentile(ms, 50), 1), "p95": round(percentile(ms, 95), 1),
                     "p99": round(percentile(ms, 99), 1), "max": round(ms[-1], 1),
                     "mean": round(statistics.fmean(ms), 1), "errors": len(errors),
                     "statuses": dict(Counter(str(r[4]) for r in recs).most_common()),
                     "error_examples": [(r[2], r[4]) for r in errors[:3]]}
    return out


def table(summary: dict) -> str:
    lines = [f"{'endpoint':<24} {'requests':>8} {'req/s':>7} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7} "
             f"{'errors':>6}  statuses"]
    endpoints = sorted({k.split(":")[0] for k in summary if k != "all"})
    for endpoint in endpoints + ["all"]:
        names = [endpoint] + (sorted(k for k in summary if k.startswith(endpoint + ":")) if endpoint != "all" else [])
        for name in names:
            s = summary[name]
            label = name if ":" not in name else "  " + name.split(":", 1)[1]
            statuses = " ".join(f"{k}:{v}" for k, v in s["statuses"].items())
            lines.append(f"{label:<24} {s['requests']:>8} {s['rps']:>7.1f} {s['p50']:>7.1f} {s['p95']:>7.1f} "
                         f"{s['p99']:>7.1f} {s['max']:>7.1f} {s['errors']:>6}  {statuses}")
    return "\n".join(lines)


# --- setup --------------------------------------------------------------------------------------------------------

def start_server(env: dict, workers: int, log: Path, tree: Path = ROOT) -> tuple[subprocess.Popen, int]:
    """gunicorn as `./run demo` starts it: sync workers, the same count and timeout, the access log written (to a
    file, with the server's own messages beside it: errors.log)."""
    import http.client

    port = free_port()
    process = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "gis_portal.wsgi", "-b", f"127.0.0.1:{port}",
         "--workers", str(workers), "--timeout", "120", "--access-logfile", str(log), "--log-level", "warning"],
        cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=(log.parent / "errors.log").open("w"))
    for _ in range(300):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/api/city")
            conn.getresponse().read()
            return process, port
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit("the server did not start")


def get_json(port: int, path: str):
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path, headers={"Accept": "application/json"})
    response = conn.getresponse()
    return json.loads(response.read())


def issue_bills(city: City, count: int) -> list[str]:
    """Public ids of `count` issued bills (issued here the first time, as a citizen's "issue the bill" would)."""
    city.setup_django()
    from dues import billing
    from dues.models import Bill
    from parcels.models import Parcel

    have = list(Bill.objects.filter(status=Bill.Status.ISSUED).values_list("public_id", flat=True)[:count])
    if len(have) < count:
        for parcel in Parcel.objects.order_by("?")[: (count - len(have)) * 2]:
            try:
                have.append(billing.issue(parcel).public_id)
            except Exception:  # nothing owed, no tariff for its use: another parcel
                continue
            if len(have) >= count:
                break
    return [str(b) for b in have]


def parse_mix(text: str) -> dict:
    if text == "realistic":
        return dict(DEFAULT_MIX)
    if text in DEFAULT_MIX:
        return {text: 1}
    mix = {}
    for part in text.split(","):
        name, _, weight = part.partition("=")
        if name not in DEFAULT_MIX:
            raise SystemExit(f"unknown endpoint {name!r} in --mix (known: {', '.join(DEFAULT_MIX)})")
        mix[name] = float(weight or 1)
    return mix


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parcels", type=int, default=100_000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--warmup", type=float, default=5.0, help="seconds of warm-up, on URLs of its own")
    ap.add_argument("--urls", type=int, default=20_000, help="distinct URLs measured (each asked once, or about)")
    ap.add_argument("--mix", default="realistic",
                    help="'realistic', one endpoint ('search'), or shares 'tiles=40,search=15,...'")
    ap.add_argument("--workers", type=int, default=int(os.environ.get("WEB_WORKERS", 3)),
                    help="gunicorn workers (default WEB_WORKERS or 3, as ./run demo)")
    ap.add_argument("--timeout", type=float, default=30.0, help="an answer slower than this is an error (s)")
    ap.add_argument("--bills", type=int, default=300, help="bills issued for the bill pages")
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--nice", type=int, default=0, help="lower the client's priority by this much (after the server "
                                                        "started, so the server keeps its own)")
    ap.add_argument("--json", help="write the report as JSON to this file")
    ap.add_argument("--port", type=int, help="measure a server already running on this port instead")
    ap.add_argument("--tree", type=Path, default=ROOT,
                    help="serve the app from this copy of the tree (e.g. one from before a change, on the same city)")
    args = ap.parse_args()
    mix = parse_mix(args.mix)
    rng = random.Random(args.seed)

    tariffs = sorted(str(p) for p in (ROOT / "data" / "tariffs").glob("*.toml"))  # as ./run demo
    years = [Path(t).stem for t in tariffs if Path(t).stem.isdigit()]  # each approved year assessed
    city = City(args.parcels, extra=[["load_rulebook", "data/rulebook/demo.toml", "--commit", "--if-absent"],
                                     ["load_tariff_book", *tariffs, "--commit"],
                                     *(["assess_year", y] for y in years)])
    env = {**city.env, "DUES_BILL_COMPANY_CODE": os.environ.get("DUES_BILL_COMPANY_CODE", "401")}
    bills = issue_bills(city, args.bills) if mix.get("bills") else []

    log = Path(tempfile.mkdtemp(prefix="bench-load-")) / "access.log"
    process, port = (None, args.port) if args.port else start_server(env, args.workers, log, args.tree)
    try:
        layers = [layer["name"] for layer in get_json(port, "/api/layers")["layers"]
                  if layer.get("public") and layer.get("in_portal") and layer.get("tilejson")]
        versions = get_json(port, "/api/layers/versions")
        with city.raw_connection() as conn:
            draws = Urls(conn, city.srid, layers, versions, bills, rng, sample=max(args.urls, 2000))
        print(f"drawing {args.urls:,} URLs ({', '.join(f'{k} {v:g}' for k, v in mix.items())}) ...", flush=True)
        measured = url_set(draws.draw, mix, args.urls, rng)
        warm = url_set(draws.draw, mix, max(args.clients * 20, 500), random.Random(args.seed + 1))
        if args.nice:
            os.nice(args.nice)
        asyncio.run(Run(port, warm, args.clients, args.timeout).go(args.warmup))
        run = Run(port, measured, args.clients, args.timeout)
        cpu = Cpu(process.pid, city.name) if process else None
        if cpu:
            cpu.start()
        started = time.perf_counter()
        asyncio.run(run.go(args.seconds))
        elapsed = time.perf_counter() - started
        used = cpu.stop() if cpu else {}
    finally:
        if process:
            process.terminate()
            process.wait()
    summary = summarise(run.records, elapsed)
    repeated = sum(n - 1 for n in run.asked.values() if n > 1)
    report = {
        "parcels": args.parcels, "clients": args.clients, "seconds": round(elapsed, 1), "workers": args.workers,
        "mix": mix, "distinct_urls": len(run.asked), "url_set": len(measured),
        "repeated_share": round(repeated / max(len(run.records), 1), 3), "cpu_cores_used": used,
        "server_cpu_ms_per_request": round((used["web"] + used["db"]) * elapsed * 1000 / max(len(run.records), 1), 2)
        if used else None,
        "endpoints": summary,
    }
    print(f"\nload: {args.parcels:,} parcels, {args.clients} clients for {elapsed:.0f} s, gunicorn {args.workers} "
          f"sync workers; {len(run.records):,} requests to {len(run.asked):,} distinct URLs "
          f"({report['repeated_share']:.0%} of requests repeated an earlier URL); latency in ms")
    print(table(summary))
    if used:
        print(f"CPU (cores busy on average, of {used['machine_cores']}): client {used['client']}, gunicorn "
              f"{used['web']}, PostgreSQL {used['db']}, rest of the machine {used['other']}; "
              f"load average {used['load_average']:.1f}; server CPU per request: "
              f"{report['server_cpu_ms_per_request']} ms (gunicorn + PostgreSQL; on a shared machine req/s follows "
              f"the share of CPU the server gets, this does not)")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1, ensure_ascii=False))
    if summary.get("all", {}).get("errors"):
        print(f"ERRORS: {summary['all']['errors']} (the server's messages: {log.parent / 'errors.log'})")
        for name, s in summary.items():
            if ":" in name and s["error_examples"]:
                print(f"  {name}: {s['error_examples']}")


if __name__ == "__main__":
    main()
