"""The paper's Table 2 (a single SlowFast per database) beside ours, with Table 4's benchmark row.

One table per corpus of the study, as the results summary shows it: the
paper's Table 2 number, our run of the paper's Table 1 configuration (on the
first split seed and, where the controls page ran more, the mean over split
seeds), the configuration our grid chooses by validation and by the original's
test rule, the best of the grid's runs and ensembles, then the benchmark the
paper's Table 4 compares against (Saeed 2021) and our hand-crafted baseline
runs. Table 4's comparison is made here because it sets the same single model
against the benchmark. Every number is read back from run files
(``mlib.report.results``); the paper's are ``mlib.paper``'s.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mlib import paper
from mlib.experiments import grid
from mlib.report.manifest import StudyManifest
from mlib.report.results import (
    ONE_SPLIT,
    PAPER,
    PAPERS_SPLIT,
    SAEED,
    baseline_runs,
    controls_table,
    feature_set_of,
    over_split_seeds,
    percent,
    split_spread,
    table_row,
    test_rank1,
)


def table1_over_splits(study: StudyManifest, name: str) -> pd.DataFrame:
    """The Table 1 configuration's runs over the split seeds: the controls page's ``clip`` rows of corpus
    ``name`` (on the first split it is notebook 02's run). Empty without that page."""
    table = controls_table(study)
    return table[(table["corpus"] == name) & (table["variant"] == "clip")].reset_index(drop=True)


def beside_ours(study: StudyManifest, name: str) -> pd.DataFrame:
    """Table 2 and Table 4 of the paper beside ours, for one variant of the study."""
    variant = study.corpus(name)
    dataset = paper.paper_dataset(variant.dataset)
    ours = f"ours ({'synthetic' if study.synthetic else 'real'} {variant.name})"
    paths = variant.paths
    rows = [
        table_row(
            PAPER,
            "SlowFast, single model (Table 2)",
            paper.TABLE2_RANK1.get(dataset),
            "best test accuracy of the grid",
            splits=PAPERS_SPLIT,
        )
    ]
    if "train" in paths:
        seeds = table1_over_splits(study, name)
        first = ONE_SPLIT if len(seeds) <= 1 else f"the first of {len(seeds)} split seeds"
        rows.append(
            table_row(
                ours,
                "SlowFast, the paper's Table 1 configuration",
                chosen_by="fixed in advance",
                **_ci_kwargs(test_rank1(paths["train"])),
                where=paths["train"],
                splits=first,
            )
        )
        if len(seeds) > 1:  # mean rank-1 over seeds, the seeds' pooled interval, as mlib.experiments.controls.summarize
            found = over_split_seeds(seeds["run_dir"])
            rows.append(
                table_row(
                    ours,
                    "SlowFast, the paper's Table 1 configuration",
                    found["rank1"],
                    "fixed in advance",
                    found,
                    str(Path(study.pages["controls"]) / "controls.csv"),
                    split_spread(found["splits"], found["sd"]),
                )
            )
    grid_file = Path(paths.get("grid", "")) / "grid.csv"
    if grid_file.is_file():
        table = grid.load_grid_table(grid_file.parent)
        for by, rule in [("val", "validation rank-1"), ("test", "test rank-1 (the original code's rule)")]:
            try:
                chosen = grid.select_configuration(table, by)
            except grid.GridError:
                continue
            settings = ", ".join(
                f"{key.split('.')[-1]} {chosen[key]}" for key in grid.setting_columns(table) if key in chosen
            )
            seeds = int(chosen["seeds"])
            spread = f"; {seeds} seeds, {percent(chosen['test_rank1_min'])} to {percent(chosen['test_rank1_max'])}"
            rows.append(
                table_row(
                    ours,
                    f"SlowFast, grid ({settings})",
                    chosen["test_rank1"],
                    rule + (spread if seeds > 1 else ""),
                    over_split_seeds(chosen_runs(table, chosen, grid_file.parent)),
                    where=str(grid_file),
                )
            )
    selection = Path(paths.get("ensemble", "")) / "selection.csv"
    if selection.is_file():
        for _, pick in pd.read_csv(selection).iterrows():
            if "ensemble" in pick["choice"] and "validation" in pick["choice"]:
                size = int(pick["size"])
                kind = f"ensemble of {size} ({pick['method']} vote)" if size > 1 else "a single run won"
                rows.append(
                    table_row(
                        ours,
                        f"SlowFast, best of the grid's runs and ensembles ({kind})",
                        pick["test_rank1"],
                        "validation rank-1",
                        {"ci_low": pick.get("test_ci_low"), "ci_high": pick.get("test_ci_high")},
                        str(selection),
                    )
                )
    rows.append(
        table_row(
            SAEED,
            "LGBP + LBP-TOP + FHOFO, SVM (Table 4)",
            paper.BASELINE_SAEED2021_RANK1.get(dataset),
            "as published",
            splits=PAPERS_SPLIT,
        )
    )
    for run_dir in baseline_runs(paths.get("baseline", "")):
        rows.append(
            table_row(
                ours,
                f"baseline SVM on {feature_set_of(run_dir)}",
                chosen_by="validation (SVM C)",
                **_ci_kwargs(test_rank1(run_dir)),
                where=str(run_dir),
            )
        )
    return pd.DataFrame(rows)


def chosen_runs(table: pd.DataFrame, chosen: pd.Series, grid_dir: str | Path) -> list[Path]:
    """The finished run folders of the configuration ``chosen`` (``grid.select_configuration``), one per
    training seed, so its interval pools the seeds' resamples as the split seeds' are pooled."""
    done = table[table["status"] == "done"]
    same = pd.Series(True, index=done.index)
    for key in grid.setting_columns(done):
        same &= (done[key] == chosen[key]) | (done[key].isna() & pd.isna(chosen[key]))
    return [Path(grid_dir) / run for run in done.loc[same, "run_dir"]]


def _ci_kwargs(found: dict) -> dict:
    return {"rank1": found["rank1"], "ci": found}
