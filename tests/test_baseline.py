"""The hand-crafted baseline (LGBP / LBP-TOP / FHOFO + SVM): descriptors, what each sees, the motion verdict, run folders."""

from __future__ import annotations

import argparse
import json

import cv2
import numpy as np
import pandas as pd
import pytest
from tiny_caches import write_cache, write_split

from mlib.commands import baseline as baseline_command
from mlib.experiments import baseline, ensemble
from mlib.experiments.baseline import FeatureSettings
from mlib.plots.baseline import feature_set_accuracy

SMALL = FeatureSettings(side=32, grid=4)


def _texture(size: int, seed: int, blur: float = 1.5) -> np.ndarray:
    """A smooth random grey texture, uint8 (size, size)."""
    noise = np.random.default_rng(seed).random((size, size)).astype(np.float32)
    smooth = cv2.GaussianBlur(noise, (0, 0), blur)
    smooth = (smooth - smooth.min()) / (smooth.max() - smooth.min())
    return np.round(40 + 170 * smooth).astype(np.uint8)


def _rgb(grey_frames: np.ndarray) -> np.ndarray:
    return np.repeat(np.asarray(grey_frames, np.uint8)[..., None], 3, axis=-1)


def _moving_clip(
    canvas: np.ndarray,
    side: int,
    frames: int,
    velocity: tuple[int, int],
    offset: tuple[int, int],
    noise: float = 0.0,
    rng=None,
) -> np.ndarray:
    """Frames of a side x side view of ``canvas`` whose content moves by ``velocity`` (dx, dy) px per frame.

    ``offset`` is the content's shift at the centre frame (the apex), so the apex frame
    does not reveal the direction of motion.
    """
    centre = (canvas.shape[0] - side) // 2
    apex = frames // 2
    out = []
    for t in range(frames):
        dx = offset[0] + velocity[0] * (t - apex)
        dy = offset[1] + velocity[1] * (t - apex)
        view = canvas[centre - dy : centre - dy + side, centre - dx : centre - dx + side].astype(float)
        if noise:
            view = view + rng.normal(0, noise, view.shape)
        out.append(np.clip(view, 0, 255))
    return _rgb(np.stack(out))


def _texture_cache(root, subjects: int, clips_per_subject: int, frames: int):
    """Subjects differ by their face texture; every clip is still, with its own shift and pixel noise."""
    rng = np.random.default_rng(0)
    clips = {}
    for s in range(subjects):
        canvas = _texture(96, seed=100 + s, blur=1.0 + s % 2)
        clips[f"{s + 1:02d}"] = [
            _moving_clip(canvas, 32, frames, (0, 0), tuple(rng.integers(-3, 4, 2)), noise=3.0, rng=rng)
            for _ in range(clips_per_subject)
        ]
    return write_cache(root, clips, database_root=root / "db")


@pytest.fixture(scope="module")
def motion_only_cache(tmp_path_factory):
    """One identical face for everyone; each subject moves it in its own direction (right, left, down, up)."""
    root = tmp_path_factory.mktemp("motion")
    rng = np.random.default_rng(1)
    canvas = _texture(96, seed=7)
    directions = {"01": (1, 0), "02": (-1, 0), "03": (0, 1), "04": (0, -1)}
    clips = {
        subject: [_moving_clip(canvas, 32, 16, v, tuple(rng.integers(-10, 11, 2)), noise=3.0, rng=rng) for _ in range(8)]
        for subject, v in directions.items()
    }  # fmt: skip
    cache = write_cache(root, clips, database_root=root / "db")
    return cache, write_split(cache, n_train=3, n_val=1)


def _test_rank1(run_dir) -> float:
    return json.loads((run_dir / "metrics.json").read_text())["test"]["rank1"]


# ---------------------------------------------------------------- descriptors


def test_feature_shapes_determinism_and_normalisation():
    rng = np.random.default_rng(0)
    clip = rng.integers(0, 256, size=(12, 40, 40, 3), dtype=np.uint8)
    s = SMALL
    expected = {
        "lbp_top": s.grid**2 * 3 * s.lbp_bins,
        "lgbp": len(s.gabor_frequencies) * s.gabor_orientations * s.grid**2 * s.lbp_bins,
        "fhofo": s.grid**2 * s.flow_bins,
    }
    first = baseline.clip_descriptors(clip, 6, baseline.DESCRIPTORS, s)
    again = baseline.clip_descriptors(clip.copy(), 6, baseline.DESCRIPTORS, s)
    for name, size in expected.items():
        vector = first[name][0]
        assert vector.shape == (size,) and vector.dtype == np.float32
        np.testing.assert_array_equal(vector, again[name][0])
    # every block (and plane, and Gabor response) holds a histogram summing to 1
    np.testing.assert_allclose(first["lbp_top"][0].reshape(-1, s.lbp_bins).sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(first["lgbp"][0].reshape(-1, s.lbp_bins).sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(first["fhofo"][0].reshape(-1, s.flow_bins).sum(axis=1), 1.0, rtol=1e-5)
    # the apex frame is what LGBP sees
    other = baseline.clip_descriptors(clip, 2, ("lgbp",), s)["lgbp"][0]
    assert not np.array_equal(other, first["lgbp"][0])


def test_static_clip_puts_xt_yt_codes_on_the_flat_in_time_patterns():
    """All frames equal: both temporal neighbours equal the centre pixel (bits set), so no
    uniform code with fewer than 5 set bits can occur on XT/YT; moving noise gives plenty."""
    texture = _texture(32, seed=3)
    riu2 = FeatureSettings(side=32, grid=4, lbp_method="uniform")  # codes ordered by the count of set bits
    static = baseline.lbp_top_planes(np.repeat(texture[None], 10, axis=0), riu2)
    flicker = baseline.lbp_top_planes(np.stack([_texture(32, seed=s) for s in range(10)]), riu2)
    low_codes = slice(0, 5)  # uniform patterns with 0..4 bits set
    for plane in (1, 2):  # XT, YT
        assert static[:, plane, low_codes].sum() == 0
        assert flicker[:, plane, low_codes].sum(axis=1).mean() > 0.2
    # the XY plane sees the texture itself in both cases
    assert static[:, 0, low_codes].sum(axis=1).mean() > 0.1


@pytest.mark.parametrize(("velocity", "expected_bin"), [((1, 0), 0), ((0, 1), 2), ((-1, 0), 4)])
def test_fhofo_puts_translation_in_its_direction_bin(velocity, expected_bin):
    """Right = 0 degrees, down = 90 degrees (image coordinates), left = 180 degrees."""
    clip = _moving_clip(_texture(96, seed=5), 32, 10, velocity, (0, 0))
    histograms = baseline.fhofo(clip, SMALL).reshape(SMALL.grid**2, SMALL.flow_bins)
    assert histograms.mean(axis=0).argmax() == expected_bin
    assert histograms.mean(axis=0)[expected_bin] > 0.6
    assert (histograms.argmax(axis=1) == expected_bin).mean() >= 0.75


def test_fhofo_of_a_static_clip_is_empty():
    clip = _rgb(np.repeat(_texture(32, seed=2)[None], 6, axis=0))
    assert not baseline.fhofo(clip, SMALL).any()


# ---------------------------------------------------------------- what each feature set sees


def test_xtyt_part_is_lbp_tops_motion_planes():
    clip = np.random.default_rng(4).integers(0, 256, size=(10, 32, 32, 3), dtype=np.uint8)
    full = baseline.lbp_top(clip, SMALL)
    part = baseline.part_matrix("lbp_top_xtyt", {"lbp_top": full[None]}, SMALL)[0]
    planes = baseline.lbp_top_planes(baseline.grey_frames(clip, SMALL.side), SMALL)
    np.testing.assert_array_equal(part, planes[:, 1:].ravel())
    assert baseline.descriptors_of("lbp-top-xtyt") == ("lbp_top",)
    assert baseline.descriptors_of("all") == ("lgbp", "lbp_top", "fhofo")


def test_feature_sets_are_labelled_motion_exactly_when_blind_to_still_faces():
    """Two different faces held still (no noise): a motion feature set gives both the same vector, the others tell them apart."""
    assert set(baseline.FEATURE_SEES) == set(baseline.FEATURE_SETS)
    assert set(baseline.FEATURE_SEES.values()) == {"appearance", "appearance+motion", "motion"}
    still = [_rgb(np.repeat(_texture(32, seed=seed)[None], 8, axis=0)) for seed in (11, 12)]
    found = [
        {n: v[None] for n, (v, _) in baseline.clip_descriptors(c, 4, baseline.DESCRIPTORS, SMALL).items()}
        for c in still
    ]
    for features, sees in baseline.FEATURE_SEES.items():
        vectors = [
            np.concatenate([baseline.part_matrix(p, f, SMALL) for p in baseline.FEATURE_SETS[features]], axis=1)
            for f in found
        ]
        assert np.array_equal(*vectors) == (sees == "motion"), features
    # and what the motion part of LBP-TOP sees when something moves
    moving = _moving_clip(_texture(96, seed=5), 32, 8, (1, 0), (0, 0))
    assert not np.array_equal(baseline.lbp_top(moving, SMALL), baseline.lbp_top(still[0], SMALL))


def _results(rows):
    return pd.DataFrame(
        [dict(zip(["features", "test_rank1", "test_ci_low", "test_ci_high"], r), chance=1 / 12) for r in rows]
    )


def test_verdict_never_reads_motion_from_descriptors_that_see_appearance():
    """The issue's case: LBP-TOP 0.91 against LGBP 0.86 on faces that all make the same movement."""
    verdict = baseline.motion_feature_verdict(
        _results(
            [
                ("lgbp", 0.86, 0.78, 0.93),
                ("lbp-top", 0.91, 0.84, 0.97),
                ("lbp-top-xtyt", 0.80, 0.70, 0.88),
                ("all", 0.93, 0.87, 0.98),
            ]
        )
    )
    assert verdict.verdict == "no motion features"
    assert "better" not in verdict.evidence and "say nothing" in verdict.evidence
    # with FHOFO at chance beside it, the rule still cannot decide
    undecided = baseline.motion_feature_verdict(
        _results([("lbp-top", 0.91, 0.84, 0.97), ("lgbp", 0.86, 0.78, 0.93), ("fhofo", 0.10, 0.04, 0.18)])
    )
    assert undecided.verdict == "undecided" and "Cannot decide" in undecided.evidence
    assert len(undecided.numbers["rows"]) == 1 and undecided.numbers["rows"][0].startswith("fhofo: rank-1 0.100")


def test_verdict_says_motion_identifies_only_where_appearance_is_shared():
    table = _results([("lgbp", 0.95, 0.9, 1.0), ("fhofo", 0.30, 0.18, 0.42)])
    verdict = baseline.motion_feature_verdict(table, appearance_shared=True)
    assert verdict.verdict == "motion identifies" and "fhofo 0.300" in verdict.evidence
    # faces differ (real data, the twins corpus): FHOFO above chance may be the face seen through moving noise
    differing = baseline.motion_feature_verdict(table)
    assert differing.verdict == "above chance, appearance not excluded" and "does not show" in differing.evidence
    touching = baseline.motion_feature_verdict(_results([("fhofo", 0.30, 1 / 12, 0.42)]), appearance_shared=True)
    assert touching.verdict == "undecided"  # an interval reaching chance is not above it
    with pytest.raises(baseline.BaselineError, match="lacks column"):
        baseline.motion_feature_verdict(_results([("fhofo", 0.3, 0.2, 0.4)]).drop(columns="chance"))
    with pytest.raises(baseline.BaselineError, match="unknown feature set"):
        baseline.motion_feature_verdict(_results([("hog", 0.3, 0.2, 0.4)]))


# ---------------------------------------------------------------- appearance vs motion


def test_lgbp_identifies_subjects_that_differ_by_texture(tmp_path):
    cache = _texture_cache(tmp_path, subjects=4, clips_per_subject=6, frames=8)
    split = write_split(cache, n_train=3, n_val=1)
    run = baseline.run_baseline(cache, split, tmp_path / "runs", features="lgbp", workers=1, progress=False,
                                settings=SMALL)  # fmt: skip
    assert _test_rank1(run) >= 0.75  # chance 0.25


def test_motion_only_subjects_are_found_by_dynamics_not_appearance(motion_only_cache, tmp_path):
    cache, split = motion_only_cache

    def rank1(features, settings=SMALL):
        return _test_rank1(baseline.run_baseline(cache, split, tmp_path, features=features, workers=1,
                                                 progress=False, settings=settings))  # fmt: skip

    assert rank1("fhofo") >= 0.9
    assert rank1("lgbp") <= 0.5  # chance is 0.25 on 16 test clips
    # Rotation-invariant uniform LBP ("uniform") counts set bits, so a pattern and its mirror
    # image share a code: LBP-TOP then tells horizontal from vertical motion (XT vs YT planes)
    # but not right from left; the non-rotation-invariant codes (u2) tell all four apart.
    assert 0.4 <= rank1("lbp-top", FeatureSettings(side=32, grid=4, lbp_method="uniform")) <= 0.6
    assert rank1("lbp-top") >= 0.9  # the default, nri_uniform
    assert rank1("lbp-top-xtyt") >= 0.9  # its motion planes alone


# ---------------------------------------------------------------- the run folder


def test_run_folder_follows_the_contract_and_reruns_skip(motion_only_cache, tmp_path, monkeypatch):
    cache, split = motion_only_cache
    written = []
    for writer in ("write_csv", "write_json", "write_yaml"):
        original = getattr(baseline.io, writer)
        monkeypatch.setattr(
            baseline.io, writer, lambda path, data, _w=original: (written.append(path.name), _w(path, data))
        )
    run = baseline.run_baseline(cache, split, tmp_path, features="lbp-top+fhofo", workers=2, progress=False,
                                settings=SMALL)  # fmt: skip
    assert run.parent == tmp_path and run.name.startswith("baseline-lbp-top+fhofo-")
    assert written[-1] == "metrics.json" and "predictions.csv" in written and "config.yaml" in written

    predictions = pd.read_csv(run / "predictions.csv", dtype={"subject": str, "predicted": str})
    classes = ["01", "02", "03", "04"]
    assert list(predictions.columns) == ["clip_key", "subject", "part", "predicted"] + [f"p:{c}" for c in classes]
    assert set(predictions["part"]) == {"val", "test"} and len(predictions) == 4 + 16
    proba = predictions[[f"p:{c}" for c in classes]].to_numpy()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    assert (predictions["predicted"] == np.array(classes)[proba.argmax(axis=1)]).all()

    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["model"] == "baseline-svm" and metrics["features"] == ["lbp_top", "fhofo"]
    assert metrics["selection"] == "val" and metrics["C"] in baseline.C_GRID
    assert {"rank1", "rank5", "n_clips", "n_subjects"} <= set(metrics["test"]) and metrics["test"]["n_clips"] == 16
    assert metrics["feature_timing"]["seconds_per_clip"]["fhofo"] > 0
    config = (run / "config.yaml").read_text()
    assert "lbp-top+fhofo" in config and "temperature" in config

    # the ensemble reads a baseline run like any other run
    assert ensemble.load_predictions(run).classes == classes
    table = baseline.results_table([run])
    assert table.loc[0, "kind"] == "appearance+motion" and table.loc[0, "test_rank1"] == metrics["test"]["rank1"]
    assert feature_set_accuracy(table, paper_rank1=0.7148).axes[0].get_ylabel() == "test rank-1 accuracy"
    with pytest.raises(baseline.BaselineError, match="not a finished run"):
        baseline.results_table([tmp_path / "nothing"])

    # a rerun skips the finished run without computing anything
    stamp = (run / "metrics.json").stat().st_mtime_ns
    monkeypatch.setattr(baseline, "compute_features", lambda *a, **k: pytest.fail("a finished run was recomputed"))
    assert (
        baseline.run_baseline(cache, split, tmp_path, features="lbp-top+fhofo", progress=False, settings=SMALL) == run
    )
    assert (run / "metrics.json").stat().st_mtime_ns == stamp


def test_feature_cache_is_reused_across_feature_sets(motion_only_cache):
    cache, split = motion_only_cache
    keys = pd.read_csv(split)["clip_key"].tolist()[:5]
    baseline.compute_features(cache, keys, ("fhofo",), settings=SMALL, workers=1, progress=False)
    assert baseline.feature_file(cache, "fhofo", SMALL).is_file()
    matrices, timing = baseline.compute_features(cache, keys, ("fhofo",), settings=SMALL, workers=1, progress=False)
    assert timing["computed_clips"] == 0 and matrices["fhofo"].shape == (5, 128)
    other = FeatureSettings(side=32, grid=2)
    assert baseline.feature_file(cache, "fhofo", other) != baseline.feature_file(cache, "fhofo", SMALL)


def test_single_training_clip_subjects_and_no_validation_part(tmp_path):
    """Calibration needs two clips per subject; without it the softmax of the SVM's decision is used."""
    cache = _texture_cache(tmp_path, subjects=3, clips_per_subject=3, frames=6)
    split = write_split(cache, n_train=1, n_val=0)
    run = baseline.run_baseline(cache, split, tmp_path / "runs", features="fhofo", workers=1, progress=False,
                                settings=SMALL)  # fmt: skip
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["calibration"] == "none" and metrics["selection"] == "fixed" and metrics["C"] == baseline.FIXED_C
    assert metrics["val"]["n_clips"] == 0 and metrics["test"]["n_clips"] == 6
    proba = pd.read_csv(run / "predictions.csv").filter(like="p:").to_numpy()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)


def test_command_line_and_bad_input(motion_only_cache, tmp_path):
    cache, split = motion_only_cache
    parser = argparse.ArgumentParser()
    baseline_command.add_arguments(parser)
    args = parser.parse_args(["--cache", str(cache), "--split", str(split), "--features", "fhofo",
                              "--out", str(tmp_path), "--name", "cli", "--workers", "2", "--no-progress"])  # fmt: skip
    assert baseline_command.main(args) == 0 and (tmp_path / "cli" / "metrics.json").is_file()
    with pytest.raises(baseline.BaselineError, match="unknown feature set 'colour'"):
        baseline.run_baseline(cache, split, tmp_path, features="colour")
    with pytest.raises(SystemExit):
        parser.parse_args(["--cache", str(cache), "--split", str(split), "--features", "colour"])
    with pytest.raises(Exception, match="missing.csv"):
        baseline.run_baseline(cache, cache / "missing.csv", tmp_path, features="fhofo", progress=False)


def test_the_motion_feature_rule_declares_and_reaches_each_outcome():
    reached = {
        baseline.motion_feature_verdict(_results(rows), appearance_shared=shared).verdict
        for rows, shared in [
            ([("lgbp", 0.9, 0.8, 1.0)], False),
            ([("fhofo", 0.1, 0.04, 0.18)], False),
            ([("fhofo", 0.3, 0.18, 0.42)], True),
            ([("fhofo", 0.3, 0.18, 0.42)], False),
        ]
    }
    assert reached == set(baseline.motion_feature_verdict.OUTCOMES) == set(baseline.MOTION_OUTCOMES)
