"""Biometric measures of a score matrix, as ISO/IEC 19795-1 defines them (compute only).

A score matrix has one row per probe clip and one column per enrolled subject
(higher = more alike). A probe is *mated* when its subject is enrolled, else
*non-mated*. Verification compares every probe with every enrolled subject: the
probe's own subject gives a genuine pair, every other an impostor pair.

- FMR(t): impostor pairs scoring >= t; FNMR(t): genuine pairs scoring < t
  (scikit-learn's ``roc_curve``: FMR = fpr, FNMR = 1 - tpr; ``det_curve`` the same).
- EER: where FMR = FNMR, linearly interpolated between the two operating points
  around the crossing.
- FNMR at FMR x: the lowest FNMR among the thresholds whose FMR <= x.
- Open-set identification, rank 1 (ISO/IEC 19795-1, NIST FRVT): DIR(t) is the
  share of mated probes whose own subject is ranked first AND scores >= t;
  FPIR(t) the share of non-mated probes whose best score is >= t. DIR at FPIR x
  takes the lowest threshold with FPIR <= x. With t = -inf, DIR is the closed-set
  rank-1 of the mated probes.
- CMC: the closed-set rank-k accuracy of the mated probes (``mlib.core.metrics``).

Intervals resample SUBJECTS: probe subjects are drawn with replacement (seeded)
and each drawn subject brings all its probe clips; the measure is recomputed and
the percentile interval reported. Pairs of one probe are never split.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from sklearn.metrics import det_curve, roc_curve

from mlib.core.metrics import cmc_curve, true_ranks

FMR_TARGETS = (0.01, 0.10)
FPIR_TARGETS = (0.01, 0.10)


def verification_pairs(
    scores: np.ndarray, probe_subjects: Sequence[str], gallery_subjects: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Every probe against every enrolled subject: ``(genuine, score)`` arrays, row-major."""
    scores = np.asarray(scores, dtype=float)
    genuine = np.asarray(probe_subjects, dtype=str)[:, None] == np.asarray(gallery_subjects, dtype=str)[None, :]
    return genuine.ravel(), scores.ravel()


def roc(genuine: np.ndarray, scores: np.ndarray) -> dict[str, np.ndarray]:
    """ROC as FMR and FNMR per threshold (scikit-learn's ``roc_curve``, every threshold kept)."""
    _check_both(genuine)
    fmr, tpr, thresholds = roc_curve(genuine, scores, drop_intermediate=False)
    return {"fmr": fmr, "fnmr": 1 - tpr, "threshold": thresholds}


def det(genuine: np.ndarray, scores: np.ndarray) -> dict[str, np.ndarray]:
    """DET points (scikit-learn's ``det_curve``): FMR and FNMR per threshold, for normal-deviate axes."""
    _check_both(genuine)
    fmr, fnmr, thresholds = det_curve(genuine, scores)
    return {"fmr": fmr, "fnmr": fnmr, "threshold": thresholds}


def _check_both(genuine: np.ndarray) -> None:
    genuine = np.asarray(genuine, dtype=bool)
    if genuine.all() or not genuine.any():
        raise ValueError("verification needs both genuine and impostor pairs")


def eer(genuine: np.ndarray, scores: np.ndarray) -> float:
    """Equal error rate: FMR = FNMR, interpolated linearly between the points around the crossing."""
    curve = roc(genuine, scores)
    gap = curve["fmr"] - curve["fnmr"]  # rises from -FNMR(inf) to +FMR(-inf) as the threshold falls
    i = int(np.argmax(gap >= 0))
    if gap[i] == 0 or i == 0:
        return float(curve["fmr"][i])
    share = -gap[i - 1] / (gap[i] - gap[i - 1])
    return float(curve["fmr"][i - 1] + share * (curve["fmr"][i] - curve["fmr"][i - 1]))


def fnmr_at_fmr(genuine: np.ndarray, scores: np.ndarray, target: float) -> float:
    """The lowest FNMR among the thresholds whose FMR <= ``target``."""
    curve = roc(genuine, scores)
    return float(curve["fnmr"][curve["fmr"] <= target].min())


def threshold_at_fmr(impostor_scores: np.ndarray, target: float) -> float:
    """The lowest threshold whose FMR (share of impostor scores >= it) is <= ``target``."""
    impostor = np.sort(np.asarray(impostor_scores, dtype=float))[::-1]
    if not len(impostor):
        raise ValueError("a threshold at a stated FMR needs impostor scores")
    allowed = int(np.floor(target * len(impostor) + 1e-9))  # impostor scores allowed at or above it
    if allowed >= len(impostor):
        return float("-inf")
    # above the (allowed+1)-th highest score, and at a score so that ties are not counted twice
    return float(np.nextafter(impostor[allowed], np.inf))


def dir_fpir_curve(
    scores: np.ndarray, probe_subjects: Sequence[str], gallery_subjects: Sequence[str]
) -> dict[str, np.ndarray]:
    """Rank-1 DIR and FPIR at every threshold where either changes (descending: +inf first, where both are 0,
    so a target FPIR is always reachable; -inf last)."""
    scores = np.asarray(scores, dtype=float)
    probes = np.asarray(probe_subjects, dtype=str)
    gallery = list(map(str, gallery_subjects))
    mated = np.isin(probes, gallery)
    if not mated.any() or mated.all():
        raise ValueError("open-set identification needs mated and non-mated probes")
    top = scores.max(axis=1)
    hit = np.zeros(len(probes), bool)
    hit[mated] = true_ranks(probes[mated], scores[mated], gallery) == 1
    thresholds = np.concatenate([[np.inf], np.unique(top)[::-1], [-np.inf]])
    dir_ = np.array([(hit & mated & (top >= t)).sum() for t in thresholds]) / mated.sum()
    fpir = np.array([(~mated & (top >= t)).sum() for t in thresholds]) / (~mated).sum()
    return {"threshold": thresholds, "dir": dir_, "fpir": fpir}


def dir_at_fpir(
    scores: np.ndarray, probe_subjects: Sequence[str], gallery_subjects: Sequence[str], target: float
) -> float:
    """Rank-1 DIR at the lowest threshold whose FPIR <= ``target``."""
    curve = dir_fpir_curve(scores, probe_subjects, gallery_subjects)
    return float(curve["dir"][curve["fpir"] <= target].max())


def cmc(scores: np.ndarray, probe_subjects: Sequence[str], gallery_subjects: Sequence[str]) -> np.ndarray:
    """Closed-set CMC of the mated probes: entry k-1 is rank-k accuracy."""
    probes = np.asarray(probe_subjects, dtype=str)
    gallery = list(map(str, gallery_subjects))
    mated = np.isin(probes, gallery)
    return cmc_curve(probes[mated], np.asarray(scores, dtype=float)[mated], gallery)


def point_measures(
    scores: np.ndarray, probe_subjects: Sequence[str], gallery_subjects: Sequence[str]
) -> dict[str, float]:
    """EER, FNMR at FMR 1 % / 10 %, DIR at FPIR 1 % / 10 %, rank-1 of the mated probes."""
    genuine, pair_scores = verification_pairs(scores, probe_subjects, gallery_subjects)
    out = {"eer": eer(genuine, pair_scores)}
    out.update({f"fnmr_at_fmr_{t:g}": fnmr_at_fmr(genuine, pair_scores, t) for t in FMR_TARGETS})
    out.update({f"dir_at_fpir_{t:g}": dir_at_fpir(scores, probe_subjects, gallery_subjects, t) for t in FPIR_TARGETS})
    out["rank1"] = float(cmc(scores, probe_subjects, gallery_subjects)[0])
    return out


def subject_bootstrap(
    measure: Callable[[np.ndarray], dict[str, float]], probe_subjects: Sequence[str], *, n_boot: int = 1000,
    level: float = 0.95, seed: int = 0,
) -> dict[str, tuple[float, float]]:  # fmt: skip
    """Percentile intervals of ``measure(rows)`` over resampled probe SUBJECTS (each brings all its rows).

    A resample where a measure is undefined (e.g. no non-mated probe drawn) is skipped for all measures;
    the interval is over the resamples that defined them."""
    probes = np.asarray(probe_subjects, dtype=str)
    subjects = np.unique(probes)
    rows_of = {s: np.flatnonzero(probes == s) for s in subjects}
    rng = np.random.default_rng(seed)
    draws: list[dict[str, float]] = []
    for _ in range(n_boot):
        chosen = rng.choice(subjects, size=len(subjects), replace=True)
        try:
            draws.append(measure(np.concatenate([rows_of[s] for s in chosen])))
        except ValueError:
            continue
    if not draws:
        raise ValueError("no bootstrap resample defined the measures")
    tail = (1 - level) / 2
    return {
        k: (float(np.quantile([d[k] for d in draws], tail)), float(np.quantile([d[k] for d in draws], 1 - tail)))
        for k in draws[0]
    }


def open_set_measures(
    scores: np.ndarray, probe_subjects: Sequence[str], gallery_subjects: Sequence[str], *, n_boot: int = 1000,
    seed: int = 0,
) -> dict:  # fmt: skip
    """The point measures, their subject-resampled 95 % intervals, and the curves (ROC, DET, DIR-FPIR, CMC)."""
    scores = np.asarray(scores, dtype=float)
    probes = np.asarray(probe_subjects, dtype=str)
    genuine, pair_scores = verification_pairs(scores, probes, gallery_subjects)
    intervals = subject_bootstrap(
        lambda rows: point_measures(scores[rows], probes[rows], gallery_subjects), probes, n_boot=n_boot, seed=seed
    )
    return {
        "measures": point_measures(scores, probes, gallery_subjects),
        "intervals": intervals,
        "interval_resamples": "probe subjects, with replacement (all clips of a drawn subject)",
        "curves": {
            "roc": roc(genuine, pair_scores),
            "det": det(genuine, pair_scores),
            "dir_fpir": dir_fpir_curve(scores, probes, gallery_subjects),
            "cmc": cmc(scores, probes, gallery_subjects),
        },
        "counts": {
            "probes": len(probes),
            "mated": int(np.isin(probes, list(map(str, gallery_subjects))).sum()),
            "enrolled_subjects": len(gallery_subjects),
            "probe_subjects": len(set(probes)),
        },
    }
