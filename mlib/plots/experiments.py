"""Figures of the experiments: grid heat maps, seed spread, single models vs ensembles, Table 3, tie order.

Each function takes the tables that ``mlib.experiments.grid`` and ``mlib.experiments.ensemble`` write
(``grid.csv``, ``ensembles.csv``, ``table3.csv``) and returns a matplotlib
Figure. Nothing here draws a face.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

ROW, COL = "model.alpha", "model.beta_inv"
FACETS = ("train.optimizer", "train.batch_size", "train.lr")


def _facet_keys(table: pd.DataFrame, facets: Sequence[str]) -> list[str]:
    """The facet columns that actually vary (one panel per combination of them)."""
    return [f for f in facets if f in table and table[f].nunique(dropna=True) > 1]


def accuracy_heatmaps(
    table: pd.DataFrame, value: str = "val_rank1", row: str = ROW, col: str = COL, facets: Sequence[str] = FACETS
) -> Figure:
    """Mean ``value`` over seeds on an alpha x beta_inv grid, one panel per solver/batch/lr.

    Cells read "mean (n runs)"; a cell whose runs all failed reads "failed";
    combinations not in the grid are blank.
    """
    keys = _facet_keys(table, facets)
    groups = list(table.groupby(keys, sort=True)) if keys else [((), table)]
    rows, cols = sorted(table[row].dropna().unique()), sorted(table[col].dropna().unique())
    fig = Figure(figsize=(3.4 * len(groups) + 0.8, 0.75 * len(rows) + 1.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(groups), squeeze=False)[0])
    image = None
    for ax, (name, group) in zip(axes, groups):
        done = group[group["status"] == "done"]
        means = done.pivot_table(index=row, columns=col, values=value, aggfunc="mean").reindex(index=rows, columns=cols)
        counts = done.pivot_table(index=row, columns=col, values=value, aggfunc="count").reindex(
            index=rows, columns=cols
        )
        tried = group.pivot_table(index=row, columns=col, values="config_id", aggfunc="count").reindex(
            index=rows, columns=cols
        )
        image = ax.imshow(means.to_numpy(float), vmin=0, vmax=1, cmap="viridis", aspect="auto")
        for i in range(len(rows)):
            for j in range(len(cols)):
                mean = means.iat[i, j]
                if np.isfinite(mean):
                    text, colour = f"{mean:.2f}\n({int(counts.iat[i, j])})", "white" if mean < 0.6 else "black"
                elif np.nan_to_num(tried.iat[i, j]) > 0:
                    text, colour = "failed", "red"
                else:
                    continue
                ax.text(j, i, text, ha="center", va="center", fontsize=8, color=colour)
        ax.set_xticks(range(len(cols)), [str(c) for c in cols])
        ax.set_yticks(range(len(rows)), [str(r) for r in rows])
        ax.set_xlabel(col.split(".")[-1])
        ax.set_ylabel(row.split(".")[-1])
        name = name if isinstance(name, tuple) else (name,)
        ax.set_title(", ".join(f"{k.split('.')[-1]} {v}" for k, v in zip(keys, name)) or "all runs", fontsize=9)
    fig.colorbar(image, ax=list(axes), label=value.replace("_", " "), shrink=0.9)
    return fig


def seed_spread(table: pd.DataFrame, value: str = "test_rank1", seed: str = "train.seed") -> Figure:
    """Each configuration's ``value`` for every seed (dots) and their mean (bar): the run-to-run spread."""
    done = table[table["status"] == "done"].copy()
    settings = [c for c in (ROW, COL, *FACETS) if c in done and done[c].nunique() > 1] or [ROW]
    done["configuration"] = done[settings].astype(str).agg(" ".join, axis=1)
    order = done.groupby("configuration")[value].mean().sort_values(ascending=False).index.tolist()
    fig = Figure(figsize=(max(4.0, 0.6 * len(order) + 1.5), 3.4), layout="constrained")
    ax = fig.subplots()
    for x, name in enumerate(order):
        values = done.loc[done["configuration"] == name, value].to_numpy(float)
        ax.bar(x, values.mean(), color="lightgrey", width=0.7)
        ax.scatter(np.full(len(values), x), values, color="black", s=14, zorder=3)
    ax.set_xticks(range(len(order)), order, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel(value.replace("_", " "))
    ax.set_ylim(0, 1.02)
    ax.set_title(f"spread over seeds ({' '.join(s.split('.')[-1] for s in settings)})", fontsize=9)
    return fig


def single_vs_ensemble(ensembles: pd.DataFrame, picks: Mapping[str, pd.Series] | None = None) -> Figure:
    """Test rank-1 of every single run and every searched ensemble, by size and method.

    ``picks`` (label -> row of ``ensembles``) are circled and named, e.g. the
    validation pick and the test pick.
    """
    fig = Figure(figsize=(6.5, 3.6), layout="constrained")
    ax = fig.subplots()
    methods = list(dict.fromkeys(ensembles["method"]))
    voting = [m for m in methods if m != "single"]
    rng = np.random.default_rng(0)
    width = 0.7 / max(len(voting), 1)
    for method in methods:
        part = ensembles[ensembles["method"] == method]
        offset = 0.0 if method == "single" else (voting.index(method) - (len(voting) - 1) / 2) * width
        x = part["size"].to_numpy(float) + offset
        ax.scatter(x + rng.uniform(-width / 4, width / 4, len(part)), part["test_rank1"], s=12, alpha=0.7, label=method)
    for (label, row), marker in zip((picks or {}).items(), ("o", "s", "D", "^")):
        ax.scatter(
            [row["size"]],
            [row["test_rank1"]],
            s=160,
            facecolors="none",
            edgecolors="black",
            marker=marker,
            linewidths=1.4,
            label=label,
            zorder=4,
        )
    ax.set_xticks(sorted(ensembles["size"].unique()))
    ax.set_xlabel("runs in the ensemble (1 = a single model)")
    ax.set_ylabel("test rank-1")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=7, loc="lower right")
    return fig


def table3_chart(pair: pd.DataFrame, paper: Mapping[str, float] | None = None) -> Figure:
    """One Adam/AdamW pair: each alone and their votes, test rank-1 with its 95 % interval (subjects, then clips).

    ``paper`` (model label -> accuracy, the paper's Table 3) is drawn as labelled
    markers beside our bars.
    """
    fig = Figure(figsize=(6, 3.4), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(pair))
    values = pair["test_rank1"].to_numpy(float)
    errors = np.vstack([values - pair["test_ci_low"].to_numpy(float), pair["test_ci_high"].to_numpy(float) - values])
    ax.bar(
        x,
        values,
        yerr=errors,
        capsize=4,
        color="tab:blue",
        alpha=0.8,
        label="ours (test rank-1, 95 % interval:\nsubjects, then clips)",
    )
    if paper:
        keys = [m if m in paper else ("ensemble" if "vote" in m and "hard" in m else None) for m in pair["model"]]
        px = [i for i, k in enumerate(keys) if k in paper]
        ax.scatter(
            px,
            [paper[keys[i]] for i in px],
            color="tab:red",
            marker="_",
            s=600,
            linewidths=2.5,
            label="paper, Table 3 (SMIC, real data)",
            zorder=4,
        )
    ax.set_xticks(x, pair["model"], fontsize=8)
    ax.set_ylabel("test rank-1")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=7, loc="lower right")
    return fig


def tie_order_spread(spread: pd.DataFrame) -> Figure:
    """Rank-1 of one pair's vote over random class numberings (bars), its other rules as lines.

    ``spread`` is ``mlib.experiments.ensemble.tie_order_spread``'s table: the bars count
    the ``random numbering`` rows per accuracy; the original numbering, our
    tie rule, the soft vote and each member alone are vertical lines.
    """
    value = next(c for c in spread.columns if c.endswith("_rank1"))
    random = spread.loc[spread["rule"] == "random numbering", value]
    counts = random.value_counts().sort_index()
    n_clips = int(spread["n_clips"].iloc[0])
    fig = Figure(figsize=(6.5, 3.4), layout="constrained")
    ax = fig.subplots()
    ax.bar(
        counts.index,
        counts.to_numpy(),
        width=0.6 / n_clips,
        color="lightgrey",
        edgecolor="grey",
        label=f"original tie rule, {len(random)} random class numberings",
    )
    styles = {"original numbering": ("tab:red", "-"), "ours": ("tab:blue", "-"), "soft": ("tab:green", "--")}
    for _, row in spread[spread["rule"] != "random numbering"].iterrows():
        colour, line = styles.get(row["rule"], ("black", ":"))
        ax.axvline(row[value], color=colour, linestyle=line, linewidth=1.6, label=row["rule"])
    ax.set_xlim(max(0.0, spread[value].min() - 3 / n_clips), min(1.0, spread[value].max() + 3 / n_clips))
    ax.set_xlabel(f"{value.replace('_', ' ')} ({n_clips} clips)")
    ax.set_ylabel("numberings")
    ax.legend(fontsize=7, loc="upper left")
    return fig
