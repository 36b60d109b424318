# The documented commands. `make run` and `make test` are all a newcomer needs.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test setup install migrate demo lint fmt check ci bench clean worker messages deploy-check lock

# The development key (config/settings.py) is accepted with DEBUG only: without a DJANGO_SECRET_KEY
# of one's own, these local targets (and what they run first) get DJANGO_DEBUG=true.
ifeq ($(DJANGO_SECRET_KEY),)
run setup demo migrate worker check: export DJANGO_DEBUG ?= true
endif

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

migrate: install
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py load_demo

setup: demo
	$(PY) manage.py collectstatic --noinput --verbosity 0

## Serve the portal, the admin, the API and its docs on http://$(HOST):$(PORT)/ with a Celery worker
## and beat on the embedded file-system broker (no Redis needed). Ctrl-C stops all of it.
## The worker is stopped by its process id (not `kill 0`, whose signal re-entered the trap).
run: setup
	@echo "Portal:   http://$(HOST):$(PORT)/"
	@echo "Admin:    http://$(HOST):$(PORT)/admin/"
	@echo "API docs: http://$(HOST):$(PORT)/api/docs/   (the API: http://$(HOST):$(PORT)/api/v1/regions/)"
	@echo "Ctrl-C stops the server, the worker and beat."
	@$(VENV)/bin/celery -A config worker --beat --pool=solo --loglevel=warning & worker=$$!; \
	  stop() { trap - INT TERM EXIT; kill -TERM $$worker 2>/dev/null; wait $$worker 2>/dev/null; }; \
	  trap 'stop; exit 0' INT TERM; trap stop EXIT; \
	  DJANGO_DEBUG=$${DJANGO_DEBUG:-true} $(PY) manage.py runserver $(HOST):$(PORT)

## A Celery worker with beat on its own, for a web process started separately (e.g. against
## PostgreSQL and Redis: DATABASE_URL, REDIS_URL). `make run` starts one itself.
worker: migrate
	$(VENV)/bin/celery -A config worker --beat --loglevel=info

## The test suite: SQLite when DATABASE_URL is unset, PostgreSQL and Redis when set (CI).
test: install
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache

fmt: install
	$(VENV)/bin/ruff format .

check: install
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) manage.py check

## Refresh the translation catalogues (English msgids, Simplified Chinese in */locale/zh_Hans)
## and compile them; needs GNU gettext (apt-get install gettext).
messages: install
	cd catalog && ../$(VENV)/bin/django-admin makemessages -l zh_Hans --no-obsolete && ../$(VENV)/bin/django-admin compilemessages -l zh_Hans
	cd sharing && ../$(VENV)/bin/django-admin makemessages -l zh_Hans --no-obsolete && ../$(VENV)/bin/django-admin compilemessages -l zh_Hans

## `make bench` runs every bench; `make bench writes` (or `make bench BENCH=writes`) the ones named
## (catalog, sharing, events, imports, writes: tests/bench/).
BENCH_NAMES := catalog sharing events imports writes
BENCH ?= $(filter $(BENCH_NAMES),$(MAKECMDGOALS))
bench: install
	$(PY) -m tests.bench $(BENCH)

ifneq ($(filter bench,$(MAKECMDGOALS)),)
.PHONY: $(BENCH_NAMES)
$(BENCH_NAMES):
	@:
endif

ci:
	bash .ci/run

## The production path without a container engine (what CI runs): the image's build steps from
## requirements.lock, docker-compose.yml's services on this machine behind the TLS proxy, their
## health checks, pages and an event delivered. Needs PostgreSQL on 127.0.0.1, redis-server,
## caddy and docker-compose (apt-get install caddy docker-compose redis-server).
deploy-check: install
	bash deploy/check.sh

## Regenerate requirements.lock after changing requirements.txt.
lock: install
	deploy/lock.sh

clean:
	rm -rf var/db.sqlite3 var/broker var/static var/audit  # the heads file belongs to the database it leaves
