"""A Grad-CAM result folder (``book/formats.md`` section 6): the in-memory result, writing and reading it."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from mlib.core import io
from mlib.core.config import load_yaml
from mlib.gradcam.summary import null_summary, summarize
from mlib.preprocess import load_index
from mlib.training.clips import MEAN, STD, evaluation_inputs
from mlib.training.plan import RunPlan


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
    scores: pd.DataFrame  # one row per clip and pathway (mlib.gradcam.scores; the null's columns included)
    settings: dict = field(default_factory=dict)

    @property
    def pathways(self) -> tuple[str, ...]:
        return tuple(self.cams)

    def frames(self, clip_keys: Iterable[str] | None = None) -> np.ndarray:
        """The model's view of clips as uint8 RGB (N, T, H, W, 3): the evaluation input, de-normalised."""
        keys = list(self.clips["clip_key"] if clip_keys is None else clip_keys)
        return to_display(clip_inputs(RunPlan.of(load_yaml(self.run_dir / "config.yaml")), self.cache, keys))


def clip_inputs(plan: RunPlan, cache: str | Path, clip_keys: list[str]) -> torch.Tensor:
    """Float model inputs (N, 3, T, size, size) of cached clips by key, by the run's evaluation path
    (its input plan included: a control run's maps are of the frames it saw)."""
    cache = Path(cache)
    index = load_index(cache).set_index("clip_key", drop=False)
    missing = [key for key in clip_keys if key not in index.index]
    if missing:
        raise ValueError(f"{cache / 'index.csv'}: no clip(s) {missing[:5]}")
    rows = index.loc[list(clip_keys)]
    return evaluation_inputs(plan, cache, list(rows["cache_file"]), rows)


def to_display(inputs: torch.Tensor) -> np.ndarray:
    """Normalised model inputs (N, 3, T, H, W) -> uint8 RGB frames (N, T, H, W, 3)."""
    frames = inputs.detach().cpu().float().mul(STD).add(MEAN).clamp(0, 1).permute(0, 2, 3, 4, 1)
    return (frames.numpy() * 255).round().astype(np.uint8)


def face_figure_dir(out: str | Path, synthetic: bool, publish_faces: bool, private_dir: str | Path) -> Path:
    """Where figures that show faces go: ``out`` for synthetic data or with ``publish_faces``
    (only where the database licence allows it for that subject), else the git-ignored ``private_dir``."""
    return Path(out) if synthetic or publish_faces else Path(private_dir)


def settings_match(out: Path, settings: dict) -> bool:
    """Whether ``out`` holds a complete result made with these settings."""
    path = out / "gradcam.json"
    if not (path.is_file() and (out / "cams.npz").is_file() and (out / "scores.csv").is_file()):
        return False
    saved = json.loads(path.read_text())
    saved.pop("synthetic", None)
    return saved == json.loads(json.dumps(settings, default=str))


def save_result(result: CamResult) -> None:
    """Write ``cams.npz`` (maps as float16), ``clips.csv``, ``scores.csv``, ``summary.csv``, ``null.csv``,
    then ``gradcam.json``."""
    arrays = {f"cam_{name}": maps.astype(np.float16) for name, maps in result.cams.items()}
    arrays.update(motion_curves=result.motion_curves, motion_maps=result.motion_maps.astype(np.float32))
    if result.truth_masks is not None:
        arrays.update(truth_masks=result.truth_masks, truth_curves=result.truth_curves)
    with io.atomic_path(result.out / "cams.npz") as tmp:
        with open(tmp, "wb") as handle:
            np.savez_compressed(handle, **arrays)
    io.write_csv(result.out / "clips.csv", result.clips)
    io.write_csv(result.out / "scores.csv", result.scores)
    io.write_csv(result.out / "summary.csv", summarize(result.scores))
    io.write_csv(result.out / "null.csv", null_summary(result.scores))
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
        run_dir=Path(meta["run_dir"]),
        cache=Path(meta["cache"]),
        out=out,
        synthetic=synthetic,
        target=meta["target"],
        clips=pd.read_csv(out / "clips.csv", dtype=text, keep_default_na=False),
        cams=cams,
        motion_curves=motion_curves,
        motion_maps=motion_maps,
        truth_masks=truth[0],
        truth_curves=truth[1],
        scores=pd.read_csv(out / "scores.csv", dtype={"clip_key": str}),
        settings=meta,
    )
