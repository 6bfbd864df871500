"""Identification metrics against small hand-checked cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import top_k_accuracy_score

from mlib.core import metrics
from mlib.core.metrics import (
    bootstrap_rank1_ci,
    chance_level,
    cmc_curve,
    confusion,
    hierarchical_bootstrap_draws,
    hierarchical_rank1_ci,
    paired_difference_ci,
    paired_difference_draws,
    per_subject_accuracy,
    percentile_interval,
    pooled_interval,
    rank_k,
    read_predictions,
    summarize,
    true_ranks,
)

CLASSES = ["a", "b", "c"]
# Ranks of the true subject, checked by hand: 1, 2, 3, 2.
Y_TRUE = ["a", "b", "c", "a"]
PROBA = np.array(
    [
        [0.6, 0.3, 0.1],
        [0.5, 0.3, 0.2],
        [0.5, 0.3, 0.2],
        [0.2, 0.7, 0.1],
    ]
)


def test_ranks_rank_k_and_cmc_by_hand():
    assert list(true_ranks(Y_TRUE, PROBA, CLASSES)) == [1, 2, 3, 2]
    assert rank_k(Y_TRUE, PROBA, CLASSES, 1) == pytest.approx(0.25)
    assert rank_k(Y_TRUE, PROBA, CLASSES, 2) == pytest.approx(0.75)
    assert rank_k(Y_TRUE, PROBA, CLASSES, 5) == 1.0
    assert np.allclose(cmc_curve(Y_TRUE, PROBA, CLASSES), [0.25, 0.75, 1.0])


def test_ties_go_to_the_earlier_class_like_argmax():
    proba = np.array([[0.4, 0.4, 0.2], [0.1, 0.45, 0.45]])
    assert list(true_ranks(["b", "c"], proba, CLASSES)) == [2, 2]
    assert rank_k(["b", "c"], proba, CLASSES, 1) == 0.0
    assert rank_k(["a", "b"], proba, CLASSES, 1) == 1.0


def test_cmc_is_monotone_ends_at_one_and_matches_scikit_learn():
    rng = np.random.default_rng(0)
    classes = [f"s{i}" for i in range(7)]
    proba = rng.dirichlet(np.ones(7), size=40)
    y_true = list(rng.choice(classes, size=40))
    cmc = cmc_curve(y_true, proba, classes)
    assert np.all(np.diff(cmc) >= 0) and cmc[-1] == pytest.approx(1.0)
    for k in (1, 3, 5):
        expected = top_k_accuracy_score(y_true, proba, k=k, labels=classes)
        assert cmc[k - 1] == pytest.approx(expected) == rank_k(y_true, proba, classes, k)


def test_two_classes():
    proba = np.array([[0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    assert rank_k(["x", "y", "y"], proba, ["x", "y"], 1) == pytest.approx(2 / 3)


def test_confusion_and_per_subject_accuracy_by_hand():
    # predictions: a, a, a, b
    assert confusion(Y_TRUE, PROBA, CLASSES).tolist() == [[1, 1, 0], [1, 0, 0], [1, 0, 0]]
    table = per_subject_accuracy(Y_TRUE, PROBA, CLASSES)
    assert table["subject"].tolist() == ["a", "b", "c"]
    assert table["n_clips"].tolist() == [2, 1, 1]
    assert table["accuracy"].tolist() == [0.5, 0.0, 0.0]


def test_bootstrap_interval_contains_the_estimate_and_is_seeded():
    rng = np.random.default_rng(1)
    proba = rng.dirichlet(np.ones(3), size=60)
    y_true = list(rng.choice(CLASSES, size=60))
    point = rank_k(y_true, proba, CLASSES, 1)
    low, high = bootstrap_rank1_ci(y_true, proba, CLASSES, seed=5)
    assert low <= point <= high and low < high
    assert (low, high) == bootstrap_rank1_ci(y_true, proba, CLASSES, seed=5)
    assert bootstrap_rank1_ci(Y_TRUE[:1], PROBA[:1], CLASSES) == (1.0, 1.0)


def test_read_predictions_round_trip(tmp_path):
    frame = pd.DataFrame(
        {
            "clip_key": ["k1", "k2", "k3", "k4"],
            "subject": Y_TRUE,
            "part": ["test", "test", "val", "test"],
            "predicted": ["a", "a", "a", "b"],
        }
    )
    frame = pd.concat([frame, pd.DataFrame(PROBA, columns=[f"p:{c}" for c in CLASSES])], axis=1)
    frame.to_csv(tmp_path / "predictions.csv", index=False)
    test = read_predictions(tmp_path / "predictions.csv", "test")
    assert test.classes == CLASSES and test.y_true == ["a", "b", "a"] and test.y_pred == ["a", "a", "b"]
    summary = summarize(test.y_true, test.proba, test.classes)
    assert summary["rank1"] == pytest.approx(1 / 3) and summary["n_subjects"] == 2 and summary["n_clips"] == 3
    assert summary["chance"] == pytest.approx(2 / 3)  # subject a holds 2 of the 3 test clips, above 1/3
    assert len(summary["rank1_ci95_clips"]) == 2
    with pytest.raises(FileNotFoundError, match="no such predictions"):
        read_predictions(tmp_path / "absent.csv")


def test_hierarchical_draws_count_subjects_when_each_subject_is_all_right_or_all_wrong():
    # 4 subjects of 5 clips each, subjects a and b always right, c and d always wrong: redrawing a subject's
    # clips changes nothing, so each draw is (right subjects drawn) / 4, and P(0 right) = P(4 right) = 1/16.
    subjects = np.repeat(["a", "b", "c", "d"], 5)
    values = np.isin(subjects, ["a", "b"]).astype(float)
    draws = hierarchical_bootstrap_draws(values, subjects, n_boot=4000, seed=3)
    assert set(np.round(draws, 9)) <= {0.0, 0.25, 0.5, 0.75, 1.0}
    assert np.mean(draws == 0.5) == pytest.approx(6 / 16, abs=0.03)
    assert np.mean(draws == 0.0) == pytest.approx(1 / 16, abs=0.015)
    assert percentile_interval(draws) == (0.0, 1.0)  # 1/16 in each tail is more than the 2.5 % a tail may hold
    assert np.array_equal(draws, hierarchical_bootstrap_draws(values, subjects, n_boot=4000, seed=3))
    assert not np.array_equal(draws, hierarchical_bootstrap_draws(values, subjects, n_boot=4000, seed=4))


def test_hierarchical_interval_is_wider_than_the_clip_interval_when_subjects_differ():
    classes = [f"s{i}" for i in range(6)]
    subjects = list(np.repeat(classes, 20))  # 120 clips, but only six people
    right = np.isin(subjects, classes[:3])  # three subjects always named, three never
    proba = np.array([[1.0 if (c == s) == r else 0.0 for c in classes] for s, r in zip(subjects, right)])
    proba[~right] = np.roll(proba[~right], 1, axis=1)  # wrong rows: the mass on another class
    proba[right] = [[float(c == s) for c in classes] for s in np.asarray(subjects)[right]]
    clip_low, clip_high = bootstrap_rank1_ci(subjects, proba, classes, seed=0)
    low, high = hierarchical_rank1_ci(subjects, proba, classes, seed=0)
    assert low <= 0.5 <= high and clip_low <= 0.5 <= clip_high
    assert high - low > 2 * (clip_high - clip_low)
    assert hierarchical_rank1_ci(subjects, proba, classes, seed=0) == (low, high)


def test_paired_difference_is_of_the_same_clips():
    subjects = np.repeat(["a", "b", "c"], 4)
    same = np.ones(12, bool)
    assert paired_difference_ci(same, same, subjects) == (0.0, 0.0)  # identical answers: no difference at all
    worse = same.copy()
    worse[subjects == "a"] = False  # subject a lost on every clip: each draw's gain is (a's drawn) / 3
    draws = paired_difference_draws(same, worse, subjects, n_boot=3000, seed=1)
    assert set(np.round(draws, 9)) <= {0.0, round(1 / 3, 9), round(2 / 3, 9), 1.0}
    assert draws.mean() == pytest.approx(1 / 3, abs=0.02)
    assert paired_difference_ci(same, worse, subjects) == (0.0, 1.0)  # P(a thrice) = 1/27, above the 2.5 % tail


def test_pooled_interval_holds_the_spread_between_split_seeds():
    rng = np.random.default_rng(0)
    one, other = rng.normal(0.4, 0.01, 2000), rng.normal(0.8, 0.01, 2000)
    low, high = pooled_interval([one, other])
    assert low < 0.4 and high > 0.8  # the mixture spans both seeds, not the mean of their bounds
    assert pooled_interval([one]) == percentile_interval(one)
    with pytest.raises(ValueError, match="same number"):
        pooled_interval([one, other[:10]])


def test_chance_is_the_larger_of_one_over_k_and_the_test_majority_rate():
    classes = [f"s{i}" for i in range(16)]
    assert chance_level(classes, classes) == pytest.approx(1 / 16)  # balanced: 1/K
    heavy = ["s0"] * 6 + classes[1:15]  # 20 test clips, 6 of them one subject (the SMIC-like case)
    assert chance_level(heavy, classes) == pytest.approx(0.3)


def test_within_group_hits_ask_only_among_the_twins():
    """Appearance finds the pair (both clips rank 1 overall fail) but only movement tells the twins apart."""
    classes = ["a1", "a2", "b1", "b2"]
    groups = {"a1": "a", "a2": "a", "b1": "b", "b2": "b"}
    proba = np.array(
        [
            [0.1, 0.2, 0.6, 0.1],  # a1: overall wrong (b1), within pair a wrong (a2)
            [0.1, 0.3, 0.5, 0.1],  # a2: overall wrong, within pair right
            [0.0, 0.0, 0.3, 0.7],
        ]
    )  # b1: wrong overall and within the pair
    hits, chances = metrics.within_group_hits(["a1", "a2", "b1"], proba, classes, groups)
    assert hits.tolist() == [False, True, False] and chances.tolist() == [0.5, 0.5, 0.5]
    assert metrics.rank_k(["a1", "a2", "b1"], proba, classes) == 0.0
    with pytest.raises(ValueError, match=r"\['b2'\] have no group"):
        metrics.within_group_hits(["a1"], proba[:1], classes, {"a1": "a", "a2": "a", "b1": "b"})
