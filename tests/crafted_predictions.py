"""A run folder's predictions.csv crafted from which test clips are right (shared by the results and
controls tests, whose summaries recompute intervals from the predictions)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd


def write_predictions(
    folder: Path, subjects: Sequence[str], correct: Sequence[bool], classes: Sequence[str] | None = None
) -> Path:
    """``folder/predictions.csv`` with one test clip per entry: the true subject gets the top probability
    where ``correct``, the next class (in ``classes`` order) where not."""
    classes = list(classes or sorted(set(subjects)))
    proba = np.zeros((len(subjects), len(classes)))
    for row, (subject, right) in enumerate(zip(subjects, correct)):
        index = classes.index(subject)
        proba[row, index if right else (index + 1) % len(classes)] = 1.0
    frame = pd.DataFrame(
        {
            "clip_key": [f"k{i}" for i in range(len(subjects))],
            "subject": list(subjects),
            "part": "test",
            "predicted": [classes[i] for i in proba.argmax(axis=1)],
        }
    )
    frame = pd.concat([frame, pd.DataFrame(proba, columns=[f"p:{c}" for c in classes])], axis=1)
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_csv(folder / "predictions.csv", index=False)
    return folder
