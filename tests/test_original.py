"""The original grid's facts, computed from the shipped reference data (no training)."""

import numpy as np
import pandas as pd
import pytest

from mlib import paper
from mlib.experiments import grid
from mlib.experiments.grid import GridError
from mlib.paper import original


@pytest.fixture(scope="module")
def runs():
    return original.load_runs()


@pytest.fixture(scope="module")
def pairs():
    return original.load_fusion_pairs()


def test_shipped_data_has_the_original_grid_and_every_pair(runs, pairs):
    assert runs.groupby("dataset").size().to_dict() == {"samm": 26, "casme2": 4, "smic": 47}
    n = runs.groupby("dataset").size()
    assert pairs.groupby("dataset").size().to_dict() == {d: k * (k - 1) // 2 for d, k in n.items()}
    for dataset in original.ORIGINAL_NAMES:
        for table in original.SOURCES:
            assert original.provenance(table, dataset).startswith(f"{original.REPOSITORY}@7b05a76:Output/")


@pytest.mark.parametrize(
    "dataset, counts, ceiling",
    [("casme2", (101, 26, 127), 1.0), ("samm", (60, 16, 77), 72 / 77), ("smic", (62, 16, 79), 78 / 79)],
)
def test_split_facts_of_the_original_lists(dataset, counts, ceiling):
    facts = original.split_facts(original.load_split(dataset))
    assert (facts["train"], facts["val"], facts["test"]) == counts
    assert facts["ceiling"] == pytest.approx(ceiling)


def test_split_facts_on_a_crafted_split():
    split = pd.DataFrame(
        {
            "subject": ["a", "a", "a", "b", "a", "b", "c", "c", "c"],
            "part": ["train", "train", "val", "train", "test", "test", "val", "test", "test"],
        }
    )
    facts = original.split_facts(split)
    assert facts["majority_subject"] == "a" and facts["majority_rate"] == 0.25
    assert facts["untrained_subjects"] == ["c"] and facts["untrained_test_clips"] == 2 and facts["ceiling"] == 0.5
    assert facts["chance"] == 0.5  # c holds 2 of the 4 test clips, above 1/3: the test majority rate, not a's 0.25


def test_table2_numbers_are_the_best_test_run_of_each_grid(runs):
    summary = original.grid_summary(runs).set_index("database")
    for dataset, name in paper.DATASET_NAMES.items():
        assert summary.at[name, "rank of Table 2"] == f"1 of {summary.at[name, 'runs']}"
        assert summary.at[name, "max"] == pytest.approx(paper.TABLE2_RANK1[dataset], abs=5e-4)
    assert summary.at["SAMM", "median"] == pytest.approx(0.377, abs=1e-3)


def test_published_fusion_scores_agree_with_pusions_code(runs, pairs):
    sizes = pairs["dataset"].map(runs.groupby("dataset")["n_test"].first())
    assert original.pusion_identity_violations(pairs, sizes).empty
    broken = pairs.assign(CosineSimilarityCombiner_accuracy=pairs["SlowFast_1_accuracy"])
    assert not original.pusion_identity_violations(broken, sizes).empty  # the check can fail


def test_pair_ties_counts_clips():
    pair = pd.DataFrame(
        {
            "SlowFast_0_accuracy": [0.8],
            "SlowFast_1_accuracy": [0.6],
            "SimpleAverageCombiner_accuracy": [0.5],
            "MacroMajorityVoteCombiner_accuracy": [0.7],
        }
    )
    ties = original.pair_ties(pair, 10).iloc[0]
    assert (ties["both_right"], ties["one_right"], ties["won_by_ties"]) == (5, 4, 2)
    assert ties["expected_vote"] == 7.0 and ties["p_at_least"] == pytest.approx(11 / 16)


def test_table3_pair_and_its_tie_order(runs, pairs):
    table = original.table3_pair(runs, pairs).set_index("model")
    assert table.at["MacroMajorityVoteCombiner", "test top-1"] == pytest.approx(paper.TABLE3_RANK1["ensemble"])
    ties = original.table3_ties(runs, pairs)
    assert ties["rank among SMIC pairs"] == 1 and ties["SMIC pairs"] == 1081
    assert (ties["both right"], ties["exactly one right"], ties["won by the tie order"]) == (69, 7, 6)
    assert ties["expected vote over random numberings"] == pytest.approx((74 + 71) / 2 / 79)


def test_expected_best_of_n_is_exact():
    scores = [0.1, 0.5, 0.9]
    assert original.expected_best_of_n(scores, 1) == pytest.approx(0.5)
    # max of two draws: P(0.9) = 1 - (2/3)^2 = 5/9, P(0.5) = 4/9 - 1/9 = 3/9, P(0.1) = 1/9
    assert original.expected_best_of_n(scores, 2) == pytest.approx((0.1 + 3 * 0.5 + 5 * 0.9) / 9)
    rng = np.random.default_rng(0)
    draws = rng.choice(scores, size=(20000, 5)).max(axis=1).mean()
    assert original.expected_best_of_n(scores, 5) == pytest.approx(draws, abs=0.01)
    with pytest.raises(ValueError, match="n >= 1"):
        original.expected_best_of_n(scores, 0)


def test_noise_best_of_n_matches_simulation():
    result = original.noise_best_of_n(0.7, 50, 20)
    simulated = np.random.default_rng(1).binomial(50, 0.7, size=(20000, 20)).max(axis=1).mean() / 50
    assert result["expected best"] == pytest.approx(simulated, abs=0.005)
    assert result["median run"] == 0.7 and result["inflation"] > 0.05
    assert original.noise_best_of_n(0.7, 50, 1)["expected best"] == pytest.approx(0.7)


def test_our_grid_picks(tmp_path):
    folders = []
    for seed, (val, test) in enumerate([([0.5, 0.9, 0.7], [0.6, 0.5, 0.8]), ([0.4, 0.4, 0.2], [0.3, 0.7, 0.9])]):
        folder = tmp_path / f"grid-seed{seed}"
        folder.mkdir()
        pd.DataFrame(
            {
                "config_id": [0, 1, 2, 3],
                "run_dir": ["a", "b", "c", "d"],
                "status": ["done", "done", "done", "failed"],
                "val_rank1": [*val, np.nan],
                "test_rank1": [*test, np.nan],
            }
        ).to_csv(folder / "grid.csv", index=False)
        folders.append(folder)
    picks = grid.grid_picks(folders)
    assert picks["best test pick"].tolist() == [0.8, 0.9]
    assert picks["validation pick (test)"].tolist() == [0.5, 0.3]  # second grid: a tie on val -> first run
    assert picks["median run"].tolist() == [0.6, 0.7] and picks["runs"].tolist() == [3, 3]
    with pytest.raises(GridError, match="no grid table"):
        grid.grid_picks([tmp_path / "nothing"])


def test_best_of_n_curves_rise_to_near_each_grids_best(runs):
    curves = original.best_of_n_curves(runs)
    for _, curve in curves.groupby("database"):
        assert curve["n"].max() == curve["grid runs"].iloc[0]
        assert curve["expected best"].is_monotonic_increasing
    table = original.best_of_n_table(runs).set_index("database")
    assert (table["expected best of N, noise only at the median"] > table["median run"]).all()
    assert (table["expected best of N, drawn from the grid"] <= table["best run (reported)"]).all()


def test_plots_of_the_original_grid(runs, pairs):
    from mlib.plots import original as plots

    summary = original.grid_summary(runs)
    assert len(plots.grid_distributions(runs, summary).axes[0].get_xticklabels()) == 3
    assert len(plots.fusion_pairs(pairs, original.table3_pair_row(runs, pairs)).axes) == 3
    assert plots.best_of_n(original.best_of_n_curves(runs), original.best_of_n_table(runs)).axes[0].get_ylabel()


def test_the_original_grid_runs_every_setting_once():
    """book/paper.md says so: the grid's spread is between settings, never between repeats of one."""
    runs = original.load_runs()
    assert not runs.duplicated(["dataset", "alpha", "beta_inv", "batch", "lr", "opt"]).any()
