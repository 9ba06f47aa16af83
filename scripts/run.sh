#!/usr/bin/env bash
# The two jobs of the README: `scripts/run.sh demo` (make demo) and `scripts/run.sh test` (make test).
# Both set up what is missing first (scripts/setup.sh) and use a project-local PostgreSQL when DATABASE_URL is unset.
set -euo pipefail
cd "$(dirname "$0")/.."
job=${1:?usage: run.sh demo|test [pytest args]}; shift || true

if [ "$job" = test ]; then bash scripts/setup.sh --with-browser; elif [ "$job" != secret ]; then bash scripts/setup.sh; fi

if [ -z "${DATABASE_URL:-}" ]; then
  DATABASE_URL=$(bash scripts/localdb.sh start)
  export DATABASE_URL
fi
PY=.venv/bin/python

# A generated secret for the local demo, kept across runs (production sets SECRET_KEY itself).
local_secret() {
  if [ -z "${SECRET_KEY:-}${SECRET_KEY_FILE:-}" ]; then
    mkdir -p .local
    [ -s .local/secret_key ] || (umask 077; head -c 48 /dev/urandom | base64 | tr -d '\n' > .local/secret_key)
    export SECRET_KEY_FILE=$PWD/.local/secret_key
  fi
}

case "$job" in
  secret) local_secret ;;
  demo)
    local_secret
    $PY manage.py migrate --no-input -v 0
    $PY manage.py collectstatic --no-input -v 0
    $PY manage.py load_demo_city --if-absent --parcels "${DEMO_PARCELS:-20000}"
    echo "==> Serving the portal on http://${HOST:-127.0.0.1}:${PORT:-8000}/ (admin: /admin/; Ctrl-C stops)"
    exec .venv/bin/gunicorn gis_portal.wsgi -b "${HOST:-127.0.0.1}:${PORT:-8000}" \
      --workers "${WEB_WORKERS:-3}" --access-logfile - --timeout 120
    ;;
  test)
    export DJANGO_SETTINGS_MODULE=gis_portal.settings_test
    mkdir -p .local/test-results
    status=0
    # 1. The whole suite with the reference municipality (Darab, EPSG:32640).
    $PY -m pytest -p no:cacheprovider --junitxml=.local/test-results/darab.xml "$@" || status=$?
    # 2. The real Cambridge (MA) data as another municipality would load it: its own projected CRS.
    MUNICIPALITY_SRID=26986 RENEWAL_CODE_WIDTHS=1,1,3,3,1,1,1 \
      $PY -m pytest -p no:cacheprovider -m other_city --junitxml=.local/test-results/cambridge.xml "$@" || status=$?
    $PY scripts/test_totals.py .local/test-results/darab.xml .local/test-results/cambridge.xml
    exit $status
    ;;
  *) echo "usage: run.sh demo|test" >&2; exit 2 ;;
esac
