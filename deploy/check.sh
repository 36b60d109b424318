#!/usr/bin/env bash
# The production path, proven without a container engine (CI runs it from .ci/run; operators
# run it with `make deploy-check` before deploying). Each step does what the image and
# docker-compose.yml do, reading them so that they and this check cannot drift apart:
#
#  0. requirements.lock is what requirements.txt gives (deploy/lock.sh --check);
#  1. .env.example names every setting the code reads;
#  2. the build context as .dockerignore leaves it, copied to a temp dir (no .env, .venv, var/);
#  3. `docker-compose config` validates docker-compose.yml with .env.example (plus a test
#     secret) and gives each service's environment, command and health check;
#  4. a runtime-only venv and the image's build steps: deploy/build.sh deps (requirements.lock,
#     hashes checked, no dev packages) and deploy/build.sh app (collectstatic, production storage);
#  5. a fresh PostgreSQL database and a private redis-server (its own port, nothing shared with
#     other work on this machine) stand in for the db and redis services; the migrate service's
#     command;
#  6. web (gunicorn with its command and config/gunicorn.py), worker, beat and the proxy (Caddy
#     with deploy/Caddyfile), each with its service's environment, on 127.0.0.1;
#  7. the compose health checks of web, worker, beat and proxy, run against them;
#  8. through the proxy over TLS (its local CA): the portal, the admin's login page and its
#     hashed CSS (whitenoise), the API docs and their CSS, the API's JSON 401, /readyz,
#     /metrics answered 404 by the proxy itself, HTTP redirected to HTTPS, secure cookies;
#  9. an event with a recipient emitted in the web environment reaches the inbox through the
#     broker, the worker and the database;
# 10. the proxy again with a certificate of one's own (PROXY_TLS=/certs/cert.pem /certs/key.pem).
#
# Translations from containers to this machine, each printed: service host names (db, redis,
# web) become 127.0.0.1 and free ports; /app becomes the copied context; /tmp a temp dir;
# a container's HOSTNAME is this host's name.
#
# Needs: python3 (3.11, the image's), PostgreSQL on 127.0.0.1 (trust for user postgres),
# redis-server, docker-compose (Debian package), caddy, curl, openssl, wget, and the dev venv's
# PyYAML (.venv, `make install`) to read the compose output. Everything is bounded in time and
# removed on exit (KEEP=1 keeps the temp dir).
#
# Environment: PGHOST/PGPORT/PGUSER (127.0.0.1/5432/postgres), DEV_PYTHON (.venv/bin/python).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export LC_ALL=C.UTF-8

PGHOST=${PGHOST:-127.0.0.1}
PGPORT=${PGPORT:-5432}
PGUSER=${PGUSER:-postgres}
DEV_PYTHON=${DEV_PYTHON:-$ROOT/.venv/bin/python}
DB="gdpd_deploy_check_$$"

T=$(mktemp -d "${TMPDIR:-/tmp}/deploy-check.XXXXXX")
APP=$T/app
VENV=$T/venv
LOGS=$T/logs
mkdir -p "$APP" "$LOGS" "$T/tmp" "$T/home"
PIDS=()
DB_CREATED=0

step() { printf '\n--- %s\n' "$*"; }
fail() {
  printf '\nDEPLOY CHECK FAILED: %s\n' "$*" >&2
  exit 1
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  if [ "$rc" -ne 0 ]; then
    for log in "$LOGS"/{migrate,web,worker,beat,proxy}.log; do
      [ -f "$log" ] && { printf '\n=== last lines of %s\n' "${log##*/}" >&2; tail -n 25 "$log" >&2; }
    done
  fi
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for _ in $(seq 1 40); do
    local alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" -eq 0 ] && break
    sleep 0.25
  done
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null; done
  wait 2>/dev/null
  if [ "$DB_CREATED" -eq 1 ]; then
    psql -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -q -c "DROP DATABASE IF EXISTS $DB WITH (FORCE);" >/dev/null 2>&1
  fi
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $T" >&2; else rm -rf "$T"; fi
  if [ "$rc" -eq 0 ]; then echo; echo "deploy check passed"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "deploy check: line $LINENO failed: $BASH_COMMAND" >&2' ERR
trap 'exit 130' INT
trap 'exit 143' TERM

# wait_for SECONDS DESCRIPTION COMMAND...: retry COMMAND every half second until it succeeds.
wait_for() {
  local limit=$1 what=$2
  shift 2
  local end=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$end" ] || fail "$what: not within ${limit}s"
    sleep 0.5
  done
}

for tool in python3 psql redis-server redis-cli docker-compose caddy curl openssl wget; do
  command -v "$tool" >/dev/null || fail "$tool is missing (apt-get install docker-compose caddy curl openssl wget postgresql-client redis-server)"
done
"$DEV_PYTHON" -c "import yaml" 2>/dev/null || fail "$DEV_PYTHON cannot import yaml: run make install (or set DEV_PYTHON)"
pg_isready -h "$PGHOST" -p "$PGPORT" -q || fail "PostgreSQL is not answering on $PGHOST:$PGPORT"

step "0. requirements.lock is current with requirements.txt (deploy/lock.sh --check)"
timeout 300 deploy/lock.sh --check 2>"$LOGS/lock.log" || { grep -v Warning "$LOGS/lock.log" | tail -n 5; fail "requirements.lock (see above)"; }

step "1. .env.example names every setting the code reads"
missing=$(python3 - <<'PY'
import pathlib
import re

read = re.compile(r'(?:os\.environ\.get|os\.getenv|env_(?:bool|int|list))\(\s*"([A-Z0-9_]+)"|os\.environ\["([A-Z0-9_]+)"\]')
names = set()
for top in ("config", "catalog", "sharing"):
    for path in pathlib.Path(top).rglob("*.py"):
        names.update(a or b for a, b in read.findall(path.read_text()))
listed = set(re.findall(r"^# ?([A-Z0-9_]+)=", open(".env.example").read(), re.M))
listed |= set(re.findall(r"^([A-Z0-9_]+)=", open(".env.example").read(), re.M))
print(" ".join(sorted(names - listed)))
PY
)
[ -z "$missing" ] || fail ".env.example does not name: $(echo "$missing" | tr '\n' ' ')"
echo "ok"

step "2. build context (.dockerignore) -> $APP"
excludes=()
while IFS= read -r pattern; do
  pattern=${pattern%%#*}
  pattern=$(echo "$pattern" | xargs)
  [ -n "$pattern" ] || continue
  excludes+=("--exclude=./${pattern#\*\*/}")
  case "$pattern" in \*\*/*) excludes+=("--exclude=${pattern#\*\*/}") ;; esac
done <.dockerignore
tar -cf - "${excludes[@]}" . | tar -xf - -C "$APP"
for unwanted in .env .venv var .git; do
  [ ! -e "$APP/$unwanted" ] || fail ".dockerignore lets $unwanted into the image"
done
find "$APP" -name '*.sqlite3' -o -name '__pycache__' | grep -q . && fail ".dockerignore lets a database or __pycache__ in"
echo "ok: $(find "$APP" -type f | wc -l) files"

step "3. docker-compose config with .env.example"
SECRET=$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')
sed "s|^DJANGO_SECRET_KEY=.*|DJANGO_SECRET_KEY=$SECRET|" .env.example >"$APP/.env"
(cd "$APP" && docker-compose config >"$T/compose.yml") || fail "docker-compose config rejects docker-compose.yml with .env.example"
(cd "$APP" && docker-compose config --services | sort | tr '\n' ' ')
echo

read -r WEB_PORT HTTP_PORT HTTPS_PORT ADMIN_PORT REDIS_PORT < <(python3 - <<'PY'
import socket
socks = [socket.socket() for _ in range(5)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
PY
)

# The services' environment, commands and health checks, translated (see the top).
APP=$APP T=$T DB_URL="postgres://$PGUSER@$PGHOST:$PGPORT/$DB" REDIS_PORT=$REDIS_PORT \
  WEB_PORT=$WEB_PORT ADMIN_PORT=$ADMIN_PORT "$DEV_PYTHON" - "$T/compose.yml" "$APP/Dockerfile" "$T" <<'PY' || fail "cannot read the compose output"
import os
import re
import shlex
import sys

import yaml

config = yaml.safe_load(open(sys.argv[1]))
dockerfile = open(sys.argv[2]).read()
out = sys.argv[3]
app, tmp = os.environ["APP"], os.environ["T"] + "/tmp"
services = config["services"]
need = {"proxy", "db", "redis", "migrate", "web", "worker", "beat"}
assert need <= set(services), f"services missing: {need - set(services)}"
assert [s for s, c in services.items() if c.get("ports")] == ["proxy"], "only the proxy may publish ports"

# The image's ENV (Dockerfile), /app -> the copied context.
image_env = {}
for line in re.findall(r"^ENV\s+(.+(?:\\\n.+)*)", dockerfile, re.M):
    for item in shlex.split(line.replace("\\\n", " ")):
        key, _, value = item.partition("=")
        image_env[key] = value.replace("/app", app)

redis_here = "redis://127.0.0.1:" + os.environ["REDIS_PORT"] + "/"
in_stack = {  # the stack's URL -> this machine's, the same Redis DB numbers
    "DATABASE_URL": lambda v: os.environ["DB_URL"] if "@db:5432/" in v else None,
    "REDIS_URL": lambda v: v.replace("redis://redis:6379/", redis_here) if "redis://redis:6379/" in v else None,
    "CELERY_BROKER_URL": lambda v: v.replace("redis://redis:6379/", redis_here) if "redis://redis:6379/" in v else None,
}


def translate(text: str) -> str:
    text = text.replace("$$", "$").replace("/tmp/", tmp + "/")
    return text.replace("127.0.0.1:8000", "127.0.0.1:" + os.environ["WEB_PORT"])


def healthcheck(service: str) -> str:
    test = services[service]["healthcheck"]["test"]
    kind, args = test[0], test[1:]
    return translate(args[0] if kind == "CMD-SHELL" else shlex.join(args))


for name in ("migrate", "web", "worker", "beat"):
    env = dict(image_env)
    for key, value in services[name]["environment"].items():
        value = "" if value is None else str(value)
        if key in in_stack:
            local = in_stack[key](value)
            assert local, f"{name}: {key}={value} is not the stack's service"
            value = local
        if value.startswith(("/tmp/", "/run/")):  # a container's tmpfs: a temp dir here
            value = os.environ["T"] + value
        value = value.replace("file:/app/", f"file:{app}/")  # a sink under the image's /app (AUDIT_HEAD_SINKS)
        assert "\n" not in value, f"{name}: {key} holds a newline"
        env[key] = value
    with open(f"{out}/env.{name}", "w") as f:
        f.writelines(f"{k}={v}\n" for k, v in sorted(env.items()))
    with open(f"{out}/cmd.{name}", "w") as f:
        f.write(translate(shlex.join(services[name]["command"])) + "\n")
    if name != "migrate":
        with open(f"{out}/health.{name}", "w") as f:
            f.write(healthcheck(name) + "\n")

proxy = services["proxy"]
with open(f"{out}/env.proxy", "w") as f:
    f.writelines(f"{k}={v}\n" for k, v in sorted(proxy["environment"].items()))
mounts = {}
for volume in proxy["volumes"]:  # "source:target[:mode]" (docker-compose 1.x) or a mapping (2.x)
    if isinstance(volume, str):
        source, target = volume.split(":")[:2]
    else:
        source, target = volume["source"], volume["target"]
    mounts[target] = source
caddyfile, certs = mounts["/etc/caddy/Caddyfile"], mounts["/certs"]
with open(f"{out}/proxy.paths", "w") as f:
    f.write(f"{caddyfile}\n{certs}\n")
with open(f"{out}/health.proxy", "w") as f:
    f.write(healthcheck("proxy").replace("127.0.0.1:2019", "127.0.0.1:" + os.environ["ADMIN_PORT"]) + "\n")
print("translated: db:5432 -> " + os.environ["DB_URL"] + ", redis:6379 -> " + redis_here
      + ", /app -> " + app + ", /tmp -> " + tmp)
PY
for svc in web worker beat proxy; do printf '%-7s health check: %s\n' "$svc" "$(cat "$T/health.$svc")"; done

# run_in SERVICE COMMAND...: COMMAND in SERVICE's environment (nothing else of this shell's),
# from the copied context, with the runtime venv first on PATH. The subshell execs, so a
# background run_in's $! is the command's own process.
run_in() {
  local svc=$1
  shift
  local -a env_args
  mapfile -t env_args <"$T/env.$svc"
  (cd "$APP" && exec env -i PATH="$VENV/bin:/usr/local/bin:/usr/bin:/bin" HOME="$T/home" LANG=C.UTF-8 \
    HOSTNAME="$(hostname)" "${env_args[@]}" "$@")
}
# start SERVICE LOG COMMAND...: run_in in the background, remembered for the cleanup.
start() {
  local svc=$1 log=$2
  shift 2
  local -a env_args
  mapfile -t env_args <"$T/env.$svc"
  (cd "$APP" && exec env -i PATH="$VENV/bin:/usr/local/bin:/usr/bin:/bin" HOME="$T/home" LANG=C.UTF-8 \
    HOSTNAME="$(hostname)" "${env_args[@]}" "$@") >"$LOGS/$log.log" 2>&1 &
  PIDS+=($!)
}

step "4. runtime-only venv from requirements.lock and the image's build steps (deploy/build.sh)"
python3 -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version' || fail "python3 is not 3.11 (the image's)"
python3 -m venv "$VENV"
timeout 900 env PYTHON="$VENV/bin/python" PIP_DISABLE_PIP_VERSION_CHECK=1 sh "$APP/deploy/build.sh" deps >"$LOGS/build-deps.log" 2>&1 \
  || { tail -n 30 "$LOGS/build-deps.log"; fail "deploy/build.sh deps (pip install --require-hashes -r requirements.lock)"; }
"$VENV/bin/python" -m pip check >"$LOGS/pip-check.log" 2>&1 || fail "pip check: the locked tree is inconsistent"
for dev in pytest ruff factory_boy hypothesis pip-tools; do
  "$VENV/bin/python" -m pip show -q "$dev" >/dev/null 2>&1 && fail "a development package ($dev) is in the runtime tree"
done
echo "ok: $("$VENV/bin/python" -m pip list --format=freeze 2>/dev/null | wc -l) packages, no development ones"
(cd "$APP" && env -i PATH="$VENV/bin:/usr/bin:/bin" HOME="$T/home" "$(grep '^DJANGO_VAR_DIR=' "$T/env.web")" \
  PYTHON="$VENV/bin/python" timeout 300 sh deploy/build.sh app) >"$LOGS/build-app.log" 2>&1 \
  || { tail -n 30 "$LOGS/build-app.log"; fail "deploy/build.sh app"; }
echo "ok: $(find "$APP/var/static" -type f | wc -l) static files, manifest $(du -h "$APP/var/static/staticfiles.json" | cut -f1)"

step "5. fresh database $DB, a private redis-server on 127.0.0.1:$REDIS_PORT; the migrate service"
psql -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -v ON_ERROR_STOP=1 -q -c "CREATE DATABASE $DB;"
DB_CREATED=1
mkdir -p "$T/redis"
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no --dir "$T/redis" >"$LOGS/redis.log" 2>&1 &
PIDS+=($!)
wait_for 20 "redis-server" redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping
echo "$ $(cat "$T/cmd.migrate")"
eval "run_in migrate timeout 600 $(cat "$T/cmd.migrate")" >"$LOGS/migrate.log" 2>&1 || fail "the migrate service's command"
echo "ok"

step "6. web, worker, beat and the proxy, as their services start them"
echo "web:    $(cat "$T/cmd.web") --bind 127.0.0.1:$WEB_PORT"
eval "start web web $(cat "$T/cmd.web") --bind 127.0.0.1:$WEB_PORT"
echo "worker: $(cat "$T/cmd.worker")"
eval "start worker worker $(cat "$T/cmd.worker")"
echo "beat:   $(cat "$T/cmd.beat")"
eval "start beat beat $(cat "$T/cmd.beat")"

# The proxy: deploy/Caddyfile with web's address and this machine's ports (printed).
{ read -r CADDYFILE; read -r CERTS_DIR; } <"$T/proxy.paths"
CADDY_ROOT=$T/caddy
mkdir -p "$CADDY_ROOT"
start_proxy() {  # start_proxy [PROXY_TLS]: the proxy with the compose environment, or this PROXY_TLS
  CADDYFILE=$CADDYFILE CADDY_ROOT=$CADDY_ROOT WEB_PORT=$WEB_PORT HTTP_PORT=$HTTP_PORT HTTPS_PORT=$HTTPS_PORT \
    ADMIN_PORT=$ADMIN_PORT CERTS_DIR=$CERTS_DIR python3 - <<'PY' || fail "cannot translate $CADDYFILE"
import os
text = open(os.environ["CADDYFILE"]).read()
assert text.count("reverse_proxy web:8000") == 1, "the Caddyfile's upstream is not web:8000"
text = text.replace("reverse_proxy web:8000", "reverse_proxy 127.0.0.1:" + os.environ["WEB_PORT"])
head, brace, rest = text.partition("\n{\n")
assert brace, "the Caddyfile has no global options block"
local = (f"\thttp_port {os.environ['HTTP_PORT']}\n\thttps_port {os.environ['HTTPS_PORT']}\n"
         f"\tadmin 127.0.0.1:{os.environ['ADMIN_PORT']}\n\tdefault_bind 127.0.0.1\n")
open(os.environ["CADDY_ROOT"] + "/Caddyfile", "w").write(head + brace + local + rest)
PY
  local -a env_args
  mapfile -t env_args <"$T/env.proxy"
  [ $# -eq 0 ] || env_args+=("PROXY_TLS=$1")
  env_args=("${env_args[@]//\/certs\//$CERTS_DIR/}")
  env -i PATH=/usr/bin:/bin HOME="$CADDY_ROOT" XDG_DATA_HOME="$CADDY_ROOT/data" XDG_CONFIG_HOME="$CADDY_ROOT/config" \
    "${env_args[@]}" caddy run --config "$CADDY_ROOT/Caddyfile" --adapter caddyfile >>"$LOGS/proxy.log" 2>&1 &
  PROXY_PID=$!
  PIDS+=("$PROXY_PID")
}
start_proxy
echo "proxy:  caddy run (deploy/Caddyfile: web:8000 -> 127.0.0.1:$WEB_PORT; ports 80 -> $HTTP_PORT, 443 -> $HTTPS_PORT, admin 2019 -> $ADMIN_PORT)"

step "7. the compose health checks"
health() { run_in "$1" sh -c "$(cat "$T/health.$1")"; }
proxy_health() { env -i PATH=/usr/bin:/bin sh -c "$(cat "$T/health.proxy")"; }
wait_for 90 "web's health check" health web
wait_for 90 "worker's health check" health worker
wait_for 60 "beat's health check" health beat
wait_for 60 "the proxy's health check" proxy_health
echo "ok: web $(health web 2>&1 | head -c 120)"
echo "ok: worker, beat, proxy"

step "8. through the proxy over TLS"
CA=$CADDY_ROOT/data/caddy/pki/authorities/local/root.crt
SITE=$(sed -n 's/^PROXY_SITE_ADDRESS=//p' "$T/env.proxy" | cut -d, -f1 | xargs)
wait_for 30 "Caddy's local CA certificate" test -s "$CA"
BASE="https://$SITE:$HTTPS_PORT"
fetch() {  # fetch PATH [curl options]: prints "status content-type", the body in $T/body
  local path=$1
  shift
  curl -sS --max-time 20 --cacert "$CA" --resolve "$SITE:$HTTPS_PORT:127.0.0.1" -o "$T/body" -D "$T/headers" \
    -w '%{http_code} %{content_type}' "$@" "$BASE$path"
}
expect() {  # expect PATH STATUS TYPE-PREFIX [curl options]
  local path=$1 status=$2 type=$3 got
  shift 3
  got=$(fetch "$path" "$@") || fail "GET $path: no answer"
  case "$got" in
  "$status $type"*) printf '  %-48s %s\n' "$path" "$got" ;;
  *) fail "GET $path answered '$got', expected '$status $type'" ;;
  esac
}
asset_of() {  # asset_of PATTERN: the first static path in the last body matching PATTERN
  grep -oE "/static/[^\"']*$1" "$T/body" | head -n 1
}
wait_for 30 "the proxy answering $BASE/healthz" fetch /healthz
expect /healthz 200 application/json
expect /readyz 200 application/json
expect /admin/login/ 200 text/html
grep -qi '^set-cookie: csrftoken=.*; *secure' "$T/headers" || fail "/admin/login/: the CSRF cookie is not Secure"
grep -qi '^strict-transport-security:' "$T/headers" || fail "/admin/login/: no HSTS header"
css=$(asset_of 'base\.[0-9a-f]{12}\.css')
[ -n "$css" ] || fail "/admin/login/ links no hashed admin CSS (manifest storage)"
expect "$css" 200 text/css
grep -qi '^cache-control:.*immutable' "$T/headers" || fail "$css: whitenoise's immutable caching is missing"
got=$(fetch "$css" -H 'Accept-Encoding: gzip')
grep -qi '^content-encoding: gzip' "$T/headers" || fail "$css: no compressed copy"
printf '  %-48s %s (gzip)\n' "$css" "$got"
got=$(fetch / -L)
case "$got" in 200\ text/html*) printf '  %-48s %s (after redirects)\n' / "$got" ;; *) fail "GET / (portal) answered '$got'" ;; esac
portal_css=$(asset_of '\.[0-9a-f]{12}\.css')
[ -n "$portal_css" ] || fail "the portal links no hashed CSS"
expect "$portal_css" 200 text/css
expect /api/docs/ 200 text/html
docs_css=$(asset_of '\.[0-9a-f]{12}\.css')
[ -n "$docs_css" ] || fail "/api/docs/ links no hashed CSS"
expect "$docs_css" 200 text/css
expect /api/schema/ 200 application/vnd.oai.openapi
expect /api/v1/regions/ 401 application/json
got=$(curl -sS --max-time 10 -o "$T/body" -w '%{http_code} %{content_type}' -H "Host: $SITE" "http://127.0.0.1:$WEB_PORT/metrics")
case "$got" in 200\ text/plain*) ;; *) fail "web:8000/metrics (inside the stack) answered '$got'" ;; esac
grep -q '^gdpd_' "$T/body" || fail "web:8000/metrics has no gdpd_ series"
printf '  %-48s %s (web directly, as a scraper in the stack)\n' "web:8000/metrics" "$got"
got=$(fetch /metrics)
[ "${got%% *}" = 404 ] || fail "the proxy answers /metrics with '$got' (must be 404)"
grep -qi '^x-request-id:' "$T/headers" && fail "/metrics reached the app through the proxy"
printf '  %-48s %s (the proxy itself)\n' /metrics "$got"
got=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code} %{redirect_url}' --resolve "$SITE:$HTTP_PORT:127.0.0.1" "http://$SITE:$HTTP_PORT/admin/")
case "$got" in 30[18]\ https://*) printf '  %-48s %s\n' "http:// /admin/" "$got" ;; *) fail "plain HTTP answered '$got', not a redirect to HTTPS" ;; esac

step "9. an event emitted in the web environment reaches the inbox (broker, worker, database)"
run_in web timeout 120 python manage.py shell --verbosity 0 -c '
import time
from django.db import transaction
from catalog import outbox
from catalog.models import Organization, Region, User
from catalog.validators import make_uscc
from sharing.models import Notification

org, _ = Organization.objects.get_or_create(
    code=make_uscc("11", "440000", "D3PL0YCK"),
    defaults={"name": "deploy check", "kind": "government", "region": Region.objects.get(code="440000")},
)
user, _ = User.objects.get_or_create(username="deploy-check", defaults={"org": org})
with transaction.atomic():
    event = outbox.emit(type="webhook.disabled", org=org, payload={"webhook": 0, "url": "https://example.invalid/", "reason": "deploy check"})
start = time.monotonic()
while time.monotonic() - start < 60:
    if Notification.objects.filter(event_id=event.pk, user=user).exists():
        print(f"  notification of event {event.pk} in the inbox after {time.monotonic() - start:.1f}s")
        break
    time.sleep(0.2)
else:
    raise SystemExit("no notification within 60 s: the worker did not deliver the event")
' || fail "event delivery through the worker"

step "10. the proxy with a certificate of one's own (PROXY_TLS=/certs/cert.pem /certs/key.pem)"
kill -TERM "$PROXY_PID"
wait "$PROXY_PID" 2>/dev/null || true
mkdir -p "$CERTS_DIR"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$SITE" -addext "subjectAltName=DNS:$SITE" \
  -keyout "$CERTS_DIR/key.pem" -out "$CERTS_DIR/cert.pem" >/dev/null 2>&1
start_proxy "/certs/cert.pem /certs/key.pem"
CA=$CERTS_DIR/cert.pem
wait_for 30 "the proxy with its own certificate" fetch /healthz
expect /admin/login/ 200 text/html
echo "  served with the certificate and key in $CERTS_DIR (the compose mount of /certs)"
