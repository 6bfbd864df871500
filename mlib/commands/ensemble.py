"""``mlib ensemble``: the command line of :mod:`mlib.experiments.ensemble`."""

from __future__ import annotations

import sys
from pathlib import Path

from mlib.commands.options import add_profile_options, resolved
from mlib.core import io
from mlib.experiments.ensemble import METHODS, TIE_RULES, EnsembleError, ensemble_table, search_grid

FLAGS = {"max_size": "ensemble.max_size", "candidates": "ensemble.candidates", "bootstrap": "ensemble.bootstrap"}


def add_arguments(parser) -> None:
    add_profile_options(parser)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--runs", nargs="+", metavar="DIR", help="finished run folders to combine (two or more)")
    source.add_argument(
        "--grid", metavar="GRID_DIR", help="a grid folder (with grid.csv) whose finished runs to search"
    )
    parser.add_argument("--method", choices=METHODS, default="hard", help="with --runs: how to vote (default hard)")
    parser.add_argument(
        "--tie",
        choices=TIE_RULES,
        default="ours",
        help="with --runs --method hard: the tie rule "
        "(ours: mean probability, then class order; original: the original code's, by class id)",
    )
    parser.add_argument(
        "--weights",
        nargs="+",
        type=float,
        help="with --runs --method weighted: member weights (default: chosen on validation)",
    )
    parser.add_argument("--search", action="store_true", help="with --grid: search sets of runs")
    parser.add_argument("--max-size", type=int, help="largest ensemble searched (ensemble.max_size)")
    parser.add_argument(
        "--candidates", type=int, help="search only the best N runs by validation rank-1 (ensemble.candidates; 0 = all)"
    )
    parser.add_argument("--bootstrap", type=int, help="bootstrap resamples for the test CI (ensemble.bootstrap)")
    parser.add_argument("--out", required=True, help="--runs: the ensembles.csv to write; --grid: a folder")


def main(args) -> int:
    settings = resolved(args, FLAGS)["ensemble"]
    try:
        if args.runs:
            table = ensemble_table(args.runs, args.method, args.weights, n_boot=settings["bootstrap"], tie=args.tie)
            io.write_csv(args.out, table)
            print(table.to_string(index=False))
            return 0
        if not args.search:
            raise EnsembleError("--grid needs --search (a grid is combined by searching its runs)")
        results = search_grid(
            args.grid,
            args.out,
            max_size=settings["max_size"],
            candidates=settings["candidates"] or None,
            n_boot=settings["bootstrap"],
        )
    except EnsembleError as exc:
        print(f"mlib ensemble: {exc}", file=sys.stderr)
        return 2
    print(results["selection"].to_string(index=False))
    print(f"wrote {Path(args.out) / 'ensembles.csv'} ({len(results['ensembles'])} ensembles)")
    return 0
