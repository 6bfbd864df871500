"""``mlib bench``: the command line of :mod:`mlib.training.bench`."""

from __future__ import annotations

import argparse
from pathlib import Path

from mlib.commands.options import add_profile_options
from mlib.core import io
from mlib.core.config import resolve
from mlib.training.bench import DEFAULT_PROFILE, MODES, format_table, run_bench
from mlib.training.train import resolve_device


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_profile_options(parser, DEFAULT_PROFILE)  # the profile whose model size is measured
    parser.add_argument("--batch-size", type=int, help="clips per step (bench.batch_size; default train.batch_size)")
    parser.add_argument("--steps", type=int, help="timed steps per measurement (bench.steps, >= 1)")
    parser.add_argument("--warmup", type=int, help="untimed steps first, compilation included (bench.warmup, >= 0)")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda")
    parser.add_argument("--modes", nargs="+", choices=list(MODES), default=list(MODES), help="paths to compare")
    parser.add_argument("--out", help="write the figures to this JSON file")


def main(args: argparse.Namespace) -> int:
    """The flags are ``bench.*`` settings, checked by the rules table (``mlib.core.config.RULES``) like every
    other setting, and ``--out``'s folder is checked, before anything is built or timed."""
    flags = {k: getattr(args, k) for k in ("steps", "warmup", "batch_size") if getattr(args, k) is not None}
    cfg = resolve(resolve(args.profile, args.overrides), {"bench": flags})
    bench = cfg["bench"]
    out = Path(args.out) if args.out else None
    if out is not None:
        io.check_folder_for(out)
    device = resolve_device(args.device)
    batch_size = cfg["train"]["batch_size"] if bench["batch_size"] is None else bench["batch_size"]
    record = run_bench(
        cfg,
        device=device,
        batch_size=batch_size,
        steps=bench["steps"],
        warmup=bench["warmup"],
        modes=args.modes,
        profile=args.profile,
        out=out,
    )
    print(format_table(record))
    if args.out:
        print(f"wrote {args.out}")
    return 0
