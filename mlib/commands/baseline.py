"""``mlib baseline``: the command line of :mod:`mlib.experiments.baseline`."""

from __future__ import annotations

import argparse

from mlib.experiments.baseline import FEATURE_SETS, LBP_METHODS, FeatureSettings, run_baseline


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cache", required=True, help="prepared cache folder (the one holding index.csv)")
    parser.add_argument("--split", required=True, help="split CSV written by mlib split")
    parser.add_argument(
        "--features",
        default="all",
        choices=sorted(FEATURE_SETS),
        help="descriptors: lgbp (appearance), fhofo (motion), lbp-top, lbp-top-xtyt (its XT and YT "
        "planes), lbp-top+fhofo, all (Saeed 2021) (appearance+motion)",
    )
    parser.add_argument("--out", default="runs", help="parent folder of run folders")
    parser.add_argument("--name", help="run folder name (default baseline-<features>-<hash>)")
    parser.add_argument("--workers", type=int, default=2, help="processes computing features (default 2)")
    parser.add_argument(
        "--lbp-method",
        default=FeatureSettings.lbp_method,
        choices=sorted(LBP_METHODS),
        help="uniform: rotation-invariant uniform LBP (10 codes; blind to the sign of a motion's "
        "direction); nri_uniform: Zhao & Pietikainen's u2 codes (59)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def main(args: argparse.Namespace) -> int:
    run_dir = run_baseline(args.cache, args.split, args.out, features=args.features, workers=args.workers,
                           progress=not args.no_progress, name=args.name,
                           settings=FeatureSettings(lbp_method=args.lbp_method))  # fmt: skip
    print(run_dir)
    return 0
