"""`python -m tests.bench [catalog|...] [options]`: run the named benches (default: all)."""

import importlib
import sys

BENCHES = ["catalog", "sharing", "events"]  # other benches are added here as separate modules


def main(argv: list[str]) -> int:
    names = [a for a in argv if not a.startswith("-")] or BENCHES
    options = [a for a in argv if a.startswith("-")]
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        print(f"unknown bench(es): {', '.join(unknown)}; known: {', '.join(BENCHES)}", file=sys.stderr)
        return 2
    status = 0
    for name in names:
        module = importlib.import_module(f"tests.bench.{name}")
        status = module.main(options) or status
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
