"""The benches (`make bench`, python -m tests.bench) import before Django is set up: a module
of theirs that imports app code at the top fails only there, so load them as make bench does."""

import subprocess
import sys

from django.conf import settings


def test_bench_modules_import_before_django_setup():
    code = "import tests.bench.catalog, tests.bench.events, tests.bench.imports, tests.bench.sharing"
    result = subprocess.run(  # noqa: S603 - our interpreter, a constant script
        [sys.executable, "-c", code], cwd=settings.BASE_DIR, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
