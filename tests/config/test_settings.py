"""The development secret key, which is in the repository, serves requests and runs the worker
with DEBUG only: the web application and the worker refuse to start with it otherwise, while
commands that sign nothing (makemigrations, check) still run and `check` warns."""

import os
import subprocess
import sys

import pytest
from django.conf import settings

DEV_KEY = "dev-insecure-key-change-me-0123456789-abcdefghijklmnopqrstuvwxyz"
REFUSED = "DJANGO_SECRET_KEY must be set"


def run(tmp_path, code: str, **env) -> subprocess.CompletedProcess:
    unset = {"DJANGO_SECRET_KEY", "DJANGO_DEBUG", "DJANGO_PRODUCTION", "DJANGO_SETTINGS_MODULE"}
    clean = {name: value for name, value in os.environ.items() if name not in unset}
    return subprocess.run(  # noqa: S603 - our interpreter, a constant script
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env={**clean, "DJANGO_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


SERVE = "import config.wsgi"
WORKER = "import django; django.setup(); from config.celery import refuse_development_key; refuse_development_key()"


@pytest.mark.parametrize(
    "env",
    [{}, {"DJANGO_DEBUG": "false"}, {"DJANGO_SECRET_KEY": DEV_KEY}, {"DJANGO_PRODUCTION": "true"}],
    ids=["unset", "no-debug", "dev-key-given", "production"],
)
@pytest.mark.parametrize("code", [SERVE, WORKER], ids=["web", "worker"])
def test_the_development_key_is_refused_without_debug(tmp_path, env, code):
    result = run(tmp_path, code, **env)
    assert result.returncode != 0 and REFUSED in result.stderr, result.stderr[-2000:]


@pytest.mark.parametrize(
    "env",
    [{"DJANGO_DEBUG": "true"}, {"DJANGO_SECRET_KEY": "a-key-of-ones-own-0123456789abcdef"}],
    ids=["debug", "own-key"],
)
@pytest.mark.parametrize("code", [SERVE, WORKER], ids=["web", "worker"])
def test_debug_or_a_key_of_ones_own_is_accepted(tmp_path, env, code):
    result = run(tmp_path, code, **env)
    assert result.returncode == 0, result.stderr[-2000:]


def test_commands_that_sign_nothing_run_and_check_warns(tmp_path):
    result = run(tmp_path, "from django.core.management import execute_from_command_line as m; m(['x', 'check'])")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "config.W001" in result.stderr + result.stdout
