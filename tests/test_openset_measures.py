"""The open-set measures against a case computed by hand, and the textbook identities."""

import numpy as np
import pytest

from mlib.core.metrics import rank_k
from mlib.openset import measures as m

GALLERY = ["A", "B"]
PROBES = ["A", "A", "B", "U", "V"]  # U and V never enrolled
SCORES = np.array([[0.9, 0.3], [0.4, 0.6], [0.2, 0.8], [0.7, 0.5], [0.1, 0.35]])
# genuine 0.9, 0.4, 0.8; impostor 0.3, 0.6, 0.2, 0.7, 0.5, 0.1, 0.35


def pairs():
    return m.verification_pairs(SCORES, PROBES, GALLERY)


def test_pairs_by_hand():
    genuine, scores = pairs()
    assert sorted(scores[genuine]) == [0.4, 0.8, 0.9]
    assert sorted(scores[~genuine]) == [0.1, 0.2, 0.3, 0.35, 0.5, 0.6, 0.7]


def test_eer_by_hand():
    # FMR 2/7 -> 3/7 between thresholds 0.6 and 0.5 while FNMR stays 1/3: they cross at 1/3
    assert m.eer(*pairs()) == pytest.approx(1 / 3)


def test_fnmr_at_fmr_by_hand():
    genuine, scores = pairs()
    assert m.fnmr_at_fmr(genuine, scores, 0.01) == pytest.approx(1 / 3)  # only FMR 0 allowed: threshold 0.8
    assert m.fnmr_at_fmr(genuine, scores, 0.10) == pytest.approx(1 / 3)  # 1/7 > 10 %
    assert m.fnmr_at_fmr(genuine, scores, 0.45) == pytest.approx(0.0)  # threshold 0.4, FMR 3/7


def test_det_matches_roc():
    genuine, scores = pairs()
    roc, det = m.roc(genuine, scores), m.det(genuine, scores)
    at = dict(zip(roc["threshold"], zip(roc["fmr"], roc["fnmr"])))
    for t, fmr, fnmr in zip(det["threshold"], det["fmr"], det["fnmr"]):
        assert at[t] == pytest.approx((fmr, fnmr))


def test_threshold_at_fmr_by_hand():
    genuine, scores = pairs()
    impostor = scores[~genuine]
    t = m.threshold_at_fmr(impostor, 0.15)  # one of seven impostors may pass: just above 0.6
    assert 0.6 < t <= 0.7 and (impostor >= t).mean() == pytest.approx(1 / 7)
    assert (impostor >= m.threshold_at_fmr(impostor, 0.10)).sum() == 0
    assert m.threshold_at_fmr(impostor, 1.0) == -np.inf


def test_dir_fpir_by_hand():
    curve = m.dir_fpir_curve(SCORES, PROBES, GALLERY)
    assert list(curve["threshold"]) == [np.inf, 0.9, 0.8, 0.7, 0.6, 0.35, -np.inf]
    np.testing.assert_allclose(curve["dir"], [0, 1 / 3, 2 / 3, 2 / 3, 2 / 3, 2 / 3, 2 / 3])
    np.testing.assert_allclose(curve["fpir"], [0, 0, 0, 0.5, 0.5, 1, 1])
    assert m.dir_at_fpir(SCORES, PROBES, GALLERY, 0.01) == pytest.approx(2 / 3)


def test_dir_at_fpir_when_an_unknown_person_scores_highest():
    """The best score of all is a never-enrolled probe's: no finite threshold has FPIR 0, so DIR at FPIR 0 is
    that of the threshold above every score, 0 (it used to find no threshold at all)."""
    scores = np.array([[0.5, 0.1], [0.2, 0.6], [0.9, 0.3]])
    probes, gallery = ["a", "b", "u"], ["a", "b"]
    assert m.dir_at_fpir(scores, probes, gallery, 0.01) == 0
    assert m.dir_at_fpir(scores, probes, gallery, 1.0) == pytest.approx(1)


def test_cmc_by_hand():
    np.testing.assert_allclose(m.cmc(SCORES, PROBES, GALLERY), [2 / 3, 1])


def test_eer_is_where_fmr_equals_fnmr():
    rng = np.random.default_rng(0)
    genuine = np.r_[np.ones(200, bool), np.zeros(800, bool)]
    scores = np.r_[rng.normal(1, 1, 200), rng.normal(0, 1, 800)]
    e = m.eer(genuine, scores)
    t = np.quantile(scores[~genuine], 1 - e)  # the threshold whose FMR is the EER
    assert (scores[genuine] < t).mean() == pytest.approx(e, abs=0.02)
    assert 0.25 < e < 0.40  # two unit normals one apart: EER = Phi(-0.5) = 0.31


def test_dir_at_minus_infinity_is_closed_set_rank1():
    rng = np.random.default_rng(1)
    gallery = [f"s{i}" for i in range(6)]
    probes = list(rng.choice(gallery + ["u1", "u2"], size=60))
    scores = rng.random((60, 6))
    curve = m.dir_fpir_curve(scores, probes, gallery)
    mated = np.isin(probes, gallery)
    assert curve["threshold"][-1] == -np.inf
    assert curve["dir"][-1] == pytest.approx(rank_k(np.array(probes)[mated], scores[mated], gallery, 1))
    assert curve["fpir"][-1] == 1.0


def test_dir_and_fpir_fall_as_the_threshold_rises():
    rng = np.random.default_rng(2)
    gallery = ["a", "b", "c"]
    probes = list(rng.choice(gallery + ["x"], size=40))
    curve = m.dir_fpir_curve(rng.random((40, 3)), probes, gallery)
    assert np.all(np.diff(curve["threshold"]) < 0)  # thresholds descend, so both may only grow
    assert np.all(np.diff(curve["dir"]) >= 0) and np.all(np.diff(curve["fpir"]) >= 0)


def test_bootstrap_resamples_subjects_not_clips():
    probes = np.array(["A", "A", "A", "B"])  # A always right, B always wrong
    seen = []

    def measure(rows):
        value = float(np.mean(probes[rows] == "A"))
        seen.append(value)
        return {"share": value}

    low, high = m.subject_bootstrap(measure, probes, n_boot=200, seed=3)["share"]
    assert set(seen) <= {0.0, 0.75, 1.0}  # AA, AB or BB: a subject's clips travel together
    assert low == 0.0 and high == 1.0


def test_open_set_measures_report_intervals_around_the_point():
    rng = np.random.default_rng(4)
    gallery = [f"s{i}" for i in range(5)]
    probes = list(np.repeat(gallery + ["u0", "u1", "u2"], 4))
    truth = np.array([[p == g for g in gallery] for p in probes], float)
    scores = truth * 0.5 + rng.random((len(probes), 5)) * 0.7
    out = m.open_set_measures(scores, probes, gallery, n_boot=100, seed=0)
    assert set(out["measures"]) == {
        "eer",
        "fnmr_at_fmr_0.01",
        "fnmr_at_fmr_0.1",
        "dir_at_fpir_0.01",
        "dir_at_fpir_0.1",
        "rank1",
    }
    for key in out["measures"]:
        low, high = out["intervals"][key]
        assert low <= high and 0 <= low <= 1 and 0 <= high <= 1, key
    assert out["counts"] == {"probes": 32, "mated": 20, "enrolled_subjects": 5, "probe_subjects": 8}
    again = m.open_set_measures(scores, probes, gallery, n_boot=100, seed=0)
    assert again["intervals"] == out["intervals"]


def test_one_sided_inputs_are_refused():
    with pytest.raises(ValueError, match="genuine and impostor"):
        m.eer(np.ones(3, bool), np.array([0.1, 0.2, 0.3]))
    with pytest.raises(ValueError, match="mated and non-mated"):
        m.dir_fpir_curve(SCORES[:3], PROBES[:3], GALLERY)
