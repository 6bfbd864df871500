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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

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
    frame = pd.read_csv(
        path, dtype={"clip_key": str, "subject": str, "part": str, "predicted": str}, keep_default_na=False
    )
    columns = [c for c in frame.columns if c.startswith(PROBA_PREFIX)]
    missing = [c for c in ("clip_key", "subject", "part") if c not in frame.columns]
    if missing or not columns:
        raise ValueError(
            f"{path}: expected columns clip_key, subject, part and p:<subject>; missing {missing or 'p:*'}"
        )
    if part is not None:
        frame = frame[frame["part"] == part]
    classes = [c[len(PROBA_PREFIX) :] for c in columns]
    proba = frame[columns].apply(pd.to_numeric, errors="coerce")
    if proba.isna().any().any():  # a cut-off file: its last row lacks probabilities
        row = int(np.flatnonzero(proba.isna().any(axis=1).to_numpy())[0])
        raise ValueError(
            f"{path}: line {frame.index[row] + 2} has an empty or non-numeric probability "
            "(a truncated file?); train the run again"
        )
    return Predictions(list(frame["clip_key"]), list(frame["subject"]), proba.to_numpy(float), classes)


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
    frame = pd.DataFrame(
        {"subject": list(y_true), "correct": np.asarray(predicted_labels(proba, classes)) == np.asarray(y_true)}
    )
    table = frame.groupby("subject", sort=True)["correct"].agg(n_clips="size", correct="sum").reset_index()
    table["accuracy"] = table["correct"] / table["n_clips"]
    return table


SUBJECTS_THEN_CLIPS = "subjects, then clips"  # what the default interval resamples (the pages' label)
CLIPS = "test clips"  # what the clip bootstrap resamples


def chance_level(y_true: Sequence[str], classes: Sequence[str]) -> float:
    """The study's one chance level: max(1/K, the test set's majority rate).

    1/K is a uniform guess among the K classes; the majority rate is the share
    of the test clips that belong to the most frequent test subject, what always
    answering that subject would score. On an unbalanced test set the second is
    the bar to beat, so every rule and page reads accuracies against the larger.
    """
    if len(classes) == 0:
        raise ValueError("no classes: chance is undefined")
    majority = pd.Series(list(y_true)).value_counts().max() / len(y_true) if len(y_true) else 0.0
    return float(max(1.0 / len(classes), majority))


def clip_bootstrap_draws(values: Sequence[float], n_boot: int = 2000, seed: int = 0) -> np.ndarray:
    """Means of ``values`` (one per test clip) over ``n_boot`` resamples of the clips with replacement."""
    values = np.asarray(values, dtype=float)
    samples = np.random.default_rng(seed).integers(0, len(values), size=(n_boot, len(values)))
    return values[samples].mean(axis=1)


def hierarchical_bootstrap_draws(
    values: Sequence[float], subjects: Sequence[str], n_boot: int = 2000, seed: int = 0
) -> np.ndarray:
    """Means of ``values`` over ``n_boot`` hierarchical resamples: subjects, then clips within each subject.

    Each resample draws as many subjects as the test set has, with replacement,
    then, for every subject drawn, as many of that subject's clips as it has,
    with replacement; the resample's value is the mean over all clips drawn.
    Clips of one person are not independent (one face, one way of moving), so
    this interval counts the test subjects as the units that vary, where the
    clip bootstrap counts the clips. Seeded: the same inputs and seed give the
    same draws.
    """
    values = np.asarray(values, dtype=float)
    subjects = np.asarray(list(subjects))
    if len(values) != len(subjects):
        raise ValueError(f"{len(values)} values but {len(subjects)} subjects")
    groups = [values[subjects == s] for s in sorted(set(subjects.tolist()))]
    if not groups:
        return np.full(n_boot, np.nan)
    sizes = np.array([len(g) for g in groups])
    padded = np.zeros((len(groups), sizes.max()))
    for i, clips in enumerate(groups):
        padded[i, : len(clips)] = clips
    rng = np.random.default_rng(seed)
    picked = rng.integers(0, len(groups), size=(n_boot, len(groups)))
    sums = np.zeros(n_boot)
    for slot in range(len(groups)):  # one drawn subject per resample at a time, its clips redrawn
        size = sizes[picked[:, slot]][:, None]
        within = np.arange(sizes.max())[None, :] < size
        index = np.minimum((rng.random((n_boot, sizes.max())) * size).astype(int), size - 1)
        sums += np.where(within, padded[picked[:, slot][:, None], index], 0.0).sum(axis=1)
    return sums / sizes[picked].sum(axis=1)


def percentile_interval(draws: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """The central ``level`` percentile interval of bootstrap draws (NaN when there are none)."""
    draws = np.asarray(draws, dtype=float)
    if draws.size == 0 or np.isnan(draws).all():
        return (float("nan"), float("nan"))
    tail = (1 - level) / 2
    return float(np.quantile(draws, tail)), float(np.quantile(draws, 1 - tail))


def pooled_interval(draws_per_seed: Sequence[np.ndarray], level: float = 0.95) -> tuple[float, float]:
    """One interval over several split seeds: the percentile interval of all seeds' draws pooled.

    Each split seed gives its own bootstrap distribution (same number of draws
    each); pooling them is the equal-weight mixture of those distributions, so
    its spread holds both the resampling spread within a split and the spread
    of the rank-1 between splits (a seed whose rank-1 lies far from the others
    widens the interval). With one seed it is that seed's interval.
    """
    found = [np.asarray(d, dtype=float) for d in draws_per_seed if len(d)]
    if not found:
        return (float("nan"), float("nan"))
    if len({len(d) for d in found}) > 1:
        raise ValueError("every split seed needs the same number of bootstrap draws to be pooled with equal weight")
    return percentile_interval(np.concatenate(found), level)


def correct_top1(y_true: Sequence[str], proba: np.ndarray, classes: Sequence[str]) -> np.ndarray:
    """Per clip: is the true subject the top prediction (ties to the earlier class)?"""
    return true_ranks(y_true, proba, classes) == 1


def rank1_draws(
    y_true: Sequence[str], proba: np.ndarray, classes: Sequence[str], n_boot: int = 2000, seed: int = 0
) -> np.ndarray:
    """Hierarchical bootstrap draws of rank-1 (:func:`hierarchical_bootstrap_draws`, subjects = true labels)."""
    return hierarchical_bootstrap_draws(correct_top1(y_true, proba, classes), y_true, n_boot, seed)


def hierarchical_rank1_ci(
    y_true: Sequence[str],
    proba: np.ndarray,
    classes: Sequence[str],
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """The default interval of a rank-1: percentile interval resampling subjects, then clips (seeded)."""
    if len(y_true) == 0:
        return (float("nan"), float("nan"))
    return percentile_interval(rank1_draws(y_true, proba, classes, n_boot, seed), level)


def paired_difference_draws(
    correct_a: Sequence[bool], correct_b: Sequence[bool], subjects: Sequence[str], n_boot: int = 2000, seed: int = 0
) -> np.ndarray:
    """Hierarchical bootstrap draws of rank-1(a) minus rank-1(b) scored on the same test clips.

    Paired: each resample takes the same subjects and clips for both, so the
    draws are of the difference itself, not of two separate accuracies.
    """
    diff = np.asarray(correct_a, dtype=float) - np.asarray(correct_b, dtype=float)
    return hierarchical_bootstrap_draws(diff, subjects, n_boot, seed)


def paired_difference_ci(
    correct_a: Sequence[bool],
    correct_b: Sequence[bool],
    subjects: Sequence[str],
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile interval of :func:`paired_difference_draws` (subjects, then clips; seeded)."""
    if len(subjects) == 0:
        return (float("nan"), float("nan"))
    return percentile_interval(paired_difference_draws(correct_a, correct_b, subjects, n_boot, seed), level)


def rank1_over_seeds(prediction_files: Sequence[str | Path], n_boot: int = 2000, seed: int = 0) -> dict:
    """Test rank-1 of one model over split seeds, one ``predictions.csv`` per seed.

    ``rank1``: the mean over seeds; ``ci_low``/``ci_high``: :func:`pooled_interval`
    of each seed's hierarchical draws (subjects, then clips), so the spread
    between seeds is part of the interval; ``sd``: the sd of the seeds' rank-1
    (``ddof=1``; NaN with one seed); ``splits``: how many; ``chance``: the
    largest seed's :func:`chance_level` (the bar every seed must clear).
    """
    draws, ranks, chances = [], [], []
    for path in prediction_files:
        test = read_predictions(path, "test")
        ranks.append(rank_k(test.y_true, test.proba, test.classes, 1))
        draws.append(rank1_draws(test.y_true, test.proba, test.classes, n_boot, seed))
        chances.append(chance_level(test.y_true, test.classes))
    if not ranks:
        raise ValueError("no predictions file: nothing to summarise over split seeds")
    low, high = pooled_interval(draws)
    return {
        "rank1": float(np.mean(ranks)),
        "ci_low": low,
        "ci_high": high,
        "sd": float(np.std(ranks, ddof=1)) if len(ranks) > 1 else float("nan"),
        "splits": len(ranks),
        "chance": float(max(chances)),
    }


def within_group_hits(
    y_true: Sequence[str], proba: np.ndarray, classes: Sequence[str], groups: Mapping[str, str]
) -> tuple[np.ndarray, np.ndarray]:
    """Per clip: whether the top class among the subjects of its true subject's group is right, and that
    group's chance (1 / group size). Each clip's probabilities are restricted to the classes of its group;
    ties go to the earlier class. Raises ValueError naming subjects without a group.

    On the twins corpus a group is the subjects sharing one face: appearance already finds the group, so
    only the mean of these hits (read against the mean chance) says whether the model tells the twins apart
    by movement (``positive_controls.twins_identity``)."""
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
    return np.array(hits, dtype=bool), np.array(chances, dtype=float)


def bootstrap_rank1_ci(
    y_true: Sequence[str],
    proba: np.ndarray,
    classes: Sequence[str],
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of rank-1 accuracy, resampling clips with replacement (seeded).

    Treats clips as independent; :func:`hierarchical_rank1_ci` is the default
    interval, this one is shown beside it on the training page."""
    correct = correct_top1(y_true, proba, classes)
    if len(correct) == 0:
        return (float("nan"), float("nan"))
    return percentile_interval(clip_bootstrap_draws(correct, n_boot, seed), level)


def summarize(y_true: Sequence[str], proba: np.ndarray, classes: Sequence[str], seed: int = 0) -> dict:
    """The per-part numbers metrics.json holds: ``rank1_ci95`` resamples subjects, then clips;
    ``rank1_ci95_clips`` resamples clips; ``chance`` is :func:`chance_level`."""
    low, high = hierarchical_rank1_ci(y_true, proba, classes, seed=seed)
    clip_low, clip_high = bootstrap_rank1_ci(y_true, proba, classes, seed=seed)
    return {
        "rank1": rank_k(y_true, proba, classes, 1),
        "rank5": rank_k(y_true, proba, classes, 5),
        "rank1_ci95": [low, high],
        "rank1_ci95_clips": [clip_low, clip_high],
        "n_clips": len(y_true),
        "n_subjects": len(set(y_true)),
        "chance": chance_level(y_true, classes) if len(y_true) else 1.0 / len(classes),
    }
