"""The Table 3 analogue over split seeds: Adam and AdamW at the paper's Table 1 configuration, and their vote.

The paper's Table 3 sets two SlowFast models that differ only in the solver
(Adam, AdamW) beside the majority vote of the two, on one split. Here the pair
is the Table 1 configuration of the corpus's database
(:func:`mlib.study.runner.table1_overrides`) with each solver, trained (or found) on
each split seed of the study (``split.repeats``,
:func:`mlib.study.runner.repeated_splits`; the first is the grid's split). The runs go
to the runs folder the grid shares, and :func:`mlib.training.train.run_folder` keys a run
by its settings, cache and split, so a pair the grid already trained on the
first split is reused, never trained twice.

The vote is :func:`mlib.experiments.ensemble.evaluate`'s hard vote with its default tie
rule (``ours``: votes, then the mean probability, then the class order); with
two members that rule alone decides every disagreement (``mlib.experiments.ensemble``).
Each member alone is scored as ``mlib.experiments.ensemble.table3`` scores it.

:func:`pair_table` gives one row per split seed (each with the 95 % intervals
of ``mlib.core.metrics``, subjects then clips) and appends :func:`summary_rows`: the
mean rank-1 over seeds with one interval per model from the seeds' resamples
pooled (:func:`pooled_intervals`, as :func:`mlib.experiments.controls.summarize` does) and,
with more than one seed, the sd over seeds (``ddof=1``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
import yaml

from mlib.core import io, metrics
from mlib.core.config import resolve
from mlib.experiments.ensemble import SOLVER_KEY, EnsembleError, combine, evaluate, finished_runs, load_predictions

SOLVERS = ("adam", "adamw")
MODELS = (*SOLVERS, "vote")  # the two members and the hard vote of the two
VOTE = "hard"
TABLE_FILE = "table3-splits.csv"
PER_SPLIT, MEAN, SD = "per split", "mean", "sd"  # the ``statistic`` of a row
RANK_COLUMNS = [f"{model}_{value}" for model in MODELS for value in ("rank1", "ci_low", "ci_high")]
COLUMNS = ["statistic", "split", "splits", *RANK_COLUMNS, "vote_gain", "n_test", "adam_run", "adamw_run"]


def grid_inputs(grid_dir: str | Path) -> dict:
    """The cache and split file a grid was run on, from its ``grid-spec.yaml`` (``mlib.experiments.grid.run_grid``)."""
    spec_file = Path(grid_dir) / "grid-spec.yaml"
    if not spec_file.is_file():
        raise EnsembleError(f"{spec_file}: no grid specification; run `mlib grid` first")
    spec = yaml.safe_load(spec_file.read_text()) or {}
    missing = [key for key in ("cache", "split") if not spec.get(key)]
    if missing:
        raise EnsembleError(f"{spec_file}: lacks {', '.join(missing)}")
    return {"cache": spec["cache"], "split": spec["split"]}


def pair_configs(
    cfg: Mapping, table1: Mapping, cache: str | Path, split: str | Path, runs_dir: str | Path
) -> dict[str, dict]:
    """Solver -> the resolved config of its run on ``split``: ``cfg`` with the Table 1 choice ``table1``
    (dotted keys), the solver, and the cache, split and runs folder."""
    run = {"run.cache": str(cache), "run.split": str(split), "run.out": str(runs_dir), "run.name": None}
    return {solver: resolve(cfg, {**table1, SOLVER_KEY: solver, **run}) for solver in SOLVERS}


def split_row(run_dirs: Mapping[str, str | Path], split: str | Path, *, n_boot: int = 1000) -> dict:
    """One split seed's row: each member's and the vote's test rank-1 with its bootstrap 95 % interval,
    and the vote's gain over the better member."""
    runs = [load_predictions(run_dirs[solver]) for solver in SOLVERS]
    scored = {solver: evaluate([run], "soft", n_boot=n_boot) for solver, run in zip(SOLVERS, runs)}
    scored["vote"] = evaluate(runs, VOTE, n_boot=n_boot)
    row = {"statistic": PER_SPLIT, "split": Path(split).stem, "splits": 1}
    for model, found in scored.items():
        row |= {
            f"{model}_rank1": found["test_rank1"],
            f"{model}_ci_low": found["test_ci_low"],
            f"{model}_ci_high": found["test_ci_high"],
        }
    row["vote_gain"] = row["vote_rank1"] - max(row["adam_rank1"], row["adamw_rank1"])
    return row | {
        "n_test": scored["vote"]["n_test"],
        "adam_run": str(run_dirs["adam"]),
        "adamw_run": str(run_dirs["adamw"]),
    }


def summary_rows(per_split: pd.DataFrame, intervals: Mapping[str, tuple[float, float]] | None = None) -> pd.DataFrame:
    """The mean over split seeds of every rank-1, gain and test size, each model's interval over the seeds
    (``intervals``: :func:`pooled_intervals`; without it the mean row has none, since averaging the seeds'
    bounds gives no interval) and, with more than one seed, the sd over seeds of every rank-1 and of the gain."""
    n = len(per_split)
    if n == 0:
        raise EnsembleError("no split seeds to summarise")
    measured = [f"{model}_rank1" for model in MODELS] + ["vote_gain", "n_test"]
    seeds = f"{n} split seed{'s' if n > 1 else ''}"
    pooled = {
        f"{model}_{bound}": (intervals or {}).get(model, (float("nan"),) * 2)[i]
        for model in MODELS
        for i, bound in enumerate(("ci_low", "ci_high"))
    }
    rows = [{"statistic": MEAN, "split": f"mean over {seeds}", "splits": n, **per_split[measured].mean(), **pooled}]
    if n > 1:
        spread = [f"{model}_rank1" for model in MODELS] + ["vote_gain"]
        rows.append({"statistic": SD, "split": f"sd over {seeds}", "splits": n, **per_split[spread].std(ddof=1)})
    return pd.DataFrame(rows, columns=COLUMNS)


def shown(table: pd.DataFrame) -> pd.DataFrame:
    """``pair_table`` as the page shows it: one column per model with its rank-1 and interval, the gain and
    the test size (the run folders go to the provenance note)."""
    rows = []
    for row in table.to_dict("records"):
        found = {"statistic": row["statistic"], "split": row["split"]}
        for model in MODELS:
            value, low, high = (row.get(f"{model}_{part}") for part in ("rank1", "ci_low", "ci_high"))
            found[model] = f"{value:.3f}" + ("" if pd.isna(low) else f" [{low:.3f}, {high:.3f}]")
        found["vote gain"] = f"{row['vote_gain']:{'.3f' if row['statistic'] == SD else '+.3f'}}"
        found["test clips"] = "" if pd.isna(row.get("n_test")) else f"{row['n_test']:.0f}"
        rows.append(found)
    return pd.DataFrame(rows)


def run_folders(table: pd.DataFrame) -> list[str]:
    """The pair's run folders of every split seed, in order and once each (for the page's provenance note)."""
    per_split = table[table["statistic"] == PER_SPLIT]
    return list(dict.fromkeys(run for row in per_split[["adam_run", "adamw_run"]].to_numpy() for run in row))


def reuse_note(table: pd.DataFrame, grid_dir: str | Path) -> str:
    """A sentence for the page: how many split seeds, and which of the pair's runs are the grid's own."""
    per_split = table[table["statistic"] == PER_SPLIT]
    runs = [Path(run).resolve() for run in [*per_split["adam_run"], *per_split["adamw_run"]]]
    grids = {run.resolve() for run in finished_runs(grid_dir)}
    shared = sum(run in grids for run in runs)
    n = len(per_split)
    seeds = "one split (the grid's; no spread over splits)" if n == 1 else f"{n} split seeds, the grid's split first"
    return (
        f"The Adam/AdamW pair on {seeds}: {len(runs)} runs, {shared} of them the grid's own runs "
        f"(reused, not trained again), {len(runs) - shared} beyond the grid (trained here unless a run of "
        f"this page or the controls page left them)."
    )


def pair_table(
    cfg: Mapping,
    table1: Mapping,
    grid_dir: str | Path,
    splits: Sequence[str | Path] | None = None,
    runs_dir: str | Path | None = None,
    out: str | Path | None = None,
    *,
    n_boot: int = 1000,
    progress: bool = False,
    log: bool = True,
) -> pd.DataFrame:
    """Train (or reuse) the Adam/AdamW pair on every split seed and vote it; per-split rows, then the summary.

    The cache is the grid's (``grid-spec.yaml``); ``splits`` default to the grid's one split and must start
    with it (the first seed is the grid's, so its pair is reused); ``runs_dir`` defaults to ``grid_dir``.
    Written to ``out/table3-splits.csv`` when ``out`` is given.
    """
    from mlib.training.train import train

    inputs = grid_inputs(grid_dir)
    splits = list(splits) if splits else [inputs["split"]]
    if Path(splits[0]).resolve() != Path(inputs["split"]).resolve():
        raise EnsembleError(f"splits: the first split seed {splits[0]} is not the grid's split {inputs['split']}")
    runs_dir = runs_dir or grid_dir
    rows = []
    for split in splits:
        configs = pair_configs(cfg, table1, inputs["cache"], split, runs_dir)
        run_dirs = {solver: train(run_cfg, progress=progress, log=log) for solver, run_cfg in configs.items()}
        rows.append(split_row(run_dirs, split, n_boot=n_boot))
    per_split = pd.DataFrame(rows, columns=COLUMNS)
    table = pd.concat(
        [per_split, summary_rows(per_split, pooled_intervals(per_split, n_boot=n_boot))], ignore_index=True
    )
    if out is not None:
        io.write_csv(Path(out) / TABLE_FILE, table)
    return table


def pooled_intervals(table: pd.DataFrame, *, n_boot: int = 2000, seed: int = 0) -> dict[str, tuple[float, float]]:
    """Model (adam, adamw, vote, vote_gain) -> 95 % interval over every split seed of ``table``'s per-split rows.

    Each seed's pair is rescored from its run folders: hierarchical bootstrap
    draws (subjects, then clips; ``mlib.core.metrics``) of each member's and the
    vote's rank-1, and of the vote's gain over that seed's better member,
    paired on the same clips; the seeds' draws are pooled
    (``mlib.core.metrics.pooled_interval``), so the spread between seeds is in the interval.
    """
    draws: dict[str, list] = {model: [] for model in (*MODELS, "vote_gain")}
    for row in table[table["statistic"] == PER_SPLIT].to_dict("records"):
        runs = [load_predictions(row[f"{solver}_run"]) for solver in SOLVERS]
        truth = runs[0].subjects["test"]
        correct = {
            solver: metrics.correct_top1(truth, run.probs["test"], run.classes) for solver, run in zip(SOLVERS, runs)
        }
        correct["vote"] = metrics.correct_top1(truth, combine(runs, VOTE)["test"], runs[0].classes)
        for model in MODELS:
            draws[model].append(metrics.hierarchical_bootstrap_draws(correct[model], truth, n_boot, seed))
        better = max(SOLVERS, key=lambda solver: correct[solver].mean())
        draws["vote_gain"].append(
            metrics.paired_difference_draws(correct["vote"], correct[better], truth, n_boot, seed)
        )
    return {model: metrics.pooled_interval(found) for model, found in draws.items()}
