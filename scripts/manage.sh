#!/usr/bin/env bash
# manage.py with the project's virtualenv and, when DATABASE_URL is unset, the project-local PostgreSQL.
#   scripts/manage.sh import_parcels parcels.gpkg --map renewal_code=CODE
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${DATABASE_URL:-}" ]; then
  DATABASE_URL=$(bash scripts/localdb.sh start)
  export DATABASE_URL
fi
if [ -z "${SECRET_KEY:-}${SECRET_KEY_FILE:-}" ] && [ -s .local/secret_key ]; then
  export SECRET_KEY_FILE=$PWD/.local/secret_key
  # the local site's own secret: a local (demo or trial) site, whose payments go to the sandbox (dues.E001)
  export DUES_ALLOW_SANDBOX_IN_PRODUCTION=${DUES_ALLOW_SANDBOX_IN_PRODUCTION:-true}
fi
exec .venv/bin/python manage.py "$@"
