"""``mlib validate``: check a database root and its annotation spreadsheet, print what was found.

Exit status 0 when only fixed errata and warnings were found, 1 when some
clips have errors (a run would silently lose them), 2 when the root cannot be
read at all (wrong folder, missing spreadsheet or columns).
"""

from __future__ import annotations

import argparse
import sys

from mlib import config

from . import APEX_RULES, DATASETS, DatasetError, load_dataset, validation_report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    data = config.load_defaults()["data"]
    parser.add_argument("--dataset", choices=sorted(DATASETS), default=data["dataset"],
                        help=f"which database layout to read (default {data['dataset']})")
    parser.add_argument("--root", default=data["root"], help=f"the database root folder (default {data['root']})")
    parser.add_argument("--apex-rule", choices=APEX_RULES, default=data["apex_rule"],
                        help="annotated: the spreadsheet's apex (errata fixed); midpoint: (onset + offset) // 2")
    parser.add_argument("--cropped", action="store_true", default=data["cropped"],
                        help="the database's already-cropped release (CASME II: Cropped/ instead of CASME2_RAW_selected/)")


def main(args: argparse.Namespace) -> int:
    try:
        result = load_dataset(args.dataset, args.root, apex_rule=args.apex_rule, cropped=args.cropped)
    except DatasetError as exc:
        print(f"mlib validate: {exc}", file=sys.stderr)
        return 2
    print(validation_report(result))
    if result.has_errors:
        print(f"mlib validate: {len(result.by_severity('error'))} error(s): the clips named above would be left out of a run",
              file=sys.stderr)
        return 1
    return 0
