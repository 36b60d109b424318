# The documented commands. `make run` and `make test` are all a newcomer needs.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test setup install migrate demo lint fmt check ci bench clean worker messages

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

## Serve the admin, the API and its docs on http://$(HOST):$(PORT)/ with a Celery worker and beat
## on the embedded file-system broker (no Redis needed). Ctrl-C stops all of it.
run: setup
	@echo "Admin: http://$(HOST):$(PORT)/admin/  API: http://$(HOST):$(PORT)/api/v1/  Docs: http://$(HOST):$(PORT)/api/docs/"
	@trap 'kill 0' INT TERM EXIT; \
	  $(VENV)/bin/celery -A config worker --beat --pool=solo --loglevel=warning & \
	  DJANGO_DEBUG=$${DJANGO_DEBUG:-true} $(PY) manage.py runserver $(HOST):$(PORT)

## The test suite: SQLite when DATABASE_URL is unset, PostgreSQL and Redis when set (CI).
test: install
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .

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

bench: install
	$(PY) -m tests.bench

ci:
	bash .ci/run

clean:
	rm -rf var/db.sqlite3 var/broker var/static
