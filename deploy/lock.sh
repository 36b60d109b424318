#!/usr/bin/env bash
# requirements.lock: the whole runtime tree of requirements.txt, every package pinned with its
# hashes (pip-tools, pinned in requirements-dev.txt). The Dockerfile and deploy/check.sh install
# from it with --require-hashes.
#
#   deploy/lock.sh            regenerate it after changing requirements.txt (keeps the other pins)
#   deploy/lock.sh --upgrade  move every transitive package to its latest release too
#   deploy/lock.sh --check    fail unless it is exactly what requirements.txt gives (CI)
#
# PyPI only: this machine's pip configuration (extra indexes, local wheels) is left out so that
# the lock is the same wherever it is made.
set -euo pipefail
cd "$(dirname "$0")/.."
PIP_TOOLS_COMPILE=${PIP_TOOLS_COMPILE:-.venv/bin/pip-compile}

compile() {  # compile OUTPUT [pip-compile options]
  local out=$1
  shift
  env -u PIP_FIND_LINKS -u PIP_EXTRA_INDEX_URL -u PIP_INDEX_URL -u PIP_CONSTRAINT \
    PIP_CONFIG_FILE=/dev/null CUSTOM_COMPILE_COMMAND="deploy/lock.sh" \
    "$PIP_TOOLS_COMPILE" --quiet --generate-hashes --strip-extras --allow-unsafe \
    --no-emit-index-url --no-emit-find-links --index-url https://pypi.org/simple \
    --output-file "$out" "$@" requirements.txt
}

case "${1:-}" in
"")
  compile requirements.lock
  ;;
--upgrade)
  compile requirements.lock --upgrade
  ;;
--check)
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  [ -f requirements.lock ] || { echo "requirements.lock is missing: run deploy/lock.sh" >&2; exit 1; }
  cp requirements.lock "$tmp/requirements.lock"
  compile "$tmp/requirements.lock"
  if ! diff -u requirements.lock "$tmp/requirements.lock"; then
    echo >&2
    echo "requirements.lock is not current with requirements.txt (diff above: - the lock, + what" >&2
    echo "requirements.txt gives). Run deploy/lock.sh and commit requirements.lock." >&2
    exit 1
  fi
  echo "requirements.lock is current with requirements.txt"
  ;;
*)
  echo "usage: $0 [--upgrade|--check]" >&2
  exit 2
  ;;
esac
