"""Scores over all clips of a result: the summary table, the permutation-null table and the claim's verdict."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import bootstrap

from mlib.core.verdict import Verdict, rule

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
            rows.append(
                {
                    "pathway": pathway,
                    "score": column,
                    "clips": len(values),
                    "median": values.median(),
                    "q25": values.quantile(0.25),
                    "q75": values.quantile(0.75),
                    "mean": values.mean(),
                    "above_uniform": float((values > 1).mean()) if column.endswith("_lift") else np.nan,
                }
            )
    return pd.DataFrame(rows)


def median_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Median of ``values`` and its percentile bootstrap interval over clips (seeded; NaN with < 2 values)."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if len(values) < 2:
        return float(np.median(values)) if len(values) else float("nan"), float("nan"), float("nan")
    found = bootstrap(
        (values,),
        np.median,
        n_resamples=BOOTSTRAP_RESAMPLES,
        confidence_level=level,
        method="percentile",
        random_state=np.random.default_rng(BOOTSTRAP_SEED),
    )
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
            rows.append(
                {
                    "pathway": pathway,
                    "region": region,
                    "clips": len(null),
                    "lift_vs_uniform": uniform[0],
                    "uniform_ci_low": uniform[1],
                    "uniform_ci_high": uniform[2],
                    "lift_vs_null": against[0],
                    "null_ci_low": against[1],
                    "null_ci_high": against[2],
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "pathway",
            "region",
            "clips",
            "lift_vs_uniform",
            "uniform_ci_low",
            "uniform_ci_high",
            "lift_vs_null",
            "null_ci_low",
            "null_ci_high",
        ],
    )


def summary_value(summary: pd.DataFrame, pathway: str, score: str, column: str = "median") -> float:
    """One number of ``summarize``'s table (NaN when that score was not measured)."""
    rows = summary[(summary["pathway"] == pathway) & (summary["score"] == score)]
    return float(rows[column].iloc[0]) if len(rows) else float("nan")


SUPPORTS, UNCLEAR, CONTRADICTS, NOT_MEASURED = (
    "supports",
    "does not clearly support",
    "contradicts",
    "is not measured for",
)


def _null_row(null: pd.DataFrame, pathway: str, region: str) -> dict:
    rows = null[(null["pathway"] == pathway) & (null["region"] == region)]
    return rows.iloc[0].to_dict() if len(rows) else {}


@rule(SUPPORTS, UNCLEAR, CONTRADICTS, NOT_MEASURED)
def claim_verdict(null: pd.DataFrame, pathway: str, synthetic: bool, page: str = "") -> Verdict:
    """Whether one pathway's maps support the paper's claim that the network looks where the face moves.

    Read from :func:`null_summary`'s table, so the map's own centre and time
    bias cannot pass for attention (a fixed centre blob beats a uniform map).
    The region is the generator's true moving regions on synthetic data, else
    the top motion-energy pixels. "supports": the 95 % interval of the median
    lift against the permutation null lies above 1; "contradicts": below 1;
    "does not clearly support": it holds 1; "is not measured for": no null
    lift for that region (or no interval). The lift against a uniform map and
    the apex frames' lift against the null come with it, to be shown beside, in ``numbers``.
    """
    region = "truth" if synthetic else "motion"
    found, apex = _null_row(null, pathway, region), _null_row(null, pathway, "apex")
    low, high = found.get("null_ci_low", np.nan), found.get("null_ci_high", np.nan)
    verdict = (
        NOT_MEASURED if pd.isna(low) or pd.isna(high) else SUPPORTS if low > 1 else CONTRADICTS if high < 1 else UNCLEAR
    )
    measures = ("lift_vs_null", "null_ci_low", "null_ci_high", "lift_vs_uniform", "uniform_ci_low", "uniform_ci_high")
    numbers = {
        "region": region,
        **{m: float(found.get(m, np.nan)) for m in measures},
        "clips": int(found.get("clips", 0)),
        "time_lift_vs_null": float(apex.get("lift_vs_null", np.nan)),
    }
    evidence = (
        f"{pathway} pathway, {region} region: median lift {numbers['lift_vs_null']:.2f} "
        f"[{low:.2f}, {high:.2f}] against the permutation null over {numbers['clips']} clips"
    )
    return Verdict(verdict, evidence, page, numbers)
