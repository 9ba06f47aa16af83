"""Read throughput with a streaming replica and with pgbouncer (README, "Replicas and pooling").

A scratch primary cluster gets a copy of a bench city (pg_dump of <DATABASE_URL's name>_bench_<N>, made by
bench/common.City if absent; kept in .local/bench-replicas between runs), a streaming replica is made from it with
pg_basebackup -R, and pgbouncer (transaction mode, scripts/pgbouncer.py) is put in front of both. The primary runs
pinned to CPU 0 and the replica to CPU 1 (taskset), so "one node" is one core of PostgreSQL and "one node + one
replica" two; gunicorn (4 workers) and wrk share both cores with them. Tile and OGC caches are off: every request
reaches PostgreSQL. Configurations, alternated in rounds so that the machine's noise hits each alike:

  node            DATABASE_URL on the primary, prepared hot statements (today)
  node+replica    + DATABASE_REPLICA_URLS, DATABASE_PRIMARY_READ_SHARE=0.5 (both servers read)
  node/unprep     the primary, hot statements unprepared (DATABASE_POOLER=transaction, no pgbouncer)
  node/bouncer    through pgbouncer, transaction mode (unprepared: pgbouncer 1.18)
  node+replica/bouncer

  .venv/bin/python -m bench.replicas [--parcels 100000] [--seconds 6] [--rounds 2] [--only node,node+replica]

The serving settings (no parallel query, no JIT, generic plans) are set on the scratch database itself, so every
configuration has them whether or not it connects through pgbouncer."""

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench.common import PY, ROOT, City, free_port, wrk_rps

PGBIN = Path("/usr/lib/postgresql/15/bin")
WORK = ROOT / ".local" / "bench-replicas"
RUNAS = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


class Server:
    def __init__(self, data: Path, port: int, cpu: int):
        self.data, self.port, self.cpu = data, port, cpu
        self.log = data.parent / f"{data.name}.log"

    def pg_ctl(self, action, *extra):
        subprocess.run(["taskset", "-c", str(self.cpu), *RUNAS, PGBIN / "pg_ctl", "-D", self.data, "-l", self.log,
                        "-w", "-t", "120", action, *extra], check=True, stdout=subprocess.DEVNULL)

    def url(self, db, scheme="postgis"):
        return f"{scheme}://gis@127.0.0.1:{self.port}/{db}"


def run(*cmd, **kwargs):
    return subprocess.run([*RUNAS, *map(str, cmd)], check=True, **kwargs)


class Source:
    """An existing bench database on DATABASE_URL's server, only read (pg_dump), like bench/common.City."""

    def __init__(self, name: str):
        from urllib.parse import urlparse

        base = urlparse(os.environ["DATABASE_URL"])
        self.name = name
        self.dsn = f"host={base.hostname} port={base.port or 5432} user={base.username} password={base.password} " \
                   f"dbname={name}"
        self.srid = int(os.environ.get("MUNICIPALITY_SRID", 32640))
        self.env = {**os.environ, "SECRET_KEY": "bench", "DJANGO_SETTINGS_MODULE": "gis_portal.settings",
                    "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost", "DUES_ALLOW_SANDBOX_IN_PRODUCTION": "true"}


def build(city, fresh: bool) -> tuple[Server, Server, str]:
    """The primary (CPU 0) with the city, and its streaming replica (CPU 1), started; the database name."""
    db = "bench"
    primary = Server(WORK / "primary", free_port(), 0)
    replica = Server(WORK / "replica", free_port(), 1)
    if fresh and WORK.exists():
        for server in (primary, replica):
            subprocess.run([*RUNAS, PGBIN / "pg_ctl", "-D", server.data, "stop", "-m", "immediate"],
                           capture_output=True)
        shutil.rmtree(WORK)
    conf = ("listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = ''\nfsync = off\n"
            "synchronous_commit = off\nshared_buffers = 512MB\nwal_level = replica\nmax_wal_senders = 4\n"
            "max_connections = 200\n")
    if not (primary.data / "PG_VERSION").exists():
        WORK.mkdir(parents=True, exist_ok=True)
        if RUNAS:
            shutil.chown(WORK, "postgres", "postgres")
        run(PGBIN / "initdb", "-D", primary.data, "-U", "gis", "--auth=trust", "--no-sync", "--locale=C.UTF-8")
        with open(primary.data / "postgresql.conf", "a") as f:
            f.write(conf.format(port=primary.port))
        primary.pg_ctl("start")
        run(PGBIN / "createdb", "-h", "127.0.0.1", "-p", primary.port, "-U", "gis", db)
        dump = WORK / "city.dump"
        print(f"copying {city.name} into the scratch primary (pg_dump | pg_restore)", flush=True)
        subprocess.run(f"{PGBIN}/pg_dump -Fc -Z0 '{city.dsn}' > {dump}", shell=True, check=True)
        if RUNAS:
            shutil.chown(dump, "postgres", "postgres")
        run(PGBIN / "pg_restore", "--no-owner", "--no-acl", "-j", "2", "-h", "127.0.0.1", "-p", primary.port,
            "-U", "gis", "-d", db, dump)
        dump.unlink()
        # this branch's migrations on the copy (the source may be older)
        subprocess.run([PY, "manage.py", "migrate", "-v", "0", "--skip-checks"], cwd=ROOT, check=True,
                       env={**city.env, "DATABASE_URL": primary.url(db)})
        run(PGBIN / "psql", "-h", "127.0.0.1", "-p", primary.port, "-U", "gis", "-d", db, "-q",
            "-c", f"ALTER DATABASE {db} SET max_parallel_workers_per_gather = 0; ALTER DATABASE {db} SET jit = off; "
            f"ALTER DATABASE {db} SET plan_cache_mode = force_generic_plan", "-c", "VACUUM ANALYZE")
        run(PGBIN / "pg_basebackup", "-D", replica.data, "-R", "-X", "stream", "-c", "fast", "-h", "127.0.0.1",
            "-p", primary.port, "-U", "gis")
        primary.pg_ctl("stop")
    for server in (primary, replica):  # ports are chosen anew each run
        with open(server.data / "postgresql.auto.conf", "a") as f:
            f.write(f"port = {server.port}\n")
        if server is replica:
            conninfo = f"primary_conninfo = 'host=127.0.0.1 port={primary.port} user=gis'\n"
            with open(server.data / "postgresql.auto.conf", "a") as f:
                f.write(conninfo)
        server.pg_ctl("start")
    return primary, replica, db


def paths(dsn: str, srid: int) -> dict[str, list[str]]:
    """The requests of each kind: clicks on parcels, the city's z14 and z16 tiles, OGC pages of 100 parcels."""
    import psycopg

    from layers.tiles import lonlat_to_tile

    with psycopg.connect(dsn) as conn:
        points = conn.execute(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(ST_PointOnSurface(geom), 4326) p FROM parcels_parcel "
            "ORDER BY md5(id::text) LIMIT 300) s").fetchall()
        west, south, east, north = conn.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Transform(ST_SetSRID("
            "ST_Extent(geom)::geometry, %s), 4326) e FROM parcels_parcel) s", [srid]).fetchone()

    def tiles(z, limit):
        (x0, y0), (x1, y1) = lonlat_to_tile(west, north, z), lonlat_to_tile(east, south, z)
        cx, cy = (x0 + x1) // 2, (y0 + y1) // 2  # the centre first: the dense tiles
        all_tiles = sorted(((x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)),
                           key=lambda t: abs(t[0] - cx) + abs(t[1] - cy))
        return [f"/tiles/parcels/{z}/{x}/{y}.pbf" for x, y in all_tiles[:limit]]

    return {
        "click": [f"/api/parcels/at?lon={lon:.6f}&lat={lat:.6f}" for lon, lat in points],
        "tile z14": tiles(14, 4),
        "tile z16": tiles(16, 64),
        "ogc page": [f"/ogc/collections/parcels/items?limit=100&bbox={lon - 0.002:.5f},{lat - 0.002:.5f},"
                     f"{lon + 0.002:.5f},{lat + 0.002:.5f}" for lon, lat in points[:100]],
    }


def cluster_cpu(server: Server) -> float:
    """CPU seconds the cluster's processes have used (the postmaster, its live children, and the children it reaped):
    unlike throughput, not inflated by other programs competing for the machine's cores."""
    tick = os.sysconf("SC_CLK_TCK")
    postmaster = int((server.data / "postmaster.pid").read_text().split()[0])
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry.name), int(fields[1])
        if pid == postmaster:
            total += int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
        elif ppid == postmaster:
            total += int(fields[11]) + int(fields[12])
    return total / tick


def gunicorn(env: dict) -> tuple[subprocess.Popen, int]:
    import http.client

    port = free_port()
    proc = subprocess.Popen([str(ROOT / ".venv" / "bin" / "gunicorn"), "gis_portal.wsgi", "-b", f"127.0.0.1:{port}",
                             "--workers", "4", "--log-level", "warning"], cwd=ROOT, env=env)
    for _ in range(300):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/api/city")
            if conn.getresponse().status == 200:
                return proc, port
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("gunicorn did not start")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parcels", type=int, default=100_000)
    parser.add_argument("--source", help="an existing bench database to copy (read only), e.g. "
                                         "gis_portal_bench_100000; default: bench/common.City's, made if absent")
    parser.add_argument("--seconds", type=float, default=6)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--only", default="", help="comma-separated configurations")
    parser.add_argument("--fresh", action="store_true", help="make the scratch clusters again")
    args = parser.parse_args()

    city = Source(args.source) if args.source else City(args.parcels)
    primary, replica, db = build(city, args.fresh)
    folder = WORK / "pgbouncer"
    out = subprocess.run([PY, "scripts/pgbouncer.py", "--dir", str(folder), "--port", str(free_port()),
                          "--pool-size", "8", "--daemon"], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={**os.environ, "DATABASE_URL": primary.url(db), "DATABASE_REPLICA_URLS": replica.url(db)})
    import re
    bouncer = dict(re.findall(r"export (\w+)=(\S+)", out.stdout))
    base = {**city.env, "TILE_CACHE_ENTRIES": "0", "OGC_CACHE_ENTRIES": "0", "DATABASE_URL": primary.url(db)}
    configs = {
        "node": {},
        "node+replica": {"DATABASE_REPLICA_URLS": replica.url(db), "DATABASE_PRIMARY_READ_SHARE": "0.5"},
        "node/unprep": {"DATABASE_POOLER": "transaction"},
        "node/bouncer": {"DATABASE_URL": bouncer["DATABASE_URL"], "DATABASE_POOLER": "transaction"},
        "node+replica/bouncer": {"DATABASE_URL": bouncer["DATABASE_URL"], "DATABASE_POOLER": "transaction",
                                 "DATABASE_REPLICA_URLS": bouncer["DATABASE_REPLICA_URLS"],
                                 "DATABASE_PRIMARY_READ_SHARE": "0.5"},
    }
    if args.only:
        configs = {name: configs[name] for name in args.only.split(",")}
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gis_portal.settings")
    requests = paths(primary.url(db, "postgresql"), city.srid)
    results: dict[tuple[str, str], list[float]] = {}
    cpu_ms: dict[tuple[str, str], list[list[float]]] = {}
    try:
        for round_ in range(args.rounds):
            for name, extra in configs.items():
                proc, port = gunicorn({**base, **extra})
                try:
                    for kind, kind_paths in requests.items():
                        wrk_rps(port, kind_paths, 1, args.connections)  # warm-up
                        before = [cluster_cpu(s) for s in (primary, replica)]
                        rps = wrk_rps(port, kind_paths, args.seconds, args.connections)
                        cpu = [cluster_cpu(s) - b for s, b in zip((primary, replica), before)]
                        done = rps * args.seconds
                        results.setdefault((name, kind), []).append(rps)
                        # PostgreSQL's CPU ms per request on each server; one core each, the busier one bounds it
                        per = [1000 * c / done for c in cpu]
                        cpu_ms.setdefault((name, kind), []).append(per)
                        print(f"round {round_ + 1} {name:22} {kind:9} {rps:8.1f} req/s  PostgreSQL CPU ms/request: "
                              f"primary {per[0]:.2f}, replica {per[1]:.2f}  (load {os.getloadavg()[0]:.1f})",
                              flush=True)
                finally:
                    proc.terminate()
                    proc.wait()
    finally:
        pid = folder / "pgbouncer.pid"
        if pid.exists():
            os.kill(int(pid.read_text()), 2)
        for server in (replica, primary):
            server.pg_ctl("stop", "-m", "fast")
    kinds = list(requests)
    print(f"\nrequests/s, median of {args.rounds} rounds of {args.seconds:.0f} s, {args.connections} connections, "
          f"{args.parcels} parcels; ratio to 'node'")
    print(f"| configuration | {' | '.join(kinds)} |\n|---|{'---|' * len(kinds)}")
    import statistics

    for name in configs:
        cells = []
        for kind in kinds:
            rps = statistics.median(results[(name, kind)])
            ref = statistics.median(results.get(("node", kind), [rps]))
            cells.append(f"{rps:.0f} ({rps / ref:.2f}×)")
        print(f"| {name} | {' | '.join(cells)} |")
    print("\nPostgreSQL CPU ms per request (primary + replica), and the read capacity when PostgreSQL's cores bound it "
          "(one core per server: requests/s = 1000 / the busier server's ms), as a ratio to 'node'")
    print(f"| configuration | {' | '.join(kinds)} |\n|---|{'---|' * len(kinds)}")
    for name in configs:
        cells = []
        for kind in kinds:
            p, r = (statistics.median(v[i] for v in cpu_ms[(name, kind)]) for i in (0, 1))
            ref = statistics.median(v[0] for v in cpu_ms.get(("node", kind), [[p, r]]))
            cells.append(f"{p:.2f}+{r:.2f} ({ref / max(p, r):.2f}×)")
        print(f"| {name} | {' | '.join(cells)} |")
    print(f"load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
