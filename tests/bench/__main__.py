"""`python -m tests.bench [catalog|sharing|events|imports|writes] [options]`: run the named benches
(default: all). Each bench configures Django for its own database, so when several are asked
for, each runs in a process of its own."""

import importlib
import os
import subprocess
import sys

# The development key is refused without DEBUG (config/settings.py); the benches run without it.
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-not-a-secret-3d9a7f1c5e2b8a4d6f0c1e9b7a5d3f2c")

BENCHES = ["catalog", "sharing", "events", "imports", "writes"]  # other benches are added here as separate modules


def main(argv: list[str]) -> int:
    names = [a for a in argv if not a.startswith("-")] or BENCHES
    options = [a for a in argv if a.startswith("-")]
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        print(f"unknown bench(es): {', '.join(unknown)}; known: {', '.join(BENCHES)}", file=sys.stderr)
        return 2
    if len(names) == 1:
        return importlib.import_module(f"tests.bench.{names[0]}").main(options) or 0
    status = 0
    for name in names:
        status = subprocess.call([sys.executable, "-m", "tests.bench", name, *options]) or status  # noqa: S603
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
