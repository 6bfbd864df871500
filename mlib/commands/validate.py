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

from mlib.commands.options import add_profile_options, default_of, resolved
from mlib.datasets import APEX_RULES, DATASETS, DatasetError, load_dataset, validation_report

FLAGS = {
    "dataset": "data.dataset",
    "root": "data.root",
    "apex_rule": "data.apex_rule",
    "cropped": "data.cropped",
    "window": "prepare.window",
    "workers": "prepare.workers",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_profile_options(parser)
    parser.add_argument(
        "--dataset",
        choices=sorted(DATASETS),
        help=f"which database layout to read (data.dataset, default {default_of('data.dataset')})",
    )
    parser.add_argument("--root", help=f"the database root folder (data.root, default {default_of('data.root')})")
    parser.add_argument(
        "--apex-rule",
        choices=APEX_RULES,
        help="annotated: the spreadsheet's apex (errata fixed); midpoint: (onset + offset) // 2 (data.apex_rule)",
    )
    parser.add_argument(
        "--cropped",
        action="store_true",
        default=None,
        help="the database's already-cropped release (CASME II: Cropped/ instead of CASME2_RAW_selected/)",
    )
    parser.add_argument(
        "--window",
        type=int,
        help="frames per clip around the apex, as mlib prepare will cut them "
        f"(prepare.window, default {default_of('prepare.window')})",
    )
    parser.add_argument("--workers", type=int, help="threads decoding frames (prepare.workers)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def main(args: argparse.Namespace) -> int:
    cfg = resolved(args, FLAGS)
    data, prepare = cfg["data"], cfg["prepare"]
    try:
        result = load_dataset(
            data["dataset"],
            data["root"],
            apex_rule=data["apex_rule"],
            cropped=data["cropped"],
            window=prepare["window"],
            workers=prepare["workers"],
            progress=not args.no_progress,
        )
    except DatasetError as exc:
        print(f"mlib validate: {exc}", file=sys.stderr)
        return 2
    print(validation_report(result))
    if result.has_errors:
        print(
            f"mlib validate: {len(result.by_severity('error'))} error(s): the clips named above would be left out of a run",
            file=sys.stderr,
        )
        return 1
    return 0
