"""Grad-CAM for the SlowFast identifier: where and when the network looks (paper 4.6).

The paper shows Grad-CAM heat maps (its Figure 2) and says they sit where the
micro-movement is. This module computes the maps with the grad-cam package and
turns that sentence into a number per clip.

Maps. ``pytorch_grad_cam.GradCAM`` on the single-input :class:`SlowFastIdentifier`
with the target layers ``model.pathway_layers()`` (each pathway's last residual
stage). grad-cam 1.5.7 handles 5-D activations: every layer's map is resized to
the INPUT tensor's (T, H, W) with ``scipy.ndimage.zoom``, min-max scaled to
[0, 1] per clip. The Slow pathway's activation has only T / alpha frames; it
comes back at T frames too (checked in ``tests/test_gradcam.py``), so both
pathways are aligned with the Fast input frames without further resampling; its
time course is a cubic-spline interpolation of T / alpha values. The package
would average the maps of several target layers; :class:`_PathwayGradCAM`
keeps one map per layer instead, so both pathways come from ONE forward and
backward pass.

Score. For a map ``cam`` (T, H, W) and a region (a pixel mask and/or a set of
frames), the share of CAM mass inside the region is ``sum(cam[region]) /
sum(cam)``; a uniform map would give the region's area share times its time
share; ``lift = share / uniform`` (1 = no better than uniform). The regions:

- ``motion``: the top ``top_percent`` % (default 10 %) pixels of the clip's
  motion energy, the mean absolute difference of consecutive input frames
  (grey level, [0, 1]) over the window;
- ``apex``: the frames within +-``apex_half_window`` model frames of the apex
  (default T // 8: +-8 of 64 frames, 40 ms at 200 fps);
- on a synthetic corpus, ``truth``: the generator's moving-face-region mask mapped
  into the model input, and ``truth_time``: the frames where the generator's
  motion curve is at least half its peak. ``motion_truth_iou`` says how well the
  motion-energy region agrees with the true one.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from pytorch_grad_cam import GradCAM
from pytorch_grad_cam.utils.image import scale_cam_image
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from tqdm import tqdm

from mlib import io
from mlib.preprocess import load_index

PATHWAYS = ("slow", "fast")
TARGET_RULES = ("true", "predicted")
TOP_PERCENT = 10.0


class _PathwayGradCAM(GradCAM):
    """GradCAM that returns one map per target layer, (B, L, T, H, W), instead of their mean.

    Each map gets the same post-processing the package applies to a single layer
    (negative values clipped, min-max scaled to [0, 1] per clip).
    """

    def aggregate_multi_layers(self, cam_per_target_layer):
        return np.stack([scale_cam_image(np.maximum(cam[:, 0], 0)) for cam in cam_per_target_layer], axis=1)


def _pathway_names(pathway: str) -> tuple[str, ...]:
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
    names = _pathway_names(pathway)
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
    cam = _PathwayGradCAM(model, [layers[name] for name in names])
    try:
        with torch.enable_grad():
            starts = range(0, len(clips), batch_size)
            for start in tqdm(starts, desc="grad-cam", unit="batch", disable=not progress):
                batch = clips[start : start + batch_size]
                batch_targets = None if targets is None else [
                    ClassifierOutputTarget(int(t)) for t in targets[start : start + batch_size]
                ]
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


# --------------------------------------------------------------------------- scores


def motion_energy(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Motion energy of a clip (T, H, W[, 3]) with values in [0, 1].

    Returns the map (H, W): mean absolute difference of consecutive grey frames,
    and the curve (T,): per frame t the mean absolute difference to frame t - 1
    (frame 0 gets 0).
    """
    frames = np.asarray(frames, dtype=np.float32)
    grey = frames.mean(axis=-1) if frames.ndim == 4 else frames
    if grey.ndim != 3 or len(grey) < 2:
        raise ValueError(f"frames: expected (T >= 2, H, W[, 3]), got shape {frames.shape}")
    diff = np.abs(np.diff(grey, axis=0))
    curve = np.concatenate([[0.0], diff.mean(axis=(1, 2))]).astype(np.float32)
    return diff.mean(axis=0), curve


def top_region(energy: np.ndarray, percent: float = TOP_PERCENT) -> np.ndarray:
    """Boolean mask of the ``percent`` % highest-energy pixels (at least one; ties broken by position)."""
    if not 0 < percent <= 100:
        raise ValueError(f"percent={percent}: expected a value in (0, 100]")
    flat = np.asarray(energy, dtype=np.float64).ravel()
    count = max(1, int(round(flat.size * percent / 100.0)))
    order = np.argsort(-flat, kind="stable")[:count]
    mask = np.zeros(flat.size, dtype=bool)
    mask[order] = True
    return mask.reshape(np.shape(energy))


def frames_around(index: int, length: int, half_window: int) -> np.ndarray:
    """Boolean (length,) mask of the frames within +-``half_window`` of ``index`` (clipped to the clip)."""
    positions = np.arange(length)
    return np.abs(positions - int(index)) <= int(half_window)


def localisation(cam: np.ndarray, region: np.ndarray | None = None, frames: np.ndarray | None = None) -> dict:
    """Share of the CAM mass (T, H, W) inside ``region`` (H, W) and ``frames`` (T,), vs a uniform map.

    Returns ``{"share", "uniform", "lift"}``: ``uniform`` is the region's area
    share times the frames' time share (what a constant map would give) and
    ``lift = share / uniform``. A map without mass gives NaN share and lift.
    """
    cam = np.asarray(cam, dtype=np.float64)
    if cam.ndim != 3:
        raise ValueError(f"cam: expected (T, H, W), got shape {cam.shape}")
    length, height, width = cam.shape
    region = np.ones((height, width), bool) if region is None else np.asarray(region, bool)
    frames = np.ones(length, bool) if frames is None else np.asarray(frames, bool)
    if region.shape != (height, width) or frames.shape != (length,):
        raise ValueError(f"region {region.shape} / frames {frames.shape} do not match the CAM {cam.shape}")
    total = cam.sum()
    inside = cam[frames][:, region].sum()
    share = inside / total if total > 0 else float("nan")
    uniform = region.mean() * frames.mean()
    lift = share / uniform if uniform > 0 else float("nan")
    return {"share": float(share), "uniform": float(uniform), "lift": float(lift)}


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two boolean masks (NaN when both are empty)."""
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else float("nan")


def score_clip(
    cam: np.ndarray,
    frames: np.ndarray,
    apex_index: int,
    *,
    top_percent: float = TOP_PERCENT,
    apex_half_window: int | None = None,
    truth_mask: np.ndarray | None = None,
    truth_curve: np.ndarray | None = None,
) -> dict:
    """All localisation scores of one clip's CAM (T, H, W) against its input frames (T, H, W[, 3]) in [0, 1].

    Keys ``<region>_share``, ``<region>_uniform``, ``<region>_lift`` for the
    regions ``motion`` (top-percent motion energy), ``apex`` (frames around the
    apex) and, when the truth is given, ``truth`` (true moving pixels) and
    ``truth_time`` (frames where the true motion curve >= half its peak), plus
    ``motion_truth_iou``.
    """
    length = cam.shape[0]
    half = max(1, length // 8) if apex_half_window is None else int(apex_half_window)
    energy_map, _ = motion_energy(frames)
    motion_region = top_region(energy_map, top_percent)
    scores = {}
    named = {"motion": (motion_region, None), "apex": (None, frames_around(apex_index, length, half))}
    if truth_mask is not None:
        named["truth"] = (np.asarray(truth_mask, bool), None)
        scores["motion_truth_iou"] = iou(motion_region, truth_mask)
    if truth_curve is not None:
        curve = np.asarray(truth_curve, dtype=np.float64)
        if curve.shape != (length,):
            raise ValueError(f"truth_curve: expected ({length},), got {curve.shape}")
        if curve.max() > 0:
            named["truth_time"] = (None, curve >= 0.5 * curve.max())
    for name, (region, frame_mask) in named.items():
        for key, value in localisation(cam, region, frame_mask).items():
            scores[f"{name}_{key}"] = value
    return scores


# --------------------------------------------------------------------------- a run's clips


def is_synthetic(cache: str | Path) -> bool:
    """Whether a cache holds the synthetic corpus (its root has the generator's manifest or truth).

    Anything else, a root that no longer exists included, counts as REAL data.
    """
    from mlib.data import cache_is_synthetic

    return cache_is_synthetic(cache) is True


def face_figure_dir(out: str | Path, synthetic: bool, publish_faces: bool, private_dir: str | Path) -> Path:
    """Where figures that show faces go: ``out`` for synthetic data or with ``publish_faces``
    (only where the database licence allows it for that subject), else the git-ignored ``private_dir``."""
    return Path(out) if synthetic or publish_faces else Path(private_dir)


def window_frame_numbers(row: Mapping, width: int) -> np.ndarray:
    """The original frame number shown at each of the ``width`` positions of a cached window.

    Padding repeats ``window_start``/``window_end``; the real frames are taken as
    evenly numbered between them (exact when the numbering has no gaps).
    """
    pad_before, pad_after = int(row["pad_before"]), int(row["pad_after"])
    start, end = int(row["window_start"]), int(row["window_end"])
    real = width - pad_before - pad_after
    if real < 1:
        raise ValueError(f"clip {row['clip_key']}: pad_before + pad_after >= window {width} in the cache index")
    numbers = np.round(np.linspace(start, end, real)).astype(np.int64)
    return np.concatenate([np.full(pad_before, start), numbers, np.full(pad_after, end)])


def model_frame_of(row: Mapping, width: int, indices: np.ndarray, frame_number: float) -> int:
    """The model input frame (cache positions ``indices``) showing the frame nearest to ``frame_number``."""
    shown = window_frame_numbers(row, width)[np.asarray(indices)]
    return int(np.argmin(np.abs(shown - float(frame_number))))


def synthetic_truth(synth_root: str | Path, row: Mapping, width: int, indices: np.ndarray, size: int):
    """The generator's moving-region mask and motion curve mapped into the model input.

    The cache must come from this version of the corpus (its onset and offset
    equal ``truth.csv``'s). The mask (original frame pixels) is cut with the cache's crop box and resized
    to the model's ``size`` (area interpolation, kept where >= 0.5); the curve (one
    value per original frame from ``first_frame`` in ``truth.csv``) is read at the
    frame shown by each model frame. Returns ``(mask (size, size) bool, curve (T,),
    inside)`` where ``inside`` is the share of the true moving pixels that lie in
    the crop box (below 1 when the face detector missed part of the face).
    """
    import cv2

    truth_dir = Path(synth_root) / "synth_truth"
    key = row["clip_key"]
    path, table = truth_dir / f"{key}.npz", truth_dir / "truth.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no generator truth for clip {key}")
    truth = _truth_table(table)
    if key not in truth.index:
        raise ValueError(f"{table}: no row for clip {key}")
    for name in ("onset", "offset"):
        if int(truth.loc[key, name]) != int(row[name]):
            raise ValueError(
                f"{table}: clip {key} has {name} {truth.loc[key, name]}, the cache index {row[name]}: the cache was "
                "made from an older version of this synthetic corpus (run mlib prepare again)")
    with np.load(path, allow_pickle=False) as data:
        mask, curve = np.asarray(data["motion_mask"], bool), np.asarray(data["motion_curve"], np.float32)
    x, y, w, h = (int(row[name]) for name in ("box_x", "box_y", "box_w", "box_h"))
    patch = mask[y : y + h, x : x + w].astype(np.float32)
    if patch.shape != (h, w) or w < 1 or h < 1:
        raise ValueError(f"{path}: the cache's crop box {(x, y, w, h)} for {key} does not fit its mask {mask.shape}")
    region = cv2.resize(patch, (size, size), interpolation=cv2.INTER_AREA) >= 0.5
    shown = window_frame_numbers(row, width)[np.asarray(indices)]
    positions = np.clip(shown - int(truth.loc[key, "first_frame"]), 0, len(curve) - 1)
    inside = float(patch.sum() / mask.sum()) if mask.any() else float("nan")
    return region, curve[positions], inside


def _truth_table(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the synthetic corpus has no truth table")
    return pd.read_csv(path, dtype={"clip_key": str, "subject": str}).set_index("clip_key")


@dataclass
class CamResult:
    """Grad-CAM of one run's clips: maps, per-clip facts, scores and where they were written."""

    run_dir: Path
    cache: Path
    out: Path
    synthetic: bool
    target: str
    clips: pd.DataFrame  # clip_key, subject, target, predicted, correct, onset/apex/offset_frame[, truth_inside_crop]
    cams: dict[str, np.ndarray]  # pathway -> (N, T, H, W) in [0, 1]
    motion_curves: np.ndarray  # (N, T) motion energy over time of the model's input
    motion_maps: np.ndarray  # (N, H, W) motion energy map of the model's input
    truth_masks: np.ndarray | None  # (N, H, W) bool, synthetic only
    truth_curves: np.ndarray | None  # (N, T), synthetic only
    scores: pd.DataFrame  # one row per clip and pathway (see score_clip)
    settings: dict = field(default_factory=dict)

    @property
    def pathways(self) -> tuple[str, ...]:
        return tuple(self.cams)

    def frames(self, clip_keys: Iterable[str] | None = None) -> np.ndarray:
        """The model's view of clips as uint8 RGB (N, T, H, W, 3): the evaluation input, de-normalised."""
        from mlib.config import load_yaml

        keys = list(self.clips["clip_key"] if clip_keys is None else clip_keys)
        cfg = load_yaml(self.run_dir / "config.yaml")
        return to_display(clip_inputs(cfg, self.cache, keys))


def _load_run(run_dir: Path):
    from mlib.train import load_run

    return load_run(run_dir, "best")


def clip_inputs(cfg: Mapping, cache: str | Path, clip_keys: Sequence[str]) -> torch.Tensor:
    """Float model inputs (N, 3, T, size, size) of cached clips, by the run's own evaluation path."""
    from mlib.data import load_clip_arrays, make_inputs, working_size

    cache = Path(cache)
    index = load_index(cache).set_index("clip_key", drop=False)
    missing = [key for key in clip_keys if key not in index.index]
    if missing:
        raise ValueError(f"{cache / 'index.csv'}: no clip(s) {missing[:5]}")
    model_cfg = cfg["model"]
    side = working_size(model_cfg["size"], cfg["train"]["crop_scale"], bool(cfg["train"]["augment"]))
    arrays = load_clip_arrays(cache, list(index.loc[list(clip_keys), "cache_file"]), model_cfg["frames"], side)
    return make_inputs(arrays, model_cfg["size"])


def to_display(inputs: torch.Tensor) -> np.ndarray:
    """Normalised model inputs (N, 3, T, H, W) -> uint8 RGB frames (N, T, H, W, 3)."""
    from mlib.data import MEAN, STD

    frames = inputs.detach().cpu().float().mul(STD).add(MEAN).clamp(0, 1).permute(0, 2, 3, 4, 1)
    return (frames.numpy() * 255).round().astype(np.uint8)


def run_clips(run_dir: Path, part: str, clips: int | Sequence[str] | None) -> pd.DataFrame:
    """Rows of the run's predictions.csv for ``part``: all, the first ``clips`` or the named clip_keys."""
    path = run_dir / "predictions.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no predictions (is {run_dir} a finished run folder?)")
    table = pd.read_csv(path, dtype={"clip_key": str, "subject": str, "part": str, "predicted": str},
                        keep_default_na=False)
    rows = table[table["part"] == part]
    if rows.empty:
        raise ValueError(f"{path}: no clips in part {part!r}")
    if clips is None:
        return rows.reset_index(drop=True)
    if isinstance(clips, int):
        return rows.head(clips).reset_index(drop=True)
    chosen = rows.set_index("clip_key", drop=False)
    missing = [key for key in clips if key not in chosen.index]
    if missing:
        raise ValueError(f"{path}: clip(s) {missing[:5]} are not in part {part!r}")
    return chosen.loc[list(clips)].reset_index(drop=True)


def _resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def gradcam_for_run(
    run_dir: str | Path,
    cache: str | Path | None = None,
    *,
    part: str = "test",
    clips: int | Sequence[str] | None = None,
    target: str = "true",
    pathway: str = "both",
    batch_size: int = 8,
    device: str = "auto",
    out: str | Path | None = None,
    synth_root: str | Path | None = None,
    top_percent: float = TOP_PERCENT,
    apex_half_window: int | None = None,
    progress: bool = True,
) -> CamResult:
    """Grad-CAM of a finished run's ``part`` clips; writes ``<out>/cams.npz``, ``scores.csv``, ``summary.csv``.

    ``cache`` defaults to the run's ``run.cache``; ``out`` to ``<run_dir>/gradcam-<part>-<target>``.
    ``target``: ``"true"`` explains the clip's own identity, ``"predicted"`` the
    model's answer. ``synth_root`` (default: the cache's root when the data is
    synthetic) supplies the generator's truth. A rerun with the same settings
    reads the saved results instead of recomputing.
    """
    run_dir = Path(run_dir)
    if target not in TARGET_RULES:
        raise ValueError(f"target={target!r}: expected one of {TARGET_RULES}")
    model, cfg, classes = _load_run(run_dir)
    cache = Path(cache or cfg["run"]["cache"] or "")
    if not (cache / "index.csv").is_file():
        raise FileNotFoundError(f"{cache / 'index.csv'}: no prepared cache for run {run_dir} (pass cache=)")
    synthetic = is_synthetic(cache)
    if synthetic and synth_root is None:
        from mlib.data import read_cache_settings

        synth_root = read_cache_settings(cache).get("root")
    out = Path(out) if out is not None else run_dir / f"gradcam-{part}-{target}"
    rows = run_clips(run_dir, part, clips)
    keys = list(rows["clip_key"])
    settings = {
        "run_dir": str(run_dir.resolve()), "cache": str(cache.resolve()), "part": part, "clips": keys,
        "target": target, "pathway": pathway, "top_percent": top_percent, "apex_half_window": apex_half_window,
        "synth_root": str(synth_root) if synth_root else None,
    }
    if _settings_match(out, settings):
        return load_result(out)

    index = load_index(cache).set_index("clip_key", drop=False)
    width = int(np.load(cache / index.loc[keys[0], "cache_file"], mmap_mode="r").shape[0])
    from mlib.data import frame_indices

    indices = frame_indices(width, cfg["model"]["frames"])
    unknown = sorted(set(rows["subject"]) - set(classes))
    if unknown:
        raise ValueError(f"{run_dir}: subject(s) {unknown} are not among the run's classes")
    targets = [classes.index(s) for s in rows["subject"]] if target == "true" else None
    model.to(_resolve_device(device))
    inputs = clip_inputs(cfg, cache, keys)
    cams, logits = cams_and_logits(model, inputs, targets, pathway, batch_size, progress)
    predicted = logits.argmax(axis=1)
    frames = to_display(inputs).astype(np.float32) / 255.0
    del inputs

    records, score_rows, motion_maps, motion_curves, truth_masks, truth_curves = [], [], [], [], [], []
    size = cfg["model"]["size"]
    for i, key in enumerate(keys):
        row = {**index.loc[key].to_dict()}
        marks = {f"{name}_frame": model_frame_of(row, width, indices, row[name]) for name in ("onset", "apex", "offset")}
        energy_map, energy_curve = motion_energy(frames[i])
        motion_maps.append(energy_map)
        motion_curves.append(energy_curve)
        mask = curve = None
        inside = {}
        if synth_root is not None:
            mask, curve, inside["truth_inside_crop"] = synthetic_truth(synth_root, row, width, indices, size)
            truth_masks.append(mask)
            truth_curves.append(curve)
        target_index = targets[i] if targets is not None else int(predicted[i])
        records.append({
            "clip_key": key, "subject": rows.loc[i, "subject"], "target": classes[target_index],
            "predicted": classes[int(predicted[i])], "correct": classes[int(predicted[i])] == rows.loc[i, "subject"],
            **marks, **inside,
        })
        for name, maps in cams.items():
            scores = score_clip(maps[i], frames[i], marks["apex_frame"], top_percent=top_percent,
                                apex_half_window=apex_half_window, truth_mask=mask, truth_curve=curve)
            score_rows.append({"clip_key": key, "pathway": name, **scores})
    result = CamResult(
        run_dir=run_dir, cache=cache, out=out, synthetic=synthetic, target=target,
        clips=pd.DataFrame(records), cams=cams,
        motion_curves=np.stack(motion_curves), motion_maps=np.stack(motion_maps),
        truth_masks=np.stack(truth_masks) if truth_masks else None,
        truth_curves=np.stack(truth_curves) if truth_curves else None,
        scores=pd.DataFrame(score_rows), settings=settings,
    )
    save_result(result)
    return result


def summarise(scores: pd.DataFrame) -> pd.DataFrame:
    """Per pathway and score: clips, median, quartiles, mean, and the share of clips with lift > 1."""
    rows = []
    for pathway, group in scores.groupby("pathway", sort=False):
        for column in [c for c in group.columns if c.endswith(("_share", "_lift", "_iou"))]:
            values = group[column].dropna()
            if values.empty:
                continue
            rows.append({
                "pathway": pathway, "score": column, "clips": len(values), "median": values.median(),
                "q25": values.quantile(0.25), "q75": values.quantile(0.75), "mean": values.mean(),
                "above_uniform": float((values > 1).mean()) if column.endswith("_lift") else np.nan,
            })
    return pd.DataFrame(rows)


SUPPORT_LIFT = 1.5       # a median lift this far above uniform counts as looking at the movement
SUPPORT_SHARE = 0.75     # ... when at least this share of clips is above uniform too


def summary_value(summary: pd.DataFrame, pathway: str, score: str, column: str = "median") -> float:
    """One number of ``summarise``'s table (NaN when that score was not measured)."""
    rows = summary[(summary["pathway"] == pathway) & (summary["score"] == score)]
    return float(rows[column].iloc[0]) if len(rows) else float("nan")


def claim_verdict(summary: pd.DataFrame, pathway: str, synthetic: bool) -> dict:
    """Whether one pathway's maps support the paper's claim that the network looks where the face moves.

    The region is the generator's true moving regions on synthetic data, else
    the top motion-energy pixels. "supports": median lift above ``SUPPORT_LIFT``
    with at least ``SUPPORT_SHARE`` of clips above uniform; "does not clearly
    support": median lift above 1; otherwise "contradicts" ("is not measured
    for" when the score is missing).
    """
    region = "truth_lift" if synthetic else "motion_lift"
    space = summary_value(summary, pathway, region)
    above = summary_value(summary, pathway, region, "above_uniform")
    verdict = ("is not measured for" if np.isnan(space)
               else "supports" if space > SUPPORT_LIFT and above >= SUPPORT_SHARE
               else "does not clearly support" if space > 1.0 else "contradicts")
    return {"region": region, "space_lift": space, "share_above": above,
            "time_lift": summary_value(summary, pathway, "apex_lift"), "verdict": verdict}


def _settings_match(out: Path, settings: dict) -> bool:
    path = out / "gradcam.json"
    if not (path.is_file() and (out / "cams.npz").is_file() and (out / "scores.csv").is_file()):
        return False
    saved = json.loads(path.read_text())
    saved.pop("synthetic", None)
    return saved == json.loads(json.dumps(settings, default=str))


def save_result(result: CamResult) -> None:
    """Write ``cams.npz`` (maps as float16), ``clips.csv``, ``scores.csv``, ``summary.csv``, then ``gradcam.json``."""
    arrays = {f"cam_{name}": maps.astype(np.float16) for name, maps in result.cams.items()}
    arrays.update(motion_curves=result.motion_curves, motion_maps=result.motion_maps.astype(np.float32))
    if result.truth_masks is not None:
        arrays.update(truth_masks=result.truth_masks, truth_curves=result.truth_curves)
    with io.atomic_path(result.out / "cams.npz") as tmp:
        with open(tmp, "wb") as handle:
            np.savez_compressed(handle, **arrays)
    io.write_csv(result.out / "clips.csv", result.clips)
    io.write_csv(result.out / "scores.csv", result.scores)
    io.write_csv(result.out / "summary.csv", summarise(result.scores))
    io.write_json(result.out / "gradcam.json", {**result.settings, "synthetic": result.synthetic})


def load_result(out: str | Path) -> CamResult:
    """Read a result written by :func:`save_result` (maps come back as float32)."""
    out = Path(out)
    meta = json.loads((out / "gradcam.json").read_text())
    synthetic = bool(meta.pop("synthetic"))
    with np.load(out / "cams.npz", allow_pickle=False) as data:
        cams = {name[4:]: data[name].astype(np.float32) for name in data.files if name.startswith("cam_")}
        truth = (data["truth_masks"], data["truth_curves"]) if "truth_masks" in data.files else (None, None)
        motion_curves, motion_maps = data["motion_curves"], data["motion_maps"]
    text = {"clip_key": str, "subject": str, "target": str, "predicted": str}
    return CamResult(
        run_dir=Path(meta["run_dir"]), cache=Path(meta["cache"]), out=out, synthetic=synthetic,
        target=meta["target"], clips=pd.read_csv(out / "clips.csv", dtype=text, keep_default_na=False),
        cams=cams, motion_curves=motion_curves, motion_maps=motion_maps,
        truth_masks=truth[0], truth_curves=truth[1],
        scores=pd.read_csv(out / "scores.csv", dtype={"clip_key": str}), settings=meta,
    )


# --------------------------------------------------------------------------- command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", help="a finished run folder (mlib train)")
    parser.add_argument("--cache", help="the prepared cache (default: the run's run.cache)")
    parser.add_argument("--part", default="test", choices=("test", "val"))
    parser.add_argument("--clips", nargs="*", help="clip_keys to explain (default: all of the part)")
    parser.add_argument("--target", default="true", choices=TARGET_RULES,
                        help="explain the true identity or the predicted one")
    parser.add_argument("--pathway", default="both", choices=("both", *PATHWAYS))
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", help="result folder (default: <run_dir>/gradcam-<part>-<target>)")
    parser.add_argument("--synth-root", help="synthetic corpus root for the truth (default: the cache's root)")
    parser.add_argument("--figures", type=int, default=4, help="clips drawn as strips, curves and GIFs")
    parser.add_argument("--private-dir", default="private/gradcam",
                        help="git-ignored folder for figures that show real faces")
    parser.add_argument("--publish-faces", action="store_true",
                        help="write real subjects' frames to --out; only where the database licence allows "
                             "it for that subject")
    parser.add_argument("--no-progress", action="store_true")


def main(args: argparse.Namespace) -> int:
    from mlib.plots.gradcam import write_figures

    result = gradcam_for_run(
        args.run_dir, args.cache, part=args.part, clips=args.clips or None, target=args.target,
        pathway=args.pathway, batch_size=args.batch_size, device=args.device, out=args.out,
        synth_root=args.synth_root, progress=not args.no_progress,
    )
    private = Path(args.private_dir) / Path(args.run_dir).name
    written = write_figures(result, clips=args.figures, publish_faces=args.publish_faces, private_dir=private)
    print(summarise(result.scores).to_string(index=False))
    print(f"mlib gradcam: {len(result.clips)} clips of {result.run_dir} ({'synthetic' if result.synthetic else 'REAL'} data)"
          f" -> {result.out}; {len(written)} figures")
    for path in written:
        print(f"  {path}")
    return 0
