"""Localisation scores (mlib.gradcam.scores), the permutation null, the synthetic truth in the model
input (mlib.gradcam.truth) and the tables and verdict over clips (mlib.gradcam.summary)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlib import gradcam as gc


def test_localisation_against_hand_made_maps():
    mask = np.zeros((8, 8), bool)
    mask[2:4, 2:6] = True  # 8 of 64 pixels
    frames = np.zeros(10, bool)
    frames[4:6] = True
    as_mask = np.repeat(mask[None].astype(float), 10, axis=0)
    assert gc.localisation(as_mask, mask) == pytest.approx({"share": 1.0, "uniform": 0.125, "lift": 8.0})
    uniform = np.ones((10, 8, 8))
    assert gc.localisation(uniform, mask) == pytest.approx({"share": 0.125, "uniform": 0.125, "lift": 1.0})
    assert gc.localisation(uniform, mask, frames) == pytest.approx({"share": 0.025, "uniform": 0.025, "lift": 1.0})
    only_apex = np.zeros((10, 8, 8))
    only_apex[4:6] = 1
    assert gc.localisation(only_apex, None, frames)["share"] == pytest.approx(1.0)
    assert np.isnan(gc.localisation(np.zeros((10, 8, 8)), mask)["share"])
    with pytest.raises(ValueError, match="do not match"):
        gc.localisation(uniform, np.ones((4, 4), bool))


def test_motion_energy_region_and_clip_score():
    frames = np.zeros((8, 16, 16))
    frames[3:5, 4:8, 8:12] = 1.0  # a square that appears for two frames
    energy, curve = gc.motion_energy(frames)
    region = gc.top_region(energy, 100 * 16 / 256)
    assert region.sum() == 16 and region[4:8, 8:12].all()
    assert curve[0] == 0 and curve.argmax() in (3, 5)
    assert gc.frames_around(3, 8, 1).tolist() == [False, False, True, True, True, False, False, False]
    cam = np.zeros((8, 16, 16))
    cam[3:5, 4:8, 8:12] = 1.0
    scores = gc.score_clip(
        cam,
        frames,
        apex_index=4,
        apex_half_window=1,
        top_percent=100 * 16 / 256,
        truth_mask=region,
        truth_curve=np.array([0, 0, 0, 1, 0.8, 0.2, 0, 0]),
    )
    assert scores["motion_share"] == pytest.approx(1.0) and scores["motion_lift"] == pytest.approx(16.0)
    assert scores["apex_share"] == pytest.approx(1.0) and scores["apex_uniform"] == pytest.approx(3 / 8)
    assert scores["truth_lift"] == pytest.approx(16.0) and scores["motion_truth_iou"] == pytest.approx(1.0)
    assert scores["truth_time_share"] == pytest.approx(1.0)


def test_model_frames_and_truth_mapping(tmp_path):
    row = {
        "clip_key": "casme2_01_EP01",
        "window_start": 50,
        "window_end": 55,
        "pad_before": 2,
        "pad_after": 0,
        "box_x": 10,
        "box_y": 20,
        "box_w": 40,
        "box_h": 40,
        "onset": 48,
        "offset": 60,
    }
    assert gc.model_frame_of(row, 8, np.array([0, 2, 4, 6]), 52) == 2  # frame 52 is at cache position 4
    truth = tmp_path / "synth_truth"
    truth.mkdir()
    mask = np.zeros((100, 120), bool)
    mask[20:40, 30:50] = True  # the lower-right quarter of the crop box
    np.savez(truth / "casme2_01_EP01.npz", motion_mask=mask, motion_curve=np.arange(20, dtype=np.float32))
    pd.DataFrame([{"clip_key": "casme2_01_EP01", "first_frame": 45, "onset": 48, "offset": 60}]).to_csv(
        truth / "truth.csv", index=False
    )
    region, curve, inside = gc.synthetic_truth(tmp_path, row, 8, np.array([0, 3, 7]), 8)
    assert inside == 1.0
    expected = np.zeros((8, 8), bool)
    expected[:4, 4:] = True
    assert np.array_equal(region, expected)
    assert curve.tolist() == [5, 6, 10]  # frames 50, 51, 55 of a clip starting at 45
    with pytest.raises(
        ValueError,
        match="truth.csv: clip casme2_01_EP01 has onset 48, the cache index 47: the cache "
        "was made from an older version",
    ):
        gc.synthetic_truth(tmp_path, {**row, "onset": 47}, 8, np.array([0]), 8)


# ----------------------------------------------------------------------------- permutation null

SIDE, LENGTH, BLOB = 32, 16, 4


def moving_clips(rng, n, centre_jitter=None):
    """``n`` clips (T, H, W) in [0, 1]: a static texture plus a 4 px square that flickers around each clip's
    apex. The square sits anywhere, or within +-``centre_jitter`` px of the centre; the apex is within
    +-2 frames of the window's centre. Returns the frames, each square's (row, column) and each apex."""
    clips, places, apexes = [], [], []
    for _ in range(n):
        frames = np.repeat(rng.uniform(0.2, 0.4, (1, SIDE, SIDE)), LENGTH, axis=0)
        if centre_jitter is None:
            r, c = rng.integers(0, SIDE - BLOB, 2)
        else:
            r, c = SIDE // 2 - BLOB // 2 + rng.integers(-centre_jitter, centre_jitter + 1, 2)
        apex = LENGTH // 2 + int(rng.integers(-2, 3))
        frames[apex - 1 : apex + 2 : 2, r : r + BLOB, c : c + BLOB] += 0.5  # on, off, on: motion energy there
        clips.append(frames)
        places.append((int(r), int(c)))
        apexes.append(apex)
    return clips, places, apexes


def blob_cam(row, column, apex, spread=3.0, time_spread=1.5):
    """A smooth map peaking at ((row, column) + half a square, apex)."""
    y, x = np.mgrid[:SIDE, :SIDE]
    space = np.exp(-((y - row - BLOB / 2) ** 2 + (x - column - BLOB / 2) ** 2) / (2 * spread**2))
    time = np.exp(-((np.arange(LENGTH) - apex) ** 2) / (2 * time_spread**2))
    return time[:, None, None] * space[None]


def null_scores(clips, apexes, cams):
    regions = [
        gc.clip_regions(f, a, top_percent=100 * BLOB**2 / SIDE**2, apex_half_window=1) for f, a in zip(clips, apexes)
    ]
    table = pd.DataFrame([gc.score_regions(cam, r) for cam, r in zip(cams, regions)])
    table = table.assign(pathway="fast", **gc.permutation_null(np.stack(cams), regions))
    return table, gc.null_summary(table).set_index("region")


def test_a_map_that_follows_its_own_clip_beats_the_null():
    clips, places, apexes = moving_clips(np.random.default_rng(0), 12)
    cams = [blob_cam(r, c, a) for (r, c), a in zip(places, apexes)]
    table, summary = null_scores(clips, apexes, cams)
    assert (table["motion_null_lift"] > 1).all() and (table["apex_null_lift"] > 1).all()
    assert summary.loc["motion", "lift_vs_null"] > 3 and summary.loc["motion", "null_ci_low"] > 1
    assert summary.loc["apex", "null_ci_low"] > 1
    # the null share is the mean share over the OTHER clips' regions
    regions = [
        gc.clip_regions(f, a, top_percent=100 * BLOB**2 / SIDE**2, apex_half_window=1) for f, a in zip(clips, apexes)
    ]
    others = [gc.localisation(cams[0], regions[j]["motion"][0])["share"] for j in range(1, 12)]
    assert table.loc[0, "motion_null_share"] == pytest.approx(np.mean(others))


def test_a_fixed_centre_blob_beats_uniform_but_not_the_null():
    clips, _, apexes = moving_clips(np.random.default_rng(1), 16, centre_jitter=5)
    centre = blob_cam(SIDE // 2 - BLOB // 2, SIDE // 2 - BLOB // 2, LENGTH // 2, spread=5.0, time_spread=3.0)
    table, summary = null_scores(clips, apexes, [centre] * len(clips))
    for region in ("motion", "apex"):
        assert summary.loc[region, "lift_vs_uniform"] > 1.5 and summary.loc[region, "uniform_ci_low"] > 1
        assert 0.75 < summary.loc[region, "lift_vs_null"] < 1.3
        assert summary.loc[region, "null_ci_low"] < 1 < summary.loc[region, "null_ci_high"]


def test_the_null_needs_two_clips_with_the_region():
    clips, places, apexes = moving_clips(np.random.default_rng(2), 2)
    cams = np.stack([blob_cam(r, c, a) for (r, c), a in zip(places, apexes)])
    regions = [gc.clip_regions(f, a) for f, a in zip(clips, apexes)]
    regions[0]["truth"] = (np.ones((SIDE, SIDE), bool), None)  # one clip only: no null for it
    null = gc.permutation_null(cams, regions)
    assert "truth_null_lift" not in null and np.isfinite(null["motion_null_lift"]).all()
    with pytest.raises(ValueError, match="expected \\(N, T, H, W\\) and N"):
        gc.permutation_null(cams, regions[:1])


def test_claim_verdict_reads_the_null_lift_and_its_interval():
    def null(low, high, region="truth"):
        return pd.DataFrame(
            [
                {
                    "pathway": "fast",
                    "region": region,
                    "clips": 20,
                    "lift_vs_uniform": 2.0,
                    "uniform_ci_low": 1.7,
                    "uniform_ci_high": 2.3,
                    "lift_vs_null": (low + high) / 2,
                    "null_ci_low": low,
                    "null_ci_high": high,
                },
                {
                    "pathway": "fast",
                    "region": "apex",
                    "clips": 20,
                    "lift_vs_uniform": 1.2,
                    "uniform_ci_low": 1.0,
                    "uniform_ci_high": 1.4,
                    "lift_vs_null": 1.1,
                    "null_ci_low": 0.9,
                    "null_ci_high": 1.3,
                },
            ]
        )

    assert gc.claim_verdict(null(1.2, 1.6), "fast", synthetic=True).verdict == "supports"
    assert gc.claim_verdict(null(0.8, 1.3), "fast", synthetic=True).verdict == "does not clearly support"
    assert gc.claim_verdict(null(0.5, 0.9), "fast", synthetic=True).verdict == "contradicts"
    found = gc.claim_verdict(null(1.2, 1.6), "fast", synthetic=True)
    assert found.numbers["lift_vs_uniform"] == 2.0 and found.numbers["null_ci_low"] == 1.2
    assert found.numbers["time_lift_vs_null"] == 1.1 and "1.20" in found.evidence
    real = gc.claim_verdict(null(1.2, 1.6), "fast", synthetic=False)  # real data: the motion region, absent here
    assert real.numbers["region"] == "motion" and real.verdict == "is not measured for"
    assert set(gc.claim_verdict.OUTCOMES) == {
        "supports",
        "does not clearly support",
        "contradicts",
        "is not measured for",
    }


def test_a_fixed_centre_blob_does_not_support_the_claim():
    """A centre blob beats a uniform map (lift above 1.5) but not the null: the verdict says so."""
    clips, _, apexes = moving_clips(np.random.default_rng(1), 16, centre_jitter=5)
    centre = blob_cam(SIDE // 2 - BLOB // 2, SIDE // 2 - BLOB // 2, LENGTH // 2, spread=5.0, time_spread=3.0)
    _, summary = null_scores(clips, apexes, [centre] * len(clips))
    found = gc.claim_verdict(summary.reset_index(), "fast", synthetic=False)
    assert found.numbers["lift_vs_uniform"] > 1.5 and found.verdict == "does not clearly support"
    clips, places, apexes = moving_clips(np.random.default_rng(0), 12)
    _, summary = null_scores(clips, apexes, [blob_cam(r, c, a) for (r, c), a in zip(places, apexes)])
    assert gc.claim_verdict(summary.reset_index(), "fast", synthetic=False).verdict == "supports"
