"""Start pgbouncer (transaction mode) on loopback in front of DATABASE_URL and each of DATABASE_REPLICA_URLS:
`./run pgbouncer [--port 6433] [--pool-size 8]`. Fills in deploy/pgbouncer/pgbouncer.ini in a folder of its own
(.local/pgbouncer by default), prints the DATABASE_URL, DATABASE_REPLICA_URLS and DATABASE_POOLER to give the portal,
and runs pgbouncer in the foreground (--daemon: in the background; --config-only: only write the files).
As root, pgbouncer (which refuses to run as root) runs as the `postgres` user."""

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "deploy" / "pgbouncer" / "pgbouncer.ini"
SERVING = "SET max_parallel_workers_per_gather = 0; SET jit = off; SET plan_cache_mode = force_generic_plan"


def server(url: str) -> dict:
    parts = urlsplit(url)
    return {"host": parts.hostname or "127.0.0.1", "port": parts.port or 5432, "dbname": parts.path.lstrip("/"),
            "user": unquote(parts.username or ""), "password": unquote(parts.password or "")}


def render(primary_url: str, replica_urls: list[str], folder: Path, port: int, pool_size: int) -> dict:
    """Writes pgbouncer.ini and userlist.txt into `folder`; returns the portal's settings to use it."""
    servers = [("", server(primary_url))] + [(f"_replica_{i}", server(url)) for i, url in enumerate(replica_urls, 1)]
    name = servers[0][1]["dbname"]
    users = {s["user"]: s["password"] for _, s in servers if s["user"]}
    lines = [f"{name}{suffix} = host={s['host']} port={s['port']} dbname={s['dbname']}"
             + (f" user={s['user']}" if s["user"] else "") + f" connect_query='{SERVING}'" for suffix, s in servers]
    folder.mkdir(parents=True, exist_ok=True)
    auth_file = folder / "userlist.txt"
    auth_file.write_text("".join(f'"{user}" "{password}"\n' for user, password in users.items()))
    auth_file.chmod(0o600)
    text = TEMPLATE.read_text().format(
        databases="\n".join(lines), listen_addr="127.0.0.1", listen_port=port,
        # with no password anywhere (a trust-authenticated local cluster) clients are trusted on loopback too
        auth_type="scram-sha-256" if any(users.values()) else "trust", auth_file=auth_file, pool_size=pool_size,
        logfile=folder / "pgbouncer.log", pidfile=folder / "pgbouncer.pid")
    (folder / "pgbouncer.ini").write_text(text)
    user = servers[0][1]["user"]
    login = quote(user) + (f":{quote(users[user])}" if users.get(user) else "") + "@" if user else ""
    return {"DATABASE_URL": f"postgis://{login}127.0.0.1:{port}/{name}",
            "DATABASE_REPLICA_URLS": ",".join(f"postgis://{login}127.0.0.1:{port}/{name}{suffix}"
                                              for suffix, _ in servers[1:]),
            "DATABASE_POOLER": "transaction"}


def mask(urls: str) -> str:
    return ",".join(url.replace(f":{urlsplit(url).password}@", ":PASSWORD@") if urlsplit(url).password else url
                    for url in urls.split(","))


def command(folder: Path, daemon: bool) -> list[str]:
    runas = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if runas:
        shutil.chown(folder, "postgres")
        for path in folder.iterdir():
            shutil.chown(path, "postgres")
    return [*runas, shutil.which("pgbouncer") or "/usr/sbin/pgbouncer", *(["-d"] if daemon else []),
            str(folder / "pgbouncer.ini")]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=6433,
                        help="default 6433 (Debian's own pgbouncer service listens on 6432)")
    parser.add_argument("--pool-size", type=int, default=8, help="server connections per database (default 8)")
    parser.add_argument("--dir", type=Path, default=ROOT / ".local" / "pgbouncer")
    parser.add_argument("--daemon", action="store_true", help="run in the background (stop: kill its pidfile's pid)")
    parser.add_argument("--config-only", action="store_true")
    args = parser.parse_args()
    primary = os.environ.get("DATABASE_URL")
    if not primary:
        sys.exit("DATABASE_URL is not set")
    replicas = [u.strip() for u in os.environ.get("DATABASE_REPLICA_URLS", "").split(",") if u.strip()]
    portal = render(primary, replicas, args.dir, args.port, args.pool_size)
    print(f"pgbouncer configuration in {args.dir}; give the portal (the password: DATABASE_URL's):")
    for key, value in portal.items():
        if value:
            print(f"  export {key}={mask(value)}")
    if not args.config_only:
        cmd = command(args.dir, args.daemon)
        if args.daemon:
            subprocess.run(cmd, check=True)
        else:
            os.execvp(cmd[0], cmd)


if __name__ == "__main__":
    main()
