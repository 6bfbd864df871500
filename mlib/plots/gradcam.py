"""Figures of a Grad-CAM result (:class:`mlib.gradcam.result.CamResult`): strips, curves, GIFs, summaries.

Every figure's title names the run folder that produced it. Figures that show
faces (strips, GIFs, the mean face) are written by :func:`write_figures` to the
result folder only for synthetic data or with ``publish_faces``; for real data
they go to a private, git-ignored folder (:func:`mlib.gradcam.result.face_figure_dir`).
The curves, the mean CAM and the score histogram show no face.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import imageio.v2 as imageio
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from pytorch_grad_cam.utils.image import show_cam_on_image  # noqa: E402

from mlib.core.io import atomic_path  # noqa: E402
from mlib.gradcam.result import CamResult, face_figure_dir  # noqa: E402

MARKS = ("onset", "apex", "offset")


def _source(result: CamResult) -> str:
    kind = "synthetic" if result.synthetic else "real"
    return f"run {result.run_dir.name} ({kind} data)"


def overlay(frame: np.ndarray, cam: np.ndarray, image_weight: float = 0.5) -> np.ndarray:
    """uint8 RGB frame (H, W, 3) with a [0, 1] CAM (H, W) overlaid (grad-cam's jet heat map)."""
    return show_cam_on_image(frame.astype(np.float32) / 255.0, cam, use_rgb=True, image_weight=image_weight)


def strip_frames(row, length: int, count: int = 7) -> list[int]:
    """Onset, apex, offset and evenly spaced frames between them (model frame indices, sorted, unique)."""
    onset, apex, offset = (int(row[f"{name}_frame"]) for name in MARKS)
    between = np.linspace(onset, offset, max(count, 3)).round().astype(int)
    chosen = sorted({onset, apex, offset, *between.tolist()})
    return [min(max(index, 0), length - 1) for index in chosen]


def plot_strip(result: CamResult, index: int, frames: np.ndarray, count: int = 7) -> plt.Figure:
    """One clip: a row of frames per pathway with its CAM overlaid (onset, apex, offset labelled)."""
    row = result.clips.iloc[index]
    chosen = strip_frames(row, frames.shape[0], count)
    names = {int(row[f"{m}_frame"]): m for m in MARKS}
    pathways = result.pathways
    fig, axes = plt.subplots(
        len(pathways) + 1, len(chosen), figsize=(1.6 * len(chosen), 1.7 * (len(pathways) + 1)), squeeze=False
    )
    for column, t in enumerate(chosen):
        axes[0, column].imshow(frames[t])
        axes[0, column].set_title(f"{names.get(t, '')} t={t}", fontsize=8)
        for line, pathway in enumerate(pathways, start=1):
            axes[line, column].imshow(overlay(frames[t], result.cams[pathway][index, t]))
        for ax in axes[:, column]:
            ax.set_xticks([])
            ax.set_yticks([])
    for line, label in enumerate(["input", *pathways]):
        axes[line, 0].set_ylabel(label, fontsize=9)
    fig.suptitle(
        f"{row['clip_key']}: Grad-CAM for {row['target']} (predicted {row['predicted']})\n{_source(result)}", fontsize=9
    )
    fig.tight_layout()
    return fig


def plot_energy(result: CamResult, index: int) -> plt.Figure:
    """CAM energy over time per pathway against the input's motion energy (and the true curve if synthetic)."""
    row = result.clips.iloc[index]
    fig, ax = plt.subplots(figsize=(6, 3))
    t = np.arange(result.motion_curves.shape[1])
    for pathway in result.pathways:
        energy = result.cams[pathway][index].sum(axis=(1, 2))
        ax.plot(t, energy / max(energy.max(), 1e-12), label=f"CAM energy ({pathway})")
    motion = result.motion_curves[index]  # frame 0 has no predecessor: drawn from frame 1
    ax.plot(t[1:], motion[1:] / max(motion.max(), 1e-12), "k--", label="motion energy")
    if result.truth_curves is not None:
        truth = result.truth_curves[index]
        ax.plot(t, truth / max(truth.max(), 1e-12), ":", color="grey", label="true motion (generator)")
    for name, style in zip(MARKS, ("g", "r", "b")):
        ax.axvline(int(row[f"{name}_frame"]), color=style, alpha=0.5, lw=1)
        ax.text(int(row[f"{name}_frame"]), 1.03, name, color=style, fontsize=7, ha="center")
    ax.set_xlabel("model input frame")
    ax.set_ylabel("normalised energy")
    ax.set_ylim(0, 1.12)
    ax.legend(fontsize=7, loc="upper left")
    ax.set_title(f"{row['clip_key']}: where in time the network looks - {_source(result)}", fontsize=8)
    fig.tight_layout()
    return fig


def write_gif(path: str | Path, frames: np.ndarray, cam: np.ndarray, fps: float = 8.0) -> Path:
    """An animated GIF of a window (T, H, W, 3) with its CAM (T, H, W) overlaid, written atomically."""
    path = Path(path)
    images = [overlay(frame, c) for frame, c in zip(frames, cam)]
    with atomic_path(path) as tmp:
        imageio.mimsave(tmp, images, format="GIF", duration=1000.0 / fps, loop=0)
    return path


def plot_mean_maps(result: CamResult, mean_face: np.ndarray | None = None) -> plt.Figure:
    """Mean CAM over all clips per pathway beside the mean motion map (and the mean face when given)."""
    panels = [(f"mean CAM ({p})", result.cams[p].mean(axis=(0, 1)), "jet") for p in result.pathways]
    panels.append(("mean motion energy", result.motion_maps.mean(axis=0), "magma"))
    if result.truth_masks is not None:
        panels.append(("true moving region (share)", result.truth_masks.mean(axis=0), "magma"))
    if mean_face is not None:
        panels.insert(0, ("mean face", mean_face, None))
    fig, axes = plt.subplots(1, len(panels), figsize=(2.6 * len(panels), 2.9), squeeze=False)
    for ax, (title, image, cmap) in zip(axes[0], panels):
        shown = ax.imshow(image, cmap=cmap)
        if cmap is not None:
            fig.colorbar(shown, ax=ax, fraction=0.046)
        ax.set_title(title, fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"{len(result.clips)} clips, aligned face crops - {_source(result)}", fontsize=9)
    fig.tight_layout()
    return fig


def plot_score_histogram(
    result: CamResult, scores: Sequence[str] = ("motion_lift", "apex_lift", "truth_lift")
) -> plt.Figure:
    """Distribution over clips of the lift scores (1 = a uniform map), one panel per score."""
    present = [s for s in scores if s in result.scores.columns and result.scores[s].notna().any()]
    fig, axes = plt.subplots(1, len(present), figsize=(3.2 * len(present), 2.8), squeeze=False)
    for ax, score in zip(axes[0], present):
        edges = _bin_edges(result.scores[score].dropna().to_numpy(dtype=np.float64))
        for pathway, group in result.scores.groupby("pathway", sort=False):
            ax.hist(group[score].dropna().to_numpy(dtype=np.float64), bins=edges, alpha=0.6, label=pathway)
        ax.axvline(1.0, color="k", ls="--", lw=1)
        ax.set_xlabel(f"{score} (1 = uniform)")
        ax.set_ylabel("clips")
        ax.legend(fontsize=7)
    fig.suptitle(f"Grad-CAM localisation over {len(result.clips)} clips - {_source(result)}", fontsize=9)
    fig.tight_layout()
    return fig


def _bin_edges(values: np.ndarray, bins: int = 15) -> np.ndarray:
    """Shared histogram edges; values that (nearly) all agree, as every lift does when the last stage is one
    cell, get one unit-wide range around them instead of bins narrower than float precision."""
    low, high = float(values.min()), float(values.max())
    if high - low < 1e-6 * max(1.0, abs(high)):
        low, high = low - 0.5, high + 0.5
    return np.linspace(low, high, bins + 1)


def save_figure(fig: plt.Figure, path: str | Path) -> Path:
    """Write a figure atomically (format from the suffix) and close it."""
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip("."), dpi=110)
    plt.close(fig)
    return path


def write_figures(
    result: CamResult,
    clips: int | Sequence[str] = 4,
    *,
    publish_faces: bool = False,
    private_dir: str | Path = "private/gradcam",
) -> list[Path]:
    """Write the figures of ``result``: face-free ones to ``result.out``, faces where the privacy rule says.

    Faces (strips, GIFs, the mean face) go to ``result.out`` only for synthetic
    data or with ``publish_faces`` (only where the database licence allows it for
    that subject); otherwise to ``private_dir``. Returns the written paths.
    """
    faces_dir = face_figure_dir(result.out, result.synthetic, publish_faces, private_dir)
    keys = list(result.clips["clip_key"])
    chosen = keys[:clips] if isinstance(clips, int) else list(clips)
    written = [
        save_figure(plot_mean_maps(result), result.out / "mean_maps.png"),
        save_figure(plot_score_histogram(result), result.out / "score_histogram.png"),
    ]
    frames = result.frames(chosen)
    for position, key in enumerate(chosen):
        index = keys.index(key)
        written.append(save_figure(plot_energy(result, index), result.out / f"energy_{key}.png"))
        written.append(save_figure(plot_strip(result, index, frames[position]), faces_dir / f"strip_{key}.png"))
        cam = result.cams["fast" if "fast" in result.cams else result.pathways[0]][index]
        written.append(write_gif(faces_dir / f"cam_{key}.gif", frames[position], cam))
    mean_face = result.frames(keys[: min(len(keys), 32)]).mean(axis=(0, 1)).astype(np.uint8)
    written.append(save_figure(plot_mean_maps(result, mean_face), faces_dir / "mean_maps_with_face.png"))
    return written
