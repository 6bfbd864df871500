"""Identification metrics from labels and class probabilities (what predictions.csv holds).

Every function takes ``y_true`` (subject ids, text), ``proba`` (n_clips x n_classes)
and ``classes`` (the column order of ``proba``). Rank-k counts a clip as correct
when its true subject is among the k highest probabilities. Ties go to the
earlier class, as ``argmax`` and predictions.csv's ``predicted`` do; this is the
one point where we differ from scikit-learn's ``top_k_accuracy_score`` (which
prefers the later class), so :func:`rank_k` uses scikit-learn only on rows free
of ties at the k-th place and the two agree whenever the scores are tie-free.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import confusion_matrix, top_k_accuracy_score

PROBA_PREFIX = "p:"


@dataclass
class Predictions:
    """One part of a predictions.csv: clip keys, true subjects, probabilities, class order."""

    clip_keys: list[str]
    y_true: list[str]
    proba: np.ndarray
    classes: list[str]

    @property
    def y_pred(self) -> list[str]:
        return predicted_labels(self.proba, self.classes)


def read_predictions(path: str | Path, part: str | None = "test") -> Predictions:
    """Read a run's predictions.csv (``book/formats.md`` section 5); ``part=None`` keeps all rows."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such predictions file")
    frame = pd.read_csv(path, dtype={"clip_key": str, "subject": str, "part": str, "predicted": str}, keep_default_na=False)
    columns = [c for c in frame.columns if c.startswith(PROBA_PREFIX)]
    missing = [c for c in ("clip_key", "subject", "part") if c not in frame.columns]
    if missing or not columns:
        raise ValueError(f"{path}: expected columns clip_key, subject, part and p:<subject>; missing {missing or 'p:*'}")
    if part is not None:
        frame = frame[frame["part"] == part]
    classes = [c[len(PROBA_PREFIX):] for c in columns]
    return Predictions(list(frame["clip_key"]), list(frame["subject"]), frame[columns].to_numpy(float), classes)


def predicted_labels(proba: np.ndarray, classes: Sequence[str]) -> list[str]:
    return [classes[i] for i in np.asarray(proba).argmax(axis=1)]


def true_ranks(y_true: Sequence[str], proba: np.ndarray, classes: Sequence[str]) -> np.ndarray:
    """1-based rank of each clip's true subject among the classes (1 = top prediction)."""
    proba = np.asarray(proba, dtype=float)
    position = {c: i for i, c in enumerate(classes)}
    unknown = sorted(set(y_true) - set(position))
    if unknown:
        raise ValueError(f"true subject(s) {unknown} are not among the classes")
    truth = np.array([position[y] for y in y_true], dtype=int)
    order = np.argsort(-proba, axis=1, kind="stable")
    return np.argmax(order == truth[:, None], axis=1) + 1


def cmc_curve(y_true: Sequence[str], proba: np.ndarray, classes: Sequence[str]) -> np.ndarray:
    """Cumulative match characteristic: entry k-1 is the rank-k accuracy, k = 1..n_classes."""
    ranks = true_ranks(y_true, proba, classes)
    counts = np.bincount(ranks, minlength=len(classes) + 1)[1:]
    return np.cumsum(counts) / max(len(ranks), 1)


def rank_k(y_true: Sequence[str], proba: np.ndarray, classes: Sequence[str], k: int = 1) -> float:
    """Rank-k accuracy: scikit-learn's ``top_k_accuracy_score`` when no score ties, else our ranks."""
    if len(y_true) == 0:
        return float("nan")
    if k >= len(classes):
        return 1.0
    proba = np.asarray(proba, dtype=float)
    tie_free = all(len(np.unique(row)) == len(row) for row in proba)
    if len(classes) > 2 and tie_free:
        return float(top_k_accuracy_score(list(y_true), proba, k=k, labels=list(classes)))
    return float(cmc_curve(y_true, proba, classes)[k - 1])


def confusion(y_true: Sequence[str], proba: np.ndarray, classes: Sequence[str]) -> np.ndarray:
    """Confusion matrix (rows true, columns predicted) in class order."""
    return confusion_matrix(list(y_true), predicted_labels(proba, classes), labels=list(classes))


def per_subject_accuracy(y_true: Sequence[str], proba: np.ndarray, classes: Sequence[str]) -> pd.DataFrame:
    """Rank-1 accuracy per true subject: columns subject, n_clips, correct, accuracy."""
    frame = pd.DataFrame({"subject": list(y_true), "correct": np.asarray(predicted_labels(proba, classes)) == np.asarray(y_true)})
    table = frame.groupby("subject", sort=True)["correct"].agg(n_clips="size", correct="sum").reset_index()
    table["accuracy"] = table["correct"] / table["n_clips"]
    return table


def within_group_rank1(y_true: Sequence[str], proba: np.ndarray, classes: Sequence[str],
                       groups: Mapping[str, str]) -> dict:
    """Rank-1 among the subjects of each clip's own group, and its chance (the mean of 1 / group size).

    On the twins corpus a group is the subjects sharing one face: appearance
    already finds the group, so only this number says whether the model tells
    the twins apart (by movement). Each clip's probabilities are restricted to
    the classes of its true subject's group; ties go to the earlier class.
    """
    unknown = sorted({*y_true, *classes} - set(groups))
    if unknown:
        raise ValueError(f"subject(s) {unknown} have no group")
    proba = np.asarray(proba, dtype=float)
    label = np.array([groups[c] for c in classes])
    hits, chances = [], []
    for subject, row in zip(y_true, proba):
        members = np.flatnonzero(label == groups[subject])
        hits.append(classes[members[np.argmax(row[members])]] == subject)
        chances.append(1.0 / len(members))
    if not hits:
        return {"rank1": float("nan"), "chance": float("nan"), "n_clips": 0}
    return {"rank1": float(np.mean(hits)), "chance": float(np.mean(chances)), "n_clips": len(hits)}


def bootstrap_rank1_ci(
    y_true: Sequence[str], proba: np.ndarray, classes: Sequence[str], n_boot: int = 2000, level: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of rank-1 accuracy, resampling clips with replacement (seeded)."""
    correct = true_ranks(y_true, proba, classes) == 1
    if len(correct) == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    samples = rng.integers(0, len(correct), size=(n_boot, len(correct)))
    means = correct[samples].mean(axis=1)
    tail = (1 - level) / 2
    return float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail))


def summarize(y_true: Sequence[str], proba: np.ndarray, classes: Sequence[str], seed: int = 0) -> dict:
    """The per-part numbers metrics.json holds."""
    low, high = bootstrap_rank1_ci(y_true, proba, classes, seed=seed)
    return {
        "rank1": rank_k(y_true, proba, classes, 1),
        "rank5": rank_k(y_true, proba, classes, 5),
        "rank1_ci95": [low, high],
        "n_clips": len(y_true),
        "n_subjects": len(set(y_true)),
        "chance": 1.0 / len(classes),
    }
