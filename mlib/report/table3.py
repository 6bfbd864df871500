"""The paper's Table 3 (SMIC: two SlowFast models that differ only in the solver, and their vote) beside ours.

Our pairs are read back from the ensemble page's files: the grid's Adam/AdamW
pairs on its split (``table3.csv``, ``mlib.experiments.ensemble``) and the
Table 1 pair over the split seeds (``table3-splits.csv``,
``mlib.experiments.solver_pair``). The claim on it is
``mlib.report.claims.ensemble_gain``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mlib import paper
from mlib.experiments import solver_pair
from mlib.report.manifest import StudyManifest
from mlib.report.results import CI, ONE_SPLIT, PAPER, PAPERS_SPLIT, interval, percent, split_spread


def beside_ours(study: StudyManifest, name: str) -> pd.DataFrame:
    """The paper's Table 3 (SMIC: Adam, AdamW and their vote) beside our Adam/AdamW pairs: the grid's
    pairs on its split (``table3.csv``), then the Table 1 pair over the split seeds (``table3-splits.csv``,
    ``mlib.experiments.solver_pair``): the mean over seeds with its sd, or "one split"."""
    variant = study.corpus(name)
    rows = [
        {
            "source": PAPER + ", SMIC",
            "pair": "",
            "model": model,
            "test rank-1": percent(value),
            CI: "",
            "split seeds": PAPERS_SPLIT,
        }
        for model, value in [
            ("adam", paper.TABLE3_RANK1["adam"]),
            ("adamw", paper.TABLE3_RANK1["adamw"]),
            ("vote of the two", paper.TABLE3_RANK1["ensemble"]),
        ]
    ]
    folder = Path(variant.paths.get("ensemble", ""))
    source = f"ours ({'synthetic' if study.synthetic else 'real'} {name})"
    if (folder / "table3.csv").is_file():
        for _, row in pd.read_csv(folder / "table3.csv").iterrows():
            rows.append(
                {
                    "source": source,
                    "pair": f"grid pair {row['pair']}",
                    "model": row["model"],
                    "test rank-1": percent(row["test_rank1"]),
                    CI: interval({"ci_low": row["test_ci_low"], "ci_high": row["test_ci_high"]}),
                    "split seeds": ONE_SPLIT,
                }
            )
    if "ensemble" in variant.paths and (folder / solver_pair.TABLE_FILE).is_file():
        rows += _pair_over_splits(pd.read_csv(folder / solver_pair.TABLE_FILE), source)
    return pd.DataFrame(rows)


def _pair_over_splits(table: pd.DataFrame, source: str) -> list[dict]:
    """Rows of ``table3``: each model of the Table 1 pair and the vote's gain, mean over seeds, the seeds'
    pooled interval (``solver_pair.pooled_intervals``: subjects, then clips) and the sd over seeds."""
    by = table.set_index("statistic")
    mean, n = by.loc[solver_pair.MEAN], int(by.loc[solver_pair.MEAN, "splits"])
    sd = by.loc[solver_pair.SD] if n > 1 else {}
    pooled = solver_pair.pooled_intervals(table)
    rows = []
    for model, label in [
        ("adam", "adam"),
        ("adamw", "adamw"),
        ("vote", "hard vote of the two"),
        ("vote_gain", "vote minus the better member"),
    ]:
        column = model if model == "vote_gain" else f"{model}_rank1"
        low, high = pooled[model]
        rows.append(
            {
                "source": source,
                "pair": "Table 1 configuration",
                "model": label,
                "test rank-1": percent(mean[column]),
                CI: interval({"ci_low": low, "ci_high": high}),
                "split seeds": split_spread(n, sd.get(column)),
            }
        )
    return rows
