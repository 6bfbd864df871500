"""Grad-CAM of a finished run (mlib.gradcam.runner and .cli): scores, truth, the null, rerun, the
privacy rule for figures, the command line, and bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tiny_runs import train_tiny_run

from mlib import gradcam as gc


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    return train_tiny_run(tmp_path_factory.mktemp("gradcam_run"))


@pytest.mark.slow
def test_run_level_scores_truth_and_rerun(tiny_run):
    out = tiny_run["base"] / "synth_out"
    result = gc.gradcam_for_run(tiny_run["run"], tiny_run["caches"]["synth"], out=out, progress=False)
    assert result.synthetic and len(result.clips) == 3
    assert (
        set(result.clips["subject"]) == {"01", "02", "03"} and (result.clips["target"] == result.clips["subject"]).all()
    )
    for maps in result.cams.values():
        assert maps.shape == (3, 8, 32, 32)
    # Model frames show cache positions [0, 2, 4, 6, 9, 11, 13, 15]: frames 100, 102, 104, 106, 109, 111, 113, 115,
    # or with 2 frames of padding (the first clip) 100, 100, 102, 104, 107, 109, 111, 113. Ties: the earlier frame.
    assert result.clips["onset_frame"].tolist() == [2, 1, 1]  # onset 102
    assert result.clips["apex_frame"].tolist() == [4, 4, 4]  # apex 108
    assert result.clips["offset_frame"].tolist() == [6, 5, 5]  # offset 112
    # the true region: the top-left quarter of the 32 px input; the true curve peaks at frame 107
    assert np.array_equal(result.truth_masks[0], np.pad(np.ones((16, 16), bool), ((0, 16), (0, 16))))
    assert result.truth_curves.shape == (3, 8) and result.truth_curves[:2].argmax(axis=1).tolist() == [4, 3]
    assert (result.clips["truth_inside_crop"] == 1.0).all()
    scores = result.scores
    assert len(scores) == 6 and {
        "motion_lift",
        "apex_lift",
        "truth_lift",
        "truth_time_lift",
        "motion_truth_iou",
    } <= set(scores)
    assert scores["truth_uniform"].iloc[0] == pytest.approx(0.25)
    # the motion-energy region agrees with the planted movement
    assert (scores["motion_truth_iou"] > 0.35).all()
    for name in ("cams.npz", "scores.csv", "summary.csv", "null.csv", "clips.csv", "gradcam.json"):
        assert (out / name).is_file()
    # the permutation null: each clip against the other two clips' regions, beside the uniform score
    assert {"motion_null_lift", "apex_null_lift", "truth_null_lift"} <= set(scores)
    null = pd.read_csv(out / "null.csv")
    assert set(null["region"]) >= {"motion", "apex", "truth"} and (null["clips"] == 3).all()
    assert "motion_null_lift" not in set(pd.read_csv(out / "summary.csv")["score"])
    stamp = (out / "cams.npz").stat().st_mtime_ns
    again = gc.gradcam_for_run(tiny_run["run"], tiny_run["caches"]["synth"], out=out, progress=False)
    assert (out / "cams.npz").stat().st_mtime_ns == stamp, "a rerun with the same settings must not recompute"
    assert np.allclose(again.cams["fast"], result.cams["fast"], atol=1e-3)
    predicted = gc.gradcam_for_run(
        tiny_run["run"], tiny_run["caches"]["synth"], out=out / "p", target="predicted", progress=False
    )
    assert (predicted.clips["target"] == predicted.clips["predicted"]).all()
    with pytest.raises(ValueError, match="not in part 'test'"):
        gc.gradcam_for_run(tiny_run["run"], tiny_run["caches"]["synth"], clips=["casme2_01_EP00"], out=out / "x")


@pytest.mark.slow
def test_real_faces_go_to_the_private_folder_unless_published(tiny_run):
    from mlib.plots.gradcam import write_figures

    base = tiny_run["base"]
    real = gc.gradcam_for_run(tiny_run["run"], out=base / "real_out", clips=1, progress=False)
    assert not real.synthetic and real.truth_masks is None and "truth_lift" not in real.scores
    private = base / "private"
    written = write_figures(real, clips=1, private_dir=private)
    faces = [p for p in written if p.name.startswith(("strip_", "cam_", "mean_maps_with_face"))]
    assert faces and all(p.parent == private for p in faces)
    assert not any(p.name.startswith(("strip_", "cam_")) for p in real.out.iterdir())
    assert (real.out / "mean_maps.png").is_file() and (real.out / "score_histogram.png").is_file()
    published = write_figures(real, clips=1, publish_faces=True, private_dir=base / "private2")
    assert (real.out / "strip_casme2_01_EP03.png").is_file() and not (base / "private2").exists()
    assert any(p.suffix == ".gif" and p.parent == real.out for p in published)
    synth = gc.gradcam_for_run(
        tiny_run["run"], tiny_run["caches"]["synth"], out=base / "synth_figs", clips=1, progress=False
    )
    write_figures(synth, clips=1, private_dir=base / "private3")
    assert (synth.out / "strip_casme2_01_EP03.png").is_file() and not (base / "private3").exists()


@pytest.mark.slow
def test_command_line_writes_scores_and_keeps_faces_private(tiny_run, capsys):
    from mlib.commands.cli import main

    base = tiny_run["base"]
    code = main(
        [
            "gradcam",
            str(tiny_run["run"]),
            "--out",
            str(base / "cli_out"),
            "--figures",
            "1",
            "--private-dir",
            str(base / "cli_private"),
            "--no-progress",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "REAL data" in printed and "motion_lift" in printed
    assert (base / "cli_out" / "scores.csv").is_file()
    assert list((base / "cli_private" / tiny_run["run"].name).glob("strip_*.png"))


def test_bad_inputs_are_refused_with_the_file_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="predictions.csv: no predictions"):
        gc.run_clips(tmp_path, "test", None)
    pd.DataFrame([{"clip_key": "a", "subject": "01", "part": "val", "predicted": "01"}]).to_csv(
        tmp_path / "predictions.csv", index=False
    )
    with pytest.raises(ValueError, match="predictions.csv: no clips in part 'test'"):
        gc.run_clips(tmp_path, "test", None)
    with pytest.raises(FileNotFoundError, match="synth_truth/casme2_01_EP01.npz: no generator truth"):
        gc.synthetic_truth(tmp_path, {"clip_key": "casme2_01_EP01"}, 8, np.arange(4), 8)
    with pytest.raises(ValueError, match="target='best'"):
        gc.gradcam_for_run(tmp_path, target="best")


def test_score_histogram_bins_survive_lifts_that_all_agree():
    """At a one-cell last stage every lift is 1 up to float noise; matplotlib's own 15 bins fail there."""
    import matplotlib.pyplot as plt

    from mlib.plots.gradcam import _bin_edges

    nearly_equal = np.array([1.0, 1.0 + 1e-7, 1.0], dtype=np.float32).astype(np.float64)
    edges = _bin_edges(nearly_equal)
    assert len(edges) == 16 and edges[0] < 1.0 < edges[-1]
    counts, _, _ = plt.hist(nearly_equal, bins=edges)
    plt.close("all")
    assert counts.sum() == 3
    assert np.allclose(_bin_edges(np.array([0.0, 3.0]))[[0, -1]], [0.0, 3.0])
