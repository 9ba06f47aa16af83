#!/usr/bin/env bash
# A project-local PostgreSQL 15 cluster under .local/pgdata (git-ignored), used when DATABASE_URL is not set.
#   scripts/localdb.sh start   create the cluster if absent, start it if stopped; print DATABASE_URL
#   scripts/localdb.sh stop    stop it
#   scripts/localdb.sh url     print DATABASE_URL
# PostgreSQL refuses to run as root, so as root the cluster is owned by and run as the 'postgres' system user
# (created by Debian's postgresql package). It listens on 127.0.0.1 only, with a generated password.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PGBIN=/usr/lib/postgresql/15/bin
DATA=$ROOT/.local/pgdata
PORT=${LOCAL_PG_PORT:-54329}
DBNAME=${LOCAL_PG_DB:-gis_portal}
PWFILE=$ROOT/.local/pg_password
LOGFILE=$ROOT/.local/postgresql.log

if [ "$(id -u)" = 0 ]; then
  RUNAS=(runuser -u postgres --)
else
  RUNAS=()
fi

url() { echo "postgis://gis:$(cat "$PWFILE")@127.0.0.1:$PORT/$DBNAME"; }

is_running() { "${RUNAS[@]}" "$PGBIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }

start() {
  mkdir -p "$ROOT/.local"
  if [ ! -s "$DATA/PG_VERSION" ]; then
    echo "==> Creating a project-local PostgreSQL cluster in .local/pgdata" >&2
    if [ "${#RUNAS[@]}" -gt 0 ] && ! runuser -u postgres -- test -x "$ROOT/.local"; then
      chmod o+x "$ROOT/.local"
      if ! runuser -u postgres -- test -x "$ROOT/.local"; then
        echo "localdb.sh: the 'postgres' user cannot reach $ROOT (a parent folder is closed to others)." >&2
        echo "  Open it with: chmod o+x <each parent folder>, or set DATABASE_URL to an existing database." >&2
        exit 1
      fi
    fi
    [ -s "$PWFILE" ] || (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$PWFILE")
    rm -rf "$DATA"; mkdir -p "$DATA"
    local pwcopy; pwcopy=$(mktemp); cp "$PWFILE" "$pwcopy"
    if [ "${#RUNAS[@]}" -gt 0 ]; then chown postgres: "$DATA" "$pwcopy"; fi
    chmod 700 "$DATA"
    "${RUNAS[@]}" "$PGBIN/initdb" -D "$DATA" -U gis --pwfile="$pwcopy" --auth=scram-sha-256 \
        --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$pwcopy"
    cat >> "$DATA/postgresql.conf" <<CONF
# project-local cluster (scripts/localdb.sh)
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = ''
shared_buffers = 512MB
work_mem = 32MB
maintenance_work_mem = 512MB
max_wal_size = 4GB
CONF
  fi
  if ! is_running; then
    touch "$LOGFILE"; [ "${#RUNAS[@]}" -gt 0 ] && chown postgres: "$LOGFILE"
    "${RUNAS[@]}" "$PGBIN/pg_ctl" -D "$DATA" -l "$LOGFILE" -w -t 60 start >/dev/null \
      || { echo "localdb.sh: PostgreSQL did not start; see .local/postgresql.log" >&2; tail -20 "$LOGFILE" >&2; exit 1; }
  fi
  export PGPASSWORD; PGPASSWORD=$(cat "$PWFILE")
  if ! psql -h 127.0.0.1 -p "$PORT" -U gis -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$DBNAME'" | grep -q 1; then
    psql -h 127.0.0.1 -p "$PORT" -U gis -d postgres -qc "CREATE DATABASE $DBNAME" >/dev/null
  fi
  url
}

case "${1:-start}" in
  start) start ;;
  stop) if is_running; then "${RUNAS[@]}" "$PGBIN/pg_ctl" -D "$DATA" -w stop >/dev/null; fi ;;
  url) url ;;
  *) echo "usage: $0 start|stop|url" >&2; exit 2 ;;
esac
