"""``python -m suite_data fetch``: fetch every Debian data package (idempotent)."""

import argparse
import sys

from .debian import DEBIAN_PACKAGES, MissingDataError, fetch_deb


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m suite_data", description=__doc__)
    steps = parser.add_subparsers(dest="step", required=True)
    steps.add_parser("fetch", help=f"download and unpack the data packages: {', '.join(DEBIAN_PACKAGES)}")
    parser.parse_args(argv)
    try:
        for package in DEBIAN_PACKAGES:
            print(f"{package}: {fetch_deb(package, quiet=True)}")
    except MissingDataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
