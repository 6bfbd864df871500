"""The open-set page's figures: ROC and DET of verification on unseen people, and EER per input control."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy.stats import norm  # noqa: E402

DET_TICKS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.4, 0.6)


def roc_det_figure(curves: dict, methods: list[str], corpus: str):
    """Left: ROC (FMR vs 1 - FNMR); right: DET with normal-deviate axes (probit of FMR and FNMR), one line per
    method, from the folds' verification pairs pooled. Rates of 0 or 1 fall off the DET's axes."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 4))
    for method in methods:
        roc, det = curves[(corpus, method)]["roc"], curves[(corpus, method)]["det"]
        (line,) = left.plot(roc["fmr"], 1 - roc["fnmr"], label=method)
        inside = (det["fmr"] > 0) & (det["fmr"] < 1) & (det["fnmr"] > 0) & (det["fnmr"] < 1)
        right.plot(norm.ppf(det["fmr"][inside]), norm.ppf(det["fnmr"][inside]), color=line.get_color(), label=method)
    left.plot([0, 1], [0, 1], color="grey", linestyle=":", label="chance")
    left.set(xlabel="false-match rate (FMR)", ylabel="1 - false-non-match rate", title=f"ROC, unseen people ({corpus})")
    ticks = norm.ppf(DET_TICKS)
    right.plot(ticks[[0, -1]], ticks[[0, -1]], color="grey", linestyle=":", label="FMR = FNMR (EER)")
    right.set_xticks(ticks, [f"{t:.0%}" for t in DET_TICKS])
    right.set_yticks(ticks, [f"{t:.0%}" for t in DET_TICKS])
    right.set(
        xlim=ticks[[0, -1]],
        ylim=ticks[[0, -1]],
        xlabel="FMR (normal-deviate scale)",
        ylabel="FNMR (normal-deviate scale)",
        title="DET",
    )
    left.legend(fontsize=7, loc="lower right")
    right.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    return fig


def control_eer_figure(table: pd.DataFrame):
    """One panel per corpus: each SlowFast input control's EER on unseen people with its 95 % interval
    (probe subjects resampled; lower is better; 0.5 is a coin)."""
    rows = table[table["kind"] == "slowfast"]
    corpora = list(rows["corpus"].unique())
    fig, axes = plt.subplots(1, len(corpora), figsize=(3.6 * len(corpora), 3.4), squeeze=False, sharey=True)
    for ax, corpus in zip(axes[0], corpora):
        mine = rows[rows["corpus"] == corpus].reset_index(drop=True)
        x = np.arange(len(mine))
        error = np.vstack([mine["eer"] - mine["eer_low"], mine["eer_high"] - mine["eer"]]).clip(min=0)
        ax.errorbar(
            x, mine["eer"], yerr=error, fmt="o", color="black", capsize=3, label="EER, 95 % interval (subjects)"
        )
        ax.axhline(0.5, color="grey", linestyle=":", label="no better than a coin")
        ax.set_xticks(x, mine["method"], rotation=35, ha="right")
        ax.set_ylim(0, 0.7)
        ax.set_title(corpus, fontsize=9)
    axes[0][0].set_ylabel("EER on unseen people (lower is better)")
    axes[0][-1].legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    return fig
