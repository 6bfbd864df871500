"""Identification metrics against small hand-checked cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import top_k_accuracy_score

from mlib import metrics

from mlib.metrics import (
    bootstrap_rank1_ci,
    cmc_curve,
    confusion,
    per_subject_accuracy,
    rank_k,
    read_predictions,
    summarize,
    true_ranks,
)

CLASSES = ["a", "b", "c"]
# Ranks of the true subject, checked by hand: 1, 2, 3, 2.
Y_TRUE = ["a", "b", "c", "a"]
PROBA = np.array([
    [0.6, 0.3, 0.1],
    [0.5, 0.3, 0.2],
    [0.5, 0.3, 0.2],
    [0.2, 0.7, 0.1],
])


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
    frame = pd.DataFrame({"clip_key": ["k1", "k2", "k3", "k4"], "subject": Y_TRUE, "part": ["test", "test", "val", "test"],
                          "predicted": ["a", "a", "a", "b"]})
    frame = pd.concat([frame, pd.DataFrame(PROBA, columns=[f"p:{c}" for c in CLASSES])], axis=1)
    frame.to_csv(tmp_path / "predictions.csv", index=False)
    test = read_predictions(tmp_path / "predictions.csv", "test")
    assert test.classes == CLASSES and test.y_true == ["a", "b", "a"] and test.y_pred == ["a", "a", "b"]
    summary = summarize(test.y_true, test.proba, test.classes)
    assert summary["rank1"] == pytest.approx(1 / 3) and summary["n_subjects"] == 2 and summary["n_clips"] == 3
    with pytest.raises(FileNotFoundError, match="no such predictions"):
        read_predictions(tmp_path / "absent.csv")


def test_within_group_rank1_asks_only_among_the_twins():
    """Appearance finds the pair (both clips rank 1 overall fail) but only movement tells the twins apart."""
    classes = ["a1", "a2", "b1", "b2"]
    groups = {"a1": "a", "a2": "a", "b1": "b", "b2": "b"}
    proba = np.array([[0.1, 0.2, 0.6, 0.1],    # a1: overall wrong (b1), within pair a wrong (a2)
                      [0.1, 0.3, 0.5, 0.1],    # a2: overall wrong, within pair right
                      [0.0, 0.0, 0.3, 0.7]])   # b1: wrong overall and within the pair
    found = metrics.within_group_rank1(["a1", "a2", "b1"], proba, classes, groups)
    assert found == {"rank1": pytest.approx(1 / 3), "chance": 0.5, "n_clips": 3}
    assert metrics.rank_k(["a1", "a2", "b1"], proba, classes) == 0.0
    with pytest.raises(ValueError, match=r"\['b2'\] have no group"):
        metrics.within_group_rank1(["a1"], proba[:1], classes, {"a1": "a", "a2": "a", "b1": "b"})
