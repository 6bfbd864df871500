"""Figure of the hand-crafted baseline: test rank-1 per feature set, coloured by what it sees.

Draws no faces, so it is safe to publish for any database.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

KIND_COLOURS = {"appearance": "tab:orange", "motion": "tab:blue", "appearance+motion": "tab:purple"}
"""Colour per ``mlib.experiments.baseline.FEATURE_SEES`` label."""


def feature_set_accuracy(table: pd.DataFrame, paper_rank1: float | None = None, paper_label: str = "paper") -> Figure:
    """Bars of test rank-1 per feature set with 95 % intervals (subjects, then clips), chance and the paper's
    number as lines.

    ``table`` is ``mlib.experiments.baseline.results_table``'s output.
    """
    fig = Figure(figsize=(6, 3.2), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(table))
    rank1 = table["test_rank1"].to_numpy(float)
    errors = np.vstack([rank1 - table["test_ci_low"].to_numpy(float), table["test_ci_high"].to_numpy(float) - rank1])
    colours = [KIND_COLOURS.get(kind, "grey") for kind in table["kind"]]
    ax.bar(x, rank1, yerr=errors, color=colours, capsize=4)
    ax.axhline(float(table["chance"].iloc[0]), color="grey", linestyle=":", linewidth=1, label="chance")
    if paper_rank1 is not None:
        ax.axhline(paper_rank1, color="black", linestyle="--", linewidth=1, label=paper_label)
    for kind, colour in KIND_COLOURS.items():
        if kind in set(table["kind"]):
            ax.bar([np.nan], [np.nan], color=colour, label=kind)
    ax.set_xticks(x, table["features"], rotation=20)
    ax.set_ylabel("test rank-1 accuracy")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize="small", loc="lower right")
    return fig
