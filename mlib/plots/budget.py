"""The motion-budget page's figure: SlowFast's rank-1 on motion-only against its training budget."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def budget_figure(table: pd.DataFrame, target: float, verdict: str = ""):
    """Left: rank-1 against training epochs, one line per input (and sampling) and corpus size, each point with
    its 95 % interval (subjects, then their clips), chance and the target; right: the same runs against their
    training wall minutes on 2 CPU cores."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    groups = table.groupby(["input", "sampling", "clips_per_subject"], sort=False)
    for (kind, sampling, clips), rows in groups:
        rows = rows.sort_values("epochs")
        name = kind if sampling == "window" else f"{kind}, {sampling} sampling"
        error = np.vstack([rows["rank1"] - rows["ci_low"], rows["ci_high"] - rows["rank1"]]).clip(min=0)
        for ax, x in zip(axes, ("epochs", "minutes")):
            ax.errorbar(rows[x], rows["rank1"], yerr=error, fmt="o-", capsize=3, label=f"{name}, {clips} clips/subject")
    for ax in axes:
        ax.axhline(table["chance"].max(), color="grey", linestyle=":", label="chance")
        ax.axhline(target, color="tab:green", linestyle="--", label=f"target {target:g}")
        ax.set_ylim(0, 1.02)
    axes[0].set(xlabel="training epochs", ylabel="test rank-1 (motion-only)")
    axes[1].set(xlabel="training wall time, minutes (2 shared CPU cores)")
    axes[1].legend(fontsize=7, loc="upper left")
    if verdict:
        fig.suptitle(verdict, fontsize=9)
    fig.tight_layout()
    return fig
