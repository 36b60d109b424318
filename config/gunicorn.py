"""gunicorn's settings for the web process: `gunicorn -c config/gunicorn.py config.wsgi:application`.

Options given on the command line (or in GUNICORN_CMD_ARGS) override these.

Request limits. Every request the API documents (API.md, the REST contract) must reach the app, and
anything larger must get the API's JSON error, not gunicorn's HTML page:

- The longest documented request line is a grants check of 500 item codes
  (`GET /api/v1/grants/check/?org=…&resource=…&items=c1,c2,…`; a request asks for at most 500
  items, a standard code has at most 64 characters): 32,499 bytes of item list as typed, up to
  97,497 bytes when a client percent-encodes every character. gunicorn cannot allow more than
  8,190 bytes unless it is told 0 (no limit of its own), so the limit is the app's:
  catalog.core.security.MAX_REQUEST_TARGET_BYTES (128 KiB), answered with a JSON 414 on every path.
  The TLS proxy in front must pass request lines of at least that length (nginx:
  `large_client_header_buffers 4 256k`; Caddy's default of 1 MB does) and bounds what a client
  can make gunicorn buffer.
- Headers: the API documents only small ones (`Authorization: Bearer <key>` under 140 bytes, the
  session and CSRF cookies, Accept, Content-Type), well within gunicorn's defaults, kept here
  explicitly: 100 header fields of at most 8,190 bytes each.
- Bodies are limited by the app (DJANGO_MAX_BODY_BYTES: a JSON 413), not by gunicorn.

Logs: the app writes one access line per request itself (with the request id and the route:
config/metrics.py), so gunicorn's access log is off (`AppLogger`); gunicorn's own lines use the
app's format.
"""

import os

from gunicorn.glogging import Logger

from catalog.core.logs import logging_config


class AppLogger(Logger):
    """gunicorn's logger without its access log. With `logconfig_dict` set, gunicorn would build
    its access line's fields (headers, environ, times) for every request although no handler
    writes them: about 2% of a write's time (issue 16)."""

    @property
    def access_log_enabled(self):
        return False

    def access(self, resp, req, environ, request_time):
        return


logger_class = AppLogger

bind = "0.0.0.0:8000"
workers = 3
worker_class = "gthread"
threads = 4
keepalive = 30
timeout = 120
logconfig_dict = logging_config(os.environ.get("LOG_FORMAT", "json"))

limit_request_line = 0  # no limit in gunicorn: the app answers longer ones (see above)
limit_request_fields = 100
limit_request_field_size = 8190
