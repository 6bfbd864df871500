"""Figures about the data: the crop on original frames, the window on a clip's timeline, split parts.

Each function takes rows of the clip table (``book/formats.md`` section 2),
the cache index (section 3) or a split file (section 4) and returns a
matplotlib figure; saving and showing are the caller's business.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from mlib.datasets.window import annotation_positions
from mlib.preprocess.cache import read_rgb

PART_COLOURS = {"train": "#4c72b0", "val": "#dd8452", "test": "#55a868", "excluded": "#999999", "unlisted": "#cccccc"}


def crop_montage(clip: Mapping, row: Mapping) -> Figure:
    """The clip's ORIGINAL onset, apex and offset frames with the cached crop box drawn on each."""
    positions = annotation_positions(clip["frame_numbers"], clip["onset"], clip["apex"], clip["offset"])
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.6), constrained_layout=True)
    box = (row["box_x"], row["box_y"], row["box_w"], row["box_h"])
    for ax, label, pos in zip(axes, ("onset", "apex", "offset"), positions):
        ax.imshow(read_rgb(clip["frames"][pos]))
        ax.add_patch(Rectangle(box[:2], box[2], box[3], fill=False, edgecolor="yellow", linewidth=2))
        ax.set_title(f"{label}: frame {clip['frame_numbers'][pos]}")
        ax.axis("off")
    fig.suptitle(f"{clip['clip_key']}: crop box ({row['detector']}) {box[2]}x{box[3]} at ({box[0]}, {box[1]})")
    return fig


def window_timeline(clip: Mapping, row: Mapping) -> Figure:
    """The clip's frames, onset..offset, the apex and the cached window (padding hatched) on one axis.

    The axis counts positions in the clip's frame list (frame numbers may have
    gaps); tick labels give the frame numbers.
    """
    numbers = list(clip["frame_numbers"])
    onset, apex, offset = annotation_positions(numbers, clip["onset"], clip["apex"], clip["offset"])
    start, end = numbers.index(int(row["window_start"])), numbers.index(int(row["window_end"]))
    pad_before, pad_after = int(row["pad_before"]), int(row["pad_after"])
    fig, ax = plt.subplots(figsize=(10, 2.4), constrained_layout=True)
    ax.broken_barh([(0, len(numbers))], (0, 1), color="#dddddd", label=f"clip ({len(numbers)} frames)")
    ax.broken_barh([(onset, offset - onset + 1)], (0, 1), color="#f2c45a", label="onset..offset")
    ax.broken_barh([(start, end - start + 1)], (1.2, 1), color=PART_COLOURS["train"], label="window (real frames)")
    if pad_before:
        ax.broken_barh(
            [(start - pad_before, pad_before)],
            (1.2, 1),
            facecolor="white",
            edgecolor="black",
            hatch="//",
            label="padding (repeated end frame)",
        )
    if pad_after:
        ax.broken_barh([(end + 1, pad_after)], (1.2, 1), facecolor="white", edgecolor="black", hatch="//",
                       label=None if pad_before else "padding (repeated end frame)")  # fmt: skip
    ax.axvline(apex + 0.5, color="red", linewidth=2, label=f"apex (frame {numbers[apex]})")
    low, high = min(0, start - pad_before), max(len(numbers), end + 1 + pad_after)
    ticks = np.unique(np.linspace(0, len(numbers) - 1, min(len(numbers), 8)).round().astype(int))
    ax.set_xticks(ticks + 0.5, [str(numbers[t]) for t in ticks])
    ax.set_xlim(low - 1, high + 1)
    ax.set_yticks([0.5, 1.7], ["clip", "window"])
    ax.set_xlabel("frame number (positions in the frame list)")
    ax.set_title(f"{clip['clip_key']}: {pad_before + end - start + 1 + pad_after}-frame window, "
                 f"frames {numbers[start]}..{numbers[end]}, padding {pad_before} + {pad_after}")  # fmt: skip
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    return fig


def split_parts(split: pd.DataFrame) -> Figure:
    """Clips per subject in each part of a split, one stacked bar per subject."""
    table = split.groupby(["subject", "part"]).size().unstack(fill_value=0)
    table = table.reindex(columns=[p for p in PART_COLOURS if p in table.columns])
    fig, ax = plt.subplots(figsize=(max(5, 0.35 * len(table) + 2), 3.2), constrained_layout=True)
    bottom = np.zeros(len(table))
    for part in table.columns:
        ax.bar(table.index.astype(str), table[part], bottom=bottom, color=PART_COLOURS[part], label=part)
        bottom += table[part].to_numpy()
    ax.set_xlabel("subject")
    ax.set_ylabel("clips")
    ax.tick_params(axis="x", rotation=90)
    ax.legend(fontsize=8)
    return fig
