"""The sentences under the book's figures: wording and numbers follow crafted results."""

import numpy as np
import pandas as pd

from mlib.core.verdict import Verdict
from mlib.experiments import controls
from mlib.report import takeaways


def test_versus_chance_wording_switches_on_the_interval():
    assert "above chance" in takeaways.versus_chance(0.6, 0.4, 0.8, 0.25)
    assert "at chance" in takeaways.versus_chance(0.3, 0.1, 0.5, 0.25)
    assert "below chance" in takeaways.versus_chance(0.05, 0.0, 0.2, 0.25)
    assert "0.600" in takeaways.versus_chance(0.6, 0.4, 0.8, 0.25)


def test_ensemble_gain_says_when_the_test_set_cannot_tell():
    gain = {"gain": 0.05, "gain_ci_low": -0.02, "gain_ci_high": 0.12, "n_test": 40}
    assert "cannot be told apart" in takeaways.ensemble_gain(gain)
    assert "beats" in takeaways.ensemble_gain(gain | {"gain_ci_low": 0.01})
    assert "worse" in takeaways.ensemble_gain(gain | {"gain": -0.1, "gain_ci_low": -0.2, "gain_ci_high": -0.01})


def test_data_sentences_count_clips_padding_and_split():
    clips = pd.DataFrame({"subject": ["a", "a", "a", "b"]})
    assert takeaways.dataset_size(clips) == "The loader kept 4 clips of 2 subjects, 1 to 3 clips per subject."
    index = pd.DataFrame({"pad_before": [0, 2, 0], "pad_after": [0, 0, 1], "detector": ["haar", "haar", "fallback"]})
    assert takeaways.padding(index).startswith("2 of 3 windows")
    assert "no frame was repeated" in takeaways.padding(index.assign(pad_before=0, pad_after=0))
    assert "haar for 2 of 3 clips" in takeaways.detector(index)
    split = pd.DataFrame(
        {
            "clip_key": list("abcdef"),
            "subject": list("xxyyzw"),
            "part": ["train", "train", "val", "test", "excluded", "excluded"],
        }
    )
    assert takeaways.split_sizes(split) == (
        "The split puts 2 clips in train, 1 clips in validation, 1 clips in test; 2 subjects excluded."
    )


def test_training_sentences_follow_history_cmc_confusion_and_subjects():
    history = pd.DataFrame({"epoch": [1, 2], "train_acc": [0.5, 0.9], "val_acc": [0.4, 0.3]})
    assert "epoch 1 (validation accuracy 0.400)" in takeaways.learning_curve(history, 1)
    assert "within the first 2 of 3" in takeaways.cmc(np.array([0.5, 1.0, 1.0]))
    assert "not within the first 3" in takeaways.cmc(np.array([0.2, 0.5, 0.9]))
    assert "diagonal" in takeaways.confusion(np.eye(2, dtype=int), ["a", "b"])
    assert "names a's clips b (3 clips)" in takeaways.confusion(np.array([[1, 3], [1, 2]]), ["a", "b"])
    subjects = pd.DataFrame({"subject": list("abc"), "accuracy": [1.0, 0.5, 0.0]})
    assert takeaways.per_subject(subjects) == "Of 3 test subjects, 1 are named correctly on every clip and 1 on none."


def test_grid_sentences_pick_the_best_and_measure_the_spread():
    table = pd.DataFrame({"label": ["a", "b", "c"], "val_rank1": [0.2, np.nan, 0.7]})
    assert "is c (validation rank-1 0.700; 2 scored)" in takeaways.best_of(table, "val_rank1", "label", "configuration")
    assert "+0.100" in takeaways.pick_gap({"test_rank1": 0.5}, {"test_rank1": 0.6})
    summary = pd.DataFrame({"seeds": [3, 3], "test_rank1_min": [0.1, 0.4], "test_rank1_max": [0.5, 0.5]})
    assert "up to 0.400" in takeaways.seed_spread(summary)
    assert "not measured" in takeaways.seed_spread(summary.assign(seeds=1))
    spread = pd.DataFrame({"rule": ["ours", "random numbering", "random numbering"], "test_rank1": [0.9, 0.3, 0.6]})
    assert "between 0.300 and 0.600" in takeaways.tie_order(spread)


def test_original_grid_sentences_read_rank_and_best_of_n():
    summary = pd.DataFrame({"database": ["SMIC"], "rank of Table 2": ["1 of 47"], "median": [0.4]})
    assert "ranked 1 of 47 (median run 0.400)" in takeaways.original_grid(summary)
    best = pd.DataFrame({"database": ["SMIC"], "best run (reported)": [0.7], "median run": [0.4], "runs (N)": [47]})
    assert "SMIC +0.300 over 47 runs" in takeaways.best_of_n(best)


def test_fusion_pairs_counts_votes_above_the_better_member_per_database():
    pairs = pd.DataFrame(
        {
            "database": ["SAMM", "SAMM", "SMIC"],
            "SlowFast_0_accuracy": [0.5, 0.5, 0.9],
            "SlowFast_1_accuracy": [0.6, 0.4, 0.8],
            "MacroMajorityVoteCombiner_accuracy": [0.7, 0.5, 0.9],
        }
    )
    assert takeaways.fusion_pairs(pairs).endswith("in 1 of 2 pairs on SAMM; 0 of 1 pairs on SMIC.")


def test_grid_picks_and_mean_map_agreement():
    import numpy as np

    picks = pd.DataFrame({"runs": [8], "best test pick": [0.8], "validation pick (test)": [0.7], "median run": [0.6]})
    assert takeaways.grid_picks(picks) == (
        "In our grid, the validation pick scores 0.700 on test against the best "
        "test pick's 0.800 and the median run's 0.600 (8 runs)."
    )
    rng = np.random.default_rng(0)
    motion = rng.random((3, 4, 4))
    same = np.repeat(motion[:, None], 2, axis=1)  # every frame's CAM is the clip's motion map
    sentence = takeaways.mean_map_agreement({"slow": same, "fast": np.ones((3, 2, 5, 5))}, motion)
    assert "slow r = 1.00" in sentence and "fast: not comparable" in sentence


def test_gradcam_claim_shows_the_lift_against_the_null_and_against_uniform_with_intervals():
    numbers = {
        "lift_vs_null": 1.05,
        "null_ci_low": 0.9,
        "null_ci_high": 1.2,
        "lift_vs_uniform": 1.8,
        "uniform_ci_low": 1.6,
        "uniform_ci_high": 2.0,
        "clips": 30,
    }
    sentence = takeaways.gradcam_claim(
        Verdict("does not clearly support", "", numbers=numbers), "fast", "the most moving pixels"
    )
    assert "1.05 (95 % interval 0.90 to 1.20) times what the same map puts on other clips' regions" in sentence
    assert "1.80 (95 % interval 1.60 to 2.00) times a uniform map's share, over 30 clips" in sentence
    assert "This does not clearly support" in sentence


def test_twins_within_reads_each_rank1_against_its_own_chance():
    found = pd.DataFrame(
        {
            "corpus": ["casme2-twins"] * 2,
            "variant": ["clip", "static-apex"],
            "rank1": [0.45, 0.4],
            "ci_low": [0.3, 0.25],
            "ci_high": [0.6, 0.55],
            "chance": [1 / 12] * 2,
            "within_group_rank1": [0.7, 0.6],
            "within_group_ci_low": [0.55, 0.45],  # the second's point is above chance, its interval is not
            "within_group_ci_high": [0.85, 0.75],
            "within_group_chance": [0.5] * 2,
        }
    )
    text = takeaways.twins_within(found)
    assert text == (
        "Twins, test rank-1 (mean over split seeds; 95 % intervals resample subjects, then clips): casme2-twins "
        "clip: overall 0.450 [0.300, 0.600] (above its chance 0.083), within the face group 0.700 [0.550, 0.850] "
        "(above its chance 0.500); casme2-twins static-apex: overall 0.400 [0.250, 0.550] (above its chance "
        "0.083), within the face group 0.600 [0.450, 0.750] (not above its chance 0.500)."
    )
    assert takeaways.twins_within(found.iloc[:0]).startswith("No twins corpus")
    shown = controls.shown_twins(found)
    assert shown.loc[1, "within the face group [95 % interval]"] == "0.600 [0.450, 0.750]"
    assert shown.loc[1, "chance within the group"] == 0.5
