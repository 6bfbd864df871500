"""``mlib cost``: the performance page (GPU-hours of the full study) from ``mlib bench`` files, to stdout."""

from __future__ import annotations

import argparse
from pathlib import Path

from mlib.report.cost import performance_page


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bench", nargs="+", help="bench JSON files (book/bench/*.json)")
    parser.add_argument("--profile", default="configs/profiles/full.yaml")


def main(args: argparse.Namespace) -> int:
    print(performance_page([Path(p) for p in args.bench], args.profile))
    return 0
