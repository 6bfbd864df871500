"""The Table 3 analogue over split seeds (mlib.experiments.solver_pair): the pair is the grid's on the first split,
the vote's tie rule, one row per split seed and a summary that is the rows' mean and sd."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_ensemble import write_run
from tiny_caches import write_split, write_tiny_cache

from mlib.core import config, io
from mlib.experiments import controls, grid, solver_pair
from mlib.experiments.ensemble import EnsembleError
from mlib.preprocess.splits import write_splits
from mlib.report.manifest import Corpus
from mlib.study import runner as study
from mlib.training.train import run_folder

ROOT = Path(__file__).resolve().parents[1]


def _tiny_cache(folder: Path, dataset: str) -> Path:
    """A tiny prepared cache of ``dataset`` (the grid files choose configurations by dataset)."""
    cache = write_tiny_cache(folder, subjects=3, clips_per_subject=4)
    index = pd.read_csv(cache / "index.csv", dtype=str).assign(dataset=dataset)
    index.to_csv(cache / "index.csv", index=False)
    settings = json.loads((cache / "settings.json").read_text())
    (cache / "settings.json").write_text(json.dumps({**settings, "dataset": dataset}))
    return cache


@pytest.mark.parametrize(
    "profile, dataset",
    [
        ("configs/profiles/default.yaml", "casme2"),
        ("configs/profiles/ci.yaml", "casme2"),
        ("configs/profiles/full.yaml", "smic"),
    ],
)
def test_the_pair_on_the_first_split_is_the_grids_pair(tmp_path, monkeypatch, profile, dataset):
    """On these profiles notebook 05's pair on the first split adds no training run: both are grid runs."""
    monkeypatch.chdir(ROOT)
    cache = _tiny_cache(tmp_path, dataset)
    split = write_split(cache, n_train=2, n_val=1)
    cfg = config.resolve(profile)
    variant = Corpus(dataset, "root", paths={"cache": str(cache), "split": str(split)})
    page = config.resolve(profile, study.corpus_overrides(cfg, variant))  # what notebooks 04 and 05 resolve
    runs = tmp_path / "runs"
    planned = [
        run.run_dir
        for run in grid.plan(
            page["grid"]["file"], profile=page, cache=cache, split=split, out=runs, seeds=page["grid"]["seeds"]
        )
    ]
    pair = solver_pair.pair_configs(page, study.table1_overrides(page, dataset), cache, split, runs)
    assert (pair["adam"]["train"]["optimizer"], pair["adamw"]["train"]["optimizer"]) == ("adam", "adamw")
    assert run_folder(pair["adam"]) != run_folder(pair["adamw"])
    assert {run_folder(run_cfg) for run_cfg in pair.values()} <= set(planned)
    single = config.resolve(profile, study.single_run_overrides(cfg, variant, runs))
    assert run_folder(pair["adam"]) == run_folder(single)  # the Table 1 solver is notebook 02's run
    table1 = study.table1_overrides(page, dataset)
    clip = controls.variant_config(config.resolve(page, table1), "clip", cache, split, runs)
    assert run_folder(clip) == run_folder(pair["adam"])  # and the controls' clip run on each split seed


def test_the_vote_of_a_pair_is_decided_by_the_tie_rule(tmp_path):
    """Every test clip is a 1-1 disagreement: the mean probability decides (not the class order)."""
    truth = ["01", "02", "03", "01", "01"]
    adam = [[0.6, 0.3, 0.1], [0.5, 0.4, 0.1], [0.1, 0.2, 0.7], [0.4, 0.5, 0.1], [0.1, 0.8, 0.1]]  # right on clips 0, 2
    adamw = [[0.45, 0.55, 0], [0.1, 0.9, 0], [0.1, 0.5, 0.4], [0.9, 0.05, 0.05], [0.5, 0.4, 0.1]]  # right on 1, 3, 4
    # mean probabilities pick 01, 02, 03, 01, 02: right on clips 0-3; the first class on a tie would pick 01 on clip 1
    runs = {
        "adam": write_run(tmp_path / "adam", [[0.8, 0.1, 0.1]], adam, ["01"], truth),
        "adamw": write_run(tmp_path / "adamw", [[0.8, 0.1, 0.1]], adamw, ["01"], truth, optimizer="adamw"),
    }
    row = solver_pair.split_row(runs, "splits/half-seed42.csv", n_boot=200)
    assert (row["adam_rank1"], row["adamw_rank1"], row["vote_rank1"]) == pytest.approx((0.4, 0.6, 0.8))
    assert row["vote_gain"] == pytest.approx(0.2) and row["split"] == "half-seed42" and row["n_test"] == 5
    assert row["vote_ci_low"] <= row["vote_rank1"] <= row["vote_ci_high"]


def test_one_split_gives_a_mean_row_and_no_sd():
    row = {column: 0.5 for column in solver_pair.COLUMNS} | {"statistic": "per split", "split": "s0", "splits": 1}
    summary = solver_pair.summary_rows(pd.DataFrame([row]))
    assert summary["statistic"].tolist() == ["mean"] and summary.iloc[0]["split"] == "mean over 1 split seed"
    with pytest.raises(EnsembleError, match="no split seeds"):
        solver_pair.summary_rows(pd.DataFrame(columns=solver_pair.COLUMNS))


@pytest.mark.usefixtures("one_torch_thread")
def test_two_split_seeds_give_two_rows_and_their_mean_and_sd(tmp_path, capsys):
    cache = write_tiny_cache(tmp_path, subjects=3, clips_per_subject=4)
    splits = [str(p) for p in write_splits(cache, "half", test_size=0.5, val_size=0.25, seed=42, repeats=2)]
    grid_dir = tmp_path / "grid"
    io.write_yaml(grid_dir / "grid-spec.yaml", {"cache": str(cache), "split": splits[0]})
    cfg = config.resolve(
        None,
        {
            "model": {"frames": 8, "size": 32, "width": 8},
            "train": {"epochs": 1, "batch_size": 6, "device": "cpu", "warmup_epochs": 0, "weight_decay": 0.01},
        },
    )
    table1 = {"model.alpha": 4, "model.beta_inv": 8, "train.lr": 0.001}
    table = solver_pair.pair_table(cfg, table1, grid_dir, splits, out=tmp_path / "out", n_boot=200)
    assert table["statistic"].tolist() == ["per split", "per split", "mean", "sd"]
    assert table["split"].tolist()[:2] == [Path(s).stem for s in splits] and (table["splits"] == [1, 1, 2, 2]).all()
    rows = table.iloc[:2]
    assert rows["adam_run"].nunique() == rows["adamw_run"].nunique() == 2
    assert set(rows["adam_run"]).isdisjoint(rows["adamw_run"])
    assert all(Path(run).parent == grid_dir for run in [*rows["adam_run"], *rows["adamw_run"]])  # runs_dir: the grid's
    for solver in ("adam", "adamw"):  # each member's rank-1 is its run's own test rank-1
        recorded = [
            json.loads((Path(run) / "metrics.json").read_text())["test"]["rank1"] for run in rows[f"{solver}_run"]
        ]
        assert rows[f"{solver}_rank1"].tolist() == pytest.approx(recorded)
    best = np.maximum(rows["adam_rank1"].to_numpy(), rows["adamw_rank1"].to_numpy())
    assert rows["vote_gain"].to_numpy() == pytest.approx(rows["vote_rank1"].to_numpy() - best)
    mean, sd = table.iloc[2], table.iloc[3]
    for column in ("adam_rank1", "adamw_rank1", "vote_rank1", "vote_gain"):
        values = rows[column].to_numpy(dtype=float)
        assert mean[column] == pytest.approx(values.sum() / 2)
        assert sd[column] == pytest.approx(abs(values[0] - values[1]) / np.sqrt(2))
    pooled = solver_pair.pooled_intervals(rows, n_boot=200)  # the seeds' resamples pooled, not the bounds averaged
    assert (mean["vote_ci_low"], mean["vote_ci_high"]) == pytest.approx(pooled["vote"])
    # the mixture's bounds lie between the seeds' own bounds (its CDF is the mean of theirs)
    assert min(rows["vote_ci_low"]) - 1e-9 <= pooled["vote"][0] <= max(rows["vote_ci_low"]) + 1e-9
    assert min(rows["vote_ci_high"]) - 1e-9 <= pooled["vote"][1] <= max(rows["vote_ci_high"]) + 1e-9
    written = pd.read_csv(tmp_path / "out" / solver_pair.TABLE_FILE)
    assert written["statistic"].tolist() == table["statistic"].tolist()
    pd.DataFrame({"status": ["done", "failed"], "run_dir": [Path(rows["adam_run"].iloc[0]).name, "x"]}).to_csv(
        grid_dir / "grid.csv", index=False
    )  # the grid trained the first split's Adam run
    note = solver_pair.reuse_note(table, grid_dir)
    assert "2 split seeds, the grid's split first: 4 runs, 1 of them the grid's own" in note
    capsys.readouterr()
    again = solver_pair.pair_table(cfg, table1, grid_dir, splits, n_boot=200)
    assert capsys.readouterr().out.count("finished (metrics.json present); skipping") == 4  # nothing trained twice
    pd.testing.assert_frame_equal(again, table)
    with pytest.raises(EnsembleError, match="is not the grid's split"):
        solver_pair.pair_table(cfg, table1, grid_dir, splits[::-1], n_boot=200)


def test_shown_puts_each_models_interval_beside_its_rank1_and_leaves_the_run_folders_out():
    import pandas as pd

    per_split = pd.DataFrame(
        [
            {
                "statistic": solver_pair.PER_SPLIT,
                "split": f"s{i}",
                "splits": 1,
                **{
                    f"{m}_{p}": v
                    for m in solver_pair.MODELS
                    for p, v in (("rank1", 0.5 + i / 4), ("ci_low", 0.25), ("ci_high", 0.75))
                },
                "vote_gain": -0.125 * i,
                "n_test": 8,
                "adam_run": "a",
                "adamw_run": "b",
            }
            for i in range(2)
        ],
        columns=solver_pair.COLUMNS,
    )
    full = pd.concat([per_split, solver_pair.summary_rows(per_split)], ignore_index=True)
    assert solver_pair.run_folders(full) == ["a", "b"]  # once each, the summary rows left out
    table = solver_pair.shown(full)
    assert list(table.columns) == ["statistic", "split", "adam", "adamw", "vote", "vote gain", "test clips"]
    assert table.loc[1, ["adam", "vote gain", "test clips"]].tolist() == ["0.750 [0.250, 0.750]", "-0.125", "8"]
    assert table.loc[2, "adamw"] == "0.625"  # no interval unless the seeds' resamples are pooled
    pooled = solver_pair.summary_rows(per_split, {"adamw": (0.125, 0.875)})
    assert solver_pair.shown(pooled).loc[0, "adamw"] == "0.625 [0.125, 0.875]"
    assert table.loc[3, ["adam", "vote gain", "test clips"]].tolist() == [
        f"{0.25 / 2**0.5:.3f}",
        f"{0.125 / 2**0.5:.3f}",
        "",
    ]
