"""The synthetic corpus's truth (``synth_truth/``: moving-region mask, motion curve) mapped into a model input."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from mlib.preprocess import window_frame_numbers
from mlib.synth.layouts import TRUTH_DIR


def synthetic_truth(synth_root: str | Path, row: Mapping, width: int, indices: np.ndarray, size: int):
    """The generator's moving-region mask and motion curve mapped into the model input.

    The cache must come from this version of the corpus (its onset and offset
    equal ``truth.csv``'s). The mask (original frame pixels) is cut with the cache's crop box and resized
    to the model's ``size`` (area interpolation, kept where >= 0.5); the curve (one
    value per original frame from ``first_frame`` in ``truth.csv``) is read at the
    frame shown by each model frame (cache positions ``indices`` of a ``width``-frame
    window). Returns ``(mask (size, size) bool, curve (T,), inside)`` where ``inside``
    is the share of the true moving pixels that lie in the crop box (below 1 when
    the face detector missed part of the face).
    """
    truth_dir = Path(synth_root) / TRUTH_DIR
    key = row["clip_key"]
    path, table = truth_dir / f"{key}.npz", truth_dir / "truth.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no generator truth for clip {key}")
    truth = _truth_table(table)
    if key not in truth.index:
        raise ValueError(f"{table}: no row for clip {key}")
    for name in ("onset", "offset"):
        if int(truth.loc[key, name]) != int(row[name]):
            raise ValueError(
                f"{table}: clip {key} has {name} {truth.loc[key, name]}, the cache index {row[name]}: the cache was "
                "made from an older version of this synthetic corpus (run mlib prepare again)"
            )
    with np.load(path, allow_pickle=False) as data:
        mask, curve = np.asarray(data["motion_mask"], bool), np.asarray(data["motion_curve"], np.float32)
    x, y, w, h = (int(row[name]) for name in ("box_x", "box_y", "box_w", "box_h"))
    patch = mask[y : y + h, x : x + w].astype(np.float32)
    if patch.shape != (h, w) or w < 1 or h < 1:
        raise ValueError(f"{path}: the cache's crop box {(x, y, w, h)} for {key} does not fit its mask {mask.shape}")
    region = cv2.resize(patch, (size, size), interpolation=cv2.INTER_AREA) >= 0.5
    shown = window_frame_numbers(row, width)[np.asarray(indices)]
    positions = np.clip(shown - int(truth.loc[key, "first_frame"]), 0, len(curve) - 1)
    inside = float(patch.sum() / mask.sum()) if mask.any() else float("nan")
    return region, curve[positions], inside


def _truth_table(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the synthetic corpus has no truth table")
    return pd.read_csv(path, dtype={"clip_key": str, "subject": str}).set_index("clip_key")
