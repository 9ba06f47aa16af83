#!/usr/bin/env bash
# `./run tilecache`: nginx on loopback in front of the portal, caching the versioned vector tiles
# (deploy/nginx/tilecache.conf.template). Settings from the environment:
#   TILECACHE_LISTEN    where nginx listens (127.0.0.1:8080)
#   TILECACHE_UPSTREAM  the portal (gunicorn of `./run demo`: 127.0.0.1:8000)
#   TILECACHE_DIR       its configuration, logs and cache (.local/tilecache)
#   TILECACHE_SIZE      the most the cache keeps on disk (1g)
# With --render-only the configuration is written (its path printed) and nginx is not started (the tests start it).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(realpath -m "${TILECACHE_DIR:-.local/tilecache}")
mkdir -p "$dir/cache" "$dir/run"
sed -e "s|@USER@|$(id -un)|g" -e "s|@RUN_DIR@|$dir/run|g" -e "s|@CACHE_DIR@|$dir/cache|g" \
    -e "s|@CACHE_SIZE@|${TILECACHE_SIZE:-1g}|g" -e "s|@LISTEN@|${TILECACHE_LISTEN:-127.0.0.1:8080}|g" \
    -e "s|@UPSTREAM@|${TILECACHE_UPSTREAM:-127.0.0.1:8000}|g" deploy/nginx/tilecache.conf.template > "$dir/nginx.conf"
if [ "${1:-}" = --render-only ]; then echo "$dir/nginx.conf"; exit 0; fi
nginx=$(command -v nginx || echo /usr/sbin/nginx)
"$nginx" -t -q -p "$dir" -c "$dir/nginx.conf"
echo "==> Tile cache on http://${TILECACHE_LISTEN:-127.0.0.1:8080} in front of ${TILECACHE_UPSTREAM:-127.0.0.1:8000}" \
     "(cache in $dir/cache; X-Cache-Status says HIT or MISS). Set TILE_SEED_BASE_URL=http://${TILECACHE_LISTEN:-127.0.0.1:8080}" \
     "for the portal to warm it after a load."
exec "$nginx" -p "$dir" -c "$dir/nginx.conf" -g "daemon off;"
