#!/bin/sh
# The image's build steps, in one place: the Dockerfile RUNs them and deploy/check.sh (CI,
# `make deploy-check`) runs the same ones outside a container.
#
#   deploy/build.sh deps   install the locked runtime tree (requirements.lock, every hash checked;
#                          nothing from requirements-dev.txt)
#   deploy/build.sh app    collect the static files with the production storage (hashed names,
#                          compressed copies and the staticfiles.json manifest that
#                          DJANGO_PRODUCTION=true serves from) under $DJANGO_VAR_DIR/static
#
# PYTHON names the interpreter (default: python on PATH).
set -eu
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}

case "${1:-}" in
deps)
  "$PYTHON" -m pip install --require-hashes -r requirements.lock
  ;;
app)
  # The settings the image runs with: the production storage is chosen by DJANGO_PRODUCTION.
  # The secret only satisfies the production check; nothing is signed at build time.
  DJANGO_PRODUCTION=true DJANGO_DEBUG=false DJANGO_SECRET_KEY=build-time-only-not-a-secret \
    "$PYTHON" manage.py collectstatic --noinput --clear --verbosity 0
  manifest="${DJANGO_VAR_DIR:-var}/static/staticfiles.json"
  if [ ! -s "$manifest" ]; then
    echo "build.sh: $manifest missing: collectstatic did not use the manifest storage" >&2
    exit 1
  fi
  ;;
*)
  echo "usage: $0 deps|app" >&2
  exit 2
  ;;
esac
