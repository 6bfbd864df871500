"""Scores over all clips of a result: the summary table, the permutation-null table and the claim's verdict."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import bootstrap

SUPPORT_LIFT = 1.5       # a median lift this far above uniform counts as looking at the movement
SUPPORT_SHARE = 0.75     # ... when at least this share of clips is above uniform too
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0


def summarize(scores: pd.DataFrame) -> pd.DataFrame:
    """Per pathway and score: clips, median, quartiles, mean, and the share of clips with lift > 1.

    The lifts here are against a uniform map; the permutation null's columns are
    summarized by :func:`null_summary`.
    """
    rows = []
    for pathway, group in scores.groupby("pathway", sort=False):
        columns = [c for c in group.columns if c.endswith(("_share", "_lift", "_iou")) and "_null_" not in c]
        for column in columns:
            values = group[column].dropna()
            if values.empty:
                continue
            rows.append({
                "pathway": pathway, "score": column, "clips": len(values), "median": values.median(),
                "q25": values.quantile(0.25), "q75": values.quantile(0.75), "mean": values.mean(),
                "above_uniform": float((values > 1).mean()) if column.endswith("_lift") else np.nan,
            })
    return pd.DataFrame(rows)


def median_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Median of ``values`` and its percentile bootstrap interval over clips (seeded; NaN with < 2 values)."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if len(values) < 2:
        return float(np.median(values)) if len(values) else float("nan"), float("nan"), float("nan")
    found = bootstrap((values,), np.median, n_resamples=BOOTSTRAP_RESAMPLES, confidence_level=level,
                      method="percentile", random_state=np.random.default_rng(BOOTSTRAP_SEED))
    return float(np.median(values)), float(found.confidence_interval.low), float(found.confidence_interval.high)


def null_summary(scores: pd.DataFrame) -> pd.DataFrame:
    """Per pathway and region: the median lift against a uniform map and against the permutation null,
    each with a 95 % bootstrap interval over clips.

    ``lift_vs_uniform`` is the existing score (1 = no better than a constant map);
    ``lift_vs_null`` divides by the share the same CAM puts on OTHER clips'
    regions (1 = no better than the map's own centre or time bias explains).
    """
    rows = []
    for pathway, group in scores.groupby("pathway", sort=False):
        for column in [c for c in group.columns if c.endswith("_null_lift")]:
            region = column[: -len("_null_lift")]
            null = group[column].dropna()
            if null.empty:
                continue
            uniform = median_interval(group[f"{region}_lift"])
            against = median_interval(null)
            rows.append({
                "pathway": pathway, "region": region, "clips": len(null),
                "lift_vs_uniform": uniform[0], "uniform_ci_low": uniform[1], "uniform_ci_high": uniform[2],
                "lift_vs_null": against[0], "null_ci_low": against[1], "null_ci_high": against[2],
            })
    return pd.DataFrame(rows, columns=["pathway", "region", "clips", "lift_vs_uniform", "uniform_ci_low",
                                       "uniform_ci_high", "lift_vs_null", "null_ci_low", "null_ci_high"])


def summary_value(summary: pd.DataFrame, pathway: str, score: str, column: str = "median") -> float:
    """One number of ``summarize``'s table (NaN when that score was not measured)."""
    rows = summary[(summary["pathway"] == pathway) & (summary["score"] == score)]
    return float(rows[column].iloc[0]) if len(rows) else float("nan")


def claim_verdict(summary: pd.DataFrame, pathway: str, synthetic: bool) -> dict:
    """Whether one pathway's maps support the paper's claim that the network looks where the face moves.

    The region is the generator's true moving regions on synthetic data, else
    the top motion-energy pixels. "supports": median lift above ``SUPPORT_LIFT``
    with at least ``SUPPORT_SHARE`` of clips above uniform; "does not clearly
    support": median lift above 1; otherwise "contradicts" ("is not measured
    for" when the score is missing).
    """
    region = "truth_lift" if synthetic else "motion_lift"
    space = summary_value(summary, pathway, region)
    above = summary_value(summary, pathway, region, "above_uniform")
    verdict = ("is not measured for" if np.isnan(space)
               else "supports" if space > SUPPORT_LIFT and above >= SUPPORT_SHARE
               else "does not clearly support" if space > 1.0 else "contradicts")
    return {"region": region, "space_lift": space, "share_above": above,
            "time_lift": summary_value(summary, pathway, "apex_lift"), "verdict": verdict}
