"""Can this SlowFast learn a movement identity at all? Its learning budget on the motion-only corpus.

On the motion-only corpus (one shared face; subjects differ only in how they
move, and the motion features of ``mlib.experiments.positive_controls`` read them) the
book's SlowFast stays at chance. Before that says anything about movement, the
network must be shown to learn a movement identity where one exists. This
module trains it on motion-only as its training budget grows, along the axes
that can plausibly be the limit at the book's scale:

- ``train.epochs`` (optimisation): 12 epochs of ~40 clips at batch 8 are ~60
  Adam steps for a network trained from scratch;
- ``budget.clips_per_subject`` (data): 4 training clips per subject are few
  examples of a habit that varies from clip to clip; each value is its own
  motion-only corpus (same generator, faces and settings otherwise);
- the input (``data.input``): ``difference`` cancels the shared face, so only
  movement is left to fit; ``data.sampling: pyslowfast`` is the original's
  decoder, for comparison.

Frames, resolution and width stay at the book's: the motion features already
read the corpus at 32 frames of 64 px, and a wider network on ~40 clips adds
parameters, not signal. The configurations are a grid file
(``budget.grid``, ``mlib.experiments.grid``), run on each corpus; every run folder is
keyed by its configuration, so a rerun reuses what finished.

:func:`run_budget` writes ``budget.csv`` (one row per corpus x configuration:
test rank-1, its 95 % interval resampling subjects, then their clips
(``mlib.core.metrics``), chance and the training wall time); :func:`budget_verdict`
reads it by the rule in its docstring.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from mlib.core import io
from mlib.core.config import load_yaml
from mlib.core.metrics import rank1_over_seeds
from mlib.core.verdict import Verdict, rule
from mlib.experiments.grid import lookup, run_grid

MOTION_ONLY = "motion-only"  # the generator's mode (mlib.study.runner.MOTION_ONLY)
BUDGET_COLUMNS = [
    "clips_per_subject",
    "label",
    "input",
    "sampling",
    "epochs",
    "train_clips",
    "rank1",
    "ci_low",
    "ci_high",
    "chance",
    "n_test",
    "minutes",
    "run_dir",
]
LEARNS = "learns a movement identity on 2 CPU cores"
SOME = "learns some movement identity, below the target"
TOO_SLOW = "learns a movement identity, but not within the CPU time"
NOT_AT_CPU_SCALE = "learns no movement identity at CPU scale: this cannot tell; test it at full scale on a GPU"
NOT_MEASURED = "not measured"


def corpus_root(cfg: Mapping, clips_per_subject: int) -> Path:
    """The motion-only corpus of ``clips_per_subject``: the study's own (``<root>-motion-only``) at the
    profile's ``synth.clips_per_subject``, ``<root>-motion-only-<N>clips`` otherwise."""
    dataset = cfg["study"]["datasets"][0]
    base = f"{cfg['study']['roots'][dataset]}-{MOTION_ONLY}"
    return Path(base if clips_per_subject == cfg["synth"]["clips_per_subject"] else f"{base}-{clips_per_subject}clips")


def prepare_corpus(cfg: Mapping, clips_per_subject: int) -> tuple[Path, Path]:
    """Write (or find) the motion-only corpus of ``clips_per_subject``, cache it and split it as the study
    does (``prepare`` and ``split`` sections); returns the cache and the first split file."""
    from mlib.datasets import load_dataset
    from mlib.datasets.window import pad_rule
    from mlib.preprocess import prepare_cache
    from mlib.preprocess.splits import write_splits
    from mlib.synth.layouts import write_configured_corpus

    dataset, prep, split = cfg["study"]["datasets"][0], cfg["prepare"], cfg["split"]
    root = corpus_root(cfg, clips_per_subject)
    synth = {**cfg["synth"], "mode": MOTION_ONLY, "clips_per_subject": int(clips_per_subject)}
    write_configured_corpus(root, cfg["synth"]["layout"], synth, workers=prep["workers"], progress=False)
    cache = prepare_cache(
        load_dataset(dataset, root).clips,
        prep["cache_dir"],
        dataset=dataset,
        root=str(root),
        window=prep["window"],
        face_size=prep["face_size"],
        margin=prep["margin"],
        pad=pad_rule(prep["pad"], split["protocol"]),
        workers=prep["workers"],
        progress=False,
    )
    return cache, write_splits(
        cache, split["protocol"], test_size=split["test_size"], val_size=split["val_size"], seed=split["seed"]
    )[0]


def run_row(run_dir: Path, clips_per_subject: int, label: str, cfg: Mapping) -> dict:
    """One ``budget.csv`` row from a finished run: rank-1 with its hierarchical interval, wall minutes."""
    found = rank1_over_seeds([run_dir / "predictions.csv"])
    predictions = pd.read_csv(run_dir / "predictions.csv", usecols=["part"])
    history = pd.read_csv(run_dir / "history.csv")
    split = pd.read_csv(cfg["run"]["split"], usecols=["part"])
    return {
        "clips_per_subject": int(clips_per_subject),
        "label": label,
        "input": lookup(cfg, "data.input"),
        "sampling": lookup(cfg, "data.sampling"),
        "epochs": int(lookup(cfg, "train.epochs")),
        "train_clips": int((split["part"] == "train").sum()),
        "rank1": found["rank1"],
        "ci_low": found["ci_low"],
        "ci_high": found["ci_high"],
        "chance": found["chance"],
        "n_test": int((predictions["part"] == "test").sum()),
        "minutes": float(history["seconds"].sum()) / 60,
        "run_dir": str(run_dir),
    }


def run_budget(cfg: Mapping, out: str | Path, log: bool = False) -> pd.DataFrame:
    """Train (or reuse) the budget grid on each ``budget.clips_per_subject`` corpus; writes ``out/budget.csv``.

    ``cfg``: the resolved configuration whose scale every configuration of the grid takes.
    """
    out = Path(out)
    rows = []
    for clips in cfg["budget"]["clips_per_subject"]:
        cache, split = prepare_corpus(cfg, clips)
        table = run_grid(
            cfg["budget"]["grid"],
            profile=cfg,
            overrides=[f"synth.clips_per_subject={clips}"],
            cache=cache,
            split=split,
            out=out / f"runs-c{clips}",
            progress=log,
            log=log,
        )
        failed = table[~table["status"].isin(["done", "excluded"])]
        if not failed.empty:
            first = failed.iloc[0]
            raise RuntimeError(
                f"{out / f'runs-c{clips}' / 'grid.csv'}: {first['label']} {first['status']}: {first['message']}"
            )
        for run in table[table["status"] == "done"].itertuples():
            run_dir = out / f"runs-c{clips}" / run.run_dir
            rows.append(run_row(run_dir, clips, run.label, load_yaml(run_dir / "config.yaml")))
    found = pd.DataFrame(rows, columns=BUDGET_COLUMNS)
    io.write_csv(out / "budget.csv", found)
    return found


@rule(LEARNS, TOO_SLOW, SOME, NOT_AT_CPU_SCALE, NOT_MEASURED)
def budget_verdict(table: pd.DataFrame, target: float, cpu_minutes: float) -> Verdict:
    """Whether the network learns a movement identity on motion-only, from ``budget.csv``. The rule:

    A configuration *learns* when its interval's lower bound is above chance.

    1. ``learns a movement identity on 2 CPU cores``: one that learns reaches
       ``target`` rank-1 within ``cpu_minutes`` of training wall time;
    2. ``learns a movement identity, but not within the CPU time``: one reaches
       the target only beyond that time;
    3. ``learns some movement identity, below the target``: one learns, below
       the target (within the time or not);
    4. ``learns no movement identity at CPU scale``: none learns, so a negative
       result on movement at this scale cannot tell; the full profile's scale
       on a GPU is the test.

    ``not measured`` on an empty table. The verdict's ``numbers``: ``best``, the
    row the verdict names (the highest rank-1 among those that decide it; ties
    -> the fastest), ``target`` and ``cpu_minutes``.
    """
    numbers = {"best": None, "target": target, "cpu_minutes": cpu_minutes}
    if table.empty:
        return Verdict(NOT_MEASURED, "no finished run", numbers=numbers)
    learns = table[table["ci_low"] > table["chance"]]
    in_time = learns[learns["minutes"] <= cpu_minutes]
    reached = in_time[in_time["rank1"] >= target]
    if not reached.empty:
        verdict, pool = LEARNS, reached
    elif (learns["rank1"] >= target).any():
        verdict, pool = TOO_SLOW, learns[learns["rank1"] >= target]
    elif not learns.empty:
        verdict, pool = SOME, learns
    else:
        verdict, pool = NOT_AT_CPU_SCALE, table
    best = pool.sort_values(["rank1", "minutes"], ascending=[False, True]).iloc[0].to_dict()
    evidence = (
        f"{len(learns)} of {len(table)} configurations above chance; the best named, {best['label']}, reaches "
        f"{best['rank1']:.3f} [{best['ci_low']:.3f}, {best['ci_high']:.3f}] in {best['minutes']:.1f} min "
        f"(target {target:g} within {cpu_minutes:g} min)"
    )
    return Verdict(verdict, evidence, numbers=numbers | {"best": best})


def learns_beyond_book(table: pd.DataFrame, target: float, cpu_minutes: float) -> bool | None:
    """For ``mlib.experiments.controls.model_check``: whether some budget of the study learns a movement identity
    (``LEARNS`` or ``TOO_SLOW``); None when nothing was measured."""
    verdict = budget_verdict(table, target, cpu_minutes).verdict
    return None if verdict == NOT_MEASURED else verdict in (LEARNS, TOO_SLOW)


def publish(table: pd.DataFrame, cfg: Mapping) -> Path:
    """Copy the sweep's table to ``budget.published``, the committed file the default book reads (``make motion``
    rewrites it; the default `make book` trains none of these runs)."""
    path = Path(cfg["budget"]["published"])
    io.write_csv(path, table.drop(columns=["run_dir"]))
    return path


def read_published(cfg: Mapping) -> pd.DataFrame:
    """The committed table of the last ``make motion`` (``budget.published``); empty when there is none."""
    path = Path(cfg["budget"]["published"])
    return pd.read_csv(path) if path.is_file() else pd.DataFrame(columns=BUDGET_COLUMNS)


def published_learns(cfg: Mapping) -> bool | None:
    """:func:`learns_beyond_book` of the committed table (None without one), for the controls page's model check."""
    return learns_beyond_book(read_published(cfg), cfg["budget"]["target"], cfg["budget"]["cpu_minutes"])


def full_scale_command(full_profile: str | Path = "configs/profiles/full.yaml") -> str:
    """The command that runs this sweep at the full profile's scale on a GPU: its SlowFast (depth, width,
    frames, input size), batch and face size, the grid's epochs and inputs unchanged."""
    from mlib.core.config import resolve

    full = resolve(full_profile)
    keys = ["model.depth", "model.width", "model.frames", "model.size", "train.batch_size", "prepare.face_size"]
    settings = " ".join(f"{key}={'null' if lookup(full, key) is None else lookup(full, key)}" for key in keys)
    return f"make motion MOTION_SET='{settings} train.device=cuda'"
