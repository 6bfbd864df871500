"""``mlib train``: the command line of :mod:`mlib.training.train`."""

from __future__ import annotations

import argparse
from pathlib import Path

from mlib.commands.options import add_profile_options
from mlib.core.config import resolve
from mlib.preprocess.cache_settings import read_cache_settings
from mlib.training.train import train


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_profile_options(parser)
    parser.add_argument("--cache", help="prepared cache folder (sets run.cache)")
    parser.add_argument("--split", help="split CSV (sets run.split)")
    parser.add_argument("--out", help="parent folder of run folders (sets run.out)")
    parser.add_argument("--name", help="run folder name (sets run.name)")
    parser.add_argument("--no-progress", action="store_true", help="no per-epoch progress bar")


def main(args: argparse.Namespace) -> int:
    shortcuts = {k: getattr(args, k) for k in ("cache", "split", "out", "name") if getattr(args, k)}
    cfg = resolve(resolve(args.profile, args.overrides), {"run": shortcuts})
    if cfg["run"]["cache"] and (Path(cfg["run"]["cache"]) / "settings.json").is_file():
        # the cache's dataset unless the profile or --set names one (train then checks that they agree)
        implied = {"data.dataset": read_cache_settings(cfg["run"]["cache"]).get("dataset", cfg["data"]["dataset"])}
        cfg = resolve(resolve(args.profile, args.overrides, implied=implied), {"run": shortcuts})
    run_dir = train(cfg, progress=not args.no_progress)
    print(run_dir)
    return 0
