"""Grad-CAM: map shapes and values, the model left as found, the localisation score, a
planted-signal case the CAM must find, a run end to end, and the privacy rule for figures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from mlib import gradcam as gc
from mlib.config import load_defaults, resolve
from mlib.models import build_slowfast


@pytest.fixture(autouse=True)
def _threads():
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(threads)


def tiny_model(num_classes=3, **changes):
    torch.manual_seed(0)
    model_cfg = {**load_defaults()["model"], "depth": 18, "frames": 16, "size": 32, **changes}
    return build_slowfast(model_cfg, num_classes)


# ----------------------------------------------------------------------------- maps


def test_cam_shapes_values_mode_and_grads_for_both_pathways():
    model = tiny_model(alpha=4).train()
    clips = torch.randn(3, 3, 16, 32, 32)
    seen = {}
    hooks = [layer.register_forward_hook(lambda m, i, o, name=name: seen.__setitem__(name, tuple(o.shape)))
             for name, layer in model.pathway_layers().items()]
    cams = gc.compute_cams(model, clips, [0, 1, 2], pathway="both", batch_size=2)
    for hook in hooks:
        hook.remove()
    # The Slow pathway's last stage sees T / alpha = 4 frames; grad-cam resizes its map to the input's 16.
    assert seen["slow"][2] == 4 and seen["fast"][2] == 16
    assert set(cams) == {"slow", "fast"}
    for maps in cams.values():
        assert maps.shape == (3, 16, 32, 32) and maps.dtype == np.float32
        assert maps.min() >= 0.0 and maps.max() <= 1.0
        peaks = maps.reshape(3, -1).max(axis=1)  # each clip min-max scaled; an all-negative map stays 0
        assert np.all((np.abs(peaks - 1) < 1e-3) | (peaks == 0)) and peaks.max() > 0.99
    assert model.training, "train mode must be restored"
    assert all(p.grad is None for p in model.parameters()), "no gradients may be left on parameters"


def test_eval_mode_and_existing_grads_are_kept_and_pathways_can_be_chosen():
    model = tiny_model().eval()
    first = next(model.parameters())
    first.grad = torch.ones_like(first)
    cams = gc.compute_cams(model, torch.randn(2, 3, 16, 32, 32), [1, 0], pathway="fast")
    assert list(cams) == ["fast"] and not model.training
    assert torch.equal(first.grad, torch.ones_like(first))
    with pytest.raises(ValueError, match="pathway='middle'"):
        gc.compute_cams(model, torch.randn(1, 3, 16, 32, 32), [0], pathway="middle")
    with pytest.raises(ValueError, match="2 targets for 1 clips"):
        gc.compute_cams(model, torch.randn(1, 3, 16, 32, 32), [0, 1])


def test_predicted_target_explains_the_argmax():
    model = tiny_model()
    clips = torch.randn(2, 3, 16, 32, 32)
    cams, logits = gc.cams_and_logits(model, clips, None)
    with torch.no_grad():
        expected = model.eval()(clips).argmax(1).numpy()
    assert np.array_equal(logits.argmax(1), expected)
    again = gc.compute_cams(model, clips, expected.tolist())
    assert np.allclose(cams["fast"], again["fast"], atol=1e-5)


# ----------------------------------------------------------------------------- score


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
    scores = gc.score_clip(cam, frames, apex_index=4, apex_half_window=1, top_percent=100 * 16 / 256,
                           truth_mask=region, truth_curve=np.array([0, 0, 0, 1, 0.8, 0.2, 0, 0]))
    assert scores["motion_share"] == pytest.approx(1.0) and scores["motion_lift"] == pytest.approx(16.0)
    assert scores["apex_share"] == pytest.approx(1.0) and scores["apex_uniform"] == pytest.approx(3 / 8)
    assert scores["truth_lift"] == pytest.approx(16.0) and scores["motion_truth_iou"] == pytest.approx(1.0)
    assert scores["truth_time_share"] == pytest.approx(1.0)


def test_window_frames_and_truth_mapping(tmp_path):
    row = {"clip_key": "casme2_01_EP01", "window_start": 50, "window_end": 55, "pad_before": 2, "pad_after": 0,
           "box_x": 10, "box_y": 20, "box_w": 40, "box_h": 40, "onset": 48, "offset": 60}
    assert gc.window_frame_numbers(row, 8).tolist() == [50, 50, 50, 51, 52, 53, 54, 55]
    assert gc.model_frame_of(row, 8, np.array([0, 2, 4, 6]), 52) == 2
    truth = tmp_path / "synth_truth"
    truth.mkdir()
    mask = np.zeros((100, 120), bool)
    mask[20:40, 30:50] = True  # the lower-right quarter of the crop box
    np.savez(truth / "casme2_01_EP01.npz", motion_mask=mask, motion_curve=np.arange(20, dtype=np.float32))
    pd.DataFrame([{"clip_key": "casme2_01_EP01", "first_frame": 45, "onset": 48, "offset": 60}]).to_csv(
        truth / "truth.csv", index=False)
    region, curve, inside = gc.synthetic_truth(tmp_path, row, 8, np.array([0, 3, 7]), 8)
    assert inside == 1.0
    expected = np.zeros((8, 8), bool)
    expected[:4, 4:] = True
    assert np.array_equal(region, expected)
    assert curve.tolist() == [5, 6, 10]  # frames 50, 51, 55 of a clip starting at 45
    with pytest.raises(ValueError, match="truth.csv: clip casme2_01_EP01 has onset 48, the cache index 47: the cache "
                                         "was made from an older version"):
        gc.synthetic_truth(tmp_path, {**row, "onset": 47}, 8, np.array([0]), 8)


# ----------------------------------------------------------------------------- planted signal

PLANTED = {"frames": 4, "size": 96, "alpha": 2, "classes": 3}
CORNERS = [(0, 0), (0, 64), (64, 0), (64, 64)]  # the 32 px corner cells of the network's 3 x 3 last-stage grid


def planted_clips(n, rng, background):
    """Class k = channel k of a 32 px corner square brightens in frames 1-2; the corner is random.

    Everything else is one background shared by all clips plus small noise, so only
    the square carries the class. Returns inputs, labels and the square's mask per clip.
    """
    size, frames = PLANTED["size"], PLANTED["frames"]
    labels = rng.integers(0, PLANTED["classes"], n)
    corners = rng.integers(0, 4, n)
    x = np.repeat(background[None], n, axis=0) + rng.normal(0, 0.05, (n, 3, frames, size, size)).astype(np.float32)
    masks = np.zeros((n, size, size), bool)
    for i, (label, corner) in enumerate(zip(labels, corners)):
        r, c = CORNERS[corner]
        x[i, label, 1:3, r : r + 32, c : c + 32] += 2.0
        masks[i, r : r + 32, c : c + 32] = True
    return torch.from_numpy(x), torch.from_numpy(labels), masks


@pytest.mark.slow
def test_cam_finds_the_planted_region():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    size, frames = PLANTED["size"], PLANTED["frames"]
    background = np.repeat(np.random.default_rng(123).normal(0, 0.5, (3, 1, size, size)), frames, 1).astype(np.float32)
    model_cfg = {**load_defaults()["model"], "depth": 18, "frames": frames, "size": size, "alpha": 2, "dropout": 0.0,
                 "width": 16, "beta_inv": 4}
    model = build_slowfast(model_cfg, PLANTED["classes"])
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    accuracy = []
    for step in range(20):
        x, y, _ = planted_clips(8, rng, background)
        logits = model(x)
        loss = torch.nn.functional.cross_entropy(logits, y)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        accuracy.append(float((logits.argmax(1) == y).float().mean()))
        if step >= 8 and min(accuracy[-3:]) == 1.0:
            break
    # A few steps leave BatchNorm's running statistics behind the weights: re-estimate them.
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                module.reset_running_stats()
                module.momentum = None
        for _ in range(2):
            model(planted_clips(16, rng, background)[0])
    model.eval()
    x, y, masks = planted_clips(16, rng, background)
    with torch.no_grad():
        assert (model(x).argmax(1) == y).float().mean() >= 0.9, "the tiny model must separate the classes"
    cams = gc.compute_cams(model, x, y.tolist(), batch_size=8)
    uniform = masks[0].mean()  # 1/9
    lifts = {p: np.array([gc.localisation(cams[p][i], masks[i])["lift"] for i in range(16)]) for p in cams}
    # The square is 1/9 of the frame; a perfect 3 x 3 map, spline-upsampled by grad-cam, gives a lift of ~4-5.
    for pathway in ("fast", "slow"):
        assert np.median(lifts[pathway]) > 2.5 and lifts[pathway].min() > 1.5, (pathway, lifts[pathway])
    # The clip score finds the same: the motion-energy region IS the square here.
    energy, _ = gc.motion_energy(x.numpy().transpose(0, 2, 3, 4, 1)[0])
    assert gc.iou(gc.top_region(energy, 100 * uniform), masks[0]) > 0.9
    scores = gc.score_clip(cams["slow"][0], x.numpy().transpose(0, 2, 3, 4, 1)[0], apex_index=1,
                           top_percent=100 * uniform, truth_mask=masks[0])
    assert scores["motion_lift"] > 2.0 and scores["truth_lift"] > 2.0


# ----------------------------------------------------------------------------- a run, end to end

FRAME_SHAPE = (60, 80)  # original frames (height, width)
BOX = (10, 5, 48, 48)  # crop box (x, y, w, h) in original pixels; the cache holds 48 px faces
WINDOW = 16


def write_run_inputs(base: Path) -> dict:
    """A real-layout cache (index.csv, clips, settings.json) twice, once pointing at a database root
    without a synthetic manifest (real) and once at a synthetic root with generator truth."""
    rng = np.random.default_rng(0)
    roots = {"real": base / "real_root", "synth": base / "synth_root"}
    for root in roots.values():
        root.mkdir(parents=True)
    (roots["synth"] / "synth_manifest.json").write_text("{}")
    truth_dir = roots["synth"] / "synth_truth"
    truth_dir.mkdir()
    mask = np.zeros(FRAME_SHAPE, bool)
    mask[5:29, 10:34] = True  # the top-left quarter of the crop box
    rows, truth_rows, clips = [], [], {}
    for s in range(3):
        subject = f"{s + 1:02d}"
        face = rng.integers(30, 220, size=(12, 12, 3)).repeat(4, 0).repeat(4, 1)
        for c in range(4):
            key = f"casme2_{subject}_EP{c:02d}"
            frames = np.repeat(face[None], WINDOW, 0).astype(float) + rng.normal(0, 8, (WINDOW, 48, 48, 3))
            frames[6:10, :24, :24] += 60  # the movement, inside the true moving region
            clips[key] = np.clip(frames, 0, 255).astype(np.uint8)
            pad_before = 2 if (s, c) == (0, 3) else 0  # one test clip is padded
            start = 100
            rows.append(dict(clip_key=key, dataset="casme2", subject=subject, clip=f"EP{c:02d}",
                             source_file="CASME2-coding-20140508.xlsx", source_row=2 + len(rows), onset=102, apex=108,
                             offset=112, apex_source="annotated", fps=200, emotion="", window_start=start,
                             window_end=start + WINDOW - 1 - pad_before, pad_before=pad_before, pad_after=0,
                             box_x=BOX[0], box_y=BOX[1], box_w=BOX[2], box_h=BOX[3], detector="haar",
                             cache_file=f"clips/{key}.npy"))
            curve = np.zeros(40, np.float32)
            curve[10:16] = [0.2, 0.6, 1.0, 0.6, 0.2, 0.1]  # frames 105..110, peak at 107
            np.savez(truth_dir / f"{key}.npz", motion_mask=mask, motion_curve=curve)
            truth_rows.append({"clip_key": key, "subject": subject, "first_frame": 95, "n_frames": 40,
                               "onset": 102, "apex": 108, "offset": 112})
    pd.DataFrame(truth_rows).to_csv(truth_dir / "truth.csv", index=False)
    caches = {}
    for kind, root in roots.items():
        cache = base / "cache" / f"casme2-{kind}"
        (cache / "clips").mkdir(parents=True)
        for key, clip in clips.items():
            np.save(cache / "clips" / f"{key}.npy", clip)
        (cache / "settings.json").write_text(json.dumps({"dataset": "casme2", "root": str(root), "window": WINDOW}))
        pd.DataFrame(rows).to_csv(cache / "index.csv", index=False)
        caches[kind] = cache
    split = pd.DataFrame(rows)[["clip_key", "subject"]].assign(part=["train", "train", "val", "test"] * 3)
    split_file = caches["real"] / "splits" / "half-seed42.csv"
    split_file.parent.mkdir()
    split.to_csv(split_file, index=False)
    return {"caches": caches, "split": split_file, "roots": roots}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    from mlib.train import train

    base = tmp_path_factory.mktemp("gradcam_run")
    inputs = write_run_inputs(base)
    cfg = resolve(None, {
        "model": {"depth": 18, "width": 16, "beta_inv": 4, "frames": 8, "size": 32, "dropout": 0.0},
        "train": {"epochs": 1, "batch_size": 8, "warmup_epochs": 0, "device": "cpu", "augment": False},
        "run": {"cache": str(inputs["caches"]["real"]), "split": str(inputs["split"]), "out": str(base / "runs")},
    })
    torch.set_num_threads(2)
    run_dir = train(cfg, progress=False)
    return {"run": run_dir, "base": base, **inputs}


@pytest.mark.slow
def test_run_level_scores_truth_and_rerun(tiny_run):
    out = tiny_run["base"] / "synth_out"
    result = gc.gradcam_for_run(tiny_run["run"], tiny_run["caches"]["synth"], out=out, progress=False)
    assert result.synthetic and len(result.clips) == 3
    assert set(result.clips["subject"]) == {"01", "02", "03"} and (result.clips["target"] == result.clips["subject"]).all()
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
    assert len(scores) == 6 and {"motion_lift", "apex_lift", "truth_lift", "truth_time_lift", "motion_truth_iou"} <= set(scores)
    assert scores["truth_uniform"].iloc[0] == pytest.approx(0.25)
    # the motion-energy region agrees with the planted movement
    assert (scores["motion_truth_iou"] > 0.35).all()
    for name in ("cams.npz", "scores.csv", "summary.csv", "clips.csv", "gradcam.json"):
        assert (out / name).is_file()
    stamp = (out / "cams.npz").stat().st_mtime_ns
    again = gc.gradcam_for_run(tiny_run["run"], tiny_run["caches"]["synth"], out=out, progress=False)
    assert (out / "cams.npz").stat().st_mtime_ns == stamp, "a rerun with the same settings must not recompute"
    assert np.allclose(again.cams["fast"], result.cams["fast"], atol=1e-3)
    predicted = gc.gradcam_for_run(tiny_run["run"], tiny_run["caches"]["synth"], out=out / "p", target="predicted",
                                   progress=False)
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
    synth = gc.gradcam_for_run(tiny_run["run"], tiny_run["caches"]["synth"], out=base / "synth_figs", clips=1,
                               progress=False)
    write_figures(synth, clips=1, private_dir=base / "private3")
    assert (synth.out / "strip_casme2_01_EP03.png").is_file() and not (base / "private3").exists()


@pytest.mark.slow
def test_command_line_writes_scores_and_keeps_faces_private(tiny_run, capsys):
    from mlib.cli import main

    base = tiny_run["base"]
    code = main(["gradcam", str(tiny_run["run"]), "--out", str(base / "cli_out"), "--figures", "1",
                 "--private-dir", str(base / "cli_private"), "--no-progress"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "REAL data" in printed and "motion_lift" in printed
    assert (base / "cli_out" / "scores.csv").is_file()
    assert list((base / "cli_private" / tiny_run["run"].name).glob("strip_*.png"))


def test_bad_inputs_are_refused_with_the_file_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="predictions.csv: no predictions"):
        gc.run_clips(tmp_path, "test", None)
    pd.DataFrame([{"clip_key": "a", "subject": "01", "part": "val", "predicted": "01"}]).to_csv(
        tmp_path / "predictions.csv", index=False)
    with pytest.raises(ValueError, match="predictions.csv: no clips in part 'test'"):
        gc.run_clips(tmp_path, "test", None)
    with pytest.raises(FileNotFoundError, match="synth_truth/casme2_01_EP01.npz: no generator truth"):
        gc.synthetic_truth(tmp_path, {"clip_key": "casme2_01_EP01"}, 8, np.arange(4), 8)
    with pytest.raises(ValueError, match="target='best'"):
        gc.gradcam_for_run(tmp_path, target="best")


def test_claim_verdict_reads_the_summary():
    def summary(lift, above):
        return pd.DataFrame([{"pathway": "fast", "score": "truth_lift", "median": lift, "above_uniform": above},
                             {"pathway": "fast", "score": "apex_lift", "median": 1.2, "above_uniform": 0.6}])

    assert gc.claim_verdict(summary(2.0, 0.9), "fast", synthetic=True)["verdict"] == "supports"
    assert gc.claim_verdict(summary(2.0, 0.5), "fast", synthetic=True)["verdict"] == "does not clearly support"
    assert gc.claim_verdict(summary(0.9, 0.3), "fast", synthetic=True)["verdict"] == "contradicts"
    real = gc.claim_verdict(summary(2.0, 0.9), "fast", synthetic=False)
    assert real["region"] == "motion_lift" and np.isnan(real["space_lift"]) and real["time_lift"] == 1.2
    assert real["verdict"] == "is not measured for"
