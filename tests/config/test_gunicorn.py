"""config/gunicorn.py's request limits, with gunicorn itself (in requirements.txt, so never
skipped): the longest request line the API documents reaches the app, and a longer one gets the
API's JSON error (414 from catalog.core.security), not gunicorn's HTML page.

The server runs on a free port of 127.0.0.1 with the config file and one worker, on a freshly
migrated SQLite file and no Redis; the requests carry no valid credentials, so the app's answer
is its JSON 401 (or 414)."""

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from urllib.parse import quote, urlencode

import pytest
from django.conf import settings

from catalog.core.security import MAX_REQUEST_TARGET_BYTES
from catalog.validators import make_uscc
from sharing.selectors import CHECK_MAX_ITEMS

START_SECONDS = 60
UNSET = ("DATABASE_URL", "REDIS_URL", "CACHE_URL", "CELERY_BROKER_URL", "DJANGO_PRODUCTION", "DJANGO_BEHIND_PROXY")
UNSET += ("DJANGO_SECURE_SSL_REDIRECT", "DJANGO_ALLOWED_HOSTS", "GUNICORN_CMD_ARGS")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    var = tmp_path_factory.mktemp("gunicorn")
    port = _free_port()
    env = {name: value for name, value in os.environ.items() if name not in UNSET}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", DJANGO_VAR_DIR=str(var), DJANGO_ALLOWED_HOSTS="127.0.0.1")
    log = (var / "gunicorn.log").open("w+b")
    migrate = [sys.executable, "manage.py", "migrate", "--verbosity", "0"]
    subprocess.run(migrate, cwd=settings.BASE_DIR, env=env, check=True, timeout=300)  # noqa: S603
    command = [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py"]
    command += ["--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "2", "config.wsgi:application"]
    proc = subprocess.Popen(command, cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            if proc.poll() is not None:
                pytest.fail(f"gunicorn exited with {proc.returncode}: {_read(log)}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"gunicorn did not listen within {START_SECONDS} s: {_read(log)}")
                time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
        log.close()


def _read(log) -> str:
    log.flush()
    log.seek(0)
    return log.read().decode(errors="replace")[-4000:]


def get(port: int, target: str, **headers) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", target, headers={"Host": "127.0.0.1", "Accept": "application/json", **headers})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def longest_check() -> str:
    """The longest grants check the API documents: 500 item codes of 64 characters (a standard
    code's most), every character percent-encoded as a client may send it."""
    codes = [f"DE/{n:03d}:" + "X" * 53 + f".{n:03d}" for n in range(CHECK_MAX_ITEMS)]
    assert {len(code) for code in codes} == {64}
    items = "%2C".join(quote(code, safe="").replace("X", "%58") for code in codes)
    org = make_uscc("11", "440000", "70000001")
    return f"/api/v1/grants/check/?org={org}&resource=440000-{'A' * 30}&items={items}"


def assert_api_error(status: int, headers: dict, body: bytes, expected: int, code: str):
    assert status == expected, body[:300]
    assert headers["Content-Type"].startswith("application/json")
    answer = json.loads(body)
    assert answer["code"] == code and isinstance(answer["detail"], str) and answer["detail"]


def test_the_longest_documented_grants_check_reaches_the_app(server):
    target = longest_check()
    assert 8190 < len(target) <= MAX_REQUEST_TARGET_BYTES  # beyond gunicorn's own limit, within the app's
    status, headers, body = get(server, target, Authorization="")
    assert_api_error(status, headers, body, 401, "not_authenticated")  # the app's answer: it got the request
    assert headers["X-Request-Id"]


def test_a_long_search_and_the_documented_headers_reach_the_app(server):
    query = urlencode({"q": "户籍人口" * 50, "sharing_type": "conditional", "page_size": 200})
    status, headers, body = get(server, f"/api/v1/resources/?{query}", Authorization="Bearer gdk_" + "x" * 120)
    assert_api_error(status, headers, body, 401, "authentication_failed")
    cookie = f"sessionid={'a' * 32}; csrftoken={'b' * 64}"
    status, headers, body = get(server, "/api/v1/me/", Cookie=cookie, **{"X-CSRFToken": "b" * 64})
    assert_api_error(status, headers, body, 401, "not_authenticated")


@pytest.mark.parametrize("size", [MAX_REQUEST_TARGET_BYTES + 1, 512 * 1024])
def test_a_longer_url_gets_the_apis_json_error_not_gunicorns_page(server, size):
    path = "/api/v1/grants/check/?org=x&resource=y&items="
    status, headers, body = get(server, path + "A" * (size - len(path) + 1))
    assert_api_error(status, headers, body, 414, "uri_too_long")
