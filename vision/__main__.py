"""``python -m vision train ...`` (one run) and ``python -m vision benchmark ...`` (a named benchmark)."""

from __future__ import annotations

import sys

from suite_results.cli import run_cli

USAGE = "usage: python -m vision {train,benchmark} ... (--help after either for its options)"


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("train", "benchmark"):
        print(USAGE, file=sys.stderr)
        return 2
    if argv[0] == "train":
        from .train import main as train  # noqa: PLC0415

        return run_cli("python -m vision train", train, argv[1:])
    from .benchmark import main as benchmark  # noqa: PLC0415

    return run_cli("python -m vision benchmark", benchmark, argv[1:])


if __name__ == "__main__":
    code = main()
    raise SystemExit(code if isinstance(code, int) else 0)
