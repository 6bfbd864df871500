"""Figures of one training run: learning curves, CMC curve, confusion matrix, per-subject accuracy.

Each function returns a matplotlib Figure and draws nothing of the faces, so the
figures are safe to publish for any database.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator


def learning_curves(history: pd.DataFrame, checkpoint_epoch: int | None = None) -> Figure:
    """Loss and rank-1 accuracy per epoch (train and validation), the selected epoch marked."""
    fig = Figure(figsize=(9, 3.2), layout="constrained")
    loss_ax, acc_ax = fig.subplots(1, 2)
    loss_ax.plot(history["epoch"], history["train_loss"], label="train", marker=".")
    acc_ax.plot(history["epoch"], history["train_acc"], label="train (augmented)", marker=".")
    if history["val_acc"].notna().any():
        val = history.dropna(subset=["val_acc"])
        loss_ax.plot(val["epoch"], val["val_loss"], label="validation", marker=".")
        acc_ax.plot(val["epoch"], val["val_acc"], label="validation", marker=".")
    for ax in (loss_ax, acc_ax):
        if checkpoint_epoch:
            ax.axvline(checkpoint_epoch, color="grey", linestyle="--", linewidth=1, label="selected epoch")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize="small")
    loss_ax.set_ylabel("cross-entropy")
    acc_ax.set_ylabel("rank-1 accuracy")
    acc_ax.set_ylim(-0.02, 1.02)
    return fig


def cmc(curves: dict[str, np.ndarray], chance_classes: int | None = None) -> Figure:
    """Cumulative match characteristic curves (rank k vs. accuracy), one per labelled part."""
    fig = Figure(figsize=(4.5, 3.2), layout="constrained")
    ax = fig.subplots()
    for label, curve in curves.items():
        ranks = np.arange(1, len(curve) + 1)
        ax.step(ranks, curve, where="post", label=label, marker=".")
    if chance_classes:
        ranks = np.arange(1, chance_classes + 1)
        ax.plot(ranks, ranks / chance_classes, color="grey", linestyle=":", label="chance")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("rank k")
    ax.set_ylabel("rank-k accuracy")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize="small")
    return fig


def confusion(matrix: np.ndarray, classes: Sequence[str], title: str = "test clips") -> Figure:
    """Confusion matrix (rows true subject, columns predicted), counts annotated when small."""
    size = max(3.5, 0.28 * len(classes) + 1.5)
    fig = Figure(figsize=(size + 0.8, size), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(matrix, cmap="Blues", vmin=0)
    ax.set_xticks(range(len(classes)), classes, rotation=90, fontsize="small")
    ax.set_yticks(range(len(classes)), classes, fontsize="small")
    ax.set_xlabel("predicted subject")
    ax.set_ylabel("true subject")
    ax.set_title(title)
    if len(classes) <= 30:
        for (i, j), count in np.ndenumerate(matrix):
            if count:
                ax.text(
                    j,
                    i,
                    str(count),
                    ha="center",
                    va="center",
                    fontsize="x-small",
                    color="white" if count > matrix.max() / 2 else "black",
                )
    fig.colorbar(image, ax=ax, shrink=0.8, label="clips")
    return fig


def per_subject(table: pd.DataFrame, overall: float | None = None) -> Figure:
    """Rank-1 accuracy per subject (bar), with each subject's number of clips on the bar."""
    fig = Figure(figsize=(max(4.5, 0.3 * len(table) + 2), 3.2), layout="constrained")
    ax = fig.subplots()
    positions = np.arange(len(table))
    ax.bar(positions, table["accuracy"], color="tab:blue")
    for x, (acc, n) in enumerate(zip(table["accuracy"], table["n_clips"])):
        ax.text(x, min(acc, 0.95) + 0.02, str(n), ha="center", fontsize="x-small")
    if overall is not None:
        ax.axhline(overall, color="grey", linestyle="--", linewidth=1, label=f"all clips {overall:.2f}")
        ax.legend(fontsize="small")
    ax.set_xticks(positions, table["subject"], rotation=90, fontsize="small")
    ax.set_xlabel("subject (number of test clips on the bar)")
    ax.set_ylabel("rank-1 accuracy")
    ax.set_ylim(0, 1.05)
    return fig
