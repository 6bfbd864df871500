"""``mlib split``: the command line of :mod:`mlib.preprocess.splits`."""

from __future__ import annotations

import argparse
from mlib.preprocess.splits import PROTOCOLS, load_split, load_split_metadata, split_report, write_splits


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from mlib.core.config import load_defaults

    defaults = load_defaults()["split"]
    parser.add_argument("--cache", required=True, help="a prepared cache folder (holding index.csv)")
    parser.add_argument("--protocol", default=defaults["protocol"], choices=PROTOCOLS)
    parser.add_argument("--test-size", type=float, default=None, help=f"share of clips tested on (half: default {defaults['test_size']})")
    parser.add_argument("--val-size", type=float, default=None, help=f"validation share (half: of the non-test clips, default {defaults['val_size']})")
    parser.add_argument("--seed", type=int, default=defaults["seed"])
    parser.add_argument("--repeats", type=int, default=defaults["repeats"], help="splits with seeds seed, seed + 1, ...")


def main(args: argparse.Namespace) -> int:
    from mlib.core.config import load_defaults, resolve

    given = {"protocol": args.protocol, "seed": args.seed, "repeats": args.repeats}
    given.update({k: v for k, v in (("test_size", args.test_size), ("val_size", args.val_size)) if v is not None})
    resolve(None, {"split": given})  # the flags are split.* keys: out-of-range values stop here
    defaults = load_defaults()["split"]
    test_size, val_size = args.test_size, args.val_size
    if args.protocol == "half":
        test_size = defaults["test_size"] if test_size is None else test_size
        val_size = defaults["val_size"] if val_size is None else val_size
    paths = write_splits(args.cache, args.protocol, test_size=test_size, val_size=val_size, seed=args.seed, repeats=args.repeats)
    for path in paths:
        print(path)
        print(split_report(load_split(path), load_split_metadata(path)))
    return 0
