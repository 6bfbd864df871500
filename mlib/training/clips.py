"""Clips for training: read a prepared cache and a split file, make model inputs on any device.

(What a cache is, its settings and whether it is synthetic: :mod:`mlib.preprocess.cache_settings`.)

The cache (``book/formats.md`` section 3) holds uint8 ``(W, S, S, 3)`` face windows.
:func:`load_clip_arrays` reads them once into one uint8 tensor ``(N, T, R, R, 3)``:
``T`` frames sampled evenly from the W cached ones (indices
``round(linspace(0, W - 1, T))``: the whole window is covered when W > T, frames
repeat when W < T) and each frame resized once, with antialiasing, to a working
side ``R`` a little above the model's input size so that the random crop later
only resamples mildly. Batches are then sliced from that tensor and turned into
model inputs by :func:`make_inputs` with torch ops on whole batches (so they run on
the GPU too): a random resized crop per clip (the same box for all its frames),
colour jitter and an optional flip when augmenting; a plain resize otherwise.

Evaluation (validation, test, prediction, Grad-CAM) always takes one path,
:func:`evaluation_inputs`: the run's working side (``RunPlan.working_size``), then a
plain resize to the model's size.

Normalisation: pixel / 255, then (x - 0.45) / 0.225 on every channel, the
convention of pytorchvideo's Kinetics SlowFast models (so a Kinetics checkpoint
sees inputs on the scale it was trained on).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from mlib.inputs import apex_positions
from mlib.preprocess import load_index
from mlib.preprocess.cache_settings import DataError
from mlib.preprocess.splits import untrained_allowed

if TYPE_CHECKING:
    from mlib.training.plan import RunPlan

MEAN = 0.45
STD = 0.225
PARTS = (
    "train",
    "val",
    "test",
    "excluded",
    "unlisted",
    "enrol",
    "probe",
)  # mlib.preprocess.splits.PARTS, open-set parts
USED_PARTS = ("train", "val", "test")  # what a training run reads of a split (enrol, probe: mlib.openset)
SPLIT_COLUMNS = ("clip_key", "subject", "part")


@dataclass
class ClipTable:
    """The clips of one run: the cache index joined with the split file (excluded and unlisted clips dropped)."""

    cache_dir: Path
    split_file: Path
    clips: pd.DataFrame  # clip_key, subject, part, cache_file, ... in split-file order
    classes: list[str]  # identities = the split's subjects (all trained on, except kay2023's untrained ones), sorted

    def part(self, name: str) -> pd.DataFrame:
        return self.clips[self.clips["part"] == name]


def _read_csv(path: Path, required: tuple[str, ...], what: str) -> pd.DataFrame:
    if not path.is_file():
        raise DataError(f"{path}: no such {what}")
    frame = pd.read_csv(path, dtype={"clip_key": str, "subject": str}, keep_default_na=False)
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: {what} lacks column(s) {', '.join(missing)} (book/formats.md)")
    return frame


def load_clip_table(cache_dir: str | Path, split_file: str | Path) -> ClipTable:
    """Join a cache's ``index.csv`` with a split file and check both against the contract."""
    cache_dir, split_file = Path(cache_dir), Path(split_file)
    index_path = cache_dir / "index.csv"
    try:
        index = load_index(cache_dir)
    except (FileNotFoundError, ValueError) as exc:
        raise DataError(str(exc)) from exc
    split = _read_csv(split_file, SPLIT_COLUMNS, "split file")
    bad_parts = sorted(set(split["part"]) - set(PARTS))
    if bad_parts:
        raise DataError(f"{split_file}: unknown part value(s) {bad_parts}; expected one of {PARTS}")
    if split["clip_key"].duplicated().any():
        dup = split.loc[split["clip_key"].duplicated(), "clip_key"].iloc[0]
        raise DataError(f"{split_file}: clip_key {dup!r} appears more than once")
    split = split[split["part"].isin(USED_PARTS)]  # excluded, unlisted, enrol and probe clips are never trained on
    unknown = sorted(set(split["clip_key"]) - set(index["clip_key"]))
    if unknown:
        raise DataError(f"{split_file}: {len(unknown)} clip(s) not in {index_path}, e.g. {unknown[0]!r}")
    merged = split.merge(index.drop(columns=["subject"]), on="clip_key", how="left", validate="one_to_one")
    subjects = index.set_index("clip_key")["subject"]
    wrong = merged[merged["subject"].to_numpy() != subjects.loc[merged["clip_key"]].to_numpy()]
    if len(wrong):
        row = wrong.iloc[0]
        raise DataError(
            f"{split_file}: clip {row['clip_key']!r} has subject {row['subject']!r}, the cache says otherwise"
        )
    train_subjects = sorted(set(merged.loc[merged["part"] == "train", "subject"]))
    if len(train_subjects) < 2:
        raise DataError(f"{split_file}: the train part has {len(train_subjects)} subject(s); identification needs >= 2")
    unseen = sorted(set(merged["subject"]) - set(train_subjects))
    if unseen and not untrained_allowed(split_file):
        raise DataError(
            f"{split_file}: subject(s) {unseen} are in val/test but not in train (closed-set identification)"
        )
    for name in merged["cache_file"]:
        if not (cache_dir / name).is_file():
            raise DataError(f"{cache_dir / name}: clip file listed in {index_path} does not exist")
    # Every subject is a class, as in the original's classids.json; a kay2023 split's untrained ones are never right.
    return ClipTable(cache_dir, split_file, merged.reset_index(drop=True), sorted(set(merged["subject"])))


def frame_indices(window: int, frames: int) -> np.ndarray:
    """``frames`` indices spread evenly over a ``window``-frame clip (both ends included)."""
    return np.round(np.linspace(0, window - 1, frames)).astype(np.int64)


def fit_clip(array: np.ndarray, frames: int, side: int) -> torch.Tensor:
    """One cached uint8 (W, S, S, 3) clip -> uint8 tensor (frames, side', side', 3), ``side' = min(side, S)``:
    ``frames`` frames sampled evenly, resized (antialiased) only when the cache is larger."""
    clip = torch.from_numpy(np.ascontiguousarray(array[frame_indices(array.shape[0], frames)]))
    target = min(side, array.shape[1])
    if target != array.shape[1]:
        chw = clip.permute(0, 3, 1, 2).float()
        chw = F.interpolate(chw, size=(target, target), mode="bilinear", antialias=True, align_corners=False)
        clip = chw.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1)
    return clip


def cached_window(path: str | Path) -> int:
    """The window length (frames) of a cached clip, read from its header; a truncated or foreign file
    is named (numpy alone says "mmap length is greater than file size")."""
    try:
        return int(np.load(path, mmap_mode="r", allow_pickle=False).shape[0])
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable .npy clip (truncated?): {str(exc).splitlines()[0]}") from exc


def load_clip_arrays(cache_dir: str | Path, files: list[str], frames: int, side: int, select=None) -> torch.Tensor:
    """Read cached clips into one uint8 tensor ``(N, frames, side', side', 3)`` (see :func:`fit_clip`).

    ``select(i, window)``, if given, replaces the even sampling: it returns the frames
    to keep of clip ``i`` (:meth:`mlib.inputs.InputPlan.select`), all of which are kept."""
    cache_dir = Path(cache_dir)
    out = None
    for i, name in enumerate(files):
        path = cache_dir / name
        try:
            array = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise DataError(f"{path}: not a readable .npy clip (truncated?): {str(exc).splitlines()[0]}") from exc
        if array.dtype != np.uint8 or array.ndim != 4 or array.shape[3] != 3 or array.shape[1] != array.shape[2]:
            raise DataError(f"{path}: expected a uint8 (W, S, S, 3) array, got {array.dtype} {array.shape}")
        if select is not None:
            array = select(i, array)
        clip = fit_clip(array, len(array) if select is not None else frames, side)
        if out is None:
            out = torch.empty((len(files), *clip.shape), dtype=torch.uint8)
        elif tuple(clip.shape) != tuple(out.shape[1:]):
            raise DataError(f"{path}: shape {array.shape} differs from the other clips of the cache")
        out[i] = clip
    if out is None:
        raise DataError(f"{cache_dir}: no clips to load")
    return out


def evaluation_select(plan: RunPlan, index_rows: pd.DataFrame | None, window: int):
    """The run's evaluation frame choice for :func:`load_clip_arrays`: None for the plain window
    sampling, else ``select(i, array)`` by the run's input plan (``data.sampling``, ``data.input``),
    which needs the clips' cache index rows (clip key and window placement), in order."""
    inputs = plan.inputs
    if inputs.is_default:
        return None
    if index_rows is None:
        raise DataError(f"data.input={inputs.input}, data.sampling={inputs.sampling}: the clips' index rows are needed")
    apexes, keys = apex_positions(index_rows, window), list(index_rows["clip_key"])
    return lambda i, array: inputs.eval_frames(array, keys[i], apexes[i])


def evaluation_inputs(
    plan: RunPlan, cache_dir: str | Path, files: Sequence[str], index_rows: pd.DataFrame | None = None
) -> torch.Tensor:
    """Float model inputs ``(N, 3, T, size, size)`` of cached clips by a run's evaluation path.

    Frames are chosen by the run's input plan (:func:`evaluation_select`; ``index_rows`` needed
    unless it is the plain window), resized to the run's working side as in training
    (``plan.working_size``), then resized to ``model.size`` without augmentation.
    """
    files = list(files)
    window = cached_window(Path(cache_dir) / files[0]) if files else 0
    select = evaluation_select(plan, index_rows, window)
    arrays = load_clip_arrays(cache_dir, files, plan.model["frames"], plan.working_size, select)
    return make_inputs(arrays, plan.model["size"])


def _random_boxes(n: int, crop_scale, generator: torch.Generator, short_side_jitter=None) -> torch.Tensor:
    """Per clip (scale_x, scale_y, centre_x, centre_y) in grid_sample's [-1, 1] coordinates.

    ``short_side_jitter = (low, high, crop)``: PySlowFast's square crop instead (:mod:`mlib.training.recipe`), side
    ``crop / round(uniform(low, high))`` of the face."""
    if short_side_jitter is not None:
        low, high, crop = short_side_jitter
        scaled = torch.round(low + (high - low) * torch.rand(n, generator=generator))
        side = (crop / scaled).clamp(max=1.0)
        cx = (1 - side) * (2 * torch.rand(n, generator=generator) - 1)
        cy = (1 - side) * (2 * torch.rand(n, generator=generator) - 1)
        return torch.stack([side, side, cx, cy], dim=1)
    low, high = float(min(crop_scale)), float(max(crop_scale))
    area = low + (high - low) * torch.rand(n, generator=generator)
    log_ratio = math.log(3 / 4) + (math.log(4 / 3) - math.log(3 / 4)) * torch.rand(n, generator=generator)
    ratio = torch.exp(log_ratio)
    width = torch.sqrt(area * ratio).clamp(max=1.0)
    height = torch.sqrt(area / ratio).clamp(max=1.0)
    cx = (1 - width) * (2 * torch.rand(n, generator=generator) - 1)
    cy = (1 - height) * (2 * torch.rand(n, generator=generator) - 1)
    return torch.stack([width, height, cx, cy], dim=1)


def make_inputs(
    clips: torch.Tensor,
    size: int,
    augment: bool = False,
    generator: torch.Generator | None = None,
    crop_scale=(0.7, 1.0),
    color_jitter: float = 0.0,
    hflip: bool = False,
    short_side_jitter: tuple[int, int, int] | None = None,
) -> torch.Tensor:
    """uint8 ``(B, T, R, R, 3)`` on any device -> normalised float ``(B, 3, T, size, size)``.

    Augmenting: one random resized crop (area fraction in ``crop_scale``, aspect 3/4..4/3),
    one brightness/contrast/saturation factor in ``1 +- color_jitter`` and, if ``hflip``,
    a coin-flip mirror per clip, identical for all of its frames. Random numbers come
    from ``generator`` (a CPU generator, so results do not depend on the device).
    ``short_side_jitter``: PySlowFast's scale jitter and crop in place of the random resized crop.
    Otherwise the whole face is resized to ``size``.
    """
    b, t, r, _, c = clips.shape
    x = clips.permute(0, 1, 4, 2, 3).reshape(b, t * c, r, r).float().div_(255.0)
    if augment:
        if generator is None:
            raise ValueError("make_inputs(augment=True) needs a torch.Generator")
        box = _random_boxes(b, crop_scale, generator, short_side_jitter)
        flip = (torch.rand(b, generator=generator) < 0.5) if hflip else torch.zeros(b, dtype=torch.bool)
        jitter = 1 + color_jitter * (2 * torch.rand(b, 3, generator=generator) - 1)
        theta = torch.zeros(b, 2, 3)
        theta[:, 0, 0] = box[:, 0] * torch.where(flip, -1.0, 1.0)
        theta[:, 1, 1] = box[:, 1]
        theta[:, 0, 2] = box[:, 2]
        theta[:, 1, 2] = box[:, 3]
        theta = theta.to(x.device)
        grid = F.affine_grid(theta, [b, t * c, size, size], align_corners=False)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
        x = x.reshape(b, t, c, size, size)
        jitter = jitter.to(x.device).view(b, 3, 1, 1, 1, 1)
        x = x * jitter[:, 0]  # brightness
        mean = x.mean(dim=(1, 2, 3, 4), keepdim=True)
        x = (x - mean) * jitter[:, 1] + mean  # contrast
        gray = 0.299 * x[:, :, 0:1] + 0.587 * x[:, :, 1:2] + 0.114 * x[:, :, 2:3]
        x = ((x - gray) * jitter[:, 2] + gray).clamp_(0.0, 1.0)  # saturation
    else:
        if r != size:
            x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        x = x.reshape(b, t, c, size, size)
    return x.permute(0, 2, 1, 3, 4).sub_(MEAN).div_(STD).contiguous()
