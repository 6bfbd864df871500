"""Grad-CAM of a finished run: load it, explain its clips, score the maps, write the result folder."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from mlib.gradcam.maps import cams_and_logits
from mlib.gradcam.result import CamResult, clip_inputs, load_result, save_result, settings_match, to_display
from mlib.gradcam.scores import TOP_PERCENT, clip_regions, motion_energy, permutation_null, score_regions
from mlib.gradcam.truth import synthetic_truth
from mlib.preprocess import load_index, window_position
from mlib.preprocess.cache_settings import cache_is_synthetic, read_cache_settings
from mlib.training.clips import cached_window, frame_indices
from mlib.training.train import load_run, resolve_device

TARGET_RULES = ("true", "predicted")


def model_frame_of(row: Mapping, width: int, indices: np.ndarray, frame_number: float) -> int:
    """The model input frame (cache positions ``indices``) nearest to where original frame ``frame_number``
    sits in the cached window (:func:`mlib.preprocess.window_position`; the earlier one on a tie)."""
    position = window_position(row, width, frame_number)
    return int(np.argmin(np.abs(np.asarray(indices) - position)))


def run_clips(run_dir: Path, part: str, clips: int | Sequence[str] | None) -> pd.DataFrame:
    """Rows of the run's predictions.csv for ``part``: all, the first ``clips`` or the named clip_keys."""
    path = run_dir / "predictions.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no predictions (is {run_dir} a finished run folder?)")
    table = pd.read_csv(
        path, dtype={"clip_key": str, "subject": str, "part": str, "predicted": str}, keep_default_na=False
    )
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
    """Grad-CAM of a finished run's ``part`` clips; writes the result folder (``book/formats.md`` section 6).

    ``cache`` defaults to the run's ``run.cache``; ``out`` to ``<run_dir>/gradcam-<part>-<target>``.
    ``target``: ``"true"`` explains the clip's own identity, ``"predicted"`` the
    model's answer. ``synth_root`` (default: the cache's root when the data is
    synthetic) supplies the generator's truth. A rerun with the same settings
    reads the saved results instead of recomputing.
    """
    run_dir = Path(run_dir)
    if target not in TARGET_RULES:
        raise ValueError(f"target={target!r}: expected one of {TARGET_RULES}")
    model, plan, classes = load_run(run_dir, "best")
    cache = Path(cache or plan.config["run"]["cache"] or "")
    index = load_index(cache).set_index("clip_key", drop=False)
    synthetic = cache_is_synthetic(cache) is True  # unknown origin counts as REAL data (faces stay private)
    if synthetic and synth_root is None:
        synth_root = read_cache_settings(cache).get("root")
    out = Path(out) if out is not None else run_dir / f"gradcam-{part}-{target}"
    rows = run_clips(run_dir, part, clips)
    keys = list(rows["clip_key"])
    settings = {
        "run_dir": str(run_dir.resolve()),
        "cache": str(cache.resolve()),
        "part": part,
        "clips": keys,
        "target": target,
        "pathway": pathway,
        "top_percent": top_percent,
        "apex_half_window": apex_half_window,
        "synth_root": str(synth_root) if synth_root else None,
        "null": "permutation",
    }
    if settings_match(out, settings):
        return load_result(out)

    width = cached_window(cache / index.loc[keys[0], "cache_file"])
    indices = frame_indices(width, plan.model["frames"])
    unknown = sorted(set(rows["subject"]) - set(classes))
    if unknown:
        raise ValueError(f"{run_dir}: subject(s) {unknown} are not among the run's classes")
    targets = [classes.index(s) for s in rows["subject"]] if target == "true" else None
    model.to(resolve_device(device))
    inputs = clip_inputs(plan, cache, keys)
    cams, logits = cams_and_logits(model, inputs, targets, pathway, batch_size, progress)
    predicted = logits.argmax(axis=1)
    frames = to_display(inputs).astype(np.float32) / 255.0
    del inputs

    records, regions, motion_maps, motion_curves, truth_masks, truth_curves = [], [], [], [], [], []
    for i, key in enumerate(keys):
        row = index.loc[key].to_dict()
        marks = {
            f"{name}_frame": model_frame_of(row, width, indices, row[name]) for name in ("onset", "apex", "offset")
        }
        energy_map, energy_curve = motion_energy(frames[i])
        motion_maps.append(energy_map)
        motion_curves.append(energy_curve)
        mask = curve = None
        inside = {}
        if synth_root is not None:
            mask, curve, inside["truth_inside_crop"] = synthetic_truth(
                synth_root, row, width, indices, plan.model["size"]
            )
            truth_masks.append(mask)
            truth_curves.append(curve)
        regions.append(
            clip_regions(
                frames[i],
                marks["apex_frame"],
                top_percent=top_percent,
                apex_half_window=apex_half_window,
                truth_mask=mask,
                truth_curve=curve,
            )
        )
        target_index = targets[i] if targets is not None else int(predicted[i])
        records.append(
            {
                "clip_key": key,
                "subject": rows.loc[i, "subject"],
                "target": classes[target_index],
                "predicted": classes[int(predicted[i])],
                "correct": classes[int(predicted[i])] == rows.loc[i, "subject"],
                **marks,
                **inside,
            }
        )
    score_tables = []
    for name, maps in cams.items():
        table = pd.DataFrame([score_regions(maps[i], regions[i]) for i in range(len(keys))])
        table = table.assign(**permutation_null(maps, regions))
        score_tables.append(pd.concat([pd.DataFrame({"clip_key": keys, "pathway": name}), table], axis=1))
    result = CamResult(
        run_dir=run_dir,
        cache=cache,
        out=out,
        synthetic=synthetic,
        target=target,
        clips=pd.DataFrame(records),
        cams=cams,
        motion_curves=np.stack(motion_curves),
        motion_maps=np.stack(motion_maps),
        truth_masks=np.stack(truth_masks) if truth_masks else None,
        truth_curves=np.stack(truth_curves) if truth_curves else None,
        scores=pd.concat(score_tables, ignore_index=True),
        settings=settings,
    )
    save_result(result)
    return result
