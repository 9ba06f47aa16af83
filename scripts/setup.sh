#!/usr/bin/env bash
# Installs whatever is missing for the project on Debian 12, and nothing that is already there:
#   system packages (PostgreSQL 15 + PostGIS 3, GDAL, GEOS, PROJ, Node.js; Chromium with --with-browser; the load
#   generator wrk with --with-bench, for bench/),
#   the Python virtualenv (.venv, from Debian's python3), and the npm packages (node_modules, from the lockfile).
# Each step is skipped when its inputs have not changed since the last run, so a second run takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WITH_BROWSER=0
WITH_BENCH=0
for arg in "$@"; do
  case "$arg" in
    --with-browser) WITH_BROWSER=1 ;;
    --with-bench) WITH_BENCH=1 ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else echo "setup.sh: need root (or sudo) to install: $*" >&2; exit 1
  fi
}

# --- Debian packages -------------------------------------------------------------------------
# Chromium and Persian fonts always: the app prints bills to PDF with headless Chromium (dues/views.py).
# GNU gettext: msgfmt compiles the message catalogues below; makemessages needs xgettext.
# libmagic1: python-magic tells an uploaded photo's type from its content (reports/photos.py).
# pgbouncer: the connection pooler of the production set-up (./run pgbouncer; the pooling tests in tests/replicas).
# nginx-light: the shared tile cache in front (`./run tilecache`, deploy/nginx/; its proxy_cache is in the light build).
packages=(postgresql-15 postgresql-15-postgis-3 gdal-bin libgdal32 libgeos-c1v5 libproj25
          python3 python3-venv nodejs npm ca-certificates chromium fonts-noto-core gettext
          libmagic1 pgbouncer nginx-light)
# libatomic1 for the node binary inside the Playwright package (browser tests).
[ "$WITH_BROWSER" = 1 ] && packages+=(libatomic1)
# PyQGIS for the tests that open exports and the OGC API in QGIS itself (headless, QT_QPA_PLATFORM=offscreen).
[ "$WITH_BROWSER" = 1 ] && packages+=(python3-qgis qgis-providers)
# The tests read printed documents back as a bank's scanner would: pdftoppm renders a PDF page to an image, zbarimg
# decodes its QR code and the bill's barcode.
[ "$WITH_BROWSER" = 1 ] && packages+=(poppler-utils zbar-tools)
# wrk: the benchmarks' HTTP load generator (bench/common.py; pgbench, their SQL one, comes with postgresql-15).
[ "$WITH_BENCH" = 1 ] && packages+=(wrk)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js may come from elsewhere than Debian (e.g. a newer build on PATH): accept any node >= 18 with npm.
if command -v node >/dev/null && command -v npm >/dev/null \
   && [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 18 ]; then
  missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
fi
read -r -a missing <<<"${missing[*]:-}"
if [ "${#missing[@]}" -gt 0 ]; then
  log "Installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# --- Python virtualenv -----------------------------------------------------------------------
# Debian's python3 (3.11 on Debian 12), not whatever python3 is first on PATH.
PY=/usr/bin/python3
stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "Creating/updating the virtualenv (.venv)"
  [ -x .venv/bin/python ] || "$PY" -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check --upgrade pip
  .venv/bin/pip install -q --disable-pip-version-check -r requirements.txt
  echo "$want" > "$stamp"
fi

# --- npm packages (served by the app itself: no CDN at run time) -------------------------------
stamp=node_modules/.package-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -d node_modules ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "Installing npm packages from package-lock.json"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi

# --- Message catalogues (locale/*/LC_MESSAGES/*.po -> .mo, build output) -------------------------
# Compiled by GNU gettext's msgfmt itself (what compilemessages runs), which needs neither the Django settings nor a
# database: this script runs before either is ready.
# --check-format refuses a translation whose placeholders differ from its msgid's.
mkdir -p .local
stamp=.local/locale.sha256
catalogues=$(find locale -path '*/LC_MESSAGES/*.po' 2>/dev/null | sort)
want=$(for po in $catalogues; do sha256sum "$po"; done | sha256sum | cut -d' ' -f1)
stale=0
for po in $catalogues; do [ -f "${po%.po}.mo" ] || stale=1; done
if [ -n "$catalogues" ] && { [ "$stale" = 1 ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; }; then
  log "Compiling the message catalogues"
  for po in $catalogues; do msgfmt --check-format -o "${po%.po}.mo" "$po"; done
  echo "$want" > "$stamp"
fi
