"""``mlib grid``: the command line of :mod:`mlib.experiments.grid`."""

from __future__ import annotations

import sys
from pathlib import Path

from mlib.commands.options import add_profile_options
from mlib.core import config
from mlib.experiments.grid import EXECUTORS, GridError, check_max_parallel, make_executor, plan, run_grid


def add_arguments(parser) -> None:
    parser.add_argument("--grid", required=True, help="a grid file (configs/grids/NAME.yaml)")
    add_profile_options(parser)  # under every configuration of the grid
    parser.add_argument("--cache", required=True, help="a prepared cache folder (holding index.csv)")
    parser.add_argument("--split", required=True, help="a split CSV (mlib split)")
    parser.add_argument("--out", required=True, help="the grid folder: run folders and grid.csv")
    parser.add_argument("--seeds", nargs="+", type=int, help="seeds per configuration (replaces train.seed)")
    parser.add_argument("--list", action="store_true", help="list the configurations and their folders; run nothing")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    jobs = parser.add_argument_group("jobs (submitit)")
    jobs.add_argument(
        "--executor",
        choices=EXECUTORS,
        default="inprocess",
        help="inprocess: train here, one run after another; local: one subprocess job per run; "
        "slurm: one SLURM job per run (default inprocess)",
    )
    jobs.add_argument("--max-parallel", type=int, help="jobs at a time (default: 1 for local, all for slurm)")
    jobs.add_argument("--partition", help="slurm: the partition")
    jobs.add_argument("--gpus-per-job", type=int, default=1, help="slurm: GPUs per job (default 1)")
    jobs.add_argument("--cpus-per-job", type=int, default=8, help="slurm: CPU cores per job (default 8)")
    jobs.add_argument("--mem-gb", type=int, help="slurm: memory per job in GB")
    jobs.add_argument(
        "--time",
        type=int,
        default=240,
        help="minutes per job before it is stopped; grid.csv then says timeout and a rerun resumes it (default 240)",
    )


def main(args) -> int:
    where = {
        "profile": args.profile,
        "overrides": args.overrides,
        "cache": args.cache,
        "split": args.split,
        "out": args.out,
        "seeds": args.seeds,
    }
    try:
        if args.list:
            for run in plan(args.grid, **where):
                note = f"  (excluded: {run.excluded})" if run.excluded else ""
                print(f"{run.run_dir}  {run.label}  {run.values}{note}")
            return 0
        check_max_parallel(args.max_parallel)
        executor = make_executor(
            args.executor,
            Path(args.out) / ".submitit",
            partition=args.partition,
            gpus=args.gpus_per_job,
            cpus=args.cpus_per_job,
            timeout_min=args.time,
            mem_gb=args.mem_gb,
        )
        max_parallel = args.max_parallel or (1 if args.executor == "local" else None)
        table = run_grid(
            args.grid,
            **where,
            progress=not args.no_progress,
            executor=executor,
            max_parallel=max_parallel,
        )
    except (GridError, config.ConfigError) as exc:
        print(f"mlib grid: {exc}", file=sys.stderr)
        return 2
    counts = table["status"].value_counts().to_dict()
    print(f"wrote {Path(args.out) / 'grid.csv'}: {counts}")
    return 0 if set(counts) <= {"done", "excluded"} else 1
