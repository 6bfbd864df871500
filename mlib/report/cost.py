"""The GPU-hours of the whole `full` study, from throughput measured by ``mlib bench``.

Counted per database of the profile (``study.datasets``), on the paper-size corpora
(``mlib.paper.ORIGINAL_SPLIT_COUNTS``: the original split's train/validation/test clips):

- ``table1``: the configurations of the profile's grid (``grid.file``, the paper's Table 1
  and Table 3) that apply to the database, times ``grid.seeds``;
- ``grid``: the original code's grid (``configs/grids/kay2023.yaml``, 162 configurations)
  with the seeds its file names;
- ``controls``: the input variants of ``controls.variants`` (what carries identity?) at the
  Table 1 configuration, times ``split.repeats`` split seeds, less the ``clip``
  variant's first split, which is the Table 1 run itself.

A run costs, per epoch, its training clips at the training rate plus a precise-BatchNorm
pass over them and the validation clips at the inference rate, then one test pass, plus
the measured warm-up (compilation) once. Every configuration is costed at the benchmarked
model size (alpha 4, the costliest alpha of the grid; batch size as benchmarked), so the
estimate is an upper bound for the grid's alpha 8 and 16 runs.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from mlib import paper
from mlib.core import config

PAPER_GRID = Path("configs/grids/kay2023.yaml")
AIM_GPU_HOURS = 1.0  # issue 11: the whole `full` study in one GPU-hour
TARGETS = {"fast_over_plain_train": 3.0, "gpu_busy_fraction": 0.95}  # issue 23: what the fast path should reach
MEASURES = {
    "train_input_share": "the input pipeline's share of a training step",
    "gpu_busy_fraction": "the GPU's busy fraction",
    "train_mfu": "the model FLOP/s utilisation",
}


def count_runs(cfg: dict, paper_grid: str | Path = PAPER_GRID) -> pd.DataFrame:
    """One row per (part of the study, database): runs, epochs and clips per part of the split."""
    from mlib.experiments.grid import load_grid

    table1, original = load_grid(cfg["grid"]["file"]), load_grid(paper_grid)
    seeds = len(cfg["grid"]["seeds"])
    controls = cfg["controls"]["variants"]
    control_runs = len(controls) * cfg["split"]["repeats"] - ("clip" in controls)
    rows = []
    for dataset in cfg["study"]["datasets"]:
        n_train, n_val, n_test = paper.ORIGINAL_SPLIT_COUNTS[paper.paper_dataset(dataset)]
        chosen = [c for c in table1.configurations if not c.get("datasets") or dataset in c["datasets"]]
        grid_size = math.prod(len(v) for v in original.axes.values()) * len(original.configurations)
        for part, runs in (("table1", len(chosen) * seeds), ("grid", grid_size), ("controls", control_runs)):
            rows.append(
                {
                    "part": part,
                    "dataset": dataset,
                    "runs": runs,
                    "epochs": int(cfg["train"]["epochs"]),
                    "train_clips": n_train,
                    "val_clips": n_val,
                    "test_clips": n_test,
                }
            )
    return pd.DataFrame(rows)


def gpu_hours(runs: pd.DataFrame, bench: dict, mode: str) -> pd.DataFrame:
    """``runs`` with the seconds per run and the GPU-hours of each row at ``bench``'s ``mode`` rates."""
    rates = bench["modes"][mode]
    train_rate, infer_rate = rates["train_clips_per_s"], rates["infer_clips_per_s"]
    per_epoch = runs["train_clips"] / train_rate + (runs["train_clips"] + runs["val_clips"]) / infer_rate
    seconds = runs["epochs"] * per_epoch + runs["test_clips"] / infer_rate + rates["warmup_seconds"]
    return runs.assign(seconds_per_run=seconds, gpu_hours=runs["runs"] * seconds / 3600)


GENERATED_MARKER = "<!-- generated from result files by mlib cost; a test checks it is current -->"


def _percent(share: float | None) -> str:
    return "-" if share is None else f"{100 * share:.0f}"


def performance_page(bench_files: list[Path], profile: str | Path) -> str:
    """The book's performance page (markdown), every figure read from the bench JSON files."""
    cfg = config.resolve(profile)
    lines = [
        GENERATED_MARKER,
        "# Performance",
        "",
        "How fast the `full` profile's model trains, measured by `mlib bench` (plain path: fp32, eager;",
        "fast path: bf16 autocast, channels_last_3d, `torch.compile`, clips resident on the GPU),",
        "and what the whole `full` study costs at that speed. This page is generated from the",
        "benchmark files in `book/bench/` by `mlib cost` (a test checks it is current);",
        "FLOPs are counted by fvcore (multiply-adds x 2; a training step counts 3x the forward).",
        "MFU is the achieved training FLOP/s over the card's dense tensor-core peak (TF32 for the",
        "plain path, BF16 for the fast path; `mlib.training.bench.PEAK_TFLOPS`). The files are written by",
        "`book/bench/gpu-check.sh` on a GPU; where a GPU session had none, the page says what is missing.",
        "",
    ]
    runs = count_runs(cfg)
    for path in bench_files:
        bench = json.loads(Path(path).read_text())
        m = bench["model"]
        lines += [
            f"## {bench['device']} (`{Path(path).name}`)",
            "",
            f"torch {bench['torch']}, {bench['date']}: SlowFast R{m['depth']} alpha {m['alpha']} beta "
            f"1/{m['beta_inv']}, {m['frames']} frames x {m['size']} px, batch {bench['batch_size']}, "
            f"{bench['steps']} timed steps after {bench['warmup']} warm-up steps; forward "
            f"{bench['forward_gflops_per_clip']:.1f} GFLOP per clip.",
            "",
            "| path | train clips/s | inference clips/s | train peak GiB | train TFLOP/s | inference TFLOP/s "
            "| warm-up s | input share % | GPU busy % | train MFU % |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for mode, r in bench["modes"].items():
            lines.append(
                f"| {mode} | {r['train_clips_per_s']:.1f} | {r['infer_clips_per_s']:.1f} | "
                f"{r['train_peak_memory_mb'] / 1024:.1f} | {r['train_tflops_per_s']:.1f} | "
                f"{r['infer_tflops_per_s']:.1f} | {r['warmup_seconds']:.0f} | "
                + " | ".join(_percent(r.get(key)) for key in MEASURES)
                + " |"
            )
        lines.append("")
        missing = [what for key, what in MEASURES.items() if all(r.get(key) is None for r in bench["modes"].values())]
        if missing:
            lines += [f"Not measured in this file: {', '.join(missing)} (a dash in the table).", ""]
        if "fast_over_plain" in bench:
            ratio = bench["fast_over_plain"]
            lines += [
                f"Fast over plain: training {ratio['train']:.2f}x, inference {ratio['infer']:.2f}x "
                f"(target: training at least {TARGETS['fast_over_plain_train']:g}x, GPU busy at least "
                f"{100 * TARGETS['gpu_busy_fraction']:.0f} % of step time).",
                "",
            ]
        else:
            lines += [
                "This file has no fast-path figures, so there is no fast/plain ratio for this card "
                f"(target: training at least {TARGETS['fast_over_plain_train']:g}x the plain path).",
                "",
            ]
        if bench.get("note"):
            lines += [f"Note: {bench['note']}", ""]
        mode = "fast" if "fast" in bench["modes"] else "plain"
        cost = gpu_hours(runs, bench, mode)
        lines += [
            f"Estimated GPU-hours of the whole `full` study at this card's **{mode}**-path rates "
            f"({int(cost['epochs'].iloc[0])} epochs per run, paper-size corpora):",
            "",
            "| part | database | runs | train / val / test clips | hours per run | GPU-hours |",
            "|---|---|---|---|---|---|",
        ]
        for _, row in cost.iterrows():
            lines.append(
                f"| {row['part']} | {row['dataset']} | {row['runs']} | {row['train_clips']} / "
                f"{row['val_clips']} / {row['test_clips']} | {row['seconds_per_run'] / 3600:.2f} | "
                f"{row['gpu_hours']:.1f} |"
            )
        by_part = cost.groupby("part", sort=False)["gpu_hours"].sum()
        total = cost["gpu_hours"].sum()
        lines += [
            "",
            f"Total: **{total:.0f} GPU-hours** ("
            + ", ".join(f"{part} {hours:.1f}" for part, hours in by_part.items())
            + f"). The aim of "
            f"{AIM_GPU_HOURS:g} GPU-hour for the whole study would need about {total / AIM_GPU_HOURS:.0f}x "
            f"these rates; Table 1's runs alone take {by_part.get('table1', 0.0):.1f} GPU-hours.",
            "",
        ]
    return "\n".join(lines)
