"""``mlib split``: the command line of :mod:`mlib.preprocess.splits`."""

from __future__ import annotations

import argparse

from mlib.commands.options import add_profile_options, default_of, resolved
from mlib.preprocess.splits import PROTOCOLS, load_split, load_split_metadata, split_report, write_splits

FLAGS = {
    "protocol": "split.protocol",
    "test_size": "split.test_size",
    "val_size": "split.val_size",
    "seed": "split.seed",
    "repeats": "split.repeats",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_profile_options(parser)
    parser.add_argument("--cache", required=True, help="a prepared cache folder (holding index.csv)")
    parser.add_argument(
        "--protocol", choices=PROTOCOLS, help=f"split.protocol (default {default_of('split.protocol')})"
    )
    parser.add_argument(
        "--test-size",
        type=float,
        help=f"share of clips tested on (split.test_size; half: default {default_of('split.test_size')})",
    )
    parser.add_argument(
        "--val-size",
        type=float,
        help=f"validation share (split.val_size; half: of the non-test clips, default {default_of('split.val_size')})",
    )
    parser.add_argument("--seed", type=int, help=f"split.seed (default {default_of('split.seed')})")
    parser.add_argument("--repeats", type=int, help="splits with seeds seed, seed + 1, ... (split.repeats)")


def main(args: argparse.Namespace) -> int:
    split = resolved(args, FLAGS)["split"]
    # half and open-set take their shares from the configuration; the kay2023 protocols fix theirs, so only a
    # share given on the command line reaches them (and is refused unless it is theirs)
    shared = split["protocol"] in ("half", "open-set")
    test_size = split["test_size"] if split["protocol"] == "half" else args.test_size
    val_size = split["val_size"] if shared else args.val_size
    paths = write_splits(
        args.cache,
        split["protocol"],
        test_size=test_size,
        val_size=val_size,
        seed=split["seed"],
        repeats=split["repeats"],
        open_set=split["open_set"],
    )
    for path in paths:
        print(path)
        print(split_report(load_split(path), load_split_metadata(path)))
    return 0
