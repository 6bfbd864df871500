"""Grad-CAM maps (mlib.gradcam.maps): shapes and values per pathway, the model left as found, the
predicted target, and a planted-signal case the maps must find."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mlib import gradcam as gc
from mlib.core.config import load_defaults
from mlib.training.models import build_slowfast

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny_model(num_classes=3, **changes):
    torch.manual_seed(0)
    model_cfg = {**load_defaults()["model"], "depth": 18, "frames": 16, "size": 32, **changes}
    return build_slowfast(model_cfg, num_classes)


# ----------------------------------------------------------------------------- maps


def test_cam_shapes_values_mode_and_grads_for_both_pathways():
    model = tiny_model(alpha=4).train()
    clips = torch.randn(3, 3, 16, 32, 32)
    seen = {}
    hooks = [
        layer.register_forward_hook(lambda m, i, o, name=name: seen.__setitem__(name, tuple(o.shape)))
        for name, layer in model.pathway_layers().items()
    ]
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
    model_cfg = {
        **load_defaults()["model"],
        "depth": 18,
        "frames": frames,
        "size": size,
        "alpha": 2,
        "dropout": 0.0,
        "width": 16,
        "beta_inv": 4,
    }
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
    scores = gc.score_clip(
        cams["slow"][0],
        x.numpy().transpose(0, 2, 3, 4, 1)[0],
        apex_index=1,
        top_percent=100 * uniform,
        truth_mask=masks[0],
    )
    assert scores["motion_lift"] > 2.0 and scores["truth_lift"] > 2.0
