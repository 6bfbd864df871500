"""Grad-CAM maps of the SlowFast identifier, one per pathway, through the grad-cam package.

``pytorch_grad_cam.GradCAM`` on the single-input :class:`mlib.training.models.SlowFastIdentifier`
with the target layers ``model.pathway_layers()`` (each pathway's last residual
stage). grad-cam 1.5.7 handles 5-D activations: every layer's map is resized to
the INPUT tensor's (T, H, W) with ``scipy.ndimage.zoom``, min-max scaled to
[0, 1] per clip. The Slow pathway's activation has only T / alpha frames; it
comes back at T frames too (checked in ``tests/test_gradcam.py``), so both
pathways are aligned with the Fast input frames without further resampling; its
time course is a cubic-spline interpolation of T / alpha values. The package
would average the maps of several target layers; :class:`PathwayGradCAM`
keeps one map per layer instead, so both pathways come from ONE forward and
backward pass.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from pytorch_grad_cam import GradCAM
from pytorch_grad_cam.utils.image import scale_cam_image
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from tqdm import tqdm

PATHWAYS = ("slow", "fast")


class PathwayGradCAM(GradCAM):
    """GradCAM that returns one map per target layer, (B, L, T, H, W), instead of their mean.

    Each map gets the same post-processing the package applies to a single layer
    (negative values clipped, min-max scaled to [0, 1] per clip).
    """

    def aggregate_multi_layers(self, cam_per_target_layer):
        return np.stack([scale_cam_image(np.maximum(cam[:, 0], 0)) for cam in cam_per_target_layer], axis=1)


def pathway_names(pathway: str) -> tuple[str, ...]:
    """``"both"`` -> both pathways; ``"slow"`` / ``"fast"`` -> that one."""
    if pathway == "both":
        return PATHWAYS
    if pathway in PATHWAYS:
        return (pathway,)
    raise ValueError(f"pathway={pathway!r}: expected 'slow', 'fast' or 'both'")


def cams_and_logits(
    model: torch.nn.Module,
    clips: torch.Tensor,
    targets: Sequence[int] | None,
    pathway: str = "both",
    batch_size: int = 8,
    progress: bool = False,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Grad-CAM maps per pathway (B, T, H, W) in [0, 1] and the model's logits (B, classes).

    ``targets`` are class indices (one per clip); ``None`` explains each clip's
    predicted class. Clips move batch by batch to the model's device. The model's
    train/eval mode and its parameters' ``.grad`` are restored afterwards.
    """
    names = pathway_names(pathway)
    if clips.dim() != 5:
        raise ValueError(f"clips: expected (B, 3, T, H, W), got shape {tuple(clips.shape)}")
    if targets is not None and len(targets) != len(clips):
        raise ValueError(f"{len(targets)} targets for {len(clips)} clips")
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size}: must be >= 1")
    layers = model.pathway_layers()
    was_training = model.training
    saved_grads = [(p, p.grad) for p in model.parameters()]
    maps = {name: [] for name in names}
    logits = []
    cam = PathwayGradCAM(model, [layers[name] for name in names])
    try:
        with torch.enable_grad():
            starts = range(0, len(clips), batch_size)
            for start in tqdm(starts, desc="grad-cam", unit="batch", disable=not progress):
                batch = clips[start : start + batch_size]
                batch_targets = (
                    None
                    if targets is None
                    else [ClassifierOutputTarget(int(t)) for t in targets[start : start + batch_size]]
                )
                per_layer = cam(batch, batch_targets)
                for index, name in enumerate(names):
                    maps[name].append(per_layer[:, index])
                logits.append(cam.outputs.detach().float().cpu().numpy())
    finally:
        cam.activations_and_grads.release()
        model.train(was_training)
        for parameter, grad in saved_grads:
            parameter.grad = grad
    cams = {name: np.concatenate(parts).astype(np.float32) for name, parts in maps.items()}
    expected = (len(clips), *clips.shape[2:])
    for name, value in cams.items():
        if value.shape != expected:
            raise RuntimeError(f"{name} CAM has shape {value.shape}, expected {expected} (input frames x size)")
    return cams, np.concatenate(logits)


def compute_cams(
    model: torch.nn.Module,
    clips: torch.Tensor,
    targets: Sequence[int],
    pathway: str = "both",
    batch_size: int = 8,
) -> dict[str, np.ndarray]:
    """Grad-CAM per pathway: ``{"slow"|"fast": (B, T, H, W) float32 in [0, 1]}``, aligned with the Fast frames."""
    cams, _ = cams_and_logits(model, clips, list(targets), pathway, batch_size)
    return cams
