"""``mlib validate``: check a database root and its annotation spreadsheet, print what was found.

Every frame a clip's window will use is decoded (in parallel, with a progress
bar), so a root that validates can be prepared. Exit status 0 when only fixed
errata and warnings were found, 1 when some clips have errors (a run would
silently lose them), 2 when the root cannot be read at all (wrong folder,
missing spreadsheet or columns, a sheet without data rows).
"""

from __future__ import annotations

import argparse
import sys

from mlib.core import config

from mlib.datasets import APEX_RULES, DATASETS, DatasetError, load_dataset, validation_report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    data = config.load_defaults()["data"]
    parser.add_argument("--dataset", choices=sorted(DATASETS), default=data["dataset"],
                        help=f"which database layout to read (default {data['dataset']})")
    parser.add_argument("--root", default=data["root"], help=f"the database root folder (default {data['root']})")
    parser.add_argument("--apex-rule", choices=APEX_RULES, default=data["apex_rule"],
                        help="annotated: the spreadsheet's apex (errata fixed); midpoint: (onset + offset) // 2")
    parser.add_argument("--cropped", action="store_true", default=data["cropped"],
                        help="the database's already-cropped release (CASME II: Cropped/ instead of CASME2_RAW_selected/)")
    prepare = config.load_defaults()["prepare"]
    parser.add_argument("--window", type=int, default=prepare["window"],
                        help=f"frames per clip around the apex, as mlib prepare will cut them (default {prepare['window']})")
    parser.add_argument("--workers", type=int, default=prepare["workers"], help="threads decoding frames")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def main(args: argparse.Namespace) -> int:
    config.resolve(None, {"data": {"dataset": args.dataset, "apex_rule": args.apex_rule},
                          "prepare": {"window": args.window, "workers": args.workers}})
    try:
        result = load_dataset(args.dataset, args.root, apex_rule=args.apex_rule, cropped=args.cropped,
                              window=args.window, workers=args.workers, progress=not args.no_progress)
    except DatasetError as exc:
        print(f"mlib validate: {exc}", file=sys.stderr)
        return 2
    print(validation_report(result))
    if result.has_errors:
        print(f"mlib validate: {len(result.by_severity('error'))} error(s): the clips named above would be left out of a run",
              file=sys.stderr)
        return 1
    return 0
