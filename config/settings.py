"""Settings, read from the environment (12-factor).

Every setting has a development default so that a fresh clone runs with SQLite and an
embedded broker; production sets the environment (see README.md and docker-compose.yml).
Bad values fail loudly with ImproperlyConfigured.
"""

import ipaddress
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from catalog.core.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("DJANGO_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), not {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}") from exc


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


CI = env_bool("CI")
DEBUG = env_bool("DJANGO_DEBUG", default=False)
# The development key is in the repository, so anyone can sign sessions and tokens with it: it
# serves requests and runs the worker with DEBUG only (`make run`); without DEBUG the web
# process and the worker refuse to start with it (config.startup), and `manage.py check` warns.
# Commands that sign nothing (migrate, makemigrations, check) still run, so a fresh checkout can
# be inspected without a key. Tests use a key of their own (tests/settings.py).
DEV_SECRET_KEY = "dev-insecure-key-change-me-0123456789-abcdefghijklmnopqrstuvwxyz"  # noqa: S105
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "") or DEV_SECRET_KEY
DEV_SECRET_KEY_REFUSED = SECRET_KEY == DEV_SECRET_KEY and not DEBUG
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "catalog.apps.CatalogAdminConfig",  # django.contrib.admin with our site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "axes",
    "catalog",
    "sharing",
]

MIDDLEWARE = [
    "config.metrics.MetricsMiddleware",  # first: times, counts and logs every request; answers /metrics
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "catalog.core.middleware.RequestContextMiddleware",
    "catalog.core.security.SecurityMiddleware",
    "sharing.gateway.GrantCheckMiddleware",  # the gateway's hot path; anything else passes on
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "sharing.portal.context_processors.inbox",  # the portal header's unread count
            ],
        },
    },
]

# Database: DATABASE_URL, default an SQLite file under the project.
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
# A kept connection is checked (SELECT 1) before a request first uses it, and reopened when the
# server dropped it (a restart, a failover, pg_terminate_backend): no 500 per stale connection.
DATABASES = {
    "default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=True)
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Writers queue for the lock (BEGIN IMMEDIATE) instead of failing with "database is
    # locked" when a read transaction turns into a write; readers don't wait for writers (WAL).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        timeout=20, transaction_mode="IMMEDIATE", init_command="PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    )
elif "postgresql" in DATABASES["default"]["ENGINE"]:
    # psycopg prepares a statement that a server-binding cursor (catalog.core.prepared: the
    # catalog's list, search and facet statements and the statements of the write path) has run
    # this many times. Django's own cursors bind on the client: bound on the server, a statement
    # PostgreSQL has prepared may be given a generic plan, and a generic plan cannot use a partial
    # index whose condition a parameter decides (the approver's queue took 245 ms instead of 20).
    # Empty: never (PgBouncer < 1.21 in transaction mode keeps no prepared statements).
    _prepare_threshold = os.environ.get("DB_PREPARE_THRESHOLD", "2")
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = (
        int(_prepare_threshold) if _prepare_threshold else None
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "catalog.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/home/"  # each role's home (sharing/portal/homes.py)
LOGOUT_REDIRECT_URL = "/login/"
AUTHENTICATION_BACKENDS = ["catalog.core.security.LockoutBackend", "django.contrib.auth.backends.ModelBackend"]

# Login lockout (django-axes): 5 failures for a username, from whatever addresses, lock it for
# 15 minutes (the login rate limit per address stops one address trying many usernames). The
# (username, address) pair adds nothing to that but is what axes' check (W006) looks for.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_MINUTES", 15) / 60
AXES_LOCKOUT_PARAMETERS = ["username", ["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "catalog.core.security.client_ip"
AXES_VERBOSE = False

# Language and time: Simplified Chinese by default, English available; Asia/Shanghai.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True
# Our catalogues are listed here as well as found as apps' locale/ directories: Django merges
# LOCALE_PATHS after every installed app's catalogue, so they win over Django's and the
# third-party apps' translations of the same msgid (django_celery_beat's "Name" is 任务名, the
# admin's "Log out" is 注销). Within LOCALE_PATHS the first entry wins; catalog comes first as in
# INSTALLED_APPS, though a meaning the two apps share has one translation in both (a different
# meaning gets its own msgctxt), which tests/catalog/test_translations.py checks.
LOCALE_PATHS = [BASE_DIR / "catalog" / "locale", BASE_DIR / "sharing" / "locale"]

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env_bool("DJANGO_MANIFEST_STATIC", default=not DEBUG and env_bool("DJANGO_PRODUCTION"))
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Cache: Redis when configured, otherwise local memory.
REDIS_URL = os.environ.get("REDIS_URL", "")
CACHE_URL = os.environ.get("CACHE_URL", REDIS_URL)
# The cache holds only copies: while Redis is unreachable catalog.core.cache reads miss, writes
# are dropped and it is left alone for CACHE_RETRY_SECONDS; short timeouts keep an outage from
# hanging requests. Sessions are kept in the database (Django's default), never in the cache.
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "catalog.core.cache.RedisCache",
            "LOCATION": CACHE_URL,
            "OPTIONS": {
                "socket_connect_timeout": env_int("CACHE_CONNECT_TIMEOUT_MS", 500) / 1000,
                "socket_timeout": env_int("CACHE_TIMEOUT_MS", 1000) / 1000,
                "retry_seconds": env_int("CACHE_RETRY_SECONDS", 1),
            },
        }
    }
else:
    # Room for every key of a test run or a development server (the default 300 evicts the
    # versions that processes keep their copies under: catalog.core.versioned_cache).
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "OPTIONS": {"MAX_ENTRIES": 10000}}
    }

# E-mail: console by default, SMTP by settings.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL")
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "noreply@data.gd.gov.cn")

# Celery: Redis in production; without one, an embedded file-system broker under var/
# that `make run` serves with a worker and beat in the same terminal.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or REDIS_URL or "filesystem://"
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    _broker_dir.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
    CELERY_WORKER_ENABLE_REMOTE_CONTROL = False
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER")
# The catalog's outbox (catalog.outbox.emit) hands each committed event to this callable, which
# queues its delivery (inbox, e-mail, webhooks); the catalog itself knows no one above it.
OUTBOX_DISPATCH = "sharing.notify.events.dispatch"
# …and all the events of one transaction at once to this one (one message to the broker).
OUTBOX_DISPATCH_MANY = "sharing.notify.events.dispatch_many"
# …from a thread of the web process (catalog.outbox.Publisher), so that a writer's answer does not
# wait for the broker and, under load, several transactions share one message. Off where Celery
# runs tasks eagerly (delivery then happens at commit, in the writer's thread).
OUTBOX_PUBLISH_THREAD = env_bool("OUTBOX_PUBLISH_THREAD", default=not CELERY_TASK_ALWAYS_EAGER)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "sharing.notify.beat:Scheduler"
# The beat schedule lives here, in code; django_celery_beat's DatabaseScheduler copies it into
# the database on start, where administrators see it (and can pause or retime an entry) in
# the admin under "Periodic tasks". Scans are idempotent (DeadlineNotice claims), so running
# them more often than needed only costs a query.
from celery.schedules import crontab  # noqa: E402

CELERY_BEAT_SCHEDULE: dict = {
    # Outbox safety net: events still undelivered a minute after they occurred (broker was
    # down, worker killed, deploy) are queued again.
    "sweep-undelivered-events": {"task": "sharing.tasks.sweep_events", "schedule": 30.0},
    # Webhook retries whose back-off has passed, and attempts whose worker died.
    "sweep-webhook-retries": {"task": "sharing.tasks.sweep_webhook_retries", "schedule": 30.0},
    # Catalog review deadlines and stale-data refreshes (Art. 11, 16): reminders one working
    # day before, escalations on the working days after. Hourly, at five past.
    "scan-catalog-deadlines": {"task": "sharing.tasks.scan_catalog_deadlines", "schedule": crontab(minute=5)},
    # From 1 November, next year's working-day calendar missing: the provincial authority is
    # told once a week (the task runs daily at 09:00 and claims one notice per ISO week).
    "scan-calendar-missing": {"task": "sharing.tasks.scan_calendar_missing", "schedule": crontab(hour=9, minute=0)},
    # Request answer and sharing deadlines (Art. 23): reminders one working day before,
    # escalation approver → CDO → data authority on the working days after. Hourly.
    "scan-request-deadlines": {"task": "sharing.tasks.scan_request_deadlines", "schedule": crontab(minute=15)},
    # Data-quality objection answer deadlines (Art. 42): reminder one working day before, then
    # approver → CDO → data authority, as for requests. Hourly, at twenty past.
    "scan-objection-deadlines": {"task": "sharing.tasks.scan_objection_deadlines", "schedule": crontab(minute=20)},
    # Grants: expiry at the end date, a notice two weeks before, quarterly usage feedback
    # reminders (Art. 46). Daily at 01:30, after the date has turned.
    "scan-grants": {"task": "sharing.tasks.scan_grants", "schedule": crontab(hour=1, minute=30)},
    # Each data authority's daily digest of its region (overdue answers, reviews waiting,
    # stale data, filings received). Working mornings at 08:30.
    "daily-digest": {"task": "sharing.tasks.send_daily_digests", "schedule": crontab(hour=8, minute=30)},
    # The audit ledger: rows committed since the last run get their place and hash, and a signed
    # head, exported to AUDIT_HEAD_SINKS. Every 5 s (a run not started within 5 s is dropped:
    # the next one does its work); with nothing to seal it is one cheap query.
    "seal-audit-ledger": {"task": "catalog.tasks.seal_audit", "schedule": 5.0, "options": {"expire_seconds": 5}},
}

# The audit ledger (catalog/audit.py; README "The audit ledger"). Keys of the heads' HMAC,
# comma-separated: the first signs, all verify (rotation: put the new key first, keep the old
# ones). Empty: one key derived from SECRET_KEY. Never stored in the database.
AUDIT_LEDGER_KEYS = env_list("AUDIT_LEDGER_KEYS")
# Where each signed head is also written, off the database: `file:/path/heads.jsonl` (appended,
# fsync'd; read back by verify_audit) and `log` (a JSON line to the logger gdpd.audit.heads).
AUDIT_HEAD_SINKS = env_list("AUDIT_HEAD_SINKS", f"file:{VAR_DIR / 'audit' / 'heads.jsonl'}")
for _sink in AUDIT_HEAD_SINKS:
    if _sink != "log" and not (_sink.startswith("file:") and len(_sink) > len("file:")):
        raise ImproperlyConfigured(f"AUDIT_HEAD_SINKS: {_sink!r} is neither file:<path> nor log")

# Notifications and webhooks (delivered by the Celery tasks above).
# The portal's public address: e-mails link to its pages with absolute URLs (SITE_URL + path).
SITE_URL = (os.environ.get("SITE_URL") or "http://127.0.0.1:8000").rstrip("/")  # e.g. https://data.example.gov.cn
# The latest end or planned date a person may give, in years from today (requests, grant
# extensions, data demands, catalogue plans).
MAX_YEARS_AHEAD = env_int("MAX_YEARS_AHEAD", 5)
EVENT_MAX_ATTEMPTS = env_int("EVENT_MAX_ATTEMPTS", 50)  # re-dispatches of one event before the sweep gives up
EMAIL_MAX_ATTEMPTS = env_int("NOTIFY_EMAIL_MAX_ATTEMPTS", 8)
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10)  # connect and read, per attempt
WEBHOOK_RETRY_BASE_SECONDS = env_int("WEBHOOK_RETRY_BASE_SECONDS", 30)  # first back-off; doubles per attempt
WEBHOOK_RETRY_MAX_DELAY_SECONDS = env_int("WEBHOOK_RETRY_MAX_DELAY_SECONDS", 3600)
WEBHOOK_RETRY_WINDOW_HOURS = env_int("WEBHOOK_RETRY_WINDOW_HOURS", 24)  # keep retrying at least this long
WEBHOOK_DISABLE_AFTER_HOURS = env_int("WEBHOOK_DISABLE_AFTER_HOURS", 24)  # failing without success → disabled
WEBHOOK_LEASE_SECONDS = env_int("WEBHOOK_LEASE_SECONDS", WEBHOOK_TIMEOUT_SECONDS + 60)  # a dead worker's claim expires
WEBHOOK_COUNTDOWN_MAX_SECONDS = env_int("WEBHOOK_COUNTDOWN_MAX_SECONDS", 300)  # longer waits: the retry sweep
WEBHOOK_SWEEP_GRACE_SECONDS = env_int("WEBHOOK_SWEEP_GRACE_SECONDS", 15)

# REST framework: API keys first so that a missing credential is a 401 with WWW-Authenticate.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "catalog.directory.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "catalog.core.api.base.Pagination",
    "DEFAULT_FILTER_BACKENDS": ["catalog.core.api.base.StrictFilterBackend"],
    "DEFAULT_RENDERER_CLASSES": ["catalog.core.api.renderers.FastJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["catalog.core.api.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "catalog.core.api.base.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["catalog.core.security.ApiThrottle"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DATETIME_FORMAT": "iso-8601",
    "PAGE_SIZE": 50,
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append("rest_framework.renderers.BrowsableAPIRenderer")

SPECTACULAR_SETTINGS = {
    "TITLE": "Public-data catalog and sharing API",
    "DESCRIPTION": "REST API v1 for the public-data resource catalog and data-sharing requests.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    # The enum hook first (drf-spectacular's default), then every /api/v1/ operation's error
    # answers with the shared `Error` body (catalog/api/schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "catalog.core.api.schema.postprocess_error_responses",
    ],
    # One stable name per code list (the same choices appear in several serializers).
    "ENUM_NAME_OVERRIDES": {
        "OrgKindEnum": "catalog.choices.OrgKind",
        "RoleEnum": "catalog.choices.Role",
        "RegionLevelEnum": "catalog.choices.RegionLevel",
        "NetworkEnum": "catalog.choices.Network",
        "ResourceStatusEnum": "catalog.choices.ResourceStatus",
        "SharingTypeEnum": "catalog.choices.SharingType",
        "CatalogTaskStatusEnum": "catalog.choices.CatalogTaskStatus",
        "RequestKindEnum": "sharing.choices.RequestKind",
        "RequestStatusEnum": "sharing.choices.RequestStatus",
        "GrantStatusEnum": "sharing.choices.GrantStatus",
        "DisputeStatusEnum": "sharing.choices.DisputeStatus",
        "VerificationResultEnum": "sharing.choices.VerificationResult",
        "FilingReasonEnum": "sharing.choices.FilingReason",
        "ObjectionOutcomeEnum": "sharing.choices.OBJECTION_OUTCOMES",
        "DisputeOutcomeEnum": "sharing.choices.DisputeOutcome",
    },
}

# API keys.
API_KEY_DEFAULT_DAYS = env_int("API_KEY_DEFAULT_DAYS", 365)
API_KEY_MAX_DAYS = env_int("API_KEY_MAX_DAYS", 365)  # the longest a key may live, whoever creates it
if not 0 < API_KEY_DEFAULT_DAYS <= API_KEY_MAX_DAYS:
    raise ImproperlyConfigured("API_KEY_DEFAULT_DAYS must be between 1 and API_KEY_MAX_DAYS")

# Security: safe defaults, stricter in production (DJANGO_PRODUCTION=true).
PRODUCTION = env_bool("DJANGO_PRODUCTION")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", default=PRODUCTION)
CSRF_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", default=PRODUCTION)
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", default=PRODUCTION)
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = PRODUCTION
if env_bool("DJANGO_BEHIND_PROXY"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The client's address (lockout, rate limits, audit trail): the Nth X-Forwarded-For address from
# the right, the one the outermost of these trusted proxies appended (catalog.core.middleware.
# ip_from_meta); the rest of the header is the client's to write and is ignored. 0: REMOTE_ADDR.
TRUSTED_PROXY_HOPS = env_int("DJANGO_TRUSTED_PROXY_HOPS", 1 if env_bool("DJANGO_BEHIND_PROXY") else 0)
if TRUSTED_PROXY_HOPS < 0:
    raise ImproperlyConfigured("DJANGO_TRUSTED_PROXY_HOPS must be 0 or more")
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DJANGO_MAX_BODY_BYTES", 5 * 1024 * 1024)
MAX_REQUEST_BODY_BYTES = DATA_UPLOAD_MAX_MEMORY_SIZE
# The portal's entry editor posts one form: an entry of up to catalog.services.MAX_ITEMS = 2000
# data items × 9 fields a row (code, name, data_type, length, description, is_sensitive,
# is_source, ORDER, DELETE), plus the entry's 21 fields (a ticked scope_org_kinds box each), the
# formset's 4 management fields, csrfmiddlewaretoken and the button: under 100. Django's default
# of 1000 refused an entry of ~140 items with a bare 400. tests/catalog/portal/test_entry_pages.py checks the sum.
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000 * 9 + 100
MAX_UPLOAD_BYTES = env_int("DJANGO_MAX_UPLOAD_BYTES", 10 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = MAX_UPLOAD_BYTES

# Rate limits (fixed windows in the cache; 429 with Retry-After).
API_RATE_LIMITS = {
    "key": os.environ.get("API_RATE_PER_KEY", "30000/min"),  # the exchange gateway is one busy key
    "user": os.environ.get("API_RATE_PER_USER", "1200/min"),
    "anon": os.environ.get("API_RATE_ANON", "60/min"),
    "ip": os.environ.get("API_RATE_PER_IP", "60000/min"),
}
LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_PER_IP", "20/min")
LOGIN_PATHS = {"/admin/login/", "/accounts/login/", "/portal/login/", "/login/"}

# Content-Security-Policy: no inline scripts anywhere; every asset from this server.
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self' data:",
    "font-src": "'self' data:",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}

# Metrics (config/metrics.py): GET /metrics in Prometheus' text format, answered to a direct
# connection from these networks (CIDRs, comma-separated; empty: none) or to
# `Authorization: Bearer <METRICS_TOKEN>`, and a 404 to anyone else. With several gunicorn workers
# set PROMETHEUS_MULTIPROC_DIR (prometheus-client's own variable) to an empty directory per server start.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
METRICS_ALLOWED_NETWORKS = env_list(
    "METRICS_ALLOWED_NETWORKS", "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7"
)
for _cidr in METRICS_ALLOWED_NETWORKS:
    try:
        ipaddress.ip_network(_cidr, strict=False)
    except ValueError as exc:
        raise ImproperlyConfigured(f"METRICS_ALLOWED_NETWORKS: {_cidr!r} is not a network") from exc
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)

# Logs (catalog/core/logs.py): one line per record on stdout, JSON objects (time, level, logger,
# message, request_id, …) by default in production, text otherwise; one access line per request
# (method, path, status, duration_ms, route) unless LOG_REQUESTS is off. The Celery worker and
# beat log the same way (config/celery.py); gunicorn can take the same dict as `logconfig_dict`.
LOG_FORMAT = os.environ.get("LOG_FORMAT") or ("json" if PRODUCTION and not DEBUG else "text")
if LOG_FORMAT not in {"json", "text"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or text, not {LOG_FORMAT!r}")
LOG_REQUESTS = env_bool("LOG_REQUESTS", default=True)
LOGGING = logging_config(LOG_FORMAT, os.environ.get("DJANGO_LOG_LEVEL", "INFO").upper())
