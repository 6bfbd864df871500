"""Figures of what the original grid produced (``mlib.paper.original``'s tables); each returns a matplotlib Figure."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mlib.paper import DATASET_NAMES


def grid_distributions(runs: pd.DataFrame, summary: pd.DataFrame) -> Figure:
    """Every original grid run's test top-1 (dots) per database, with the rates that frame it.

    ``runs`` is ``load_runs()``, ``summary`` is ``grid_summary(runs)``: the
    median run, the majority-class rate, the ceiling set by untrained test
    subjects and the paper's Table 2 number are horizontal marks.
    """
    fig = Figure(figsize=(7.5, 3.6), layout="constrained")
    ax = fig.subplots()
    rng = np.random.default_rng(0)
    marks = {
        "median": ("black", "-", "median run"),
        "majority-class rate": ("tab:grey", ":", "majority-class rate"),
        "ceiling": ("tab:orange", "--", "ceiling (untrained test subjects)"),
        "paper Table 2": ("tab:red", "-", "paper, Table 2 (the best test run)"),
    }
    names = runs["dataset"].map(DATASET_NAMES)
    for x, (_, row) in enumerate(summary.iterrows()):
        scores = runs.loc[names == row["database"], "test_rank1"].to_numpy(float)
        ax.scatter(
            x + rng.uniform(-0.15, 0.15, len(scores)),
            scores,
            s=14,
            color="tab:blue",
            alpha=0.7,
            label="one grid run" if x == 0 else None,
        )
        for key, (colour, line, label) in marks.items():
            ax.hlines(
                row[key],
                x - 0.3,
                x + 0.3,
                colors=colour,
                linestyles=line,
                linewidth=1.8,
                label=label if x == 0 else None,
            )
    ax.set_xticks(range(len(summary)), [f"{d}\n({n} runs)" for d, n in zip(summary["database"], summary["runs"])])
    ax.set_ylabel("test top-1")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return fig


def fusion_pairs(pairs: pd.DataFrame, table3: pd.Series | None = None) -> Figure:
    """Each pair's macro vote against its better member, per database; the Table 3 pair circled.

    ``pairs`` is ``load_fusion_pairs()``; ``table3`` one of its rows. Points
    above the diagonal are pairs whose vote beat both members.
    """
    databases = list(dict.fromkeys(pairs["dataset"]))
    fig = Figure(figsize=(3.0 * len(databases) + 0.5, 3.2), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(databases), squeeze=False)[0])
    for ax, database in zip(axes, databases):
        group = pairs[pairs["dataset"] == database]
        better = group[["SlowFast_0_accuracy", "SlowFast_1_accuracy"]].max(axis=1)
        ax.scatter(better, group["MacroMajorityVoteCombiner_accuracy"], s=8, alpha=0.5, color="tab:blue")
        ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8)
        if table3 is not None and table3["dataset"] == database:
            ax.scatter(
                [max(table3["SlowFast_0_accuracy"], table3["SlowFast_1_accuracy"])],
                [table3["MacroMajorityVoteCombiner_accuracy"]],
                s=140,
                facecolors="none",
                edgecolors="tab:red",
                linewidths=1.6,
                label="Table 3 pair",
            )
            ax.legend(fontsize=7, loc="lower right")
        ax.set_title(f"{DATASET_NAMES[database]} ({len(group)} pairs)", fontsize=9)
        ax.set_xlabel("better member's test top-1")
        ax.set_xlim(0, 1.02)
        ax.set_ylim(0, 1.02)
    axes[0].set_ylabel("macro vote's test top-1")
    return fig


def best_of_n(curves: pd.DataFrame, table: pd.DataFrame) -> Figure:
    """Expected best test top-1 of n runs drawn from each grid's scores; each grid's own N and best marked.

    ``curves`` is ``best_of_n_curves``, ``table`` is ``best_of_n_table``.
    """
    fig = Figure(figsize=(6.5, 3.4), layout="constrained")
    ax = fig.subplots()
    for (database, curve), colour in zip(
        curves.groupby("database", sort=False), ("tab:blue", "tab:green", "tab:purple")
    ):
        ax.plot(curve["n"], curve["expected best"], color=colour, label=f"{database}: expected best of n")
        row = table[table["database"] == database].iloc[0]
        ax.scatter([row["runs (N)"]], [row["best run (reported)"]], color=colour, marker="*", s=120, zorder=3)
        ax.axhline(row["median run"], color=colour, linestyle=":", linewidth=1)
    ax.scatter([], [], color="black", marker="*", s=80, label="the grid's reported best (n = its runs)")
    ax.plot([], [], color="black", linestyle=":", label="the grid's median run")
    ax.set_xlabel("runs tried, the best on test reported (n)")
    ax.set_ylabel("test top-1")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=7, loc="lower right")
    return fig


def our_grid_picks(picks: pd.DataFrame) -> Figure:
    """Per grid folder (split seed): the best test pick, the validation pick and the median run, on test."""
    fig = Figure(figsize=(max(4.0, 1.2 * len(picks) + 2), 3.2), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(picks))
    for column, marker, colour in (
        ("best test pick", "^", "tab:red"),
        ("validation pick (test)", "o", "tab:blue"),
        ("median run", "_", "black"),
    ):
        ax.scatter(x, picks[column], marker=marker, color=colour, s=60, label=column)
    ax.set_xticks(x, [str(g).rstrip("/").split("/")[-1] for g in picks["grid"]], rotation=30, ha="right", fontsize=7)
    ax.set_ylabel("test rank-1")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=7, loc="lower right")
    return fig
