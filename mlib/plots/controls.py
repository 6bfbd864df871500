"""The controls page's figure: rank-1 per input variant with intervals, chance, majority and positive control."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def controls_figure(summary: pd.DataFrame, verdicts: pd.DataFrame | None = None):
    """One panel per corpus: each variant's rank-1 (mean over split seeds) with its 95 % interval (subjects,
    then clips; the seeds' resamples pooled), the chance and majority-class lines, the positive control if given; titles give the verdicts."""
    corpora = list(summary["corpus"].unique())
    fig, axes = plt.subplots(1, len(corpora), figsize=(4.2 * len(corpora), 3.6), squeeze=False, sharey=True)
    said = {} if verdicts is None else dict(zip(verdicts["corpus"], verdicts["verdict"]))
    for ax, corpus in zip(axes[0], corpora):
        rows = summary[summary["corpus"] == corpus].reset_index(drop=True)
        x = np.arange(len(rows))
        error = np.vstack([rows["rank1"] - rows["ci_low"], rows["ci_high"] - rows["rank1"]]).clip(min=0)
        ax.errorbar(
            x,
            rows["rank1"],
            yerr=error,
            fmt="o",
            color="black",
            capsize=3,
            label="rank-1, 95 % interval\n(subjects, then clips)",
        )
        ax.axhline(rows["chance"].mean(), color="grey", linestyle=":", label="chance")
        ax.axhline(rows["majority"].mean(), color="tab:orange", linestyle="--", label="majority class")
        if rows["positive_control"].notna().any():
            ax.axhline(rows["positive_control"].max(), color="tab:green", linestyle="-.", label="positive control")
        ax.set_xticks(x, rows["variant"], rotation=35, ha="right")
        ax.set_ylim(0, 1.02)
        ax.set_title(f"{corpus}: {said[corpus]}" if corpus in said else corpus, fontsize=9)
    axes[0][0].set_ylabel("test rank-1")
    axes[0][-1].legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    return fig
