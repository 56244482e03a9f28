"""``python -m suite_data fetch``: fetch every Debian data package (idempotent)."""

import sys

from .debian import DEBIAN_PACKAGES, MissingDataError, fetch_deb


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv != ["fetch"]:
        print("usage: python -m suite_data fetch", file=sys.stderr)
        return 2
    try:
        for package in DEBIAN_PACKAGES:
            print(f"{package}: {fetch_deb(package, quiet=True)}")
    except MissingDataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
